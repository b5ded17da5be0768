#include "worker/runtime/instance_spec.h"

#include <boost/json.hpp>

#include <charconv>
#include <climits>
#include <cmath>

#include <fmt/format.h>

#include "common/json.h"

namespace oak::worker {
namespace {

namespace bj = boost::json;

constexpr std::string_view kTaskMarker = ".instance.";
constexpr size_t kMaxJobName = 200;  // the task id must stay a valid file name (255 bytes)

Error invalid(std::string_view key, std::string_view what) {
  return makeError(ErrorCode::kUnprocessable, fmt::format("{}: {}", key, what));
}

Error wrongType(std::string_view key, std::string_view expected, const bj::value& v) {
  return invalid(key, fmt::format("expected {}, got {}", expected, json::preview(v)));
}

// Absent and null both mean "not given", as for the Go decoder of the original.
const bj::value* find(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() || it->value().is_null() ? nullptr : &it->value();
}

Status readString(const bj::object& o, std::string_view key, std::string& out, bool required) {
  const bj::value* v = find(o, key);
  if (v == nullptr) return required ? Status(invalid(key, "required")) : Status();
  if (!v->is_string()) return wrongType(key, "a string", *v);
  out = std::string(v->get_string());
  if (required && out.empty()) return invalid(key, "must not be empty");
  return {};
}

Status readStrings(const bj::object& o, std::string_view key, std::vector<std::string>& out) {
  const bj::value* v = find(o, key);
  if (v == nullptr) return {};
  if (!v->is_array()) return wrongType(key, "an array of strings", *v);
  for (size_t i = 0; i < v->get_array().size(); ++i) {
    const bj::value& item = v->get_array()[i];
    if (!item.is_string()) return wrongType(fmt::format("{}[{}]", key, i), "a string", item);
    out.emplace_back(item.get_string());
  }
  return {};
}

// Accepts 3 and 3.0 (a re-serialised document may carry either); refuses 3.5 and negatives.
Status readCount(const bj::object& o, std::string_view key, int64_t max, int64_t& out) {
  const bj::value* v = find(o, key);
  if (v == nullptr) return {};
  std::string_view expected = "a non-negative integer";
  if (v->is_int64()) {
    out = v->get_int64();
  } else if (v->is_double() && std::isfinite(v->get_double()) &&
             std::trunc(v->get_double()) == v->get_double() && std::abs(v->get_double()) < 9e18) {
    out = static_cast<int64_t>(v->get_double());
  } else {
    return wrongType(key, expected, *v);
  }
  if (out < 0 || out > max) return wrongType(key, expected, *v);
  return {};
}

Status readInt(const bj::object& o, std::string_view key, int& out) {
  int64_t wide = out;
  OAK_TRY(readCount(o, key, INT_MAX, wide));
  out = static_cast<int>(wide);
  return {};
}

Status readNumber(const bj::object& o, std::string_view key, double& out) {
  const bj::value* v = find(o, key);
  if (v == nullptr) return {};
  if (!v->is_number()) return wrongType(key, "a non-negative number", *v);
  double d = v->to_number<double>();
  if (!std::isfinite(d) || d < 0) return wrongType(key, "a non-negative number", *v);
  out = d;
  return {};
}

Status readBool(const bj::object& o, std::string_view key, bool& out) {
  const bj::value* v = find(o, key);
  if (v == nullptr) return {};
  if (!v->is_bool()) return wrongType(key, "a boolean", *v);
  out = v->get_bool();
  return {};
}

bool jobNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

Status checkJobName(const std::string& name) {
  if (name.size() > kMaxJobName) {
    return invalid("job_name", fmt::format("longer than {} characters", kMaxJobName));
  }
  if (name.front() == '.') return invalid("job_name", "must not start with '.'");
  for (char c : name) {
    if (!jobNameChar(c)) {
      return invalid("job_name",
                     fmt::format("character '{}' is not allowed (only A-Z a-z 0-9 . _ -)", c));
    }
  }
  return {};
}

}  // namespace

Result<InstanceSpec> InstanceSpec::fromJson(const bj::object& message) {
  InstanceSpec spec;
  OAK_TRY(readString(message, "job_name", spec.job_name, true));
  OAK_TRY(checkJobName(spec.job_name));
  OAK_TRY(readInt(message, "instance_number", spec.instance));
  OAK_TRY(readString(message, "virtualization", spec.virtualization, true));
  OAK_TRY(readString(message, "image", spec.image, true));
  OAK_TRY(readStrings(message, "cmd", spec.cmd));
  OAK_TRY(readStrings(message, "environment", spec.environment));
  OAK_TRY(readString(message, "port", spec.port, false));
  OAK_TRY(readCount(message, "memory", INT64_MAX, spec.memory_mb));
  OAK_TRY(readNumber(message, "vcpus", spec.vcpus));
  OAK_TRY(readInt(message, "vgpus", spec.vgpus));
  OAK_TRY(readBool(message, "one_shot", spec.one_shot));
  OAK_TRY(readStrings(message, "arch", spec.arch));
  OAK_TRY(readString(message, "instance_ip", spec.instance_ip, false));
  OAK_TRY(readString(message, "instance_ip_v6", spec.instance_ip_v6, false));
  OAK_TRY(readString(message, "netns_path", spec.netns_path, false));
  OAK_TRY(readString(message, "nsip", spec.nsip, false));
  OAK_TRY(readString(message, "gateway", spec.gateway, false));
  OAK_TRY(readInt(message, "mtu", spec.mtu));
  return spec;
}

bj::object InstanceSpec::toJson() const {
  auto strings = [](const std::vector<std::string>& v) { return bj::array(v.begin(), v.end()); };
  return bj::object{{"job_name", job_name},
                    {"instance_number", instance},
                    {"virtualization", virtualization},
                    {"image", image},
                    {"cmd", strings(cmd)},
                    {"environment", strings(environment)},
                    {"port", port},
                    {"memory", memory_mb},
                    {"vcpus", vcpus},
                    {"vgpus", vgpus},
                    {"one_shot", one_shot},
                    {"arch", strings(arch)},
                    {"instance_ip", instance_ip},
                    {"instance_ip_v6", instance_ip_v6},
                    {"netns_path", netns_path},
                    {"nsip", nsip},
                    {"gateway", gateway},
                    {"mtu", mtu}};
}

std::string InstanceSpec::makeTaskId(std::string_view job_name, int instance) {
  return fmt::format("{}{}{}", job_name, kTaskMarker, instance);
}

std::optional<std::pair<std::string, int>> parseTaskId(std::string_view task_id) {
  size_t at = task_id.rfind(kTaskMarker);
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  std::string_view digits = task_id.substr(at + kTaskMarker.size());
  if (digits.empty() || digits.front() < '0' || digits.front() > '9') return std::nullopt;
  int instance = -1;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), instance);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return std::make_pair(std::string(task_id.substr(0, at)), instance);
}

}  // namespace oak::worker
