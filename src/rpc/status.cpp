#include "rpc/status.h"

#include <fmt/format.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <charconv>

namespace oak::rpc {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int hi = hexValue(text[i + 1]);
      int lo = hexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

CallStatus statusFromTrailers(std::string_view grpc_status, std::string_view grpc_message) {
  int code = -1;
  auto [end, ec] =
      std::from_chars(grpc_status.data(), grpc_status.data() + grpc_status.size(), code);
  std::string message = percentDecode(grpc_message);
  if (ec != std::errc() || end != grpc_status.data() + grpc_status.size() || code < 0 ||
      code > static_cast<int>(StatusCode::kUnauthenticated)) {
    return {StatusCode::kUnknown, fmt::format("invalid grpc-status \"{}\"{}{}", grpc_status,
                                              message.empty() ? "" : ": ", message)};
  }
  return {static_cast<StatusCode>(code), std::move(message)};
}

CallStatus statusFromHttp(int http_status) {
  StatusCode code = StatusCode::kUnknown;
  switch (http_status) {
    case 400:
      code = StatusCode::kInternal;
      break;
    case 401:
      code = StatusCode::kUnauthenticated;
      break;
    case 403:
      code = StatusCode::kPermissionDenied;
      break;
    case 404:
      code = StatusCode::kUnimplemented;
      break;
    case 429:
    case 502:
    case 503:
    case 504:
      code = StatusCode::kUnavailable;
      break;
    default:
      break;
  }
  return {code, fmt::format("HTTP status {} instead of a gRPC response", http_status)};
}

CallStatus statusFromReset(uint32_t http2_error_code) {
  StatusCode code = StatusCode::kInternal;
  switch (http2_error_code) {
    case NGHTTP2_REFUSED_STREAM:
      code = StatusCode::kUnavailable;  // the server did not process it: safe to try again
      break;
    case NGHTTP2_CANCEL:
      code = StatusCode::kCancelled;
      break;
    case NGHTTP2_ENHANCE_YOUR_CALM:
      code = StatusCode::kResourceExhausted;
      break;
    case NGHTTP2_INADEQUATE_SECURITY:
      code = StatusCode::kPermissionDenied;
      break;
    default:
      break;
  }
  return {code,
          fmt::format("stream reset by the server ({})", nghttp2_http2_strerror(http2_error_code))};
}

std::string grpcTimeout(std::chrono::milliseconds timeout) {
  constexpr int64_t kMax = 99'999'999;  // 8 digits
  int64_t value = std::max<int64_t>(timeout.count(), 1);
  // Rounded up: the server must not give up before the client.
  auto in = [value](int64_t unit_ms) { return value / unit_ms + (value % unit_ms != 0 ? 1 : 0); };
  if (value <= kMax) return fmt::format("{}m", value);
  if (in(1000) <= kMax) return fmt::format("{}S", in(1000));
  if (in(60'000) <= kMax) return fmt::format("{}M", in(60'000));
  return fmt::format("{}H", std::min(in(3'600'000), kMax));
}

}  // namespace oak::rpc
