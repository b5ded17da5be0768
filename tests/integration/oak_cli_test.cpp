// The `oak` binary as users run it, against real daemons: a lone `oakestra root` for sessions and
// bad input, and a whole hierarchy with containers (private containerd and registry) for the
// life of an application: apply → RUNNING → inspect → logs → scale → rm.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "containerd_cleanup.h"
#include "containerd_daemon.h"
#include "hierarchy_fixture.h"
#include "oak_runner.h"
#include "registry.h"
#include "worker/runtime/containerd/client.h"

namespace oak::testing {
namespace {

using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// An SLA of one application; `services` are its microservices, completed with defaults.
bj::object slaOf(const std::string& app, bj::array services, const std::string& image) {
  for (auto& s : services) {
    auto& o = s.as_object();
    o.emplace("microserviceID", "");
    o.emplace("microservice_namespace", "test");
    o.emplace("virtualization", "container");
    o.emplace("memory", 64);
    o.emplace("vcpus", 0);
    o.emplace("code", image);
  }
  return {{"sla_version", "v2.0"},
          {"customerID", "Admin"},
          {"applications", bj::array{bj::object{{"applicationID", ""},
                                                {"application_name", app},
                                                {"application_namespace", "test"},
                                                {"application_desc", "oak test"},
                                                {"microservices", std::move(services)}}}}};
}

std::string writeFile(const TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.file(name)) << text;
  return dir.file(name);
}

// --- A lone root: sessions and bad input --------------------------------------------------------

class OakCliRootTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }
  void TearDown() override {
    if (HasFailure() && root_) std::cerr << "--- root log ---\n" << root_->log();
  }

  void start(std::vector<std::string> extra) {
    if (root_) root_->stop();
    port_ = pickFreePort();
    std::vector<std::string> args{"root", "--listen", "127.0.0.1:" + std::to_string(port_),
                                  "--data-dir", dir_.file("root")};
    args.insert(args.end(), extra.begin(), extra.end());
    root_ = std::make_unique<Process>(binaryPath("oakestra"), args,
                                      std::map<std::string, std::string>{}, dir_.file("root.log"));
    ASSERT_TRUE(waitForPort(port_, 20s)) << root_->log();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  OakRun login() { return oak_.run({"--url", url(), "login", "-p", "Admin"}); }

  bj::object storedSession() const {
    auto v = bj::parse(OakRunner::readAll(oak_.configPath()));
    return v.is_object() ? v.as_object() : bj::object{};
  }
  int64_t expiry(const std::string& token) const {
    return jwtClaims(token).at("exp").to_number<int64_t>();
  }

  TempDir dir_;
  OakRunner oak_{dir_};
  uint16_t port_ = 0;
  std::unique_ptr<Process> root_;
};

TEST_F(OakCliRootTest, LoginKeepsTheSessionInAPrivateFile) {
  auto wrong = oak_.run({"--url", url(), "login", "-p", "nope"});
  EXPECT_EQ(wrong.exit_code, 1) << describe(wrong);
  EXPECT_EQ(wrong.err, "oak: wrong username or password\n");

  auto ok = login();
  ASSERT_EQ(ok.exit_code, 0) << describe(ok);
  EXPECT_EQ(ok.out, "Logged in to " + url() + " as Admin.\n");
  struct stat st {};
  ASSERT_EQ(::stat(oak_.configPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto s = storedSession();
  EXPECT_EQ(str(s, "url"), url());
  EXPECT_EQ(jwtClaims(str(s, "token")).at("type"), "access");
  EXPECT_EQ(jwtClaims(str(s, "refresh_token")).at("type"), "refresh");

  // Later commands need no --url; the environment overrides the file.
  auto ls = oak_.run({"app", "ls"});
  EXPECT_EQ(ls.exit_code, 0) << describe(ls);
  EXPECT_THAT(ls.out, HasSubstr("No applications yet"));
  auto elsewhere = oak_.run({"app", "ls"}, {{"OAK_URL", "http://127.0.0.1:1"}});
  EXPECT_EQ(elsewhere.err, "oak: cannot reach http://127.0.0.1:1: connection refused\n");
  auto by_env = oak_.run({"--url", url(), "cluster", "ls"},
                         {{"OAK_CONFIG", dir_.file("none.json")}, {"OAK_TOKEN", str(s, "token")}});
  EXPECT_EQ(by_env.exit_code, 0) << describe(by_env);
}

TEST_F(OakCliRootTest, ExpiredAccessTokenIsRefreshedAndAnExpiredSessionSaysSo) {
  ASSERT_NO_FATAL_FAILURE(start({"--access-token-ttl", "1", "--refresh-token-ttl", "3"}));
  ASSERT_EQ(login().exit_code, 0);
  std::string first = str(storedSession(), "token");
  std::string refresh = str(storedSession(), "refresh_token");
  ASSERT_TRUE(waitUntil("the access token expired", 5s,
                        [&] { return std::time(nullptr) > expiry(first); }));
  auto ls = oak_.run({"app", "ls"});
  EXPECT_EQ(ls.exit_code, 0) << describe(ls);
  std::string second = str(storedSession(), "token");
  EXPECT_NE(second, first) << "the refreshed token is kept for the next command";
  EXPECT_EQ(str(storedSession(), "refresh_token"), refresh);

  ASSERT_TRUE(waitUntil("the refresh token expired", 8s,
                        [&] { return std::time(nullptr) > expiry(refresh); }));
  auto expired = oak_.run({"app", "ls"});
  EXPECT_EQ(expired.exit_code, 1) << describe(expired);
  EXPECT_EQ(expired.err, "oak: session expired: run oak login\n");
  EXPECT_EQ(expired.out, "");
}

TEST_F(OakCliRootTest, WrongUrlBadSlaAndNoClusterEachSayWhatIsWrongInOneLine) {
  uint16_t closed = pickFreePort();
  std::string bad_url = "http://127.0.0.1:" + std::to_string(closed);
  auto unreachable = oak_.run({"--url", bad_url, "login", "-p", "Admin"});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_EQ(unreachable.err, "oak: cannot reach " + bad_url + ": connection refused\n");

  ASSERT_EQ(login().exit_code, 0);
  auto not_json = oak_.run({"apply", "-f", writeFile(dir_, "broken.json", "{\"applications\": [")});
  EXPECT_EQ(not_json.exit_code, 1);
  EXPECT_THAT(not_json.err, AllOf(StartsWith("oak: " + dir_.file("broken.json") + ": not JSON"),
                                  Not(HasSubstr("\n\n"))));
  auto sla = slaOf("bad", bj::array{bj::object{{"microservice_name", "x"}, {"memory", "lots"}}},
                   "busybox");
  auto invalid = oak_.run({"apply", "-f", writeFile(dir_, "bad.json", bj::serialize(sla))});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_EQ(invalid.err, "oak: " + dir_.file("bad.json") +
                             ": applications[0].microservices[0].memory: 'lots' is not of type "
                             "'integer'\n");
  auto missing = oak_.run({"apply", "-f", dir_.file("nope.json")});
  EXPECT_EQ(missing.err, "oak: " + dir_.file("nope.json") + ": no such file\n");
  EXPECT_THAT(oak_.run({"app", "ls"}).out, HasSubstr("No applications yet"));

  // A valid SLA with no cluster to run it: created, but the wait says why nothing runs.
  auto alone = slaOf("lonely", bj::array{bj::object{{"microservice_name", "web"}}}, "busybox");
  auto unplaced = oak_.run({"apply", "-f", writeFile(dir_, "lonely.json", bj::serialize(alone))});
  EXPECT_EQ(unplaced.exit_code, 1) << describe(unplaced);
  EXPECT_EQ(unplaced.err,
            "oak: lonely.test.web.test: no instance placed: NoActiveClusterWithCapacity: no "
            "cluster is registered\n");
  auto bad_service = oak_.run({"service", "inspect", "nosuch"});
  EXPECT_EQ(bad_service.exit_code, 1);
  EXPECT_EQ(bad_service.err, "oak: no service 'nosuch' (oak service ls lists yours)\n");
}

TEST_F(OakCliRootTest, AlertsAndControlPlaneLogsOfALoneRoot) {
  ASSERT_EQ(login().exit_code, 0);
  auto quiet = oak_.run({"alerts"});
  EXPECT_EQ(quiet.exit_code, 0) << describe(quiet);
  EXPECT_EQ(quiet.out, "No active alerts.\n");

  // The root logs as it starts: records of the root, none of workers (there are none).
  auto logs = oak_.run({"logs", "--control-plane", "--component", "root"});
  EXPECT_EQ(logs.exit_code, 0) << describe(logs);
  EXPECT_THAT(logs.out, ContainsRegex("[0-9]T[0-9:.]+Z info +root: "));
  auto none = oak_.run({"logs", "--control-plane", "--component", "worker"});
  EXPECT_EQ(none.exit_code, 0) << describe(none);
  EXPECT_EQ(none.out, "");
  auto bad_since = oak_.run({"logs", "--control-plane", "--since", "yesterday"});
  EXPECT_EQ(bad_since.exit_code, 1);
  EXPECT_THAT(bad_since.err, StartsWith("oak: since: 'yesterday' is neither"));

  // A service no cluster can take: the follow shows the root's record of it, and the failed
  // placement is an alert.
  auto follow = oak_.start({"logs", "--control-plane", "-f", "--tail", "1"}, "follow.log");
  ASSERT_TRUE(eventually("the follow printed the newest record", 10s, [&] {
    return follow->log().find(" root: ") != std::string::npos;
  })) << follow->log();
  auto alone = slaOf("lonely", bj::array{bj::object{{"microservice_name", "web"}}}, "busybox");
  oak_.run(
      {"apply", "-f", writeFile(dir_, "lonely.json", bj::serialize(alone)), "--timeout", "1s"});
  EXPECT_TRUE(eventually("the follow shows the failed placement", 10s, [&] {
    return follow->log().find("NoActiveClusterWithCapacity") != std::string::npos;
  })) << follow->log();
  EXPECT_EQ(follow->stop(SIGINT), -SIGINT);
  OakRun alerts;
  EXPECT_TRUE(eventually("oak alerts lists the scheduling failure", 10s, [&] {
    alerts = oak_.run({"alerts"});
    return alerts.out.find("OakestraSchedulingFailures") != std::string::npos;
  })) << describe(alerts);
  EXPECT_EQ(alerts.exit_code, 0);
  EXPECT_THAT(alerts.out, AllOf(StartsWith("SEVERITY  STATE"), HasSubstr("where=root")));
}

// --- A hierarchy with containers: an application's life ----------------------------------------

class OakCliDeploymentTest : public HierarchyTest {
 protected:
  void SetUp() override {
    image_ = sharedBusyboxImage();
    ASSERT_FALSE(image_.empty());
    default_code_ = image_;
    ASSERT_TRUE(containerd_.waitReady(30s));
    HierarchyTest::SetUp();
    waitForRootView(2);
    auto login = oak_.run({"--url", rootUrl(), "login", "-p", "Admin"});
    ASSERT_EQ(login.exit_code, 0) << describe(login);
  }

  void TearDown() override {
    HierarchyTest::TearDown();
    for (const auto& name : {"w1", "w2"}) removeContainers(containerd_.socket(), namespaceOf(name));
  }

  std::vector<std::string> workerArgs(const std::string& name) const override {
    return {"--containerd-socket", containerd_.socket(), "--containerd-namespace",
            namespaceOf(name)};
  }
  std::string namespaceOf(const std::string& worker) const { return worker + "-oak-" + suffix_; }

  // The service as `oak service inspect -o json` shows it.
  bj::object inspect(const std::string& ref) {
    auto r = oak_.run({"service", "inspect", ref, "-o", "json"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    auto v = bj::parse(r.out);
    return v.is_object() ? v.as_object() : bj::object{};
  }
  static std::vector<std::string> statuses(const bj::object& service) {
    std::vector<std::string> out;
    for (const auto& i : service.at("instance_list").as_array()) {
      out.push_back(str(i.as_object(), "status"));
    }
    return out;
  }

  ContainerdDaemon containerd_;
  const std::string suffix_ = std::to_string(::getpid());
  std::string image_;
  OakRunner oak_{dir_};
};

TEST_F(OakCliDeploymentTest, ApplyInspectLogsScaleAndRemove) {
  auto sla = slaOf(
      "oakdemo",
      bj::array{
          bj::object{{"microservice_name", "talker"},
                     {"cmd", bj::array{"sh", "-c",
                                       "echo hello-from-oak; echo oops >&2; i=0; while true; do "
                                       "echo tick $i; i=$((i+1)); sleep 0.3; done"}},
                     {"addresses",
                      bj::object{{"rr_ip", "10.30.77.77"}, {"rr_ip_v6", "fdff:2000::77:77"}}}},
          bj::object{{"microservice_name", "once"},
                     {"one_shot", true},
                     {"cmd", bj::array{"sh", "-c", "echo finished"}}}},
      image_);
  std::string file = writeFile(dir_, "oakdemo.json", bj::serialize(sla));
  auto applied = oak_.run({"apply", "-f", file, "--timeout", "90s"});
  ASSERT_EQ(applied.exit_code, 0) << describe(applied);
  EXPECT_THAT(applied.out, HasSubstr("application oakdemo.test: created\n"));
  EXPECT_THAT(applied.out,
              HasSubstr("service oakdemo.test.talker.test: created, instance requested\n"));
  // Not a terminal: plain lines, one per change, no cursor movement.
  EXPECT_THAT(applied.out, HasSubstr("oakdemo.test.talker.test/0  RUNNING  on w"));
  EXPECT_THAT(applied.out, Not(HasSubstr("\x1b[")));
  // The one-shot may still run or have finished by then.
  EXPECT_THAT(applied.out, ContainsRegex("Done in [0-9.]+m?s: (2 instances running|1 instance "
                                         "running, 1 completed)\\.\n$"));

  // Scripts read JSON; people read tables.
  auto listed = oak_.run({"service", "ls", "oakdemo", "-o", "json"});
  ASSERT_EQ(listed.exit_code, 0) << describe(listed);
  std::set<std::string> names;
  auto services = bj::parse(listed.out);
  for (const auto& s : services.as_array()) names.insert(str(s.as_object(), "job_name"));
  EXPECT_EQ(names, (std::set<std::string>{"oakdemo.test.talker.test", "oakdemo.test.once.test"}));
  auto table = oak_.run({"service", "ls"});
  EXPECT_THAT(table.out, AllOf(HasSubstr("NAME"), HasSubstr("oakdemo.test.talker.test"),
                               HasSubstr("10.30.77.77"), HasSubstr("1/1")));

  auto talker = inspect("talker");
  EXPECT_EQ(str(talker, "RR_ip"), "10.30.77.77");
  EXPECT_EQ(str(talker, "RR_ip_v6"), "fdff:2000::77:77");
  EXPECT_EQ(statuses(talker), std::vector<std::string>{"RUNNING"});
  auto details = oak_.run({"service", "inspect", "oakdemo.talker"});
  EXPECT_THAT(
      details.out,
      AllOf(HasSubstr("RR       10.30.77.77  fdff:2000::77:77"), HasSubstr("RUNNING"),
            HasSubstr(kClusterName),
            HasSubstr(str(talker.at("instance_list").as_array()[0].as_object(), "instance_ip"))));

  // Logs: the instance's stdout to stdout, its stderr to stderr.
  OakRun logs;
  EXPECT_TRUE(eventually("oak logs shows what talker printed", 10s, [&] {
    logs = oak_.run({"logs", "talker"});
    return logs.out.find("hello-from-oak\n") != std::string::npos;
  })) << describe(logs);
  EXPECT_EQ(logs.err, "oops\n");
  auto only_err = oak_.run({"logs", "oakdemo.test.talker.test/0", "--stderr"});
  EXPECT_EQ(only_err.out, "");
  EXPECT_EQ(only_err.err, "oops\n");
  // A one-shot's output stays readable after it completed.
  OakRun finished;
  EXPECT_TRUE(eventually("oak logs shows what the one-shot printed", 10s, [&] {
    finished = oak_.run({"logs", "once"});
    return finished.out == "finished\n";
  })) << describe(finished);
  auto no_such = oak_.run({"logs", "talker/7"});
  EXPECT_EQ(no_such.exit_code, 1);
  EXPECT_THAT(no_such.err, HasSubstr("has no instance 7"));

  // Follow prints lines as they come, until Ctrl-C.
  auto follow = oak_.start({"logs", "talker", "-f", "--tail", "1", "--stdout"}, "follow.log");
  std::set<std::string> ticks;
  EXPECT_TRUE(eventually("three new ticks followed", 15s, [&] {
    std::stringstream lines(follow->log());
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("tick ")) ticks.insert(line);
    }
    return ticks.size() >= 3;
  })) << follow->log();
  EXPECT_EQ(follow->stop(SIGINT), -SIGINT);

  auto up = oak_.run({"service", "scale", "talker", "2", "--wait", "--timeout", "60s"});
  EXPECT_EQ(up.exit_code, 0) << describe(up);
  EXPECT_THAT(up.out, HasSubstr("Scaled oakdemo.test.talker.test from 1 to 2 instances."));
  EXPECT_EQ(statuses(inspect("talker")), (std::vector<std::string>{"RUNNING", "RUNNING"}));
  auto down = oak_.run({"service", "scale", "talker", "1"});
  EXPECT_EQ(down.exit_code, 0) << describe(down);
  EXPECT_EQ(inspect("talker").at("instance_list").as_array().size(), 1u);

  // Applying the same file again changes nothing.
  auto again = oak_.run({"apply", "-f", file, "--timeout", "60s"});
  EXPECT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_THAT(again.out, HasSubstr("application oakdemo.test: exists\n"));
  EXPECT_THAT(again.out,
              HasSubstr("service oakdemo.test.talker.test: exists with 1 instance, left as it is"));
  EXPECT_EQ(inspect("talker").at("instance_list").as_array().size(), 1u);

  auto removed = oak_.run({"service", "rm", "talker"});
  EXPECT_EQ(removed.exit_code, 0) << describe(removed);
  EXPECT_THAT(removed.out, StartsWith("Removed service oakdemo.test.talker.test"));
  EXPECT_THAT(oak_.run({"service", "ls"}).out, Not(HasSubstr("talker")));
  auto app_removed = oak_.run({"app", "rm", "oakdemo"});
  EXPECT_EQ(app_removed.exit_code, 0) << describe(app_removed);
  EXPECT_THAT(oak_.run({"app", "ls"}).out, HasSubstr("No applications yet"));
  EXPECT_TRUE(eventually("every container removed", 30s, [&] {
    for (const auto& w : {"w1", "w2"}) {
      auto client =
          worker::containerd::ContainerdClient::connect(containerd_.socket(), namespaceOf(w));
      if (!client) return false;
      auto containers = (*client)->listContainers();
      if (!containers || !containers->empty()) return false;
    }
    return true;
  }));
}

TEST_F(OakCliDeploymentTest, ApplyOfAMissingImageSaysWhyAndFails) {
  std::string ghost = image_.substr(0, image_.rfind('/')) + "/ghost:v1";
  auto sla = slaOf("haunted", bj::array{bj::object{{"microservice_name", "ghost"}}}, ghost);
  auto r = oak_.run(
      {"apply", "-f", writeFile(dir_, "ghost.json", bj::serialize(sla)), "--timeout", "60s"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_THAT(r.err,
              AllOf(StartsWith("oak: haunted.test.ghost.test/0 is FAILED: "), HasSubstr("ghost")))
      << describe(r);
  // The workers report their capacity, and oak shows it per cluster.
  auto clusters = oak_.run({"cluster", "ls"});
  EXPECT_THAT(clusters.out,
              AllOf(HasSubstr(kClusterName), HasSubstr("active"), HasSubstr("docker")));
  // The cluster lists its workers to the root; oak shows them by name.
  OakRun workers;
  EXPECT_TRUE(eventually("oak worker ls lists w1 and w2 active", 15s, [&] {
    workers = oak_.run({"worker", "ls", "-o", "json"});
    std::set<std::string> active;
    auto list = json::parse(workers.out);  // not yet an array while the root has no list
    if (workers.exit_code != 0 || !list || !list->is_array()) return false;
    for (const auto& w : list->as_array()) {
      const auto* o = w.if_object();
      if (o && o->contains("active") && o->at("active") == true &&
          str(*o, "cluster_name") == kClusterName) {
        active.insert(str(*o, "name"));
      }
    }
    return active == std::set<std::string>{"w1", "w2"};
  })) << describe(workers);
  auto table = oak_.run({"worker", "ls"});
  EXPECT_THAT(table.out,
              AllOf(StartsWith("NAME  CLUSTER  STATE   CPUS"), HasSubstr("YOUR INSTANCES\n"),
                    ContainsRegex("w1 +edge +active"), ContainsRegex("w2 +edge +active")))
      << describe(table);
}

}  // namespace
}  // namespace oak::testing
