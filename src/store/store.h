#pragma once
// The document store: JSON objects in named collections, keyed by a string id. Backends:
// `InMemoryStore` (tests) and `SqliteStore` (the default for root and cluster).

#include <boost/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace oak::store {

// A sequence of mutations that `Store::apply` performs atomically and in order. Documents are
// owned by the batch and held on the default memory resource, so the caller's storage may die.
class WriteBatch {
 public:
  struct Op {
    enum class Kind { kPut, kErase };
    Kind kind = Kind::kPut;
    std::string collection;
    std::string id;
    boost::json::object doc;  // Empty for `kErase`.
  };

  // Inserts the document, or replaces the whole document stored under `id`.
  void put(std::string_view collection, std::string_view id, boost::json::object doc);
  // Removes the document; removing an absent document is not an error.
  void erase(std::string_view collection, std::string_view id);

  bool empty() const { return ops_.empty(); }
  std::size_t size() const { return ops_.size(); }
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
};

// Every backend offers the same semantics:
// - Results are deep copies; changing them never changes the store.
// - Ordering is by id, byte-wise. Ids are time-ordered ObjectIds, so this is creation order.
// - Names are checked by the functions below; a bad name is `kInvalidArgument`.
// - Implementations are not thread-safe: one owner calls them, from one thread at a time.
class Store {
 public:
  virtual ~Store() = default;

  // The document, or `std::nullopt` when there is none.
  virtual Result<std::optional<boost::json::object>> get(std::string_view collection,
                                                         std::string_view id) = 0;
  // All documents of the collection, ordered by id.
  virtual Result<std::vector<boost::json::object>> list(std::string_view collection) = 0;
  // Documents whose top-level `field` equals `value`, ordered by id. `value` must be a string, an
  // integer or a bool, and matches only members of the same JSON kind: `1` matches neither `true`
  // nor `1.0`.
  virtual Result<std::vector<boost::json::object>> find(std::string_view collection,
                                                        std::string_view field,
                                                        const boost::json::value& value) = 0;
  // Performs every operation of the batch, or none of them. An empty batch succeeds.
  virtual Status apply(const WriteBatch& batch) = 0;
};

// Name rules shared by every backend. A collection is 1-64 characters of [A-Za-z0-9_.-]; a field
// is 1-128 bytes without control characters, '"' or '\'; an id is 1-1024 bytes without NUL.
Status checkCollection(std::string_view collection);
Status checkField(std::string_view field);
Status checkId(std::string_view id);
// Checks every name in the batch, so a batch is rejected before any of it is applied.
Status checkBatch(const WriteBatch& batch);
// Checks that `value` is a kind `find` accepts.
Status checkFindValue(const boost::json::value& value);
// The match `find` performs: `doc` has a top-level `field` of the same JSON kind and value.
bool fieldEquals(const boost::json::object& doc, std::string_view field,
                 const boost::json::value& value);

}  // namespace oak::store
