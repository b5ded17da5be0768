#pragma once
// Small helpers around Boost.JSON used by every component: parsing untrusted text into a `Result`,
// and typed, non-throwing field access.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace oak::json {

// Parses untrusted text. Errors are kInvalidArgument with a message that says what and where.
Result<boost::json::value> parse(std::string_view text);

// Compact serialization.
std::string dump(const boost::json::value& v);

// Compact rendering of a value for error messages: strings quoted with '', long values cut.
std::string preview(const boost::json::value& v, size_t max_len = 60);

// JSON type name as JSON Schema spells it ("string", "integer", "number", "object", ...).
std::string_view typeName(const boost::json::value& v);

// Field access that never throws; nullptr/nullopt when absent or of another type.
const boost::json::string* findString(const boost::json::object& o, std::string_view key);
std::optional<std::string> getString(const boost::json::object& o, std::string_view key);
std::optional<int64_t> getInt(const boost::json::object& o, std::string_view key);
const boost::json::array* findArray(const boost::json::object& o, std::string_view key);
const boost::json::object* findObject(const boost::json::object& o, std::string_view key);

}  // namespace oak::json
