#include "sse_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace oak::testing {

namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::unique_ptr<SseClient> SseClient::open(uint16_t port, const std::string& target,
                                           Options options) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  std::unique_ptr<SseClient> c(new SseClient(fd));
  if (options.receive_buffer > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer,
                 sizeof(options.receive_buffer));
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return nullptr;
  std::string request =
      "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "Accept: text/event-stream\r\n";
  if (!options.token.empty()) request += "Authorization: Bearer " + options.token + "\r\n";
  request += "\r\n";
  for (std::string_view rest = request; !rest.empty();) {
    ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n <= 0) return nullptr;
    rest.remove_prefix(static_cast<size_t>(n));
  }
  auto deadline = Clock::now() + options.head_timeout;
  size_t end;
  while ((end = c->raw_.find("\r\n\r\n")) == std::string::npos) {
    if (!c->fill(deadline)) return nullptr;
  }
  c->head_ = c->raw_.substr(0, end + 2);
  c->raw_.erase(0, end + 4);
  if (c->head_.size() > 12) {
    std::from_chars(c->head_.data() + 9, c->head_.data() + 12, c->status_);
  }
  c->chunked_ = lower(c->header("Transfer-Encoding")) == "chunked";
  if (!c->chunked_) {
    size_t length = 0;
    std::string cl = c->header("Content-Length");
    std::from_chars(cl.data(), cl.data() + cl.size(), length);
    while (c->raw_.size() < length && c->fill(deadline)) {
    }
    c->body_ = c->raw_.substr(0, length);
    c->complete_ = true;
  }
  return c;
}

SseClient::~SseClient() {
  close();
}

void SseClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string SseClient::header(std::string_view name) const {
  std::string_view rest = head_;
  std::string wanted = lower(name);
  while (!rest.empty()) {
    size_t eol = rest.find("\r\n");
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || lower(line.substr(0, colon)) != wanted) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    return std::string(value);
  }
  return {};
}

bool SseClient::fill(Clock::time_point deadline) {
  if (eof_ || fd_ < 0) return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char chunk[16 * 1024];
  ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
  if (n <= 0) {
    eof_ = true;
    complete_ = true;
    return false;
  }
  raw_.append(chunk, static_cast<size_t>(n));
  return true;
}

void SseClient::decodeChunks() {
  while (chunked_ && !complete_) {
    size_t eol = raw_.find("\r\n");
    if (eol == std::string::npos) return;
    size_t size = 0;
    std::from_chars(raw_.data(), raw_.data() + eol, size, 16);
    if (size == 0) {
      complete_ = true;
      return;
    }
    if (raw_.size() < eol + 2 + size + 2) return;
    text_.append(raw_, eol + 2, size);
    raw_.erase(0, eol + 2 + size + 2);
  }
}

std::optional<std::string> SseClient::next(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    decodeChunks();
    size_t end;
    while ((end = text_.find("\n\n")) != std::string::npos) {
      std::string block = text_.substr(0, end + 1);
      text_.erase(0, end + 2);
      std::optional<std::string> data;
      for (size_t at = 0; at < block.size();) {
        size_t eol = block.find('\n', at);
        std::string_view line(block.data() + at, eol - at);
        at = eol + 1;
        if (line.starts_with(":")) {
          ++comments_;
        } else if (line.starts_with("data:")) {
          line.remove_prefix(line.starts_with("data: ") ? 6 : 5);
          data = data ? *data + "\n" + std::string(line) : std::string(line);
        }
      }
      if (data) return data;
    }
    if (complete_ || !fill(deadline)) return std::nullopt;
  }
}

bool SseClient::waitForEnd(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    decodeChunks();
    if (complete_) return true;
    if (!fill(deadline)) return complete_;
  }
}

}  // namespace oak::testing
