// Runs the data-driven cases in tests/golden/scheduler/*.json (format: docs/design/scheduler.md).
// Each file is replayed with its nodes added in several orders (as given, reversed, rotated); the
// expectations must hold in every order, since the choice may not depend on it. A mismatch names
// the file, the request index and the order.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/json.h"
#include "scheduler/requirements.h"
#include "scheduler/resources.h"
#include "scheduler/scheduler.h"

namespace oak::sched {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;

std::vector<std::string> goldenFiles() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(OAK_SCHEDULER_GOLDEN_DIR)) {
    if (e.path().extension() == ".json") files.push_back(e.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// An insertion order of n nodes: "given", "reversed" or "rotated by k".
struct Order {
  std::string label;
  bool reverse = false;
  size_t rotate = 0;

  template <class T>
  std::vector<T> apply(std::vector<T> v) const {
    if (reverse) std::reverse(v.begin(), v.end());
    if (!v.empty())
      std::rotate(v.begin(), v.begin() + static_cast<long>(rotate % v.size()), v.end());
    return v;
  }
};

const std::vector<Order> kOrders = {{"nodes as given"},
                                    {"nodes reversed", true},
                                    {"nodes rotated by 1", false, 1},
                                    {"nodes reversed and rotated by 2", true, 2}};

const std::set<std::string> kStepKeys = {"note",    "nodes",      "service", "expect",
                                         "release", "set_active", "remove",  "upsert"};

// Replays one golden file in one order; every failure names `file`, the step and the order.
class Replay {
 public:
  Replay(std::string file, const bj::object& doc, const Order& order)
      : file_(std::move(file)), doc_(doc), order_(order) {}

  void run() {
    auto level = json::getString(doc_, "level");
    if (level != "root" && level != "cluster") return fail("file", "level must be root|cluster");
    level_ = level == "root" ? Level::kRoot : Level::kCluster;
    const bj::array* pool = json::findArray(doc_, "nodes");
    const bj::array* requests = json::findArray(doc_, "requests");
    if (pool == nullptr || requests == nullptr) return fail("file", "needs nodes and requests");
    bool independent = doc_.if_contains("independent") && doc_.at("independent").is_bool() &&
                       doc_.at("independent").get_bool();
    reset(*pool);
    for (size_t i = 0; i < requests->size(); ++i) {
      where_ = fmt::format("requests[{}]", i);
      if (!(*requests)[i].is_object()) return fail(where_, "must be an object");
      const bj::object& step = (*requests)[i].get_object();
      for (const auto& [key, value] : step) {
        if (!kStepKeys.contains(std::string(key)))
          return fail(where_, "unknown key " + std::string(key));
      }
      if (const bj::array* nodes = json::findArray(step, "nodes")) {
        if (!reset(*nodes)) return;
      } else if (independent && i > 0) {
        reset(*pool);
      }
      if (!apply(step)) return;
    }
  }

 private:
  void fail(const std::string& where, const std::string& what) {
    ADD_FAILURE() << file_ << ": " << where << " (" << order_.label << "): " << what;
  }

  bool reset(const bj::array& nodes) {
    scheduler_ = Scheduler(level_);
    ids_.clear();
    std::vector<Resources> parsed;
    for (size_t i = 0; i < nodes.size(); ++i) {
      auto r = resourcesFromJson(nodes[i]);
      if (!r) {
        fail(fmt::format("{} nodes[{}]", where_, i), r.error().message);
        return false;
      }
      parsed.push_back(std::move(*r));
    }
    for (Resources& r : order_.apply(std::move(parsed))) add(std::move(r));
    return true;
  }

  void add(Resources r) {
    ids_[r.name] = r.id;
    scheduler_.upsertNode(std::move(r));
  }

  // The id of the node named by `step[key]` (a name, or an object with "node").
  std::optional<std::string> idOf(const bj::value& v) {
    std::optional<std::string> name;
    if (v.is_string()) name = std::string(v.get_string());
    if (v.is_object()) name = json::getString(v.get_object(), "node");
    auto it = name ? ids_.find(*name) : ids_.end();
    if (it == ids_.end()) {
      fail(where_, "names no known node: " + json::dump(v));
      return std::nullopt;
    }
    return it->second;
  }

  std::optional<Requirements> requirements(const bj::value& service) {
    if (!service.is_object()) {
      fail(where_, "service must be an object");
      return std::nullopt;
    }
    auto req = requirementsFromService(service.get_object());
    if (!req) {
      fail(where_, "service rejected: " + req.error().message);
      return std::nullopt;
    }
    return *req;
  }

  bool apply(const bj::object& step) {
    if (const bj::value* s = step.if_contains("service")) return place(*s, step);
    if (const bj::value* rel = step.if_contains("release")) {
      auto id = idOf(*rel);
      const bj::value* service =
          rel->is_object() ? rel->get_object().if_contains("service") : nullptr;
      auto req = service != nullptr ? requirements(*service) : std::nullopt;
      if (!id || !req) return false;
      scheduler_.release(*id, *req);
    } else if (const bj::value* act = step.if_contains("set_active")) {
      auto id = idOf(*act);
      const bj::value* active =
          act->is_object() ? act->get_object().if_contains("active") : nullptr;
      if (!id) return false;
      if (active == nullptr || !active->is_bool()) {
        fail(where_, "set_active needs a boolean 'active'");
        return false;
      }
      scheduler_.setActive(*id, active->get_bool());
    } else if (const bj::value* gone = step.if_contains("remove")) {
      auto id = idOf(*gone);
      if (!id) return false;
      scheduler_.removeNode(*id);
    } else if (const bj::value* report = step.if_contains("upsert")) {
      auto parsed = resourcesFromJson(*report);
      if (!parsed) {
        fail(where_, "upsert: " + parsed.error().message);
        return false;
      }
      add(std::move(*parsed));
    } else if (!step.contains("nodes")) {
      fail(where_, "nothing to do");
      return false;
    }
    return true;
  }

  bool place(const bj::value& service, const bj::object& step) {
    const bj::object* expect = json::findObject(step, "expect");
    if (expect == nullptr || !service.is_object()) {
      fail(where_, "a service needs an expect object");
      return false;
    }
    auto req = requirementsFromService(service.get_object());
    if (auto want = json::getString(*expect, "error")) {
      if (req) {
        fail(where_, fmt::format("expected the service to be rejected with '{}'", *want));
      } else if (req.error().message.find(*want) == std::string::npos) {
        fail(where_, fmt::format("expected an error containing '{}', got '{}'", *want,
                                 req.error().message));
      }
      return true;
    }
    if (!req) {
      fail(where_, "service rejected: " + req.error().message);
      return true;
    }
    Placement p = scheduler_.place(*req);
    std::string got = p.ok ? fmt::format("node '{}'", scheduler_.find(p.node_id)->name)
                           : fmt::format("status {} ({})", p.status, p.detail);
    if (auto node = json::getString(*expect, "node")) {
      if (!p.ok || scheduler_.find(p.node_id)->name != *node) {
        fail(where_, fmt::format("expected node '{}', got {}", *node, got));
      }
    } else if (auto status = json::getString(*expect, "status")) {
      if (p.ok || p.status != *status) {
        fail(where_, fmt::format("expected {}, got {}", *status, got));
      }
    } else {
      fail(where_, "expect needs node, status or error");
    }
    if (auto detail = json::getString(*expect, "detail");
        detail && p.detail.find(*detail) == std::string::npos) {
      fail(where_, fmt::format("expected a detail containing '{}', got {}", *detail, got));
    }
    return true;
  }

  std::string file_;
  const bj::object& doc_;
  const Order& order_;
  Level level_ = Level::kCluster;
  Scheduler scheduler_{Level::kCluster};
  std::map<std::string, std::string> ids_;  // name → id of the nodes added
  std::string where_ = "nodes";
};

class SchedulerGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SchedulerGoldenTest, ExpectationsHoldInEveryNodeOrder) {
  std::ifstream in(fs::path(OAK_SCHEDULER_GOLDEN_DIR) / GetParam());
  std::stringstream text;
  text << in.rdbuf();
  auto doc = json::parse(text.str());
  ASSERT_TRUE(doc && doc->is_object()) << GetParam() << ": not a JSON object";
  const bj::array* requests = json::findArray(doc->as_object(), "requests");
  ASSERT_TRUE(requests != nullptr && !requests->empty()) << GetParam() << ": no requests";
  for (const Order& order : kOrders) Replay(GetParam(), doc->as_object(), order).run();
}

std::string testName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Files, SchedulerGoldenTest, ::testing::ValuesIn(goldenFiles()), testName);

TEST(SchedulerGoldenFilesTest, ThereAreSome) {
  EXPECT_GE(goldenFiles().size(), 5u);
}

}  // namespace
}  // namespace oak::sched
