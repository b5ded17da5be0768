// oak logs SERVICE[/INSTANCE] [-f] [--stdout|--stderr] [--tail N] [-t]

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <ostream>

#include "cli/oak/commands.h"
#include "cli/oak/log_target.h"
#include "cli/oak/resolve.h"
#include "cli/oak/stream_parsing.h"
#include "common/json.h"

namespace oak::cli {

namespace bj = boost::json;

namespace {

struct LogsFlags {
  std::string target;
  bool follow = false;
  bool only_stdout = false;
  bool only_stderr = false;
  int64_t tail = 0;  // 0: the root's default
  bool timestamps = false;
};

// Prints one log line: stdout's to stdout and stderr's to stderr, as the instance wrote them.
void printLine(CommandContext& ctx, const bj::object& l, bool timestamps) {
  std::string text = json::getString(l, "line").value_or("");
  if (timestamps) text = json::getString(l, "time").value_or("") + " " + text;
  std::ostream& to = json::getString(l, "stream") == "stderr" ? *ctx.err : *ctx.out;
  to << text << "\n";
}

// One event of a follow; false when it was the last.
bool printEvent(CommandContext& ctx, const std::string& data, bool timestamps) {
  auto v = json::parse(data);
  if (!v || !v->is_object()) return true;
  const auto& e = v->get_object();
  if (ctx.json()) *ctx.out << data << "\n";
  if (auto end = json::getString(e, "end")) {
    *ctx.err << "oak: the log stream ended: " << *end << "\n";
    return false;
  }
  if (ctx.json()) return true;
  if (auto dropped = json::getInt(e, "dropped")) {
    *ctx.err << fmt::format("oak: {} lines left out (this client read too slowly)\n", *dropped);
  } else if (e.contains("line")) {
    printLine(ctx, e, timestamps);
  }
  return true;
}

Status logs(CommandContext& ctx, const LogsFlags& f) {
  OAK_ASSIGN_OR_RETURN(auto target, parseLogTarget(f.target));
  OAK_ASSIGN_OR_RETURN(auto client, Client::open(ctx));
  OAK_ASSIGN_OR_RETURN(auto service, resolveService(client->api(), target.service));
  OAK_ASSIGN_OR_RETURN(auto instance, chooseInstance(service, target.instance));
  LogQuery q;
  q.service_id = idOf(service);
  q.instance = instance;
  q.stream = f.only_stdout ? "stdout" : f.only_stderr ? "stderr" : "all";
  if (f.tail > 0) q.tail = f.tail;
  if (!f.follow) {
    OAK_ASSIGN_OR_RETURN(auto answer, client->api().logs(q));
    if (ctx.json()) {
      printJson(ctx, answer);
      return {};
    }
    if (auto dropped = json::getInt(answer, "dropped")) {
      *ctx.err << fmt::format("oak: {} older lines left out (too much to send at once)\n",
                              *dropped);
    }
    if (const auto* lines = json::findArray(answer, "lines")) {
      for (const auto& l : *lines) {
        if (l.is_object()) printLine(ctx, l.get_object(), f.timestamps);
      }
    }
    return {};
  }
  SseParser parser;
  return client->api().followLogs(q, [&](std::string_view data) {
    bool more = true;
    for (const auto& event : parser.feed(data)) {
      more = more && printEvent(ctx, event, f.timestamps);
    }
    ctx.out->flush();
    ctx.err->flush();
    return more;
  });
}

}  // namespace

void addLogsCommand(CLI::App& app, CommandContext& ctx, Action& action) {
  auto flags = std::make_shared<LogsFlags>();
  auto* cmd = app.add_subcommand("logs", "print or follow the output of a service instance");
  cmd->footer(
      "What the instance wrote to stdout goes to stdout, its stderr to stderr. With -f new\n"
      "lines are printed as they come until Ctrl-C.");
  cmd->add_option("target", flags->target,
                  "SERVICE or SERVICE/INSTANCE (default: its first instance); SERVICE as in "
                  "oak service inspect")
      ->required();
  cmd->add_flag("-f,--follow", flags->follow, "keep printing new lines");
  auto* out = cmd->add_flag("--stdout", flags->only_stdout, "only what it wrote to stdout");
  auto* err = cmd->add_flag("--stderr", flags->only_stderr, "only what it wrote to stderr");
  out->excludes(err);
  cmd->add_option("--tail", flags->tail, "the last N lines (1 to 10000; default 100)")
      ->check(CLI::Range(1, 10000));
  cmd->add_flag("-t,--timestamps", flags->timestamps, "prefix every line with its time");
  onRun(cmd, action, [&ctx, flags] { return logs(ctx, *flags); });
}

}  // namespace oak::cli
