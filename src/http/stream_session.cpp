#include "http/stream_session.h"

#include <fmt/format.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

namespace oak::http {

Response streamResponse(std::string content_type, StreamOptions options, StreamStart start) {
  Response r;
  r.content_type = std::move(content_type);
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.stream = std::make_shared<StreamBody>(StreamBody{std::move(options), std::move(start)});
  return r;
}

std::string sseEvent(std::string_view data) {
  std::string out;
  for (;;) {
    size_t eol = data.find('\n');
    out += fmt::format("data: {}\n", data.substr(0, eol));
    if (eol == std::string_view::npos) break;
    data.remove_prefix(eol + 1);
  }
  out += '\n';
  return out;
}

std::string sseComment(std::string_view text) {
  return fmt::format(": {}\n\n", text);
}

}  // namespace oak::http

namespace oak::http::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Steady = std::chrono::steady_clock;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

ChunkedStream::ChunkedStream(const asio::any_io_executor& executor, StreamOptions options)
    : options_(std::move(options)), wake_(executor) {}

bool ChunkedStream::write(std::string chunk) {
  if (ended_ || closing_) return false;
  if (chunk.empty()) return true;  // an empty chunk would end the body
  queued_bytes_ += chunk.size();
  queue_.push_back(std::move(chunk));
  while (queued_bytes_ > options_.max_queued_bytes && queue_.size() > 1) {
    queued_bytes_ -= queue_.front().size();
    queue_.pop_front();
    ++dropped_pending_;
    ++dropped_total_;
  }
  wake_.cancel();
  return true;
}

void ChunkedStream::close() {
  if (ended_ || closing_) return;
  closing_ = true;
  wake_.cancel();
}

void ChunkedStream::onEnd(std::function<void(std::string)> fn) {
  if (!ended_) {
    on_end_.push_back(std::move(fn));
    return;
  }
  asio::post(wake_.get_executor(), [fn = std::move(fn), reason = end_reason_] { fn(reason); });
}

void ChunkedStream::abort(std::string reason) {
  finish(std::move(reason));
  // Wakes a pending write; the watcher's read ends with it.
  if (stream_ != nullptr) stream_->cancel();
}

void ChunkedStream::finish(std::string reason) {
  if (ended_) return;
  ended_ = true;
  end_reason_ = std::move(reason);
  queue_.clear();
  queued_bytes_ = 0;
  wake_.cancel();
  auto callbacks = std::move(on_end_);
  on_end_.clear();
  for (auto& fn : callbacks) fn(end_reason_);
}

void ChunkedStream::watchClient() {
  stream_->socket().async_read_some(
      asio::buffer(scratch_), [self = shared_from_this()](boost::system::error_code ec, size_t) {
        // Aborted: by us, or by a write timeout, whose own reason is the better one.
        if (self->ended_ || ec == asio::error::operation_aborted) return;
        if (!ec) return self->watchClient();  // the client may send anything; it is ignored
        self->abort(ec == asio::error::eof
                        ? "the client disconnected"
                        : fmt::format("the client connection failed: {}", ec.message()));
      });
}

asio::awaitable<bool> ChunkedStream::send(std::string_view data, bool last) {
  stream_->expires_after(options_.write_timeout);
  boost::system::error_code ec;
  if (last) {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(*stream_, bhttp::make_chunk_last(), kAsTuple);
  } else {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(*stream_, bhttp::make_chunk(asio::buffer(data)), kAsTuple);
  }
  if (ec && !ended_) {
    finish(ec == beast::error::timeout
               ? fmt::format("the client read nothing for {} ms", options_.write_timeout.count())
               : fmt::format("writing to the client failed: {}", ec.message()));
  }
  co_return !ec && !ended_;
}

asio::awaitable<void> ChunkedStream::run(beast::tcp_stream& stream, StreamHead head, bool head_only,
                                         const StreamStart& start) {
  auto self = shared_from_this();
  stream_ = &stream;
  head.keep_alive(false);
  head.chunked(true);
  bhttp::response_serializer<bhttp::empty_body> serializer{head};
  stream.expires_after(options_.write_timeout);
  auto [ec, n] = co_await bhttp::async_write_header(stream, serializer, kAsTuple);
  if (ec) {
    finish(fmt::format("the client went away before the stream started: {}", ec.message()));
  } else if (head_only) {
    finish("a HEAD request has no body");
  } else if (!ended_) {
    watchClient();
  }
  if (start) start(self);

  auto last_sent = Steady::now();
  while (!ended_) {
    std::string chunk;
    if (dropped_pending_ > 0) {
      // The notice takes the place of the chunks it stands for: before anything newer.
      if (options_.dropped_notice) chunk = options_.dropped_notice(dropped_pending_);
      dropped_pending_ = 0;
    } else if (!queue_.empty()) {
      chunk = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= chunk.size();
    } else if (closing_) {
      if (co_await send({}, true)) finish("the stream is complete");
      break;
    } else {
      bool keepalive = options_.keepalive.count() > 0 && !options_.keepalive_chunk.empty();
      wake_.expires_at(keepalive ? last_sent + options_.keepalive : Steady::time_point::max());
      auto [wait_ec] = co_await wake_.async_wait(kAsTuple);
      // Cancelled: something to do. Expired: nothing was sent for a keep-alive period.
      if (wait_ec || ended_) continue;
      chunk = options_.keepalive_chunk;
    }
    if (chunk.empty()) continue;
    if (!co_await send(chunk)) break;
    last_sent = Steady::now();
  }
  stream_ = nullptr;
}

}  // namespace oak::http::detail
