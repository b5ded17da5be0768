#include "oak_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "wait.h"

namespace oak::testing {

std::string describe(const OakRun& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout ---\n" + r.out + "--- stderr ---\n" +
         r.err;
}

std::map<std::string, std::string> OakRunner::environment(
    const std::map<std::string, std::string>& extra) const {
  std::map<std::string, std::string> env{
      {"PATH", "/usr/bin:/bin"}, {"HOME", dir_.path().string()}, {"OAK_CONFIG", configPath()}};
  for (const auto& [k, v] : extra) env[k] = v;
  return env;
}

OakRun OakRunner::run(std::vector<std::string> args,
                      const std::map<std::string, std::string>& extra,
                      std::chrono::milliseconds timeout) const {
  std::string out_file = dir_.file("oak.out"), err_file = dir_.file("oak.err");
  std::string binary = binaryPath("oak");
  std::vector<std::string> env_text;
  for (const auto& [k, v] : environment(extra)) env_text.push_back(k + "=" + v);
  std::vector<char*> argv{binary.data()}, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = ::open("/dev/null", O_RDONLY);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::dup2(in, 0);
    ::execve(binary.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  OakRun r;
  int status = 0;
  bool ended =
      waitUntil("oak exits", timeout, [&] { return ::waitpid(pid, &status, WNOHANG) == pid; });
  if (!ended) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  r.out = readAll(out_file);
  r.err = readAll(err_file);
  return r;
}

std::unique_ptr<Process> OakRunner::start(std::vector<std::string> args,
                                          const std::string& log_name) const {
  return std::make_unique<Process>(binaryPath("oak"), std::move(args), environment(),
                                   dir_.file(log_name));
}

std::string OakRunner::readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace oak::testing
