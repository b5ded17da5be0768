#pragma once
// Error policy (see docs/design/errors.md): anything caused by the user, the network, the kernel or
// an external daemon returns `Result<T>`; exceptions are used only during start-up and flag
// parsing.

#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace oak {

// Kinds of failure. Each maps to exactly one HTTP status on the API (see `httpStatus`).
enum class ErrorCode {
  kInvalidArgument,   // 400: malformed request (bad JSON, bad id, bad query parameter).
  kUnauthenticated,   // 401: missing, expired or invalid credentials.
  kPermissionDenied,  // 403: authenticated, but the role does not allow it.
  kNotFound,          // 404: the named entity does not exist (or is not visible to the caller).
  kMethodNotAllowed,  // 405
  kConflict,          // 409: the request collides with existing state (duplicate name, taken IP).
  kPayloadTooLarge,   // 413
  kUnprocessable,     // 422: well-formed but semantically invalid (SLA rule violated).
  kExhausted,         // 507: a pool (e.g. service addresses) has no free element left.
  kUnavailable,       // 503: a dependency (store, daemon) is not reachable right now.
  kInternal,          // 500: a bug or an I/O failure of our own; never caused by input.
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

int httpStatus(ErrorCode code);
std::string_view reasonPhrase(int http_status);

// Lets `result.value()` throw for callers that prefer exceptions (start-up code only).
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;
using Status = boost::system::result<void, Error>;

// "<what>: <strerror(errno)>", for errors of system calls that just failed.
std::string errnoText(std::string_view what);

inline Error makeError(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

}  // namespace oak

// Propagates the error of a `Result` expression, otherwise yields nothing (for `Status`) or binds.
#define OAK_TRY(expr)                                      \
  do {                                                     \
    auto oak_try_r_ = (expr);                              \
    if (!oak_try_r_) return std::move(oak_try_r_).error(); \
  } while (0)

#define OAK_CONCAT_INNER_(a, b) a##b
#define OAK_CONCAT_(a, b) OAK_CONCAT_INNER_(a, b)
#define OAK_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp) return std::move(tmp).error();         \
  lhs = std::move(*tmp)
#define OAK_ASSIGN_OR_RETURN(lhs, expr) \
  OAK_ASSIGN_OR_RETURN_IMPL_(OAK_CONCAT_(oak_r_, __COUNTER__), lhs, expr)
