#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "store/store.h"

namespace oak::store {

void WriteBatch::put(std::string_view collection, std::string_view id, boost::json::object doc) {
  // Moves when `doc` already lives on the default resource, copies otherwise.
  ops_.push_back(Op{Op::Kind::kPut, std::string(collection), std::string(id),
                    boost::json::object(std::move(doc), boost::json::storage_ptr())});
}

void WriteBatch::erase(std::string_view collection, std::string_view id) {
  ops_.push_back(Op{Op::Kind::kErase, std::string(collection), std::string(id), {}});
}

namespace {

Error invalid(std::string_view what, std::string_view name, std::string_view rule) {
  return makeError(ErrorCode::kInvalidArgument,
                   fmt::format("store: invalid {} '{}': {}", what, name, rule));
}

bool isCollectionChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

bool isForbiddenFieldChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f || c == '"' || c == '\\';
}

}  // namespace

Status checkCollection(std::string_view collection) {
  if (collection.empty() || collection.size() > 64 ||
      !std::all_of(collection.begin(), collection.end(), isCollectionChar)) {
    return invalid("collection", collection, "expected 1-64 characters of [A-Za-z0-9_.-]");
  }
  return {};
}

Status checkField(std::string_view field) {
  if (field.empty() || field.size() > 128 ||
      std::any_of(field.begin(), field.end(), isForbiddenFieldChar)) {
    return invalid("field", field, "expected 1-128 bytes without control characters, '\"' or '\\'");
  }
  return {};
}

Status checkId(std::string_view id) {
  if (id.empty() || id.size() > 1024 || id.find('\0') != std::string_view::npos) {
    return invalid("id", id, "expected 1-1024 bytes without NUL");
  }
  return {};
}

Status checkBatch(const WriteBatch& batch) {
  for (const auto& op : batch.ops()) {
    OAK_TRY(checkCollection(op.collection));
    OAK_TRY(checkId(op.id));
  }
  return {};
}

Status checkFindValue(const boost::json::value& value) {
  if (value.is_string() || value.is_int64() || value.is_uint64() || value.is_bool()) return {};
  return makeError(ErrorCode::kInvalidArgument,
                   "store: find matches only string, integer or bool values");
}

bool fieldEquals(const boost::json::object& doc, std::string_view field,
                 const boost::json::value& value) {
  // boost::json compares kinds strictly (true is not 1, 1 is not 1.0), except that int64 and
  // uint64 compare by value.
  const auto* member = doc.if_contains(field);
  return member != nullptr && *member == value;
}

}  // namespace oak::store
