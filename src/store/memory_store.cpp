#include "store/memory_store.h"

namespace oak::store {

namespace {

// A deep copy on the default resource, independent of the stored document.
boost::json::object copyOut(const boost::json::object& doc) {
  return boost::json::object(doc, boost::json::storage_ptr());
}

}  // namespace

Result<std::optional<boost::json::object>> InMemoryStore::get(std::string_view collection,
                                                              std::string_view id) {
  OAK_TRY(checkCollection(collection));
  OAK_TRY(checkId(id));
  auto c = collections_.find(collection);
  if (c == collections_.end()) return std::optional<boost::json::object>();
  auto d = c->second.find(id);
  if (d == c->second.end()) return std::optional<boost::json::object>();
  return std::optional<boost::json::object>(copyOut(d->second));
}

Result<std::vector<boost::json::object>> InMemoryStore::list(std::string_view collection) {
  OAK_TRY(checkCollection(collection));
  std::vector<boost::json::object> out;
  auto c = collections_.find(collection);
  if (c == collections_.end()) return out;
  out.reserve(c->second.size());
  for (const auto& [id, doc] : c->second) out.push_back(copyOut(doc));
  return out;
}

Result<std::vector<boost::json::object>> InMemoryStore::find(std::string_view collection,
                                                             std::string_view field,
                                                             const boost::json::value& value) {
  OAK_TRY(checkCollection(collection));
  OAK_TRY(checkField(field));
  OAK_TRY(checkFindValue(value));
  std::vector<boost::json::object> out;
  auto c = collections_.find(collection);
  if (c == collections_.end()) return out;
  for (const auto& [id, doc] : c->second) {
    if (fieldEquals(doc, field, value)) out.push_back(copyOut(doc));
  }
  return out;
}

Status InMemoryStore::apply(const WriteBatch& batch) {
  // Only names can be wrong, so checking them all first makes the loop below all-or-nothing.
  OAK_TRY(checkBatch(batch));
  for (const auto& op : batch.ops()) {
    if (op.kind == WriteBatch::Op::Kind::kPut) {
      collections_[op.collection].insert_or_assign(op.id, copyOut(op.doc));
      continue;
    }
    auto c = collections_.find(op.collection);
    if (c == collections_.end()) continue;
    c->second.erase(op.id);
    if (c->second.empty()) collections_.erase(c);
  }
  return {};
}

}  // namespace oak::store
