#include "unikernel_bundles.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/sysmacros.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <thread>

#include "http/event_loop.h"
#include "http/router.h"
#include "http/server.h"

namespace oak::testing {
namespace {

// Multiboot (v1) header, the message on COM1, then isa-debug-exit (port 0xf4) or halt.
constexpr char kKernelSource[] = R"(
.section .text
.globl _start
.align 4
  .long 0x1BADB002
  .long 0
  .long -0x1BADB002
_start:
  lea msg, %esi
1: movb (%esi), %al
  test %al, %al
  jz 2f
  mov $0x3f8, %dx
  outb %al, %dx
  inc %esi
  jmp 1b
2:
#ifdef EXIT_CODE
  mov $EXIT_CODE, %al
  mov $0xf4, %dx
  outb %al, %dx
#endif
3: hlt
  jmp 3b
msg: .asciz MESSAGE
)";

TarEntry entry(std::string name, std::string content, unsigned type, std::string link) {
  return TarEntry{std::move(name), std::move(content), type, std::move(link)};
}

}  // namespace

TarEntry tarFile(std::string name, std::string content) {
  return entry(std::move(name), std::move(content), AE_IFREG, "");
}
TarEntry tarFolder(std::string name) {
  return entry(std::move(name), "", AE_IFDIR, "");
}
TarEntry tarSymlink(std::string name, std::string target) {
  return entry(std::move(name), "", AE_IFLNK, std::move(target));
}
TarEntry tarHardlink(std::string name, std::string target) {
  return entry(std::move(name), "", AE_IFREG, std::move(target));
}
TarEntry tarDevice(std::string name) {
  return entry(std::move(name), "", AE_IFCHR, "");
}

std::string packTarGz(const std::vector<TarEntry>& entries) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  archive_write_open(
      a, &out, nullptr,
      [](archive*, void* self, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(self)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  for (const auto& e : entries) {
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.name.c_str());
    archive_entry_set_filetype(ae, e.type);
    archive_entry_set_perm(ae, e.type == AE_IFDIR ? 0755 : 0644);
    if (e.type == AE_IFLNK) archive_entry_set_symlink(ae, e.link.c_str());
    if (e.type == AE_IFREG && !e.link.empty()) archive_entry_set_hardlink(ae, e.link.c_str());
    if (e.type == AE_IFCHR) archive_entry_set_rdev(ae, makedev(1, 3));
    if (e.type == AE_IFREG && e.link.empty()) {
      archive_entry_set_size(ae, static_cast<la_int64_t>(e.content.size()));
    }
    archive_write_header(a, ae);
    if (!e.content.empty()) archive_write_data(a, e.content.data(), e.content.size());
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

Result<std::string> buildTestKernel(const std::string& work_dir, const std::string& message,
                                    std::optional<int> exit_code) {
  std::string src = work_dir + "/kernel.S";
  std::ofstream(src) << "#define MESSAGE \"" << message << "\"\n" << kKernelSource;
  std::string out = work_dir + "/kernel.elf";
  std::string cmd = "gcc -m32 -nostdlib -static -Wl,-Ttext=0x100000 -Wl,--build-id=none " +
                    (exit_code ? "-DEXIT_CODE=" + std::to_string(*exit_code) + " " : "") + "-o " +
                    out + " " + src + " 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    return makeError(ErrorCode::kInternal, "cannot build the test kernel: " + cmd);
  }
  std::ifstream in(out, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Result<std::string> buildEchoKernel(const std::string& work_dir) {
  std::string out = work_dir + "/udp-echo.elf";
  std::string cmd =
      "gcc -m32 -ffreestanding -nostdlib -static -O1 -fno-toplevel-reorder "
      "-fno-reorder-functions -fno-pic -fno-stack-protector -Wl,-Ttext=0x100000 "
      "-Wl,--build-id=none -o " +
      out + " " OAK_TEST_GUEST_DIR "/udp_echo_kernel.c 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    return makeError(ErrorCode::kInternal, "cannot build the echo kernel: " + cmd);
  }
  std::ifstream in(out, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string kernelBundle(const std::string& kernel) {
  return packTarGz({tarFile("kernel", kernel), tarFolder("files1"),
                    tarFile("files1/hello.txt", "shared with the guest\n")});
}

struct FileServer::Impl {
  std::map<std::string, std::string> files;
  EventLoop loop;
  http::Router router;
  std::unique_ptr<http::HttpServer> server;
  std::thread thread;
  std::string host;
};

FileServer::FileServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<FileServer>> FileServer::start(std::map<std::string, std::string> files,
                                                      std::string host) {
  auto impl = std::make_unique<Impl>();
  impl->files = std::move(files);
  Impl* self = impl.get();
  impl->router.add(http::Method::kGet, "/k/{name}", http::RouteDoc{},
                   [self](const http::Request& r) {
                     auto it = self->files.find(std::string(r.param("name")));
                     if (it == self->files.end()) return http::textResponse(404, "no such file\n");
                     http::Response resp;
                     resp.content_type = "application/gzip";
                     resp.body = it->second;
                     return resp;
                   });
  http::ServerOptions options;
  options.host = host;
  impl->host = std::move(host);
  options.port = 0;
  OAK_ASSIGN_OR_RETURN(impl->server, http::HttpServer::start(impl->loop, options, impl->router));
  impl->thread = std::thread([self] { self->loop.run(); });
  return std::unique_ptr<FileServer>(new FileServer(std::move(impl)));
}

FileServer::~FileServer() {
  impl_->loop.stop();
  impl_->thread.join();
}

std::string FileServer::url(const std::string& name) const {
  return "http://" + impl_->host + ":" + std::to_string(impl_->server->port()) + "/k/" + name;
}

}  // namespace oak::testing
