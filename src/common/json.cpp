#include "common/json.h"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

namespace oak::json {

Result<boost::json::value> parse(std::string_view text) {
  boost::json::parse_options opts;
  opts.max_depth = 64;
  boost::json::stream_parser p({}, opts);
  boost::system::error_code ec;
  size_t consumed = p.write_some(text.data(), text.size(), ec);
  if (!ec && consumed != text.size()) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("malformed JSON body: trailing data at byte {}", consumed));
  }
  if (!ec) p.finish(ec);
  if (ec) {
    return makeError(ErrorCode::kInvalidArgument,
                     fmt::format("malformed JSON body: {} (at byte {})", ec.message(), consumed));
  }
  return p.release();
}

std::string dump(const boost::json::value& v) {
  return boost::json::serialize(v);
}

std::string preview(const boost::json::value& v, size_t max_len) {
  std::string s = v.is_string() ? "'" + std::string(v.get_string()) + "'" : dump(v);
  if (s.size() > max_len) {
    s.resize(max_len);
    s += "...";
  }
  return s;
}

std::string_view typeName(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
      return "integer";
    case boost::json::kind::double_:
      return "number";
    case boost::json::kind::string:
      return "string";
    case boost::json::kind::array:
      return "array";
    case boost::json::kind::object:
      return "object";
  }
  return "unknown";
}

const boost::json::string* findString(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? &it->value().get_string() : nullptr;
}

std::optional<std::string> getString(const boost::json::object& o, std::string_view key) {
  const auto* s = findString(o, key);
  if (s == nullptr) return std::nullopt;
  return std::string(*s);
}

std::optional<int64_t> getInt(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  const auto& v = it->value();
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    double d = v.get_double();
    // Range check first: casting an out-of-range double is undefined behaviour.
    if (d >= -9.2e18 && d <= 9.2e18 && d == static_cast<double>(static_cast<int64_t>(d))) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

const boost::json::array* findArray(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_array() ? &it->value().get_array() : nullptr;
}

const boost::json::object* findObject(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_object() ? &it->value().get_object() : nullptr;
}

}  // namespace oak::json
