#pragma once
// Streamed response bodies (log follows as Server-Sent Events). A handler answers with
// `streamResponse(...)`; once the head is on the wire the server hands `start` a `StreamWriter`
// and the body goes out as HTTP/1.1 chunks for as long as the handler writes. The connection
// closes when the stream ends.
//
// Memory stays bounded: a client that reads slower than chunks arrive loses the oldest queued
// chunks, and the next chunk it gets is `dropped_notice(n)` saying how many it missed. A client
// that disconnects is noticed at once (the server keeps reading the connection), and one that
// stops reading is dropped after `write_timeout`.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "http/message.h"

namespace oak::http {

struct StreamOptions {
  // Queued (not yet written) chunks beyond this many bytes drop the oldest; the newest chunk is
  // always kept.
  size_t max_queued_bytes = 256 * 1024;
  // The chunk that tells the client how many chunks it lost; none is sent when unset.
  std::function<std::string(uint64_t dropped)> dropped_notice;
  // Sent when nothing else was sent for this long (0: never): proxies keep the connection, and a
  // vanished peer is noticed even when the stream is quiet.
  std::chrono::milliseconds keepalive{0};
  std::string keepalive_chunk;
  // A chunk the client does not take within this long ends the stream.
  std::chrono::milliseconds write_timeout{30'000};
};

// The body of one streamed response. Used on the event loop thread only.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Queues one chunk (empty chunks are ignored). False once the stream has ended.
  virtual bool write(std::string chunk) = 0;
  // Sends what is queued, then ends the body. No-op once closing or ended.
  virtual void close() = 0;
  // True until `close` or the end of the stream.
  virtual bool open() const = 0;
  // `fn` runs once when the stream has ended (the client disconnected or stopped reading,
  // `close` finished, the server stopped), with a reason for the log. Set after the end, it
  // runs soon after (never from inside this call).
  virtual void onEnd(std::function<void(std::string reason)> fn) = 0;
  // Chunks dropped so far because the client read too slowly.
  virtual uint64_t dropped() const = 0;
};

using StreamStart = std::function<void(std::shared_ptr<StreamWriter>)>;

struct StreamBody {
  StreamOptions options;
  // Runs exactly once after the head was written (or failed to be; the writer has then ended).
  StreamStart start;
};

// A streamed response (status 200, `Cache-Control: no-cache`).
Response streamResponse(std::string content_type, StreamOptions options, StreamStart start);

// Server-Sent Events: one event whose data is `data` (one "data:" field per line of it).
std::string sseEvent(std::string_view data);
// An SSE comment line, which clients ignore (keep-alives).
std::string sseComment(std::string_view text);

}  // namespace oak::http
