#pragma once
// MongoDB-style ObjectIds: 12 bytes shown as 24 lowercase hex digits. They are what clients of the
// original API parse, and they sort by creation time (4-byte timestamp first).

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace oak {

std::string newObjectId();
bool isObjectId(std::string_view s);
// {"$oid": "<hex>"}: how documents present their `_id`.
boost::json::object oidJson(std::string_view hex);

}  // namespace oak
