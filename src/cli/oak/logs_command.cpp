// oak logs SERVICE[/INSTANCE] [-f] [--stdout|--stderr] [--tail N] [-t]
// oak logs --control-plane [--component C] [--level L] [--since S] [--node N] [--cluster C] [-f]

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <functional>
#include <ostream>

#include "cli/oak/commands.h"
#include "cli/oak/log_target.h"
#include "cli/oak/resolve.h"
#include "cli/oak/stream_parsing.h"
#include "cli/oak/views.h"
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
  bool control_plane = false;
  ControlLogQuery control;
};

// Prints what one line or record of a log says (not a drop or the end).
using Printer = std::function<void(const bj::object&)>;

// Prints one log line: stdout's to stdout and stderr's to stderr, as the instance wrote them.
void printLine(CommandContext& ctx, const bj::object& l, bool timestamps) {
  std::string text = json::getString(l, "line").value_or("");
  if (timestamps) text = json::getString(l, "time").value_or("") + " " + text;
  std::ostream& to = json::getString(l, "stream") == "stderr" ? *ctx.err : *ctx.out;
  to << text << "\n";
}

// One event of a follow; false when it was the last. `lost` follows the number of a drop.
bool printEvent(CommandContext& ctx, const std::string& data, const Printer& print,
                std::string_view lost) {
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
    *ctx.err << fmt::format("oak: {} {}\n", *dropped, lost);
  } else {
    print(e);
  }
  return true;
}

// Prints a follow's events as they come, until it ends or the user stops it.
Status followEvents(CommandContext& ctx, const std::function<Status(const DataSink&)>& open,
                    const Printer& print, std::string_view lost) {
  SseParser parser;
  return open([&](std::string_view data) {
    bool more = true;
    for (const auto& event : parser.feed(data)) more = more && printEvent(ctx, event, print, lost);
    ctx.out->flush();
    ctx.err->flush();
    return more;
  });
}

// Prints the `lines` of a read: as JSON with -o json, else each with `print`.
void printLines(CommandContext& ctx, const bj::object& answer, const Printer& print) {
  if (ctx.json()) {
    printJson(ctx, answer);
    return;
  }
  if (const auto* lines = json::findArray(answer, "lines")) {
    for (const auto& l : *lines) {
      if (l.is_object()) print(l.get_object());
    }
  }
}

Status controlPlaneLogs(CommandContext& ctx, const LogsFlags& f) {
  OAK_ASSIGN_OR_RETURN(auto client, Client::open(ctx));
  ControlLogQuery q = f.control;
  if (f.tail > 0) q.limit = f.tail;
  Printer print = [&ctx](const bj::object& r) {
    if (r.contains("msg")) *ctx.out << renderControlRecord(r) << "\n";
  };
  if (f.follow) {
    return followEvents(
        ctx, [&](const DataSink& sink) { return client->api().followControlLogs(q, sink); }, print,
        "records left out (this client read too slowly, or the root's buffer turned over)");
  }
  OAK_ASSIGN_OR_RETURN(auto answer, client->api().controlLogs(q));
  printLines(ctx, answer, print);
  return {};
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
  Printer print = [&ctx, &f](const bj::object& l) {
    if (l.contains("line")) printLine(ctx, l, f.timestamps);
  };
  if (f.follow) {
    return followEvents(
        ctx, [&](const DataSink& sink) { return client->api().followLogs(q, sink); }, print,
        "lines left out (this client read too slowly)");
  }
  OAK_ASSIGN_OR_RETURN(auto answer, client->api().logs(q));
  if (auto dropped = json::getInt(answer, "dropped"); dropped && !ctx.json()) {
    *ctx.err << fmt::format("oak: {} older lines left out (too much to send at once)\n", *dropped);
  }
  printLines(ctx, answer, print);
  return {};
}

}  // namespace

void addLogsCommand(CLI::App& app, CommandContext& ctx, Action& action) {
  auto flags = std::make_shared<LogsFlags>();
  auto* cmd = app.add_subcommand(
      "logs", "print or follow the output of a service instance, or the control plane's logs");
  cmd->footer(
      "What the instance wrote to stdout goes to stdout, its stderr to stderr. With -f new\n"
      "lines are printed as they come until Ctrl-C.\n"
      "With --control-plane (Admins only): what the root, the clusters and their workers logged,\n"
      "one record a line with its time, level and origin, oldest first.");
  auto* target = cmd->add_option("target", flags->target,
                                 "SERVICE or SERVICE/INSTANCE (default: its first instance); "
                                 "SERVICE as in oak service inspect");
  cmd->add_flag("-f,--follow", flags->follow, "keep printing new lines");
  auto* out = cmd->add_flag("--stdout", flags->only_stdout, "only what it wrote to stdout");
  auto* err = cmd->add_flag("--stderr", flags->only_stderr, "only what it wrote to stderr");
  out->excludes(err);
  cmd->add_option("--tail", flags->tail, "the last N lines (1 to 10000; default 100)")
      ->check(CLI::Range(1, 10000));
  cmd->add_flag("-t,--timestamps", flags->timestamps,
                "prefix every line with its time (control-plane records always have it)");

  auto* cp = cmd->add_flag("--control-plane", flags->control_plane,
                           "the control plane's logs instead of a service's (default --tail "
                           "1000)");
  cp->excludes(target)->excludes(out)->excludes(err);
  auto& q = flags->control;
  cmd->add_option("--component", q.component, "only root, cluster or worker records")
      ->check(CLI::IsMember({"root", "cluster", "worker"}))
      ->needs(cp);
  cmd->add_option("--level", q.level, "the lowest level: debug, info, warn, error, critical")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical"}))
      ->needs(cp);
  cmd->add_option("--since", q.since, "an RFC 3339 UTC time, or back from now: 90s, 15m, 2h, 1d")
      ->needs(cp);
  cmd->add_option("--node", q.node, "only the records of this daemon (root, a cluster, a worker)")
      ->needs(cp);
  cmd->add_option("--cluster", q.cluster, "only the records of this cluster and its workers")
      ->needs(cp);
  cmd->callback([&ctx, &action, flags] {
    if (!flags->control_plane && flags->target.empty()) {
      throw CLI::RequiredError("a SERVICE[/INSTANCE], or --control-plane,");
    }
    action = [&ctx, flags] {
      return flags->control_plane ? controlPlaneLogs(ctx, *flags) : logs(ctx, *flags);
    };
  });
}

}  // namespace oak::cli
