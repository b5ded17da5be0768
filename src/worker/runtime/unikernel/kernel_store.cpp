#include "worker/runtime/unikernel/kernel_store.h"

#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "common/files.h"
#include "oci/digest.h"
#include "oci/http_session.h"

namespace oak::worker::unikernel {
namespace fs = std::filesystem;
namespace {

constexpr int kMaxRedirects = 5;

std::string trim(std::string s) {
  auto issp = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && issp(s.back())) s.pop_back();
  size_t i = 0;
  while (i < s.size() && issp(s[i])) ++i;
  return s.substr(i);
}

std::string hexOf(const std::string& digest) {
  return digest.substr(digest.find(':') + 1);
}

// The mount tag of a top-level folder, or "" when it is not a share.
std::string shareTag(const std::string& name) {
  if (name == "files") return "fs0";
  if (name.size() <= 5 || name.rfind("files", 0) != 0) return "";
  for (size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return "";
  }
  return "fs" + name.substr(5);
}

Result<KernelBundle> describe(const std::string& dir, const std::string& digest,
                              const std::string& url) {
  KernelBundle b;
  b.dir = dir;
  b.kernel = dir + "/kernel";
  b.digest = digest;
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(b.kernel, ec))) {
    return makeError(
        ErrorCode::kUnprocessable,
        fmt::format("code: {}: the archive has no file 'kernel' at its top level", url));
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_directory() || entry.is_symlink()) continue;
    std::string tag = shareTag(entry.path().filename().string());
    if (!tag.empty()) b.shares.emplace_back(tag, entry.path().string());
  }
  std::sort(b.shares.begin(), b.shares.end());
  return b;
}

}  // namespace

std::string hostArch() {
  struct utsname u {};
  ::uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64" || m == "arm64") return "arm64";
  if (m == "i386" || m == "i686") return "386";
  if (m.rfind("armv", 0) == 0) return "arm";
  return m;
}

Result<std::string> selectKernelUrl(const std::string& code, const std::vector<std::string>& arch,
                                    const std::string& host_arch) {
  std::vector<std::string> urls;
  size_t start = 0;
  while (start <= code.size()) {
    size_t end = code.find(',', start);
    if (end == std::string::npos) end = code.size();
    urls.push_back(trim(code.substr(start, end - start)));
    start = end + 1;
  }
  if (arch.empty()) {
    if (urls.size() == 1 && !urls[0].empty()) return urls[0];
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("arch: needed to choose among {} kernel URLs", urls.size()));
  }
  for (size_t i = 0; i < arch.size(); ++i) {
    if (arch[i] != host_arch) continue;
    if (i >= urls.size() || urls[i].empty()) {
      return makeError(ErrorCode::kUnprocessable,
                       fmt::format("code: no kernel URL for arch {} (position {} of {})", host_arch,
                                   i + 1, urls.size()));
    }
    return urls[i];
  }
  std::string offered;
  for (const auto& a : arch) offered += (offered.empty() ? "" : ", ") + a;
  return makeError(ErrorCode::kUnprocessable,
                   fmt::format("arch: no kernel for {} (offered: {})", host_arch, offered));
}

KernelStore::KernelStore(std::string cache_dir, ExtractLimits limits,
                         std::function<bool()> cancelled)
    : cache_dir_(std::move(cache_dir)), limits_(limits), cancelled_(std::move(cancelled)) {}

Result<KernelBundle> KernelStore::fetch(const std::string& url) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return makeError(ErrorCode::kUnprocessable,
                     fmt::format("code: '{}' is not an http(s) URL", url));
  }
  std::lock_guard lock(mutex_);
  std::string url_dir = cache_dir_ + "/" + hexOf(oci::sha256Digest(url)).substr(0, 32);
  // A URL fetched before: its content is used as it was then.
  if (auto current = files::read(url_dir + "/current")) {
    std::string digest = trim(*current);
    std::string dir = url_dir + "/" + hexOf(digest);
    if (fs::is_directory(dir)) return describe(dir, digest, url);
  }
  OAK_TRY(files::ensureDirectory(cache_dir_));
  OAK_TRY(files::ensureDirectory(url_dir));
  auto bundle = download(url, url_dir);
  std::error_code ec;
  fs::remove(url_dir + "/download", ec);
  if (!bundle && fs::is_empty(url_dir, ec)) fs::remove(url_dir, ec);
  return bundle;
}

Result<KernelBundle> KernelStore::download(const std::string& url, const std::string& url_dir) {
  std::string archive = url_dir + "/download";
  oci::Sha256 hash;
  uint64_t received = 0;
  {
    std::ofstream out(archive, std::ios::binary | std::ios::trunc);
    if (!out) return makeError(ErrorCode::kInternal, "code: cannot write " + archive);
    oci::SessionOptions options;
    options.user_agent = "oakestra-worker";
    options.cancelled = cancelled_;
    oci::HttpSession session(options);
    std::string target = url;
    for (int hop = 0;; ++hop) {
      auto sink = [&](const oci::HttpHead&, std::string_view chunk) -> Status {
        received += chunk.size();
        if (received > limits_.max_bytes) {
          return makeError(ErrorCode::kUnprocessable,
                           fmt::format("code: {}: larger than {} bytes", url, limits_.max_bytes));
        }
        hash.update(chunk);
        out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        return {};
      };
      auto got = session.get(target, {}, sink);
      if (!got) {
        if (session.sinkFailed()) return got.error();
        return makeError(ErrorCode::kUnavailable,
                         fmt::format("code: {}: {}", url, got.error().message));
      }
      int status = got->head.status;
      if (status >= 300 && status < 400 && !got->location.empty() && hop < kMaxRedirects) {
        target = got->location;
        continue;
      }
      if (status == 404) {
        return makeError(ErrorCode::kNotFound, fmt::format("code: {}: HTTP 404 Not Found", url));
      }
      if (status < 200 || status >= 300) {
        return makeError(ErrorCode::kUnavailable, fmt::format("code: {}: HTTP {}", url, status));
      }
      break;
    }
    out.close();
    if (!out) return makeError(ErrorCode::kInternal, "code: cannot write " + archive);
  }
  std::string digest = hash.digest();
  std::string final_dir = url_dir + "/" + hexOf(digest);
  std::string tmp = url_dir + "/unpack." + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  OAK_TRY(files::ensureDirectory(tmp, 0755));
  auto unpacked = [&]() -> Result<KernelBundle> {
    auto extracted = extractArchive(archive, tmp, limits_);
    if (!extracted) {
      return makeError(extracted.error().code,
                       fmt::format("code: {}: {}", url, extracted.error().message));
    }
    OAK_TRY(describe(tmp, digest, url));
    fs::remove_all(final_dir, ec);
    fs::rename(tmp, final_dir, ec);
    if (ec) return makeError(ErrorCode::kInternal, "code: cannot keep " + final_dir);
    OAK_TRY(files::writeAtomic(url_dir + "/current", digest + "\n", 0644));
    return describe(final_dir, digest, url);
  }();
  if (!unpacked) fs::remove_all(tmp, ec);
  return unpacked;
}

}  // namespace oak::worker::unikernel
