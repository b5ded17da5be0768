#include "cli/oak/stream_parsing.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace oak::cli {

namespace {

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

Error malformed(std::string what) {
  return makeError(ErrorCode::kUnavailable, "malformed answer from the server: " + what);
}

}  // namespace

Result<ResponseHead> parseResponseHead(std::string_view head) {
  ResponseHead h;
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) {
    return malformed(fmt::format("status line '{}'", status_line.substr(0, 40)));
  }
  auto [p, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, h.status);
  if (ec != std::errc() || h.status < 100) {
    return malformed(fmt::format("status line '{}'", status_line.substr(0, 40)));
  }
  std::string_view rest = eol == std::string_view::npos ? "" : head.substr(eol + 2);
  while (!rest.empty()) {
    size_t end = rest.find("\r\n");
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (equalsIgnoringCase(name, "transfer-encoding")) {
      h.chunked = equalsIgnoringCase(value, "chunked");
    } else if (equalsIgnoringCase(name, "content-length")) {
      size_t n = 0;
      auto [q, e] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (e != std::errc() || q != value.data() + value.size()) {
        return malformed(fmt::format("Content-Length '{}'", value.substr(0, 20)));
      }
      h.content_length = n;
    }
  }
  return h;
}

Status ChunkedDecoder::feed(std::string_view bytes, std::string& out) {
  pending_.append(bytes);
  size_t at = 0;
  while (!done_) {
    size_t eol = pending_.find("\r\n", at);
    if (eol == std::string::npos) break;
    std::string_view size_text(pending_.data() + at, eol - at);
    size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions
    size_t size = 0;
    auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (size_text.empty() || ec != std::errc() || p != size_text.data() + size_text.size()) {
      return malformed(fmt::format("chunk size '{}'", size_text.substr(0, 20)));
    }
    if (size == 0) {
      done_ = true;
      at = pending_.size();
      break;
    }
    if (pending_.size() < eol + 2 + size + 2) break;
    out.append(pending_, eol + 2, size);
    at = eol + 2 + size + 2;
  }
  pending_.erase(0, at);
  return {};
}

std::vector<std::string> SseParser::feed(std::string_view text) {
  pending_.append(text);
  std::vector<std::string> events;
  size_t at = 0;
  for (size_t eol; (eol = pending_.find('\n', at)) != std::string::npos; at = eol + 1) {
    std::string_view line(pending_.data() + at, eol - at);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty()) {
      if (data_) events.push_back(std::move(*data_));
      data_.reset();
      continue;
    }
    if (line.front() == ':') continue;
    size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
    if (field != "data") continue;
    data_ = data_ ? *data_ + "\n" + std::string(value) : std::string(value);
  }
  pending_.erase(0, at);
  return events;
}

}  // namespace oak::cli
