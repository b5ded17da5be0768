#include "worker/net/nft.h"

#include <nftables/libnftables.h>

#include <memory>
#include <string_view>

namespace oak::worker {
namespace {

struct NftDeleter {
  void operator()(nft_ctx* ctx) const { nft_ctx_free(ctx); }
};
using NftPtr = std::unique_ptr<nft_ctx, NftDeleter>;

// The first error libnftables reported, without its "Error: " prefix and caret lines, followed
// by the command it refers to: "Could not process rule: File exists (add element ...)".
std::string summarize(std::string_view errors) {
  auto nextLine = [&errors] {
    const size_t end = errors.find('\n');
    std::string_view line = errors.substr(0, end);
    errors = end == std::string_view::npos ? std::string_view() : errors.substr(end + 1);
    return line;
  };
  std::string_view first = nextLine();
  if (const size_t at = first.find("Error: "); at != std::string_view::npos) {
    first.remove_prefix(at + 7);
  }
  std::string summary(first);
  const std::string_view command = nextLine();
  if (command.find_first_not_of(" ^~\t") != std::string_view::npos) {
    summary += " (" + std::string(command) + ")";
  }
  return summary.empty() ? "nftables failed without a message" : summary;
}

Result<std::string> run(const std::string& script, const std::string& what) {
  NftPtr ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return makeError(ErrorCode::kInternal, what + ": cannot create an nftables context");
  nft_ctx_buffer_output(ctx.get());
  nft_ctx_buffer_error(ctx.get());
  if (nft_run_cmd_from_buffer(ctx.get(), script.c_str()) == 0) {
    const char* output = nft_ctx_get_output_buffer(ctx.get());
    return std::string(output ? output : "");
  }
  const char* errors = nft_ctx_get_error_buffer(ctx.get());
  std::string summary = summarize(errors ? errors : "");
  const bool exists = summary.find("File exists") != std::string::npos;
  return makeError(exists ? ErrorCode::kConflict : ErrorCode::kInternal, what + ": " + summary);
}

}  // namespace

Status runNft(const std::string& script, const std::string& what) {
  OAK_TRY(run(script, what));
  return {};
}

Result<std::string> nftOutput(const std::string& command, const std::string& what) {
  return run(command, what);
}

}  // namespace oak::worker
