#pragma once
// Requests on behalf of the logged-in user. The access token is refreshed transparently: before a
// request when its `exp` claim says it has expired, or once after the root refused it, using the
// refresh token of `oak login`. Without a usable refresh token the error tells the user to log in.

#include <boost/json/value.hpp>

#include <functional>
#include <string>

#include "cli/oak/config.h"
#include "cli/oak/transport.h"
#include "common/clock.h"
#include "common/result.h"

namespace oak::cli {

class Session {
 public:
  // `on_refreshed` is told every new access token (to keep it for the next command).
  Session(Transport& transport, Endpoint endpoint, const Clock& clock,
          std::function<void(const std::string& token)> on_refreshed = {});

  // The answer whatever its status, except that a refused session is an error.
  Result<ApiReply> send(http::Method method, const std::string& target,
                        const std::string& body = {});
  // A streamed GET (see Transport::stream), with the same session handling.
  Result<ApiReply> stream(const std::string& target, const DataSink& sink);
  // The JSON of a 2xx answer; any other answer is an error carrying the server's message.
  Result<boost::json::value> call(http::Method method, const std::string& target,
                                  const std::string& body = {});

  // The user the session is for ("" when not logged in).
  std::string username() const;
  const std::string& url() const { return endpoint_.url; }

 private:
  using Attempt = std::function<Result<ApiReply>(const std::string& token)>;
  Result<ApiReply> authorized(const Attempt& attempt);
  Status refresh();
  bool expired(const std::string& token) const;
  Error refused(const ApiReply& reply) const;

  Transport& transport_;
  Endpoint endpoint_;
  const Clock& clock_;
  std::function<void(const std::string&)> on_refreshed_;
  bool refreshed_ = false;
};

// The error of a non-2xx answer: the server's "message", else the start of its body. The code
// follows the status (404 → kNotFound, ...).
Error replyError(const ApiReply& reply);

}  // namespace oak::cli
