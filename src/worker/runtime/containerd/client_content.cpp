// Content store and images.
#include <fmt/format.h>

#include "worker/runtime/containerd/client_impl.h"

namespace oak::worker::containerd {
namespace {

constexpr auto kWriteDeadline = std::chrono::minutes(30);
using ContentStub = api::content::Content::Stub;
using ImagesStub = api::images::Images::Stub;

// Drops a partial ingest; best effort, a leftover one is aborted by the next attempt anyway.
void abortIngest(const ContainerdClient::Impl& impl, const std::string& lease,
                 const std::string& ref) {
  auto ctx = impl.context(kDefaultDeadline, lease);
  api::content::AbortRequest abort;
  abort.set_ref(ref);
  google::protobuf::Empty empty;
  impl.content->Abort(ctx.get(), abort, &empty);
}

}  // namespace

Result<ContentInfo> ContainerdClient::contentInfo(const std::string& digest) {
  api::content::InfoRequest req;
  req.set_digest(digest);
  OAK_ASSIGN_OR_RETURN(auto resp, unary(*impl_, lease_, kDefaultDeadline, *impl_->content,
                                        &ContentStub::Info, req, "content " + digest));
  return ContentInfo{resp.info().digest(), resp.info().size(), labelsFrom(resp.info().labels())};
}

Result<std::string> ContainerdClient::readContent(const std::string& digest, int64_t max_size) {
  auto ctx = impl_->context(kDefaultDeadline, lease_);
  api::content::ReadContentRequest req;
  req.set_digest(digest);
  auto reader = impl_->content->Read(ctx.get(), req);
  std::string out;
  api::content::ReadContentResponse chunk;
  while (reader->Read(&chunk)) {
    if (static_cast<int64_t>(out.size() + chunk.data().size()) > max_size) {
      ctx->TryCancel();
      reader->Finish();
      return makeError(ErrorCode::kUnprocessable,
                       fmt::format("content {}: larger than {} bytes", digest, max_size));
    }
    out += chunk.data();
  }
  auto s = reader->Finish();
  if (!s.ok()) return fromGrpc(s, "read content " + digest);
  return out;
}

Status ContainerdClient::writeContent(const std::string& ref, const Descriptor& expected,
                                      const Labels& labels, const BlobSource& source, int attempt) {
  auto ctx = impl_->context(kWriteDeadline, lease_);
  auto stream = impl_->content->Write(ctx.get());
  api::content::WriteContentRequest req;
  api::content::WriteContentResponse resp;
  auto fail = [&](const std::string& what) -> Status {
    ctx->TryCancel();
    auto s = stream->Finish();
    if (s.ok()) return makeError(ErrorCode::kInternal, "containerd: write " + ref + ": " + what);
    return fromGrpc(s, "write " + ref + ": " + what);
  };

  // containerd answers every request of the stream; the offsets must line up.
  req.set_action(api::content::STAT);
  req.set_ref(ref);
  req.set_total(expected.size);
  req.set_expected(expected.digest);
  if (!stream->Write(req) || !stream->Read(&resp)) return fail("stat");
  int64_t offset = 0;
  if (resp.offset() == expected.size && expected.size > 0) {
    // The bytes are there already (another namespace pulled them): only the commit is missing.
    offset = expected.size;
  } else if (resp.offset() != 0) {
    // A stale partial ingest of an earlier attempt: drop it and start again, once.
    ctx->TryCancel();
    stream->Finish();
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
    if (!stream->Write(req) || !stream->Read(&resp)) {
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
    ctx->TryCancel();
    stream->Finish();
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
  if (!stream->Write(req) || !stream->Read(&resp)) return fail("commit");
  // The answer to COMMIT is the verdict. containerd 1.6 does not always end the stream after a
  // half-close, so end it from our side instead of waiting for its status.
  ctx->TryCancel();
  stream->Finish();
  return {};
}

Status ContainerdClient::setContentLabels(const std::string& digest, const Labels& labels) {
  api::content::UpdateRequest req;
  req.mutable_info()->set_digest(digest);
  copyLabels(labels, req.mutable_info()->mutable_labels());
  for (const auto& [k, v] : labels) req.mutable_update_mask()->add_paths("labels." + k);
  OAK_TRY(unary(*impl_, lease_, kDefaultDeadline, *impl_->content, &ContentStub::Update, req,
                "label content " + digest));
  return {};
}

Result<ImageRecord> ContainerdClient::getImage(const std::string& name) {
  api::images::GetImageRequest req;
  req.set_name(name);
  OAK_ASSIGN_OR_RETURN(auto resp, unary(*impl_, lease_, kDefaultDeadline, *impl_->images,
                                        &ImagesStub::Get, req, "image " + name));
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
  auto created = unary(*impl_, lease_, kDefaultDeadline, *impl_->images, &ImagesStub::Create,
                       create, "create image " + image.name);
  if (created) return {};
  if (created.error().code != ErrorCode::kConflict) return created.error();
  api::images::UpdateImageRequest update;
  fill(update.mutable_image());
  update.mutable_update_mask()->add_paths("target");
  for (const auto& [k, v] : image.labels) update.mutable_update_mask()->add_paths("labels." + k);
  OAK_TRY(unary(*impl_, lease_, kDefaultDeadline, *impl_->images, &ImagesStub::Update, update,
                "update image " + image.name));
  return {};
}

}  // namespace oak::worker::containerd
