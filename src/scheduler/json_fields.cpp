#include "scheduler/json_fields.h"

#include <fmt/format.h>

#include <cmath>

#include "common/json.h"

namespace oak::sched::fields {

namespace bj = boost::json;

namespace {

const bj::value* present(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

std::string got(const bj::value& v) {
  return fmt::format("{} {}", json::typeName(v), json::preview(v));
}

}  // namespace

std::string join(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : fmt::format("{}.{}", prefix, key);
}

Error invalid(std::string_view path, std::string_view what) {
  return makeError(ErrorCode::kUnprocessable, fmt::format("{}: {}", path, what));
}

Result<std::optional<double>> number(const bj::object& o, std::string_view key,
                                     std::string_view prefix) {
  const bj::value* v = present(o, key);
  if (v == nullptr) return std::optional<double>();
  double d = 0;
  if (v->is_int64()) {
    d = static_cast<double>(v->get_int64());
  } else if (v->is_uint64()) {
    d = static_cast<double>(v->get_uint64());
  } else if (v->is_double()) {
    d = v->get_double();
  } else {
    return invalid(join(prefix, key), "must be a number, got " + got(*v));
  }
  if (!std::isfinite(d)) return invalid(join(prefix, key), "must be a finite number");
  return std::optional<double>(d);
}

Result<std::optional<double>> nonNegative(const bj::object& o, std::string_view key,
                                          std::string_view prefix) {
  OAK_ASSIGN_OR_RETURN(auto d, number(o, key, prefix));
  if (d && *d < 0) {
    return invalid(join(prefix, key), fmt::format("must not be negative, got {}", *d));
  }
  return d;
}

Result<std::optional<std::string>> string(const bj::object& o, std::string_view key,
                                          std::string_view prefix) {
  const bj::value* v = present(o, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return invalid(join(prefix, key), "must be a string, got " + got(*v));
  return std::optional<std::string>(std::string(v->get_string()));
}

Result<std::optional<std::vector<std::string>>> strings(const bj::object& o, std::string_view key,
                                                        std::string_view prefix) {
  const bj::value* v = present(o, key);
  if (v == nullptr) return std::optional<std::vector<std::string>>();
  std::string path = join(prefix, key);
  if (!v->is_array()) return invalid(path, "must be an array of strings, got " + got(*v));
  std::vector<std::string> out;
  for (size_t i = 0; i < v->get_array().size(); ++i) {
    const bj::value& item = v->get_array()[i];
    if (!item.is_string() || item.get_string().empty()) {
      return invalid(fmt::format("{}[{}]", path, i),
                     "must be a non-empty string, got " + got(item));
    }
    out.emplace_back(item.get_string());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

}  // namespace oak::sched::fields
