// `oak` commands end to end against an in-memory root: parsing, output for people and scripts,
// exit codes, the session file, and waits driven by a simulated clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <boost/json.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include "cli/oak/config.h"
#include "cli/oak/oak_cli.h"
#include "common/text.h"
#include "fake_root.h"
#include "temp_dir.h"

namespace oak::cli {
namespace {

namespace bj = boost::json;
using ::testing::AllOf;
using ::testing::ElementsAre;
using testing::FakeRoot;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Hands requests to the test's FakeRoot (commands own their transport).
class Forwarder final : public Transport {
 public:
  explicit Forwarder(FakeRoot& root) : root_(root) {}
  Result<ApiReply> send(const ApiRequest& req) override { return root_.send(req); }
  Result<ApiReply> stream(const ApiRequest& req, const DataSink& sink) override {
    return root_.stream(req, sink);
  }

 private:
  FakeRoot& root_;
};

struct OakResult {
  int code = -1;
  std::string out, err;
};

class CliCommandsTest : public ::testing::Test {
 protected:
  OakResult oak(std::vector<std::string> args) {
    std::ostringstream out, err;
    std::istringstream in(stdin_);
    CommandContext ctx;
    ctx.env = [this](const char* name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    ctx.connect = [this](const std::string& url) -> Result<std::unique_ptr<Transport>> {
      urls_.push_back(url);
      return std::unique_ptr<Transport>(new Forwarder(root_));
    };
    ctx.clock = &clock_;
    ctx.sleep = [this](std::chrono::milliseconds d) { clock_.advance(d); };
    ctx.in = &in;
    ctx.out = &out;
    ctx.err = &err;
    ctx.out_is_terminal = terminal_;
    args.insert(args.begin(), "oak");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    OakResult r;
    r.code = runOak(static_cast<int>(argv.size()), argv.data(), ctx);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  void login() { ASSERT_EQ(oak({"--url", "http://root:10000", "login", "-p", "Admin"}).code, 0); }

  std::string writeSla(const std::string& name, bj::array services) {
    for (auto& s : services) {
      s.as_object().emplace("microservice_namespace", "test");
      s.as_object().emplace("memory", 64);
    }
    bj::object sla{{"sla_version", "v2.0"},
                   {"customerID", "Admin"},
                   {"applications", bj::array{bj::object{{"application_name", "demo"},
                                                         {"application_namespace", "test"},
                                                         {"microservices", std::move(services)}}}}};
    std::ofstream(dir_.file(name)) << bj::serialize(sla);
    return dir_.file(name);
  }

  bj::value json(const std::string& text) { return bj::parse(text); }
  size_t count(std::string_view request) {
    return static_cast<size_t>(std::count(root_.requests.begin(), root_.requests.end(), request));
  }

  oak::testing::TempDir dir_;
  SimulatedClock clock_;
  FakeRoot root_{clock_};
  std::map<std::string, std::string> env_{{"OAK_CONFIG", dir_.file("oak/config.json")}};
  std::vector<std::string> urls_;
  std::string stdin_;
  bool terminal_ = false;
};

TEST_F(CliCommandsTest, HelpEverywhereAndUsageErrorsExitTwo) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                        {"login", "--help"},
                                        {"apply", "--help"},
                                        {"app", "--help"},
                                        {"app", "rm", "--help"},
                                        {"service", "--help"},
                                        {"service", "scale", "--help"},
                                        {"service", "inspect", "--help"},
                                        {"logs", "--help"},
                                        {"cluster", "ls", "--help"},
                                        {"worker", "ls", "--help"},
                                        {"alerts", "--help"}}) {
    auto r = oak(args);
    EXPECT_EQ(r.code, 0) << args.front();
    EXPECT_THAT(r.out, HasSubstr("Usage")) << args.front();
  }
  EXPECT_EQ(oak({}).code, 2);
  EXPECT_EQ(oak({"service"}).code, 2);
  EXPECT_EQ(oak({"service", "scale", "x"}).code, 2);
  EXPECT_EQ(oak({"apply"}).code, 2);
  EXPECT_EQ(oak({"app", "ls", "-o", "yaml"}).code, 2);
  EXPECT_EQ(oak({"logs", "x", "--stdout", "--stderr"}).code, 2);
  EXPECT_TRUE(root_.requests.empty());
}

TEST_F(CliCommandsTest, LoginWritesThePrivateSessionFileAndLaterCommandsUseIt) {
  auto wrong = oak({"--url", "root:10000", "login", "-p", "nope"});
  EXPECT_EQ(wrong.code, 1);
  EXPECT_EQ(wrong.err, "oak: wrong username or password\n");

  stdin_ = "Admin\n";
  auto ok = oak({"--url", "root:10000/", "login", "--password-stdin"});
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(ok.out, "Logged in to http://root:10000 as Admin.\n");
  struct stat st {};
  ASSERT_EQ(::stat(dir_.file("oak/config.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir_.file("oak").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto stored = loadSession(dir_.file("oak/config.json")).value();
  EXPECT_EQ(stored.url, "http://root:10000");
  EXPECT_FALSE(stored.refresh_token.empty());

  urls_.clear();
  EXPECT_EQ(oak({"app", "ls"}).code, 0);
  EXPECT_THAT(urls_, ElementsAre("http://root:10000"));

  auto out = oak({"logout"});
  EXPECT_EQ(out.out, "Logged out of http://root:10000.\n");
  auto after = oak({"app", "ls"});
  EXPECT_EQ(after.code, 1);
  EXPECT_EQ(after.err, "oak: not logged in to http://root:10000: run oak login\n");
}

TEST_F(CliCommandsTest, PasswordComesFromTheEnvironmentOrIsRequired) {
  auto none = oak({"login"});
  EXPECT_EQ(none.code, 1);
  EXPECT_EQ(none.err,
            "oak: a password is needed: -p PASSWORD, $OAK_PASSWORD or --password-stdin\n");
  env_["OAK_PASSWORD"] = "Admin";
  EXPECT_EQ(oak({"login"}).code, 0);
  EXPECT_THAT(urls_, ElementsAre("http://localhost:10000"));
}

TEST_F(CliCommandsTest, ExpiredAccessTokenIsRefreshedOnceAndKept) {
  login();
  std::string before = loadSession(dir_.file("oak/config.json")).value().token;
  clock_.advance(std::chrono::seconds(root_.access_ttl + 1));
  auto r = oak({"app", "ls"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(count("POST /api/auth/refresh"), 1u);
  std::string after = loadSession(dir_.file("oak/config.json")).value().token;
  EXPECT_NE(after, before);

  // The kept token serves the next command without a refresh.
  EXPECT_EQ(oak({"app", "ls"}).code, 0);
  EXPECT_EQ(count("POST /api/auth/refresh"), 1u);

  clock_.advance(std::chrono::seconds(root_.refresh_ttl + 1));
  auto expired = oak({"app", "ls"});
  EXPECT_EQ(expired.code, 1);
  EXPECT_EQ(expired.err, "oak: session expired: run oak login\n");
}

TEST_F(CliCommandsTest, EnvironmentOverridesTheFile) {
  login();
  env_["OAK_URL"] = "other:1";
  env_["OAK_TOKEN"] = root_.issue("access", "Admin", 60);
  urls_.clear();
  EXPECT_EQ(oak({"app", "ls"}).code, 0);
  EXPECT_THAT(urls_, ElementsAre("http://other:1"));
  env_["OAK_TOKEN"] = root_.issue("access", "Admin", -1);
  auto stale = oak({"app", "ls"});
  EXPECT_EQ(stale.code, 1);
  EXPECT_THAT(stale.err, StartsWith("oak: the token in OAK_TOKEN has expired"));
  EXPECT_EQ(count("POST /api/auth/refresh"), 0u);
}

TEST_F(CliCommandsTest, ApplyCreatesDeploysAndWaitsWithPlainProgressLines) {
  login();
  auto file = writeSla("sla.json", bj::array{bj::object{{"microservice_name", "web"}},
                                             bj::object{{"microservice_name", "db"}}});
  auto r = oak({"apply", "-f", file});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("application demo.test: created\n"
                                "service demo.test.web.test: created, instance requested\n"
                                "service demo.test.db.test: created, instance requested\n"
                                "demo.test.web.test/0  CLUSTER_SCHEDULED\n"
                                "demo.test.db.test/0  CLUSTER_SCHEDULED\n"
                                "demo.test.web.test/0  NODE_SCHEDULED\n"));
  EXPECT_THAT(r.out, HasSubstr("demo.test.db.test/0  RUNNING  on w1, 10.18.0.2\n"));
  EXPECT_THAT(r.out, HasSubstr("Done in 400ms: 2 instances running.\n"));
  EXPECT_EQ(count("POST /api/application"), 1u);

  // Applying it again changes nothing; a new service in the file is added.
  auto again = oak({"apply", "-f", file, "--no-wait"});
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_THAT(again.out,
              HasSubstr("service demo.test.web.test: exists with 1 instance, left as it is"));
  EXPECT_EQ(count("POST /api/application"), 1u);
  auto more = writeSla("more.json", bj::array{bj::object{{"microservice_name", "web"}},
                                              bj::object{{"microservice_name", "cache"}}});
  auto added = oak({"apply", "-f", more, "-o", "json"});
  ASSERT_EQ(added.code, 0) << added.err;
  EXPECT_EQ(count("POST /api/service"), 1u);
  EXPECT_THAT(added.err, HasSubstr("service demo.test.cache.test: created, instance requested"));
  auto services = json(added.out).as_array();
  ASSERT_EQ(services.size(), 2u);
  EXPECT_EQ(services[1].at("job_name"), "demo.test.cache.test");
  EXPECT_EQ(services[1].at("instance_list").at(0).at("status"), "RUNNING");
}

TEST_F(CliCommandsTest, ApplyOnATerminalRedrawsItsRowsInPlace) {
  login();
  terminal_ = true;
  auto r = oak(
      {"apply", "-f", writeSla("sla.json", bj::array{bj::object{{"microservice_name", "web"}}})});
  ASSERT_EQ(r.code, 0) << r.err;
  // Rows and a line showing the wait is alive, rewritten in place; the latter goes at the end.
  EXPECT_EQ(r.out,
            "application demo.test: created\n"
            "service demo.test.web.test: created, instance requested\n"
            "\rdemo.test.web.test/0  CLUSTER_SCHEDULED\x1b[K\n\r0 of 1 ready, waited 0s\x1b[K\n"
            "\x1b[2A\rdemo.test.web.test/0  NODE_SCHEDULED\x1b[K\n\r0 of 1 ready, waited 0s\x1b[K\n"
            "\x1b[2A\rdemo.test.web.test/0  RUNNING  on w1, 10.18.0.2\x1b[K\n\r\x1b[K\n\x1b[1A"
            "Done in 400ms: 1 instance running.\n");
}

TEST_F(CliCommandsTest, ApplySaysWhyAnInstanceDoesNotRun) {
  login();
  root_.lifecycle = {"NODE_SCHEDULED", "FAILED"};
  root_.detail_of["FAILED"] = "pulling 127.0.0.1:5000/ghost:v1: manifest unknown";
  root_.last_logs = "line one\nline two\n";
  auto failed =
      oak({"apply", "-f", writeSla("a.json", bj::array{bj::object{{"microservice_name", "web"}}})});
  EXPECT_EQ(failed.code, 1);
  EXPECT_EQ(failed.err,
            "oak: demo.test.web.test/0 is FAILED: pulling 127.0.0.1:5000/ghost:v1: manifest "
            "unknown\n  its last output:\n    line one\n    line two\n");

  root_.lifecycle = {"NODE_SCHEDULED"};
  root_.detail_of["NODE_SCHEDULED"] = "pulling the image";
  auto slow =
      oak({"apply", "-f", writeSla("b.json", bj::array{bj::object{{"microservice_name", "api"}}}),
           "--timeout", "3s"});
  EXPECT_EQ(slow.code, 1);
  EXPECT_EQ(slow.err,
            "oak: not running after 3.0s: demo.test.api.test/0 is NODE_SCHEDULED (pulling "
            "the image)\n");

  root_.placeable = false;
  auto unplaced =
      oak({"apply", "-f", writeSla("c.json", bj::array{bj::object{{"microservice_name", "db"}}})});
  EXPECT_EQ(unplaced.code, 1);
  EXPECT_EQ(unplaced.err,
            "oak: demo.test.db.test: no instance placed: NoActiveClusterWithCapacity: no cluster "
            "is registered\n");
}

TEST_F(CliCommandsTest, ApplyNamesTheFileWhenTheSlaIsWrong) {
  login();
  std::ofstream(dir_.file("broken.json")) << "{\"applications\": [";
  auto broken = oak({"apply", "-f", dir_.file("broken.json")});
  EXPECT_EQ(broken.code, 1);
  EXPECT_THAT(broken.err, StartsWith("oak: " + dir_.file("broken.json") + ": not JSON: "));
  std::ofstream(dir_.file("shape.json")) << R"({"applications": [{"application_name": "a"}]})";
  EXPECT_EQ(oak({"apply", "-f", dir_.file("shape.json")}).err,
            "oak: " + dir_.file("shape.json") +
                ": applications[0].application_namespace: required (a string)\n");
  auto file =
      writeSla("bad.json", bj::array{bj::object{{"microservice_name", "x"}, {"memory", "lots"}}});
  EXPECT_EQ(oak({"apply", "-f", file}).err,
            "oak: " + file + ": applications[0].microservices[0].memory: not an integer\n");
  EXPECT_TRUE(root_.applications.empty());
}

TEST_F(CliCommandsTest, ServicesByNameTablesJsonScaleAndRemove) {
  login();
  ASSERT_EQ(oak({"apply", "-f",
                 writeSla("sla.json", bj::array{bj::object{{"microservice_name", "web"}}})})
                .code,
            0);

  auto table = oak({"service", "ls"});
  EXPECT_EQ(table.out,
            "NAME                ID                        STATUS   INSTANCES  IMAGE  SERVICE IP\n"
            "demo.test.web.test  000000000000000000abc002  RUNNING  1/1        -      10.30.0.1\n");
  auto listed = oak({"service", "ls", "demo", "-o", "json"});
  EXPECT_EQ(json(listed.out).as_array().size(), 1u);
  auto missing_app = oak({"service", "ls", "nodemo"});
  EXPECT_EQ(missing_app.err, "oak: no application 'nodemo' (oak app ls lists yours)\n");

  auto inspect = oak({"service", "inspect", "demo.web"});
  EXPECT_THAT(inspect.out, AllOf(HasSubstr("Name:         demo.test.web.test\n"),
                                 HasSubstr("  RR    10.30.0.1  fdff:2000::1\n"),
                                 HasSubstr("  0  RUNNING  w1      c1       10.18.0.2")));

  auto up = oak({"service", "scale", "web", "3", "--wait"});
  EXPECT_EQ(up.code, 0) << up.err;
  EXPECT_THAT(up.out, StartsWith("Scaled demo.test.web.test from 1 to 3 instances.\n"));
  EXPECT_EQ(count("POST /api/service/000000000000000000abc002/instance"), 3u);
  auto down = oak({"service", "scale", "000000000000000000abc002", "1"});
  EXPECT_EQ(down.code, 0) << down.err;
  EXPECT_EQ(count("DELETE /api/service/000000000000000000abc002/instance/2"), 1u);
  EXPECT_EQ(count("DELETE /api/service/000000000000000000abc002/instance/1"), 1u);
  EXPECT_EQ(oak({"service", "scale", "web", "0"}).code, 0);
  EXPECT_EQ(count("DELETE /api/service/000000000000000000abc002/instance/-1"), 1u);

  auto removed = oak({"service", "rm", "demo.test.web.test"});
  EXPECT_EQ(removed.out, "Removed service demo.test.web.test (000000000000000000abc002).\n");
  EXPECT_EQ(oak({"service", "ls"}).out, "No services.\n");
  auto app_rm = oak({"app", "rm", "demo.test"});
  EXPECT_EQ(app_rm.out,
            "Removed application demo.test (000000000000000000abc001) and its 0 services.\n");
  EXPECT_THAT(oak({"app", "ls"}).out, HasSubstr("No applications yet"));
}

TEST_F(CliCommandsTest, LogsGoToTheStreamsTheInstanceWroteThem) {
  login();
  ASSERT_EQ(oak({"apply", "-f",
                 writeSla("sla.json", bj::array{bj::object{{"microservice_name", "web"}}})})
                .code,
            0);
  root_.log_lines = bj::array{
      bj::object{{"time", "2026-01-01T00:00:00Z"}, {"stream", "stdout"}, {"line", "hello"}},
      bj::object{{"time", "2026-01-01T00:00:01Z"}, {"stream", "stderr"}, {"line", "oops"}}};
  auto r = oak({"logs", "web", "--tail", "5"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_EQ(r.err, "oops\n");
  EXPECT_EQ(root_.requests.back(),
            "GET /api/service/000000000000000000abc002/instance/0/logs?stream=all&tail=5");
  auto stamped = oak({"logs", "web/0", "-t", "--stdout"});
  EXPECT_EQ(stamped.out, "2026-01-01T00:00:00Z hello\n");
  EXPECT_THAT(root_.requests.back(), HasSubstr("stream=stdout"));
  EXPECT_EQ(oak({"logs", "web/3"}).err,
            "oak: demo.test.web.test has no instance 3 (oak service inspect demo.test.web.test "
            "lists them)\n");

  root_.follow_events =
      ": keepalive\n\ndata: {\"time\":\"t\",\"stream\":\"stdout\",\"line\":\"one\"}\n\n"
      "data: {\"dropped\":4}\n\ndata: {\"time\":\"t\",\"stream\":\"stdout\",\"line\":\"two\"}\n\n"
      "data: {\"end\":\"the instance was undeployed\"}\n\n";
  auto follow = oak({"logs", "web", "-f"});
  EXPECT_EQ(follow.code, 0) << follow.err;
  EXPECT_EQ(follow.out, "one\ntwo\n");
  EXPECT_EQ(follow.err,
            "oak: 4 lines left out (this client read too slowly)\n"
            "oak: the log stream ended: the instance was undeployed\n");
  EXPECT_THAT(root_.requests.back(), HasSubstr("&follow=true"));
}

TEST_F(CliCommandsTest, ClustersWithStateCapacityAndLocation) {
  login();
  root_.clusters = bj::array{bj::object{
      {"_id", bj::object{{"$oid", "c1"}}},
      {"cluster_name", "edge"},
      {"cluster_location", "48.1,11.5,50"},
      {"connected", true},
      {"active", true},
      {"resources",
       bj::object{{"nodes", 2},
                  {"cores_total", 8},
                  {"cores_free", 6.5},
                  {"memory_total_mb", 16384},
                  {"memory_free_mb", 512},
                  {"runtimes", bj::array{"docker", "unikernel"}},
                  {"per_arch", bj::object{{"amd64", bj::object{{"cores_total", 8},
                                                               {"cores_free", 6.5},
                                                               {"memory_total_mb", 16384},
                                                               {"memory_free_mb", 512}}}}}}}}};
  auto clusters = oak({"cluster", "ls"});
  EXPECT_EQ(clusters.out,
            "NAME  ID  STATUS  WORKERS  CPU FREE/TOTAL  MEMORY FREE/TOTAL  RUNTIMES          "
            "LOCATION\n"
            "edge  c1  active  2        6.5 / 8         512 MB / 16.0 GB   docker unikernel  "
            "48.1,11.5,50\n");
}

TEST_F(CliCommandsTest, WorkersByNameWithYourInstances) {
  login();
  EXPECT_EQ(oak({"worker", "ls"}).out,
            "No workers reported (oak cluster ls shows whether the clusters are connected).\n");
  root_.workers = bj::array{bj::object{{"id", "n1"},
                                       {"name", "w1"},
                                       {"active", true},
                                       {"cluster_id", "c1"},
                                       {"cluster_name", "edge"},
                                       {"cores_total", 4},
                                       {"memory_total_mb", 8192},
                                       {"runtimes", bj::array{"docker", "unikernel"}},
                                       {"archs", bj::array{"amd64"}},
                                       {"acceleration", "kvm"}},
                            bj::object{{"id", "n2"},
                                       {"name", "w2"},
                                       {"active", false},
                                       {"cluster_id", "c1"},
                                       {"cluster_name", "edge"}}};
  ASSERT_EQ(oak({"apply", "-f",
                 writeSla("sla.json", bj::array{bj::object{{"microservice_name", "web"}}})})
                .code,
            0);
  auto workers = oak({"worker", "ls"});
  EXPECT_EQ(workers.code, 0) << workers.err;
  EXPECT_EQ(workers.out,
            "NAME  CLUSTER  STATE   CPUS  MEMORY  RUNTIMES                ARCH   YOUR INSTANCES\n"
            "w1    edge     active  4     8.0 GB  docker unikernel (kvm)  amd64  1\n"
            "w2    edge     lost    -     -       -                       -      -\n");
  EXPECT_EQ(workers.err, "");
  // Scripts get the API's array as it is, without the instance counting.
  size_t before = root_.requests.size();
  auto as_json = oak({"worker", "ls", "-o", "json"});
  EXPECT_EQ(json(as_json.out), root_.workers);
  EXPECT_EQ(root_.requests.size(), before + 1);
  EXPECT_EQ(root_.requests.back(), "GET /api/workers");
}

TEST_F(CliCommandsTest, AlertsTableJsonAndNoneAllExitZero) {
  login();
  auto none = oak({"alerts"});
  EXPECT_EQ(none.code, 0);
  EXPECT_EQ(none.out, "No active alerts.\n");
  root_.alerts = bj::array{
      bj::object{{"name", "OakestraWorkerLost"},
                 {"severity", "warning"},
                 {"state", "firing"},
                 {"labels", bj::object{{"cluster", "edge"}, {"worker", "w2"}}},
                 {"summary", "worker w2 of edge is lost"},
                 {"active_since", formatTimestamp(clock_.now() - std::chrono::seconds(125))}},
      bj::object{{"name", "OakestraClusterNotReporting"},
                 {"severity", "critical"},
                 {"state", "pending"},
                 {"labels", bj::object{{"cluster", "far"}}},
                 {"summary", "cluster far does not report"},
                 {"active_since", formatTimestamp(clock_.now() - std::chrono::seconds(20))}}};
  auto table = oak({"alerts"});
  EXPECT_EQ(table.code, 0);
  EXPECT_EQ(table.out,
            "SEVERITY  STATE    NAME                         FOR    LABELS                  "
            "SUMMARY\n"
            "warning   firing   OakestraWorkerLost           2m05s  cluster=edge,worker=w2  "
            "worker w2 of edge is lost\n"
            "critical  pending  OakestraClusterNotReporting  20.0s  cluster=far             "
            "cluster far does not report\n");
  EXPECT_EQ(json(oak({"alerts", "-o", "json"}).out), root_.alerts);
}

TEST_F(CliCommandsTest, ControlPlaneLogsWithFiltersOnceAndFollowed) {
  login();
  root_.control_lines = bj::array{bj::object{{"time", "2026-01-01T10:00:00.123456789Z"},
                                             {"level", "info"},
                                             {"component", "root"},
                                             {"node", "root"},
                                             {"cluster", ""},
                                             {"msg", "listening"}},
                                  bj::object{{"time", "2026-01-01T10:00:01.000000000Z"},
                                             {"level", "warn"},
                                             {"component", "worker"},
                                             {"node", "w1"},
                                             {"cluster", "edge"},
                                             {"msg", "lost"}}};
  auto r = oak({"logs", "--control-plane"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "2026-01-01T10:00:00.123Z info  root: listening\n"
            "2026-01-01T10:00:01.000Z warn  worker w1@edge: lost\n");
  EXPECT_EQ(root_.requests.back(), "GET /api/logs");
  auto filtered = oak({"logs", "--control-plane", "--component", "worker", "--level", "warn",
                       "--since", "2026-01-01T09:00:00Z", "--cluster", "edge 1", "--tail", "5"});
  EXPECT_EQ(filtered.code, 0) << filtered.err;
  EXPECT_EQ(root_.requests.back(),
            "GET /api/logs?component=worker&level=warn&since=2026-01-01T09%3A00%3A00Z&"
            "cluster=edge%201&limit=5");
  EXPECT_EQ(json(oak({"logs", "--control-plane", "-o", "json"}).out).at("lines"),
            root_.control_lines);

  root_.follow_events =
      ": keepalive\n\ndata: {\"time\":\"t\",\"level\":\"info\",\"component\":\"cluster\","
      "\"node\":\"edge\",\"cluster\":\"edge\",\"msg\":\"one\"}\n\ndata: {\"dropped\":3}\n\n";
  auto follow = oak({"logs", "--control-plane", "-f", "--since", "15m"});
  EXPECT_EQ(follow.code, 0) << follow.err;
  EXPECT_EQ(follow.out, "t info  cluster edge: one\n");
  EXPECT_EQ(follow.err,
            "oak: 3 records left out (this client read too slowly, or the root's buffer "
            "turned over)\n");
  EXPECT_EQ(root_.requests.back(), "GET /api/logs?since=15m&follow=true");

  // Admins only: the root's message says so.
  ASSERT_EQ(oak({"login", "-u", "alice", "-p", "Admin"}).code, 0);
  auto refused = oak({"logs", "--control-plane"});
  EXPECT_EQ(refused.code, 1);
  EXPECT_EQ(refused.err, "oak: this needs the Admin role\n");
}

TEST_F(CliCommandsTest, LogsNeedsATargetOrTheControlPlaneNotBoth) {
  for (std::vector<std::string> args : {std::vector<std::string>{"logs"},
                                        {"logs", "web", "--control-plane"},
                                        {"logs", "web", "--component", "worker"},
                                        {"logs", "--control-plane", "--stderr"},
                                        {"logs", "--control-plane", "--level", "loud"},
                                        {"logs", "--control-plane", "--component", "db"}}) {
    auto r = oak(args);
    EXPECT_EQ(r.code, 2) << args.back();
    EXPECT_NE(r.err, "") << args.back();
  }
  EXPECT_TRUE(root_.requests.empty());
}

}  // namespace
}  // namespace oak::cli
