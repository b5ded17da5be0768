#pragma once
// The pieces of a streamed HTTP answer, parsed without I/O: the response head, a chunked body,
// and Server-Sent Events.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace oak::cli {

struct ResponseHead {
  int status = 0;
  bool chunked = false;
  std::optional<size_t> content_length;
};

// `head` is everything before the blank line ("HTTP/1.1 200 OK\r\nName: value\r\n...").
Result<ResponseHead> parseResponseHead(std::string_view head);

// Decodes a body sent with "Transfer-Encoding: chunked", whatever the sizes of the pieces fed.
class ChunkedDecoder {
 public:
  // Appends the payload of every complete chunk so far to `out`; an error on a bad size line.
  Status feed(std::string_view bytes, std::string& out);
  // The last (empty) chunk arrived.
  bool done() const { return done_; }

 private:
  std::string pending_;
  bool done_ = false;
};

// Splits text/event-stream into events; keep-alive comments are dropped.
class SseParser {
 public:
  // The data of every event completed by `text` (lines of one event joined by '\n').
  std::vector<std::string> feed(std::string_view text);

 private:
  std::string pending_;
  std::optional<std::string> data_;
};

}  // namespace oak::cli
