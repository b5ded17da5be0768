#include "cli/oak/command_context.h"

#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <thread>

namespace oak::cli {

namespace {

std::optional<std::string> askPassword(const std::string& prompt) {
  if (!::isatty(STDIN_FILENO)) return std::nullopt;
  termios before{};
  ::tcgetattr(STDIN_FILENO, &before);
  termios quiet = before;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  std::cerr << prompt << std::flush;
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  std::string line;
  std::getline(std::cin, line);
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &before);
  std::cerr << "\n";
  return line;
}

size_t terminalWidth() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 0;
}

}  // namespace

CommandContext processContext() {
  CommandContext ctx;
  ctx.env = processEnvironment();
  ctx.connect = httpTransport;
  ctx.clock = &SystemClock::instance();
  ctx.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  ctx.in = &std::cin;
  ctx.out = &std::cout;
  ctx.err = &std::cerr;
  auto term = ctx.env("TERM");
  ctx.out_is_terminal = ::isatty(STDOUT_FILENO) && term != "dumb";
  ctx.terminal_width = ctx.out_is_terminal ? terminalWidth() : 0;
  ctx.ask_password = askPassword;
  return ctx;
}

Client::Client(std::unique_ptr<Transport> transport, Endpoint endpoint, CommandContext& ctx)
    : transport_(std::move(transport)),
      session_(*transport_, endpoint, *ctx.clock,
               [&ctx, endpoint](const std::string& token) {
                 if (!endpoint.token_from_file) return;
                 // Kept for the next command; a failure to save costs only a refresh then.
                 std::string path = configPath(ctx.env);
                 auto stored = loadSession(path);
                 if (!stored) return;
                 stored->token = token;
                 if (auto s = saveSession(path, *stored); !s) {
                   *ctx.err << "oak: warning: " << s.error().message << "\n";
                 }
               }),
      api_(session_) {}

Result<std::unique_ptr<Client>> Client::open(CommandContext& ctx) {
  OAK_ASSIGN_OR_RETURN(auto stored, loadSession(configPath(ctx.env)));
  Endpoint endpoint = resolveEndpoint(ctx.url_flag, ctx.env, stored);
  OAK_ASSIGN_OR_RETURN(auto transport, ctx.connect(endpoint.url));
  return std::unique_ptr<Client>(new Client(std::move(transport), std::move(endpoint), ctx));
}

}  // namespace oak::cli
