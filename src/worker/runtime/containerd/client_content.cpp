// Content store and images.
#include <fmt/format.h>

#include "worker/runtime/containerd/client_impl.h"

namespace oak::worker::containerd {
namespace {

constexpr auto kWriteDeadline = std::chrono::minutes(30);

// Drops a partial ingest; best effort, a leftover one is aborted by the next attempt anyway.
void abortIngest(const ContainerdClient::Impl& impl, const std::string& lease,
                 const std::string& ref) {
  api::content::AbortRequest abort;
  abort.set_ref(ref);
  (void)unary(impl, lease, kDefaultDeadline, api::kContentAbort, abort, "abort " + ref);
}

}  // namespace

Result<ContentInfo> ContainerdClient::contentInfo(const std::string& digest) {
  api::content::InfoRequest req;
  req.set_digest(digest);
  OAK_ASSIGN_OR_RETURN(auto resp, unary(*impl_, lease_, kDefaultDeadline, api::kContentInfo, req,
                                        "content " + digest));
  return ContentInfo{resp.info().digest(), resp.info().size(), labelsFrom(resp.info().labels())};
}

Result<std::string> ContainerdClient::readContent(const std::string& digest, int64_t max_size) {
  api::content::ReadContentRequest req;
  req.set_digest(digest);
  TypedStream stream(*impl_, lease_, kDefaultDeadline, api::kContentRead);
  std::string out;
  stream.writeLast(req);
  api::content::ReadContentResponse chunk;
  while (stream.read(chunk)) {
    if (static_cast<int64_t>(out.size() + chunk.data().size()) > max_size) {
      stream.cancel();
      return makeError(ErrorCode::kUnprocessable,
                       fmt::format("content {}: larger than {} bytes", digest, max_size));
    }
    out += chunk.data();
  }
  auto s = stream.finish();
  if (!s.ok()) return fromRpc(s, "read content " + digest);
  return out;
}

Status ContainerdClient::writeContent(const std::string& ref, const Descriptor& expected,
                                      const Labels& labels, const BlobSource& source, int attempt) {
  TypedStream stream(*impl_, lease_, kWriteDeadline, api::kContentWrite);
  api::content::WriteContentRequest req;
  api::content::WriteContentResponse resp;
  auto fail = [&](const std::string& what) -> Status {
    stream.cancel();
    auto s = stream.finish();
    if (s.ok() || s.code == rpc::StatusCode::kCancelled) {
      return makeError(ErrorCode::kInternal, "containerd: write " + ref + ": " + what);
    }
    return fromRpc(s, "write " + ref + ": " + what);
  };

  // containerd answers every request of the stream; the offsets must line up.
  req.set_action(api::content::STAT);
  req.set_ref(ref);
  req.set_total(expected.size);
  req.set_expected(expected.digest);
  if (!stream.write(req) || !stream.read(resp)) return fail("stat");
  int64_t offset = 0;
  if (resp.offset() == expected.size && expected.size > 0) {
    // The bytes are there already (another namespace pulled them): only the commit is missing.
    offset = expected.size;
  } else if (resp.offset() != 0) {
    // A stale partial ingest of an earlier attempt: drop it and start again, once.
    stream.cancel();
    abortIngest(*impl_, lease_, ref);
    if (attempt > 0) {
      return makeError(ErrorCode::kInternal, "containerd: write " + ref + ": stale ingest");
    }
    return writeContent(ref, expected, labels, source, attempt + 1);
  }
  auto sink = [&](std::string_view data) -> Status {
    req.Clear();
    req.set_action(api::content::WRITE);
    req.set_ref(ref);
    req.set_offset(offset);
    req.set_data(data.data(), data.size());
    if (!stream.write(req) || !stream.read(resp)) {
      return makeError(ErrorCode::kUnavailable, "containerd: write " + ref + ": stream broke");
    }
    offset += static_cast<int64_t>(data.size());
    if (resp.offset() != offset) {
      return makeError(ErrorCode::kInternal,
                       fmt::format("containerd: write {}: offset {} after {} bytes", ref,
                                   resp.offset(), offset));
    }
    return {};
  };
  if (auto s = offset == 0 ? source(sink) : Status{}; !s) {
    stream.cancel();
    abortIngest(*impl_, lease_, ref);
    return s;
  }

  req.Clear();
  req.set_action(api::content::COMMIT);
  req.set_ref(ref);
  req.set_total(expected.size);
  req.set_offset(offset);
  req.set_expected(expected.digest);
  copyLabels(labels, req.mutable_labels());
  if (!stream.write(req) || !stream.read(resp)) return fail("commit");
  // The answer to COMMIT is the verdict. containerd 1.6 does not always end the stream after a
  // half-close, so end it from our side instead of waiting for its status.
  stream.cancel();
  return {};
}

Status ContainerdClient::setContentLabels(const std::string& digest, const Labels& labels) {
  api::content::UpdateRequest req;
  req.mutable_info()->set_digest(digest);
  copyLabels(labels, req.mutable_info()->mutable_labels());
  for (const auto& [k, v] : labels) req.mutable_update_mask()->add_paths("labels." + k);
  OAK_TRY(
      unary(*impl_, lease_, kDefaultDeadline, api::kContentUpdate, req, "label content " + digest));
  return {};
}

Result<ImageRecord> ContainerdClient::getImage(const std::string& name) {
  api::images::GetImageRequest req;
  req.set_name(name);
  OAK_ASSIGN_OR_RETURN(
      auto resp, unary(*impl_, lease_, kDefaultDeadline, api::kImageGet, req, "image " + name));
  return ImageRecord{resp.image().name(), fromApi(resp.image().target()),
                     labelsFrom(resp.image().labels())};
}

Status ContainerdClient::putImage(const ImageRecord& image) {
  auto fill = [&](api::images::Image* out) {
    out->set_name(image.name);
    toApi(image.target, out->mutable_target());
    copyLabels(image.labels, out->mutable_labels());
  };
  api::images::CreateImageRequest create;
  fill(create.mutable_image());
  auto created = unary(*impl_, lease_, kDefaultDeadline, api::kImageCreate, create,
                       "create image " + image.name);
  if (created) return {};
  if (created.error().code != ErrorCode::kConflict) return created.error();
  api::images::UpdateImageRequest update;
  fill(update.mutable_image());
  update.mutable_update_mask()->add_paths("target");
  for (const auto& [k, v] : image.labels) update.mutable_update_mask()->add_paths("labels." + k);
  OAK_TRY(unary(*impl_, lease_, kDefaultDeadline, api::kImageUpdate, update,
                "update image " + image.name));
  return {};
}

}  // namespace oak::worker::containerd
