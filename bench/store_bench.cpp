// Costs of the SQLite store on a real file (WAL, synchronous=NORMAL) holding 1000 documents.

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "store/sqlite_store.h"

namespace oak::store {
namespace {

constexpr int kDocs = 1000;
constexpr int kNames = 100;  // So a `find` by name returns 10 documents.

std::string idOf(int i) {
  return fmt::format("65a0{:020x}", i);
}

// A store in a fresh directory, filled with application-like documents.
class Fixture {
 public:
  Fixture() {
    std::string pattern = (std::filesystem::temp_directory_path() / "oak-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    SqliteStore::Options options;
    options.path = (dir_ / "store.db").string();
    options.indexes = {{"apps", "name"}};
    auto store = SqliteStore::open(options);
    if (!store) throw std::runtime_error(store.error().message);
    store_ = std::move(*store);
    WriteBatch batch;
    for (int i = 0; i < kDocs; ++i) batch.put("apps", idOf(i), doc(i));
    if (!store_->apply(batch)) throw std::runtime_error("fill failed");
  }
  ~Fixture() {
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  static boost::json::object doc(int i) {
    return {{"_id", idOf(i)},
            {"name", fmt::format("app-{}", i % kNames)},
            {"label", fmt::format("app-{}", i % kNames)},  // Like "name", but not indexed.
            {"owner", fmt::format("user-{}", i % 7)},
            {"namespace", "default"},
            {"replicas", i % 5},
            {"image", "docker.io/library/nginx:1.25"},
            {"requirements", {{"memory", 256}, {"vcpus", 1}, {"storage", 0}}},
            {"ports", boost::json::array{80, 443}}};
  }

  SqliteStore& store() { return *store_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
};

void BM_GetById(benchmark::State& state) {
  Fixture f;
  int i = 0;
  for (auto _ : state) {
    auto doc = f.store().get("apps", idOf(i));
    if (!doc || !doc->has_value()) state.SkipWithError("get failed");
    benchmark::DoNotOptimize(doc);
    i = (i + 37) % kDocs;
  }
}
BENCHMARK(BM_GetById);

// `find` by a field with or without an index (range(0) = 1 or 0).
void BM_Find(benchmark::State& state) {
  Fixture f;
  const char* field = state.range(0) ? "name" : "label";
  int i = 0;
  for (auto _ : state) {
    const boost::json::value value(fmt::format("app-{}", i % kNames));
    auto docs = f.store().find("apps", field, value);
    if (!docs || docs->empty()) state.SkipWithError("find failed");
    benchmark::DoNotOptimize(docs);
    ++i;
  }
}
BENCHMARK(BM_Find)->ArgName("indexed")->Arg(1)->Arg(0);

// A typical mutation: replace two documents and erase a third, in one transaction.
void BM_ApplyBatch3(benchmark::State& state) {
  Fixture f;
  int i = 0;
  for (auto _ : state) {
    WriteBatch batch;
    batch.put("apps", idOf(i), Fixture::doc(i));
    batch.put("apps", idOf(i + 1), Fixture::doc(i + 1));
    batch.erase("apps", idOf(kDocs + i));
    if (!f.store().apply(batch)) state.SkipWithError("apply failed");
    i = (i + 2) % (kDocs - 1);
  }
}
BENCHMARK(BM_ApplyBatch3);

}  // namespace
}  // namespace oak::store

BENCHMARK_MAIN();
