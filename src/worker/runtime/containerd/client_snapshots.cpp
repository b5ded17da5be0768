// Snapshots and the Diff service.
#include "worker/runtime/containerd/client_impl.h"

namespace oak::worker::containerd {

Status ContainerdClient::statSnapshot(const std::string& snapshotter, const std::string& key) {
  api::snapshots::StatSnapshotRequest req;
  req.set_snapshotter(snapshotter);
  req.set_key(key);
  OAK_TRY(unary(*impl_, lease_, kDefaultDeadline, api::kSnapshotStat, req, "snapshot " + key));
  return {};
}

Result<std::vector<Mount>> ContainerdClient::prepareSnapshot(const std::string& snapshotter,
                                                             const std::string& key,
                                                             const std::string& parent,
                                                             const Labels& labels) {
  api::snapshots::PrepareSnapshotRequest req;
  req.set_snapshotter(snapshotter);
  req.set_key(key);
  req.set_parent(parent);
  copyLabels(labels, req.mutable_labels());
  OAK_ASSIGN_OR_RETURN(auto resp, unary(*impl_, lease_, kDefaultDeadline, api::kSnapshotPrepare,
                                        req, "prepare snapshot " + key));
  return fromApi(resp.mounts());
}

Result<std::vector<Mount>> ContainerdClient::snapshotMounts(const std::string& snapshotter,
                                                            const std::string& key) {
  api::snapshots::MountsRequest req;
  req.set_snapshotter(snapshotter);
  req.set_key(key);
  OAK_ASSIGN_OR_RETURN(auto resp, unary(*impl_, lease_, kDefaultDeadline, api::kSnapshotMounts, req,
                                        "mounts of snapshot " + key));
  return fromApi(resp.mounts());
}

Status ContainerdClient::commitSnapshot(const std::string& snapshotter, const std::string& name,
                                        const std::string& key, const Labels& labels) {
  api::snapshots::CommitSnapshotRequest req;
  req.set_snapshotter(snapshotter);
  req.set_name(name);
  req.set_key(key);
  copyLabels(labels, req.mutable_labels());
  OAK_TRY(unary(*impl_, lease_, kDefaultDeadline, api::kSnapshotCommit, req,
                "commit snapshot " + name));
  return {};
}

Status ContainerdClient::removeSnapshot(const std::string& snapshotter, const std::string& key) {
  api::snapshots::RemoveSnapshotRequest req;
  req.set_snapshotter(snapshotter);
  req.set_key(key);
  OAK_TRY(
      unary(*impl_, lease_, kDefaultDeadline, api::kSnapshotRemove, req, "remove snapshot " + key));
  return {};
}

Result<Descriptor> ContainerdClient::applyDiff(const Descriptor& layer,
                                               const std::vector<Mount>& mounts,
                                               std::chrono::milliseconds deadline) {
  api::diff::ApplyRequest req;
  toApi(layer, req.mutable_diff());
  for (const auto& m : mounts) toApi(m, req.add_mounts());
  OAK_ASSIGN_OR_RETURN(auto resp, unary(*impl_, lease_, deadline, api::kDiffApply, req,
                                        "apply layer " + layer.digest));
  return fromApi(resp.applied());
}

}  // namespace oak::worker::containerd
