#pragma once
// The default `Store`: one SQLite file in WAL mode, one row per document.
//
// Single owner: the connection is opened without SQLite's mutexes, so calls must not overlap. The
// object may move between threads as long as one thread uses it at a time.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/store.h"

namespace oak::store {

class SqliteStore final : public Store {
 public:
  // A top-level document member that `find` looks up through an index instead of a scan of the
  // collection.
  struct IndexSpec {
    std::string collection;
    std::string field;
  };

  struct Options {
    // Behaviour.

    // Database file, required. Created with mode 0600 when absent (the WAL files follow that
    // mode); an existing file keeps its mode. ":memory:" keeps everything in memory.
    std::string path;

    // Indexes to maintain. Indexes from earlier runs that are no longer listed are dropped.
    // Default: none; `find` then scans the collection.
    std::vector<IndexSpec> indexes;

    // Durability. false (default): WAL with synchronous=NORMAL; a commit survives a process
    // crash, and after a power loss the file is consistent but may lack the latest commits.
    // true: synchronous=FULL; a commit also survives a power loss, at one fsync per commit.
    bool synchronous_full = false;

    // Performance.

    // How long a statement waits for a lock held by another connection before failing with
    // `kUnavailable`. Default: 5000 ms.
    int busy_timeout_ms = 5000;

    // Testing.

    // Called inside the transaction of `apply` before each operation, with its index. An error
    // rolls the whole batch back and is returned by `apply`. Default: none.
    std::function<Status(std::size_t op_index)> before_op;
  };

  // Opens or creates the database and brings its schema up to date. Errors: `kInvalidArgument`
  // for bad options, `kInternal` for a file that is not a database of ours (or of a newer
  // version), `kUnavailable` for anything the file system or SQLite refuses.
  static Result<std::unique_ptr<SqliteStore>> open(const Options& options);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // A document row that is not a JSON object fails with `kInternal`, naming collection and id.
  // Failures of SQLite itself are `kUnavailable`, or `kInternal` when the file or a query is bad.
  Result<std::optional<boost::json::object>> get(std::string_view collection,
                                                 std::string_view id) override;
  Result<std::vector<boost::json::object>> list(std::string_view collection) override;
  Result<std::vector<boost::json::object>> find(std::string_view collection, std::string_view field,
                                                const boost::json::value& value) override;
  Status apply(const WriteBatch& batch) override;

  // The query plan SQLite chooses for `find(collection, field, ...)`, one line per step.
  Result<std::string> explainFindForTest(std::string_view collection, std::string_view field);

  // The schema version this build writes into `PRAGMA user_version`.
  static constexpr int kSchemaVersion = 1;

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace oak::store
