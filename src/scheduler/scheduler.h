#pragma once
// The placement engine of both levels: the root chooses a cluster, a cluster chooses a worker.
// It does no I/O and is fed by events (reports, lease expiry, undeploys), so it can be tested on
// tables and benchmarked in isolation. Not thread-safe: one owner, the event loop.
//
// Choice: best fit. Among the active nodes that meet every requirement, the one left with the
// smallest share of its memory and cores free after placement wins (fills nodes before opening
// new ones, and keeps big nodes free for big services); ties go to the smaller name, then id, so
// the result never depends on the order in which nodes were added.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scheduler/requirements.h"
#include "scheduler/resources.h"

namespace oak::sched {

// The level decides which direct constraint applies and how failures are reported.
enum class Level { kRoot, kCluster };

// Failure statuses, as clients of the original read them.
inline constexpr std::string_view kNoActiveClusterWithCapacity = "NoActiveClusterWithCapacity";
inline constexpr std::string_view kTargetClusterNotFound = "TargetClusterNotFound";
inline constexpr std::string_view kTargetClusterNotActive = "TargetClusterNotActive";
inline constexpr std::string_view kTargetClusterNoCapacity = "TargetClusterNoCapacity";
inline constexpr std::string_view kNoWorkerCapacity = "NO_WORKER_CAPACITY";

struct Placement {
  bool ok = false;
  std::string node_id;  // when ok
  std::string status;   // when not ok: one of the statuses above
  std::string detail;   // when not ok: the first requirement the closest candidate missed
};

class Scheduler {
 public:
  explicit Scheduler(Level level) : level_(level) {}

  // Adds a node or replaces it with a fresh report (dropping the reservations made since).
  void upsertNode(Resources r);
  void removeNode(const std::string& id);
  void setActive(const std::string& id, bool active);

  // Chooses a node; on success reserves the requirements on it, i.e. deducts them from its free
  // capacity until the next report of that node replaces it.
  Placement place(const Requirements& req);
  // Gives back a reservation made by `place` (an undeploy before the next report). A no-op when a
  // report has replaced the node since: that report already shows what is really in use.
  void release(const std::string& node_id, const Requirements& req);

  size_t size() const { return nodes_.size(); }
  // Valid until the next call that changes the set of nodes.
  const Resources* find(const std::string& id) const;

 private:
  struct Reservation {
    double memory_mb, vcpus, vgpus, disk_mb;
    std::string arch;  // the architecture whose capacity was used; empty: the node's totals
  };
  struct Node {
    Resources r;
    uint32_t runtime_bits = 0;          // r.runtimes as bits (see runtimeBit), for the scan
    std::vector<Reservation> reserved;  // since the last report
  };

  // Adds (sign +1) or deducts (-1) a reservation to a node's free capacity, within 0..total.
  static void adjust(Resources& r, const Reservation& res, double sign);

  Level level_;
  std::vector<Node> nodes_;  // contiguous: `place` scans them all
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace oak::sched
