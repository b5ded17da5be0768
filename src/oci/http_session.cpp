#include "oci/http_session.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>
#include <optional>

namespace oak::oci {

namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr long kLowSpeedBytesPerSecond = 1024;

void initCurlOnce() {
  // Not thread-safe in libcurl itself, hence once per process before any handle exists.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view HttpHead::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

struct HttpSession::Impl {
  SessionOptions options;
  CURL* curl = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};

  // State of the transfer in progress.
  HttpResult result;
  const BodySink* sink = nullptr;
  std::optional<Error> sink_error;
  bool sink_failed = false;
  bool cancelled = false;

  static size_t onHeader(char* data, size_t size, size_t count, void* user) {
    auto& self = *static_cast<Impl*>(user);
    std::string_view line(data, size * count);
    if (line.starts_with("HTTP/")) {
      // A new status line (after an interim 100 Continue): start over.
      self.result.head = HttpHead{};
      size_t space = line.find(' ');
      if (space != std::string_view::npos && line.size() >= space + 4) {
        const char* code = line.data() + space + 1;
        std::from_chars(code, code + 3, self.result.head.status);
      }
      return line.size();
    }
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name(trim(line.substr(0, colon)));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      self.result.head.headers.emplace_back(std::move(name),
                                            std::string(trim(line.substr(colon + 1))));
    }
    return line.size();
  }

  static size_t onBody(char* data, size_t size, size_t count, void* user) {
    auto& self = *static_cast<Impl*>(user);
    std::string_view chunk(data, size * count);
    int status = self.result.head.status;
    if (status >= 200 && status < 300) {
      if (self.sink && *self.sink) {
        auto ok = (*self.sink)(self.result.head, chunk);
        if (!ok) {
          self.sink_error = std::move(ok).error();
          return 0;  // aborts with CURLE_WRITE_ERROR
        }
      }
      return chunk.size();
    }
    size_t room = kMaxErrorBody - std::min(kMaxErrorBody, self.result.body.size());
    self.result.body.append(chunk.substr(0, room));
    return chunk.size();
  }

  static int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto& self = *static_cast<Impl*>(user);
    if (self.options.cancelled && self.options.cancelled()) {
      self.cancelled = true;
      return 1;
    }
    return 0;
  }
};

HttpSession::HttpSession(const SessionOptions& options) : impl_(std::make_unique<Impl>()) {
  initCurlOnce();
  impl_->options = options;
  impl_->curl = curl_easy_init();
}

HttpSession::~HttpSession() {
  if (impl_->curl) curl_easy_cleanup(impl_->curl);
}

Result<HttpResult> HttpSession::get(const std::string& url, const std::vector<std::string>& headers,
                                    const BodySink& sink) {
  Impl& s = *impl_;
  if (!s.curl) return makeError(ErrorCode::kInternal, "libcurl: cannot create a handle");
  // Keeps the connection cache; forgets the options of the previous request.
  curl_easy_reset(s.curl);
  s.result = HttpResult{};
  s.sink = &sink;
  s.sink_error.reset();
  s.cancelled = false;
  s.error_buffer[0] = '\0';

  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  CURL* c = s.curl;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_USERAGENT, s.options.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM: we run on pool threads
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(s.options.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytesPerSecond);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(s.options.low_speed_timeout.count()));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s.error_buffer);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &Impl::onHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Impl::onBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &Impl::onProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &s);

  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(list);
  s.sink = nullptr;

  s.sink_failed = s.sink_error.has_value();
  if (s.sink_error) return std::move(*s.sink_error);
  if (s.cancelled) return makeError(ErrorCode::kUnavailable, "cancelled");
  if (rc != CURLE_OK) {
    std::string message = s.error_buffer[0] ? s.error_buffer : curl_easy_strerror(rc);
    return makeError(ErrorCode::kUnavailable, message);
  }
  int status = s.result.head.status;
  if (status >= 300 && status < 400) {
    char* location = nullptr;
    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location);
    if (location) s.result.location = location;
  }
  return std::move(s.result);
}

bool HttpSession::sinkFailed() const {
  return impl_->sink_failed;
}

}  // namespace oak::oci
