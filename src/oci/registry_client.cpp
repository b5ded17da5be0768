#include "oci/registry_client.h"

#include <fmt/format.h>
#include <boost/json/object.hpp>

#include <algorithm>

#include "common/json.h"
#include "oci/registry_session.h"

namespace oak::oci {

struct RegistryClient::Impl {
  AuthState state;

  explicit Impl(RegistryOptions o) : state(std::move(o)) {}

  struct Fetched {
    std::string bytes;
    std::string content_type;
    std::string digest;
  };

  // A manifest by tag or digest, checked against `expected` when an index named it, else
  // against the digest it was asked by or the one the registry announced.
  Result<Fetched> fetchManifest(RegistrySession& s, const std::string& target,
                                const Descriptor* expected) {
    Fetched out;
    auto collect = [&](const HttpHead&, std::string_view chunk) -> Status {
      if (out.bytes.size() + chunk.size() > static_cast<size_t>(kMaxManifestBytes)) {
        return s.fail(ErrorCode::kUnprocessable, fmt::format("manifest {} is larger than {} MiB",
                                                             target, kMaxManifestBytes >> 20));
      }
      out.bytes.append(chunk);
      return {};
    };
    std::vector<std::string> headers{fmt::format("Accept: {}", media::manifestAccept())};
    OAK_ASSIGN_OR_RETURN(
        auto r,
        s.get(fmt::format("/v2/{}/manifests/{}", s.ref().repository, target), headers, collect));
    if (!isSuccess(r.head.status)) return s.statusError(r, "");
    out.content_type = std::string(r.head.header("content-type"));
    out.digest = sha256Digest(out.bytes);
    std::string want;
    int64_t want_size = static_cast<int64_t>(out.bytes.size());
    if (expected) {
      want = expected->digest;
      want_size = expected->size;
    } else if (target.starts_with("sha256:")) {
      want = target;
    } else if (std::string_view announced = r.head.header("docker-content-digest");
               announced.starts_with("sha256:")) {
      want = std::string(announced);
    }
    if (!want.empty()) {
      DigestVerifier verifier("manifest", want, want_size);
      auto ok = verifier.update(out.bytes);
      if (ok) ok = verifier.verify();
      if (!ok) return s.fail(ErrorCode::kUnprocessable, ok.error().message);
    }
    return out;
  }

  // A fetched manifest's document and media type.
  struct Parsed {
    boost::json::object document;
    std::string type;
  };

  Result<Parsed> parse(const RegistrySession& s, const Fetched& f) {
    auto document = parseDocument(f.bytes);
    if (!document) return s.fail(ErrorCode::kUnprocessable, document.error().message);
    auto type = manifestMediaType(f.content_type, *document);
    if (!type) return s.fail(ErrorCode::kUnprocessable, type.error().message);
    return Parsed{std::move(*document), std::move(*type)};
  }

  // Streams a blob into `sink`, checking its size and digest; see ImageSource::fetchBlob.
  Status streamBlob(RegistrySession& s, const Descriptor& d, const BlobSink& sink, int64_t offset,
                    const Sha256* prefix) {
    std::string what = "blob " + d.digest;
    if (auto ok = checkDigest(d.digest); !ok) {
      return s.fail(ErrorCode::kUnprocessable, what + ": " + ok.error().message);
    }
    if (offset < 0 || offset > d.size) {
      return s.fail(
          ErrorCode::kInvalidArgument,
          fmt::format("{}: resume offset {} is outside its {} bytes", what, offset, d.size));
    }
    DigestVerifier verifier("blob", d.digest, d.size);
    if (offset > 0) verifier.resume(prefix, offset);
    std::vector<std::string> headers;
    if (offset > 0 && offset < d.size) headers.push_back(fmt::format("Range: bytes={}-", offset));
    bool started = false;
    int64_t skip = 0;  // bytes already held by the caller, when the server ignored the range
    auto forward = [&](const HttpHead& head, std::string_view chunk) -> Status {
      if (!started) {
        started = true;
        if (offset > 0 && head.status != 206) {
          // The whole blob comes again: check all of it, hand on only what the caller lacks.
          verifier = DigestVerifier("blob", d.digest, d.size);
          skip = offset;
        } else if (offset > 0) {
          std::string_view range = head.header("content-range");
          if (!range.starts_with(fmt::format("bytes {}-", offset))) {
            return s.fail(
                ErrorCode::kUnavailable,
                fmt::format("{}: asked for bytes from {}, got range '{}'", what, offset, range));
          }
        }
      }
      if (auto ok = verifier.update(chunk); !ok) {
        return s.fail(ErrorCode::kUnprocessable, ok.error().message);
      }
      auto dropped = std::min<int64_t>(skip, static_cast<int64_t>(chunk.size()));
      skip -= dropped;
      chunk.remove_prefix(static_cast<size_t>(dropped));
      return chunk.empty() ? Status{} : sink(chunk);
    };
    if (offset < d.size) {
      OAK_ASSIGN_OR_RETURN(
          auto r,
          s.get(fmt::format("/v2/{}/blobs/{}", s.ref().repository, d.digest), headers, forward));
      if (!isSuccess(r.head.status)) return s.statusError(r, what);
    }
    if (auto ok = verifier.verify(); !ok) {
      return s.fail(ErrorCode::kUnprocessable, ok.error().message);
    }
    return {};
  }

  // Whether a manifest's config is for `platform` (checked when no index named the platform).
  Status checkConfigPlatform(const RegistrySession& s, const std::string& config_bytes,
                             const Platform& platform) {
    auto parsed = json::parse(config_bytes);
    if (!parsed || !parsed->is_object()) {
      return s.fail(ErrorCode::kUnprocessable, "config: not a JSON object");
    }
    const auto& o = parsed->get_object();
    Platform offered{json::getString(o, "os").value_or(""),
                     json::getString(o, "architecture").value_or(""),
                     json::getString(o, "variant").value_or("")};
    if (offered.architecture.empty() || platform.accepts(offered)) return {};
    return s.fail(ErrorCode::kUnprocessable,
                  fmt::format("image is for {}, not {}", offered.str(), platform.str()));
  }

  Result<ResolvedImage> resolve(const Reference& ref, const Platform& platform) {
    RegistrySession s(state, ref);
    if (platform.architecture.empty()) {
      return s.fail(ErrorCode::kUnprocessable, "no platform architecture to select");
    }
    ResolvedImage image;
    image.reference = ref;
    OAK_ASSIGN_OR_RETURN(auto top, fetchManifest(s, ref.target(), nullptr));
    OAK_ASSIGN_OR_RETURN(auto parsed, parse(s, top));
    bool from_index = media::isIndex(parsed.type);
    if (from_index) {
      image.index = Descriptor{parsed.type, top.digest, static_cast<int64_t>(top.bytes.size())};
      image.index_bytes = std::move(top.bytes);
      auto entries = parseIndex(parsed.document);
      if (!entries) return s.fail(ErrorCode::kUnprocessable, entries.error().message);
      OAK_ASSIGN_OR_RETURN(auto chosen, selectManifest(*entries, platform, ref.str()));
      OAK_ASSIGN_OR_RETURN(top, fetchManifest(s, chosen.digest, &chosen));
      OAK_ASSIGN_OR_RETURN(parsed, parse(s, top));
      if (!media::isImageManifest(parsed.type)) {
        return s.fail(ErrorCode::kUnprocessable,
                      fmt::format("manifest {} for {} is a '{}', not an image manifest",
                                  chosen.digest, platform.str(), parsed.type));
      }
    }
    auto manifest = parseImageManifest(parsed.document);
    if (!manifest) return s.fail(ErrorCode::kUnprocessable, manifest.error().message);
    image.manifest = Descriptor{parsed.type, top.digest, static_cast<int64_t>(top.bytes.size())};
    image.manifest_bytes = std::move(top.bytes);
    image.config = manifest->config;
    image.layers = std::move(manifest->layers);

    if (image.config.size > kMaxManifestBytes) {
      return s.fail(ErrorCode::kUnprocessable,
                    fmt::format("config {} is larger than {} MiB", image.config.digest,
                                kMaxManifestBytes >> 20));
    }
    image.config_bytes.reserve(static_cast<size_t>(image.config.size));
    OAK_TRY(streamBlob(
        s, image.config,
        [&](std::string_view chunk) -> Status {
          image.config_bytes.append(chunk);
          return {};
        },
        0, nullptr));
    if (!from_index) {
      OAK_TRY(checkConfigPlatform(s, image.config_bytes, platform));
    }
    return image;
  }
};

RegistryClient::RegistryClient(RegistryOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

RegistryClient::~RegistryClient() = default;

Result<ResolvedImage> RegistryClient::resolve(const Reference& ref, const Platform& platform) {
  return impl_->resolve(ref, platform);
}

Status RegistryClient::fetchBlob(const Reference& ref, const Descriptor& d, const BlobSink& sink,
                                 int64_t offset, const Sha256* prefix) {
  RegistrySession s(impl_->state, ref);
  return impl_->streamBlob(s, d, sink, offset, prefix);
}

std::string RegistryClient::schemeFor(std::string_view registry) const {
  return oci::schemeFor(impl_->state.options.insecure_registries, registry);
}

}  // namespace oak::oci
