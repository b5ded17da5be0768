#pragma once
// Internal to oak_http (exposes Beast): the server's side of a streamed response, run by the HTTP
// session whose handler answered with `streamResponse`.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include <array>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "http/stream.h"

namespace oak::http::detail {

using StreamHead = boost::beast::http::response<boost::beast::http::empty_body>;

class ChunkedStream final : public StreamWriter,
                            public std::enable_shared_from_this<ChunkedStream> {
 public:
  ChunkedStream(const boost::asio::any_io_executor& executor, StreamOptions options);

  bool write(std::string chunk) override;
  void close() override;
  bool open() const override { return !closing_ && !ended_; }
  void onEnd(std::function<void(std::string reason)> fn) override;
  uint64_t dropped() const override { return dropped_total_; }

  // Ends the stream at once; what is queued is dropped (server stop, client gone).
  void abort(std::string reason);
  // Writes `head` (chunked; only the head when `head_only`), runs `start`, then writes the body
  // until the stream ends. `stream` must outlive the call.
  boost::asio::awaitable<void> run(boost::beast::tcp_stream& stream, StreamHead head,
                                   bool head_only, const StreamStart& start);

 private:
  boost::asio::awaitable<bool> send(std::string_view data, bool last = false);
  // Reads (and discards) whatever the client sends, to notice at once when it disconnects.
  void watchClient();
  void finish(std::string reason);

  StreamOptions options_;
  boost::asio::steady_timer wake_;  // the writer waits on it for chunks; cancelled to wake it
  boost::beast::tcp_stream* stream_ = nullptr;
  std::array<char, 512> scratch_{};
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  uint64_t dropped_pending_ = 0;  // not yet announced to the client
  uint64_t dropped_total_ = 0;
  bool closing_ = false;
  bool ended_ = false;
  std::string end_reason_;
  std::vector<std::function<void(std::string)>> on_end_;
};

}  // namespace oak::http::detail
