#pragma once
// A `Store` held in process memory, for unit tests and fixtures. Nothing survives the object.

#include <map>
#include <string>

#include "store/store.h"

namespace oak::store {

class InMemoryStore final : public Store {
 public:
  InMemoryStore() = default;
  InMemoryStore(const InMemoryStore&) = delete;
  InMemoryStore& operator=(const InMemoryStore&) = delete;

  Result<std::optional<boost::json::object>> get(std::string_view collection,
                                                 std::string_view id) override;
  Result<std::vector<boost::json::object>> list(std::string_view collection) override;
  Result<std::vector<boost::json::object>> find(std::string_view collection, std::string_view field,
                                                const boost::json::value& value) override;
  Status apply(const WriteBatch& batch) override;

 private:
  using Documents = std::map<std::string, boost::json::object, std::less<>>;
  std::map<std::string, Documents, std::less<>> collections_;
};

}  // namespace oak::store
