#include "scripted_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>

namespace oak::oci::testing {

namespace {

// Reads what is there (blocking until something is); 0 when the peer closed or on an error.
size_t readSome(int fd, SSL* tls, char* data, size_t size) {
  if (tls) {
    int n = SSL_read(tls, data, static_cast<int>(size));
    return n > 0 ? static_cast<size_t>(n) : 0;
  }
  ssize_t n = ::recv(fd, data, size, 0);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

bool writeAll(int fd, SSL* tls, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = tls ? SSL_write(tls, bytes.data(), static_cast<int>(bytes.size()))
                    : ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

bool hasLine(std::string_view head, std::string_view line) {
  size_t pos = 0;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    if (head.substr(pos, end - pos) == line) return true;
    pos = end + 2;
  }
  return false;
}

bool Exchange::write(std::string_view bytes) {
  return writeAll(fd_, tls_, bytes);
}

void Exchange::stall() {
  char sink[4096];
  while (readSome(fd_, tls_, sink, sizeof sink) > 0) {
  }
  close_ = true;
}

void Exchange::relayTo(uint16_t port) {
  close_ = true;
  int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(upstream);
    return;
  }
  pollfd fds[2] = {{fd_, POLLIN, 0}, {upstream, POLLIN, 0}};
  char buffer[16384];
  for (bool open = true; open && ::poll(fds, 2, -1) > 0;) {
    for (int i = 0; i < 2 && open; ++i) {
      if (!fds[i].revents) continue;
      ssize_t n = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
      open = n > 0 && writeAll(fds[1 - i].fd, nullptr, std::string_view(buffer, n));
    }
  }
  ::close(upstream);
}

ScriptedServer::ScriptedServer(Script script, bool ipv6, SSL_CTX* tls)
    : script_(std::move(script)), ipv6_(ipv6), tls_(tls) {
  // OpenSSL writes to its socket without MSG_NOSIGNAL (session tickets may go to a client that
  // has left already).
  ::signal(SIGPIPE, SIG_IGN);
  int fd = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    length = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof *a;
  }
  auto* addr = reinterpret_cast<sockaddr*>(&storage);
  if (fd < 0 || ::bind(fd, addr, length) != 0 || ::listen(fd, 16) != 0 ||
      ::getsockname(fd, addr, &length) != 0) {
    if (fd >= 0) ::close(fd);
    return;
  }
  listen_fd_ = fd;
  port_ = ntohs(ipv6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

ScriptedServer::~ScriptedServer() {
  if (listen_fd_ < 0) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

std::string ScriptedServer::url(std::string_view path) const {
  return fmt::format("http://{}:{}{}", ipv6_ ? "[::1]" : "127.0.0.1", port_, path);
}

int ScriptedServer::connections() const {
  std::lock_guard lock(mutex_);
  return connections_;
}

std::vector<std::string> ScriptedServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void ScriptedServer::acceptLoop() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard lock(mutex_);
    if (fd < 0 || stopping_) {
      if (fd >= 0) ::close(fd);
      return;
    }
    ++connections_;
    open_fds_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

bool ScriptedServer::readHead(int fd, SSL* tls, std::string& pending, std::string& head) {
  char buffer[4096];
  for (;;) {
    if (size_t end = pending.find("\r\n\r\n"); end != std::string::npos) {
      head = pending.substr(0, end);
      pending.erase(0, end + 4);
      return true;
    }
    size_t n = readSome(fd, tls, buffer, sizeof buffer);
    if (n == 0) return false;
    pending.append(buffer, n);
  }
}

void ScriptedServer::serve(int fd) {
  SSL* tls = nullptr;
  bool ready = true;
  if (tls_) {
    tls = SSL_new(tls_);
    SSL_set_fd(tls, fd);
    ready = SSL_accept(tls) == 1;
  }
  std::string pending, head;
  while (ready && readHead(fd, tls, pending, head)) {
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(head);
    }
    Exchange exchange(fd, tls, head);
    script_(exchange);
    if (exchange.closing()) break;
  }
  if (tls) SSL_free(tls);
  std::lock_guard lock(mutex_);
  open_fds_.erase(std::find(open_fds_.begin(), open_fds_.end(), fd));
  ::close(fd);
}

}  // namespace oak::oci::testing
