#pragma once
// Header values of gRPC's HTTP/2 mapping: statuses (grpc-status, grpc-message, HTTP :status,
// RST_STREAM codes) and the request's grpc-timeout.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "rpc/channel.h"

namespace oak::rpc {

// grpc-message is percent-encoded; a malformed escape is kept as it is rather than dropped.
std::string percentDecode(std::string_view text);

// The status a grpc-status/grpc-message pair carries; a value that is no known code is kUnknown.
CallStatus statusFromTrailers(std::string_view grpc_status, std::string_view grpc_message);

// A response whose HTTP status is not 200 comes from something other than a gRPC server (a
// proxy, a plain HTTP server): the status is derived from the HTTP status as gRPC does.
CallStatus statusFromHttp(int http_status);

// A stream the server reset without sending a status.
CallStatus statusFromReset(uint32_t http2_error_code);

// The grpc-timeout value for `timeout` (at most 8 digits, so coarser units for long timeouts).
std::string grpcTimeout(std::chrono::milliseconds timeout);

}  // namespace oak::rpc
