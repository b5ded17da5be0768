#include "root/sla/validator.h"

#include <boost/json.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <span>
#include <string>

#include "net/port_mapping.h"

namespace oak::sla {
namespace {

namespace json = boost::json;

// JSON-Schema type names, as they appear in messages.
enum class Kind { kString, kInteger, kNumber, kBoolean, kObject, kArray };
constexpr std::array<std::string_view, 6> kKindNames = {"string",  "integer", "number",
                                                        "boolean", "object",  "array"};

constexpr std::string_view kNamePattern = "^[a-zA-Z0-9]{1,30}$";
constexpr size_t kMaxShown = 60;

// A rule applied to a value whose kind already matched; `path` names the value in messages.
using Check = Status (*)(const json::value& v, const std::string& path);

// One property of an object schema. For arrays, `check` applies to every item.
struct Field {
  std::string_view name;
  Kind kind;
  bool required = false;
  Check check = nullptr;
};

Error fail(const std::string& path, std::string_view what) {
  return makeError(ErrorCode::kUnprocessable,
                   (path.empty() ? std::string("(root)") : path) + ": " + std::string(what));
}

std::string child(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

// Cuts long values so that a huge field cannot flood a response; never splits a UTF-8 sequence.
std::string shorten(std::string s) {
  if (s.size() <= kMaxShown) return s;
  size_t n = kMaxShown;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s + "...";
}

std::string quote(std::string_view s) {
  std::string escaped = json::serialize(s);  // escapes control characters and quotes
  return "'" + shorten(escaped.substr(1, escaped.size() - 2)) + "'";
}

std::string render(const json::value& v) {
  if (v.is_string()) return quote(v.get_string());
  if (v.is_double()) {  // shortest round-trip form ("1.5"), not Boost's "1.5E0"
    std::array<char, 32> buf{};
    auto end = std::to_chars(buf.data(), buf.data() + buf.size(), v.get_double()).ptr;
    return std::string(buf.data(), end);
  }
  return shorten(json::serialize(v));
}

bool isInteger(const json::value& v) {
  if (v.is_int64() || v.is_uint64()) return true;
  return v.is_double() && std::isfinite(v.get_double()) &&
         std::trunc(v.get_double()) == v.get_double();
}

bool hasKind(const json::value& v, Kind kind) {
  switch (kind) {
    case Kind::kString:
      return v.is_string();
    case Kind::kInteger:
      return isInteger(v);
    case Kind::kNumber:
      return v.is_number();
    case Kind::kBoolean:
      return v.is_bool();
    case Kind::kObject:
      return v.is_object();
    case Kind::kArray:
      return v.is_array();
  }
  return false;
}

Status expectKind(const json::value& v, Kind kind, const std::string& path) {
  if (hasKind(v, kind)) return {};
  return fail(path, render(v) + " is not of type '" +
                        std::string(kKindNames[static_cast<size_t>(kind)]) + "'");
}

// Checks each field in schema order and each array item in index order.
Status checkFields(const json::object& obj, const std::string& path,
                   std::span<const Field> fields) {
  for (const Field& f : fields) {
    const std::string at = child(path, f.name);
    const json::value* v = obj.if_contains(f.name);
    if (v == nullptr) {
      if (f.required) return fail(at, "required property is missing");
      continue;
    }
    OAK_TRY(expectKind(*v, f.kind, at));
    if (f.check == nullptr) continue;
    if (f.kind != Kind::kArray) {
      OAK_TRY(f.check(*v, at));
      continue;
    }
    const json::array& items = v->get_array();
    for (size_t i = 0; i < items.size(); ++i) {
      OAK_TRY(f.check(items[i], at + "[" + std::to_string(i) + "]"));
    }
  }
  return {};
}

// ---- Reusable checks, composed in the tables below. ----

// Checks the kind of an array item, then an optional further rule.
template <Kind kKind, Check kThen = nullptr>
Status item(const json::value& v, const std::string& path) {
  OAK_TRY(expectKind(v, kKind, path));
  if constexpr (kThen == nullptr) {
    return {};
  } else {
    return kThen(v, path);
  }
}

template <const auto& kFields>
Status objectOf(const json::value& v, const std::string& path) {
  return checkFields(v.get_object(), path, kFields);
}

template <const auto& kAllowed>
Status oneOf(const json::value& v, const std::string& path) {
  for (std::string_view allowed : kAllowed) {
    if (v.get_string() == allowed) return {};
  }
  std::string list;
  for (std::string_view allowed : kAllowed) {
    list += (list.empty() ? "'" : ", '") + std::string(allowed) + "'";
  }
  return fail(path, render(v) + " is not one of " + list);
}

Status matchesName(const json::value& v, const std::string& path) {
  if (isValidName(v.get_string())) return {};
  return fail(path, render(v) + " does not match " + std::string(kNamePattern));
}

Status nonEmpty(const json::value& v, const std::string& path) {
  if (!v.get_string().empty()) return {};
  return fail(path, "must not be empty");
}

Status nonNegative(const json::value& v, const std::string& path) {
  if (v.to_number<double>() >= 0) return {};
  return fail(path, render(v) + " must be >= 0");
}

Status serverAssigned(const json::value& v, const std::string& path) {
  if (v.get_string().empty()) return {};
  return fail(path, render(v) + " must be empty (the server assigns ids)");
}

Status portSpec(const json::value& v, const std::string& path) {
  auto parsed = net::parsePorts(v.get_string());
  if (parsed) return {};
  return fail(path, parsed.error().message);
}

Status slaVersion(const json::value& v, const std::string& path) {
  const json::string& version = v.get_string();
  if (version == "v2.0") return {};
  if (version == "v1.0") return fail(path, "'v1.0' is deprecated, use 'v2.0'");
  return fail(path, render(v) + " is not a supported version (expected 'v2.0')");
}

bool isEnvName(std::string_view s) {
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (s.empty() || !alpha(s[0])) return false;
  for (char c : s.substr(1)) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

Status envAssignment(const json::value& v, const std::string& path) {
  std::string_view s = v.get_string();
  size_t eq = s.find('=');
  if (eq != std::string_view::npos && isEnvName(s.substr(0, eq))) return {};
  return fail(path,
              render(v) + " is not of the form NAME=value (NAME matching [A-Za-z_][A-Za-z0-9_]*)");
}

// ---- The schema, leaves first. ----

constexpr std::array<std::string_view, 3> kVirtualizations = {"container", "docker", "unikernel"};
constexpr std::array<std::string_view, 3> kConstraintTypes = {"direct", "latency", "geo"};

constexpr auto kStringItems = item<Kind::kString>;

constexpr std::array kInstanceFields = {
    Field{"from", Kind::kString},
    Field{"to", Kind::kString},
    Field{"start", Kind::kString},
};

// Addresses are only type-checked here; their values are validated where they are allocated.
constexpr std::array kAddressFields = {
    Field{"rr_ip", Kind::kString},
    Field{"rr_ip_v6", Kind::kString},
    Field{"closest_ip", Kind::kString},
    Field{"closest_ip_v6", Kind::kString},
    Field{"instances", Kind::kArray, false, item<Kind::kObject, objectOf<kInstanceFields>>},
};

constexpr std::array kConstraintFields = {
    Field{"type", Kind::kString, true, oneOf<kConstraintTypes>},
    Field{"area", Kind::kString},
    Field{"cluster", Kind::kString},
    Field{"node", Kind::kString},
    Field{"location", Kind::kString},
    Field{"threshold", Kind::kNumber},
    Field{"rigidness", Kind::kNumber},
    Field{"convergence_time", Kind::kInteger},
};

Status constraint(const json::value& v, const std::string& path) {
  const json::object& obj = v.get_object();
  OAK_TRY(checkFields(obj, path, kConstraintFields));
  if (obj.at("type").get_string() == "direct" && !obj.contains("cluster") &&
      !obj.contains("node")) {
    return fail(path, "a 'direct' constraint needs 'cluster' or 'node'");
  }
  return {};
}

constexpr std::array kConConstraintFields = {
    Field{"type", Kind::kString, true},
    Field{"threshold", Kind::kNumber, true},
    Field{"rigidness", Kind::kNumber, true},
    Field{"convergence_time", Kind::kInteger, true},
};

constexpr std::array kConnectivityFields = {
    Field{"target_microservice_id", Kind::kString, true},
    Field{"con_constraints", Kind::kArray, true,
          item<Kind::kObject, objectOf<kConConstraintFields>>},
};

constexpr std::array kMicroserviceFields = {
    Field{"microserviceID", Kind::kString, false, serverAssigned},
    Field{"microservice_name", Kind::kString, true, matchesName},
    Field{"microservice_namespace", Kind::kString, true, matchesName},
    Field{"virtualization", Kind::kString, true, oneOf<kVirtualizations>},
    Field{"memory", Kind::kInteger, false, nonNegative},
    Field{"vcpus", Kind::kInteger, false, nonNegative},
    Field{"vgpus", Kind::kInteger, false, nonNegative},
    Field{"vtpus", Kind::kInteger, false, nonNegative},
    Field{"bandwidth_in", Kind::kInteger, false, nonNegative},
    Field{"bandwidth_out", Kind::kInteger, false, nonNegative},
    Field{"storage", Kind::kInteger, false, nonNegative},
    Field{"code", Kind::kString, true, nonEmpty},
    Field{"state", Kind::kString},
    Field{"port", Kind::kString, false, portSpec},
    Field{"one_shot", Kind::kBoolean},
    Field{"cmd", Kind::kArray, false, kStringItems},
    Field{"environment", Kind::kArray, false, item<Kind::kString, envAssignment>},
    Field{"sla_violation_strategy", Kind::kString},
    Field{"target_node", Kind::kString},
    Field{"addresses", Kind::kObject, false, objectOf<kAddressFields>},
    Field{"added_files", Kind::kArray, false, kStringItems},
    Field{"args", Kind::kArray, false, kStringItems},
    Field{"constraints", Kind::kArray, false, item<Kind::kObject, constraint>},
    Field{"connectivity", Kind::kArray, false, item<Kind::kObject, objectOf<kConnectivityFields>>},
    Field{"arch", Kind::kArray, false, item<Kind::kString, nonEmpty>},
};

Status microservice(const json::value& v, const std::string& path) {
  const json::object& obj = v.get_object();
  OAK_TRY(checkFields(obj, path, kMicroserviceFields));
  // Unikernel kernels are per architecture, so the node engine cannot pick one without `arch`.
  if (obj.at("virtualization").get_string() == "unikernel") {
    const json::value* arch = obj.if_contains("arch");
    if (arch == nullptr || arch->get_array().empty()) {
      return fail(child(path, "arch"), "required when virtualization is 'unikernel'");
    }
  }
  return {};
}

constexpr std::array kApplicationFields = {
    Field{"applicationID", Kind::kString},
    Field{"application_name", Kind::kString, true, matchesName},
    Field{"application_namespace", Kind::kString, true, matchesName},
    Field{"application_desc", Kind::kString},
    Field{"microservices", Kind::kArray, true, item<Kind::kObject, microservice>},
};

constexpr std::array kSlaFields = {
    Field{"sla_version", Kind::kString, true, slaVersion},
    Field{"customerID", Kind::kString, true},
    Field{"applications", Kind::kArray, true, item<Kind::kObject, objectOf<kApplicationFields>>},
    Field{"args", Kind::kArray, false, kStringItems},
};

}  // namespace

bool isValidName(std::string_view name) {
  if (name.empty() || name.size() > 30) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

Status validateMicroservice(const json::value& microservice_json, std::string_view path) {
  return item<Kind::kObject, microservice>(microservice_json, std::string(path));
}

Status validateSla(const json::value& sla) {
  if (!sla.is_object()) return fail("", "the SLA must be a JSON object");
  return checkFields(sla.get_object(), "", kSlaFields);
}

}  // namespace oak::sla
