#include "worker/runtime/containerd/image_puller.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "auth/password.h"

namespace oak::worker::containerd {
namespace {

// Our notes on the image record: what this worker's platform resolved to.
constexpr char kConfigLabel[] = "oakestra.io/config";
constexpr char kChainLabel[] = "oakestra.io/chain";
constexpr char kPlatformLabel[] = "oakestra.io/platform";
constexpr int64_t kMaxConfigBytes = 8 << 20;
constexpr auto kPullLease = std::chrono::hours(1);
constexpr auto kProgressEvery = std::chrono::milliseconds(500);

Descriptor toContainerd(const oci::Descriptor& d) {
  return Descriptor{d.media_type, d.digest, d.size};
}

std::string megabytes(int64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

// Writes bytes we already hold (manifests, configs) unless containerd has them.
Status putBytes(ContainerdClient& c, const oci::Descriptor& d, const std::string& bytes,
                const Labels& labels) {
  if (c.contentInfo(d.digest))
    return labels.empty() ? Status{} : c.setContentLabels(d.digest, labels);
  auto s = c.writeContent("oak-" + d.digest, toContainerd(d), labels,
                          [&bytes](const auto& sink) { return sink(bytes); });
  if (!s && s.error().code == ErrorCode::kConflict) return c.setContentLabels(d.digest, labels);
  return s;
}

}  // namespace

ImagePuller::ImagePuller(ContainerdClient& client, std::unique_ptr<oci::ImageSource> source,
                         std::string snapshotter, oci::Platform platform)
    : client_(client),
      registry_(std::move(source)),
      snapshotter_(std::move(snapshotter)),
      platform_(std::move(platform)) {}

Result<PulledImage> ImagePuller::ensure(const std::string& image, const Progress& progress) {
  {
    std::lock_guard lock(cache_mu_);
    if (auto it = ready_.find(image); it != ready_.end()) return it->second;
  }
  OAK_ASSIGN_OR_RETURN(auto ref, oci::Reference::parse(image));
  auto found = local(ref);
  if (!found) {
    std::lock_guard lock(pull_mu_);
    // The pull we waited for may have brought it.
    found = local(ref);
    if (!found) {
      auto started = std::chrono::steady_clock::now();
      found = pull(ref, progress);
      if (on_pull_) on_pull_(found.has_value(), std::chrono::steady_clock::now() - started);
    }
  }
  if (found) {
    std::lock_guard lock(cache_mu_);
    ready_[image] = *found;
  }
  return found;
}

void ImagePuller::forget(const std::string& image) {
  std::lock_guard lock(cache_mu_);
  ready_.erase(image);
}

Result<PulledImage> ImagePuller::local(const oci::Reference& ref) {
  OAK_ASSIGN_OR_RETURN(auto record, client_.getImage(ref.str()));
  auto config_digest = record.labels.find(kConfigLabel);
  auto chain = record.labels.find(kChainLabel);
  auto platform = record.labels.find(kPlatformLabel);
  if (config_digest == record.labels.end() || chain == record.labels.end() ||
      platform == record.labels.end() || platform->second != platform_.str()) {
    return makeError(ErrorCode::kNotFound, "image not unpacked for this platform");
  }
  OAK_TRY(client_.statSnapshot(snapshotter_, chain->second));
  OAK_ASSIGN_OR_RETURN(auto bytes, client_.readContent(config_digest->second, kMaxConfigBytes));
  OAK_ASSIGN_OR_RETURN(auto config, ImageConfig::parse(bytes));
  return PulledImage{ref.str(), chain->second, std::move(config)};
}

Result<PulledImage> ImagePuller::pull(const oci::Reference& ref, const Progress& progress) {
  progress(fmt::format("resolving {}", ref.str()));
  OAK_ASSIGN_OR_RETURN(auto image, registry_->resolve(ref, platform_));
  OAK_ASSIGN_OR_RETURN(auto config, ImageConfig::parse(image.config_bytes));
  if (config.diff_ids.size() != image.layers.size()) {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("image {}: {} layers but {} diff ids in its config", ref.str(),
                                 image.layers.size(), config.diff_ids.size()));
  }

  // Everything written below stays under a lease until the image record references it.
  std::string lease = "oak-pull-" + auth::randomHex(8);
  OAK_TRY(client_.createLease(lease, kPullLease));
  auto leased = client_.withLease(lease);
  auto result = [&]() -> Result<PulledImage> {
    OAK_TRY(ingest(*leased, ref, image, progress));
    OAK_ASSIGN_OR_RETURN(auto chain, unpack(*leased, image, config, progress));
    // The config keeps the unpacked snapshots alive; the record keeps the config alive.
    OAK_TRY(leased->setContentLabels(image.config.digest,
                                     {{"containerd.io/gc.ref.snapshot." + snapshotter_, chain}}));
    const oci::Descriptor& target = image.index ? *image.index : image.manifest;
    OAK_TRY(leased->putImage(ImageRecord{ref.str(),
                                         toContainerd(target),
                                         {{kConfigLabel, image.config.digest},
                                          {kChainLabel, chain},
                                          {kPlatformLabel, platform_.str()}}}));
    return PulledImage{ref.str(), chain, config};
  }();
  if (auto s = client_.deleteLease(lease); !s) {
    spdlog::warn("image {}: {} (it expires by itself)", ref.str(), s.error().message);
  }
  return result;
}

Status ImagePuller::ingest(ContainerdClient& leased, const oci::Reference& ref,
                           const oci::ResolvedImage& image, const Progress& progress) {
  int64_t total = 0;
  for (const auto& layer : image.layers) total += layer.size;
  int64_t done = 0;
  auto last_report = std::chrono::steady_clock::now() - kProgressEvery;
  for (size_t i = 0; i < image.layers.size(); ++i) {
    const auto& layer = image.layers[i];
    if (leased.contentInfo(layer.digest)) {
      done += layer.size;
      continue;
    }
    int64_t layer_done = 0;
    auto source = [&](const std::function<Status(std::string_view)>& sink) {
      return registry_->fetchBlob(ref, layer, [&](std::string_view chunk) -> Status {
        layer_done += static_cast<int64_t>(chunk.size());
        auto now = std::chrono::steady_clock::now();
        if (now - last_report >= kProgressEvery) {
          last_report = now;
          progress(fmt::format("pulling {}: layer {}/{}, {} of {}", ref.str(), i + 1,
                               image.layers.size(), megabytes(done + layer_done),
                               megabytes(total)));
        }
        return sink(chunk);
      });
    };
    auto s = leased.writeContent("oak-" + layer.digest, toContainerd(layer), {}, source);
    if (!s && s.error().code != ErrorCode::kConflict) return s;
    done += layer.size;
  }

  Labels manifest_labels{{"containerd.io/gc.ref.content.config", image.config.digest}};
  for (size_t i = 0; i < image.layers.size(); ++i) {
    manifest_labels[fmt::format("containerd.io/gc.ref.content.l.{}", i)] = image.layers[i].digest;
  }
  OAK_TRY(putBytes(leased, image.config, image.config_bytes, {}));
  OAK_TRY(putBytes(leased, image.manifest, image.manifest_bytes, manifest_labels));
  if (image.index) {
    OAK_TRY(putBytes(leased, *image.index, image.index_bytes,
                     {{"containerd.io/gc.ref.content.m.0", image.manifest.digest}}));
  }
  return {};
}

Result<std::string> ImagePuller::unpack(ContainerdClient& leased, const oci::ResolvedImage& image,
                                        const ImageConfig& config, const Progress& progress) {
  auto chain = chainIds(config.diff_ids);
  if (chain.empty()) return makeError(ErrorCode::kUnprocessable, "image has no layers");
  for (size_t i = 0; i < chain.size(); ++i) {
    if (leased.statSnapshot(snapshotter_, chain[i])) continue;
    progress(fmt::format("unpacking layer {}/{}", i + 1, chain.size()));
    std::string key = fmt::format("oak-extract-{}-{}", auth::randomHex(4), chain[i]);
    std::string parent = i == 0 ? "" : chain[i - 1];
    OAK_ASSIGN_OR_RETURN(auto mounts, leased.prepareSnapshot(snapshotter_, key, parent));
    auto applied = leased.applyDiff(toContainerd(image.layers[i]), mounts);
    Status committed = applied ? Status{} : Status(applied.error());
    if (applied && applied->digest != config.diff_ids[i]) {
      committed =
          makeError(ErrorCode::kUnprocessable,
                    fmt::format("layer {}: unpacked to {}, but the config says {}",
                                image.layers[i].digest, applied->digest, config.diff_ids[i]));
    }
    if (committed) committed = leased.commitSnapshot(snapshotter_, chain[i], key);
    if (!committed) {
      leased.removeSnapshot(snapshotter_, key);
      // Another pull of the same image committed it first: theirs is as good as ours.
      if (committed.error().code == ErrorCode::kConflict) continue;
      return committed.error();
    }
  }
  return chain.back();
}

}  // namespace oak::worker::containerd
