#include "root/sla/validator.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace oak::sla {
namespace {

namespace json = boost::json;

// The message of a failed validation, or "" when it passed. Every failure must be a 422.
std::string errorOf(const Status& status) {
  if (status) return "";
  EXPECT_EQ(status.error().code, ErrorCode::kUnprocessable) << status.error().message;
  return status.error().message;
}

std::string slaError(std::string_view text) {
  return errorOf(validateSla(json::parse(text)));
}

json::value loadSla(const std::string& file) {
  std::ifstream in(std::string(OAK_SLA_DIR) + "/" + file);
  EXPECT_TRUE(in.good()) << "cannot open " << file;
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

const json::object& baseMicroservice() {
  static const json::object base = json::parse(R"({
      "microservice_name": "nginx", "microservice_namespace": "test",
      "virtualization": "container", "code": "docker.io/library/nginx:latest"})")
                                       .as_object();
  return base;
}

// Validates the base microservice with `field` set to the JSON `value`, under the path "ms".
std::string withField(std::string_view field, std::string_view value) {
  json::object ms = baseMicroservice();
  ms[field] = json::parse(value);
  return errorOf(validateMicroservice(ms, "ms"));
}

// ---- The original's own SLA files. ----

TEST(SlaFilesTest, CorrectFilesAreValid) {
  for (const char* file : {"sla_correct_1.json", "sla_correct_2.json", "sla_correct_3.json",
                           "sla_correct_4.json", "example_curl.json"}) {
    EXPECT_EQ(errorOf(validateSla(loadSla(file))), "") << file;
  }
}

TEST(SlaFilesTest, FlawedFilesNameTheirFirstViolation) {
  const std::string bad_app_name =
      "applications[0].application_name: 'Example Application' does not match "
      "^[a-zA-Z0-9]{1,30}$";
  EXPECT_EQ(errorOf(validateSla(loadSla("sla_flawed_1.json"))),
            "sla_version: required property is missing");
  EXPECT_EQ(errorOf(validateSla(loadSla("sla_flawed_2.json"))), bad_app_name);
  EXPECT_EQ(errorOf(validateSla(loadSla("sla_flawed_3.json"))),
            "sla_version: required property is missing");
  EXPECT_EQ(errorOf(validateSla(loadSla("sla_flawed_4.json"))), bad_app_name);
  EXPECT_EQ(errorOf(validateSla(loadSla("sla_flawed_5.json"))),
            "applications[0].microservices[0].microservice_name: 'test.special.char' does not "
            "match ^[a-zA-Z0-9]{1,30}$");
}

// Repairs a document one violation at a time and checks every message on the way.
struct Repair {
  std::string expected;  // the message before this repair
  std::string object;    // JSON pointer of the object to change
  std::string key;
  std::string value;  // JSON text
};

void expectRepairs(json::value doc, const std::vector<Repair>& repairs) {
  for (const Repair& r : repairs) {
    EXPECT_EQ(errorOf(validateSla(doc)), r.expected);
    doc.at_pointer(r.object).as_object()[r.key] = json::parse(r.value);
  }
  EXPECT_EQ(errorOf(validateSla(doc)), "");
}

constexpr const char* kMs = "/applications/0/microservices/0";
const std::string kMsPath = "applications[0].microservices[0].";

// flawed_1, _2 and _4 share these: an application with a bad name, no namespace and a service id.
std::vector<Repair> applicationRepairs() {
  return {
      {"applications[0].application_name: 'Example Application' does not match "
       "^[a-zA-Z0-9]{1,30}$",
       "/applications/0", "application_name", R"("app")"},
      {"applications[0].application_namespace: required property is missing", "/applications/0",
       "application_namespace", R"("test")"},
      {kMsPath + "microserviceID: '4' must be empty (the server assigns ids)", kMs,
       "microserviceID", R"("")"},
  };
}

// The rest of the repairs of a file whose service has a bad name and no namespace.
std::vector<Repair> serviceRepairs(const std::string& name_message, std::vector<Repair> tail) {
  std::vector<Repair> repairs = applicationRepairs();
  repairs.push_back(
      {kMsPath + "microservice_name: " + name_message, kMs, "microservice_name", R"("MicroA4")"});
  repairs.push_back({kMsPath + "microservice_namespace: required property is missing", kMs,
                     "microservice_namespace", R"("test")"});
  repairs.insert(repairs.end(), tail.begin(), tail.end());
  return repairs;
}

const std::string kBadServiceName = "'Micro A (4)' does not match ^[a-zA-Z0-9]{1,30}$";

TEST(SlaFilesTest, Flawed1ViolationsInDocumentOrder) {
  std::vector<Repair> repairs = serviceRepairs(
      kBadServiceName,
      {
          {kMsPath + "connectivity[0].target_microservice_id: 1 is not of type 'string'",
           std::string(kMs) + "/connectivity/0", "target_microservice_id", R"("1")"},
          {kMsPath + "connectivity[1].target_microservice_id: 2 is not of type 'string'",
           std::string(kMs) + "/connectivity/1", "target_microservice_id", R"("2")"},
      });
  repairs.insert(repairs.begin(),
                 {"sla_version: required property is missing", "", "sla_version", R"("v2.0")"});
  expectRepairs(loadSla("sla_flawed_1.json"), repairs);
}

TEST(SlaFilesTest, Flawed2ViolationsInDocumentOrder) {
  expectRepairs(
      loadSla("sla_flawed_2.json"),
      serviceRepairs("4 is not of type 'string'",
                     {{kMsPath + "port: 80 is not of type 'string'", kMs, "port", R"("80")"}}));
}

TEST(SlaFilesTest, Flawed4ViolationsInDocumentOrder) {
  expectRepairs(
      loadSla("sla_flawed_4.json"),
      serviceRepairs(
          kBadServiceName,
          {{kMsPath + "connectivity[0].con_constraints[0].type: required property is "
                      "missing",
            std::string(kMs) + "/connectivity/0/con_constraints/0", "type", R"("latency")"}}));
}

// ---- Top level and applications. ----

TEST(SlaTopLevelTest, DocumentMustBeAnObject) {
  for (const char* text : {"[]", "null", R"("{}")", "5", "true"}) {
    EXPECT_EQ(slaError(text), "(root): the SLA must be a JSON object") << text;
  }
}

TEST(SlaTopLevelTest, Version) {
  EXPECT_EQ(slaError(R"({"customerID": "c", "applications": []})"),
            "sla_version: required property is missing");
  EXPECT_EQ(slaError(R"({"sla_version": 2, "customerID": "c", "applications": []})"),
            "sla_version: 2 is not of type 'string'");
  EXPECT_EQ(slaError(R"({"sla_version": "v1.0", "customerID": "c", "applications": []})"),
            "sla_version: 'v1.0' is deprecated, use 'v2.0'");
  EXPECT_EQ(slaError(R"({"sla_version": "v3.0", "customerID": "c", "applications": []})"),
            "sla_version: 'v3.0' is not a supported version (expected 'v2.0')");
  EXPECT_EQ(slaError(R"({"sla_version": "", "customerID": "c", "applications": []})"),
            "sla_version: '' is not a supported version (expected 'v2.0')");
}

TEST(SlaTopLevelTest, CustomerIdApplicationsAndArgs) {
  EXPECT_EQ(slaError(R"({"sla_version": "v2.0", "customerID": "c", "applications": []})"), "");
  EXPECT_EQ(slaError(R"({"sla_version": "v2.0", "applications": []})"),
            "customerID: required property is missing");
  EXPECT_EQ(slaError(R"({"sla_version": "v2.0", "customerID": 7, "applications": []})"),
            "customerID: 7 is not of type 'string'");
  EXPECT_EQ(slaError(R"({"sla_version": "v2.0", "customerID": "c"})"),
            "applications: required property is missing");
  EXPECT_EQ(slaError(R"({"sla_version": "v2.0", "customerID": "c", "applications": {}})"),
            "applications: {} is not of type 'array'");
  EXPECT_EQ(slaError(R"({"sla_version": "v2.0", "customerID": "c", "applications": [5]})"),
            "applications[0]: 5 is not of type 'object'");
  EXPECT_EQ(slaError(R"({"sla_version": "v2.0", "customerID": "c", "applications": [],
                         "args": ["a", "b"], "extra": {"anything": [1]}})"),
            "");
  EXPECT_EQ(slaError(R"({"sla_version": "v2.0", "customerID": "c", "applications": [],
                         "args": ["a", 1]})"),
            "args[1]: 1 is not of type 'string'");
  EXPECT_EQ(slaError(R"({"sla_version": "v2.0", "customerID": "c", "applications": [],
                         "args": "a"})"),
            "args: 'a' is not of type 'array'");
}

TEST(SlaTopLevelTest, FieldsAreCheckedInSchemaOrder) {
  // `customerID` precedes `applications` in the schema, whatever the order in the text.
  EXPECT_EQ(slaError(R"({"applications": 1, "customerID": 1, "sla_version": "v2.0"})"),
            "customerID: 1 is not of type 'string'");
  EXPECT_EQ(slaError(R"({"args": [1], "customerID": 1})"),
            "sla_version: required property is missing");
}

std::string appError(std::string_view application) {
  return slaError(std::string(R"({"sla_version": "v2.0", "customerID": "c", "applications": [)") +
                  std::string(application) + "]}");
}

TEST(SlaApplicationTest, RequiredFieldsAndTypes) {
  EXPECT_EQ(appError(R"({"application_name": "a", "application_namespace": "b",
                         "microservices": [], "applicationID": "", "application_desc": "x y"})"),
            "");
  EXPECT_EQ(appError(R"({"application_namespace": "b", "microservices": []})"),
            "applications[0].application_name: required property is missing");
  EXPECT_EQ(appError(R"({"application_name": "a", "microservices": []})"),
            "applications[0].application_namespace: required property is missing");
  EXPECT_EQ(appError(R"({"application_name": "a", "application_namespace": "b"})"),
            "applications[0].microservices: required property is missing");
  EXPECT_EQ(appError(R"({"application_name": "a", "application_namespace": "b",
                         "microservices": {}})"),
            "applications[0].microservices: {} is not of type 'array'");
  EXPECT_EQ(appError(R"({"applicationID": 5, "application_name": "a",
                         "application_namespace": "b", "microservices": []})"),
            "applications[0].applicationID: 5 is not of type 'string'");
  EXPECT_EQ(appError(R"({"application_name": "a", "application_namespace": "b",
                         "application_desc": null, "microservices": []})"),
            "applications[0].application_desc: null is not of type 'string'");
  EXPECT_EQ(appError(R"({"application_name": "a", "application_namespace": "b",
                         "microservices": [[]]})"),
            "applications[0].microservices[0]: [] is not of type 'object'");
}

TEST(SlaApplicationTest, NamesFollowThePattern) {
  EXPECT_EQ(appError(R"({"application_name": "my-app", "application_namespace": "b",
                         "microservices": []})"),
            "applications[0].application_name: 'my-app' does not match ^[a-zA-Z0-9]{1,30}$");
  EXPECT_EQ(appError(R"({"application_name": "a", "application_namespace": "THIS.NS",
                         "microservices": []})"),
            "applications[0].application_namespace: 'THIS.NS' does not match "
            "^[a-zA-Z0-9]{1,30}$");
  EXPECT_EQ(appError(R"({"application_name": 12, "application_namespace": "b",
                         "microservices": []})"),
            "applications[0].application_name: 12 is not of type 'string'");
}

TEST(SlaApplicationTest, PathsNameTheFirstBadItem) {
  const std::string ok_ms = R"({"microservice_name": "a", "microservice_namespace": "b",
                               "virtualization": "docker", "code": "img"})";
  const std::string bad_ms = R"({"microservice_name": "a.b", "microservice_namespace": "b",
                                "virtualization": "docker", "code": "img", "memory": 1.5})";
  const std::string app1 =
      R"({"application_name": "a", "application_namespace": "b", "microservices": [)" + ok_ms +
      "]}";
  const std::string app2 = R"({"application_name": "c", "application_namespace": "d",
                               "microservices": [)" +
                           ok_ms + "," + bad_ms + "," + bad_ms + "]}";
  EXPECT_EQ(appError(app1 + "," + app1), "");
  EXPECT_EQ(appError(app1 + "," + app2),
            "applications[1].microservices[1].microservice_name: 'a.b' does not match "
            "^[a-zA-Z0-9]{1,30}$");
}

// ---- Microservices. ----

TEST(SlaMicroserviceTest, BaseIsValidAndRequiredFieldsAreRequired) {
  EXPECT_EQ(errorOf(validateMicroservice(baseMicroservice(), "ms")), "");
  for (const char* field :
       {"microservice_name", "microservice_namespace", "virtualization", "code"}) {
    json::object ms = baseMicroservice();
    ms.erase(field);
    EXPECT_EQ(errorOf(validateMicroservice(ms, "ms")),
              "ms." + std::string(field) + ": required property is missing");
  }
}

TEST(SlaMicroserviceTest, PathPrefix) {
  EXPECT_EQ(errorOf(validateMicroservice(json::parse("[]"), "applications[0].microservices[1]")),
            "applications[0].microservices[1]: [] is not of type 'object'");
  EXPECT_EQ(errorOf(validateMicroservice(json::parse("5"), "")),
            "(root): 5 is not of type 'object'");
  json::object ms = baseMicroservice();
  ms["memory"] = 1.5;
  EXPECT_EQ(errorOf(validateMicroservice(ms, "")), "memory: 1.5 is not of type 'integer'");
  EXPECT_EQ(errorOf(validateMicroservice(ms, "applications[0].microservices[1]")),
            "applications[0].microservices[1].memory: 1.5 is not of type 'integer'");
}

struct FieldCase {
  const char* field;
  const char* value;     // JSON text
  const char* expected;  // "" = valid; otherwise the message after "ms."
};

void expectCases(const std::vector<FieldCase>& cases) {
  for (const FieldCase& c : cases) {
    const std::string expected = *c.expected ? "ms." + std::string(c.expected) : "";
    EXPECT_EQ(withField(c.field, c.value), expected) << c.field << " = " << c.value;
  }
}

TEST(SlaMicroserviceTest, IdsNamesAndVirtualization) {
  expectCases({
      {"microserviceID", R"("")", ""},
      {"microserviceID", R"("4")", "microserviceID: '4' must be empty (the server assigns ids)"},
      {"microserviceID", "4", "microserviceID: 4 is not of type 'string'"},
      {"microservice_name", R"("MicroA4")", ""},
      {"microservice_name", R"("a.b")",
       "microservice_name: 'a.b' does not match ^[a-zA-Z0-9]{1,30}$"},
      {"microservice_name", R"("badname!")",
       "microservice_name: 'badname!' does not match ^[a-zA-Z0-9]{1,30}$"},
      {"microservice_name", R"("")", "microservice_name: '' does not match ^[a-zA-Z0-9]{1,30}$"},
      {"microservice_name", "4", "microservice_name: 4 is not of type 'string'"},
      {"microservice_namespace", R"("THIS.NAMESPACE.has.dots")",
       "microservice_namespace: 'THIS.NAMESPACE.has.dots' does not match ^[a-zA-Z0-9]{1,30}$"},
      {"microservice_namespace", "[]", "microservice_namespace: [] is not of type 'string'"},
      {"virtualization", R"("container")", ""},
      {"virtualization", R"("docker")", ""},
      {"virtualization", R"("vm")",
       "virtualization: 'vm' is not one of 'container', 'docker', 'unikernel'"},
      {"virtualization", R"("Container")",
       "virtualization: 'Container' is not one of 'container', 'docker', 'unikernel'"},
      {"virtualization", "1", "virtualization: 1 is not of type 'string'"},
      {"code", R"("x")", ""},
      {"code", R"("")", "code: must not be empty"},
      {"code", "5", "code: 5 is not of type 'string'"},
  });
}

TEST(SlaMicroserviceTest, IntegerFieldsFollowJsonSchemaAndAreNonNegative) {
  for (const char* field :
       {"memory", "vcpus", "vgpus", "vtpus", "bandwidth_in", "bandwidth_out", "storage"}) {
    const std::string f = field;
    expectCases({
        {field, "0", ""},
        {field, "100", ""},
        {field, "1.0", ""},
        {field, "18446744073709551615", ""},
        {field, "1.5", (f + ": 1.5 is not of type 'integer'").c_str()},
        {field, "true", (f + ": true is not of type 'integer'").c_str()},
        {field, R"("100")", (f + ": '100' is not of type 'integer'").c_str()},
        {field, "null", (f + ": null is not of type 'integer'").c_str()},
        {field, "-1", (f + ": -1 must be >= 0").c_str()},
        {field, "-2.0", (f + ": -2 must be >= 0").c_str()},
    });
  }
}

TEST(SlaMicroserviceTest, ScalarOptionalFields) {
  expectCases({
      {"state", R"("")", ""},
      {"state", "1", "state: 1 is not of type 'string'"},
      {"one_shot", "true", ""},
      {"one_shot", "false", ""},
      {"one_shot", R"("true")", "one_shot: 'true' is not of type 'boolean'"},
      {"one_shot", "1", "one_shot: 1 is not of type 'boolean'"},
      {"sla_violation_strategy", R"("none")", ""},
      {"sla_violation_strategy", "1", "sla_violation_strategy: 1 is not of type 'string'"},
      {"target_node", R"("node1")", ""},
      {"target_node", R"(["node1"])", R"(target_node: ["node1"] is not of type 'string')"},
      {"unknown_extra", R"({"anything": [1, null]})", ""},
  });
}

TEST(SlaMicroserviceTest, Port) {
  expectCases({
      {"port", R"("")", ""},
      {"port", R"("9080")", ""},
      {"port", R"("6080:60/tcp")", ""},
      {"port", R"("80:80/tcp;90:100/udp")", ""},
      {"port", "80", "port: 80 is not of type 'string'"},
      {"port", R"("80:80-80")",
       "port: '80:80-80' is not a valid port mapping (expected host[:container][/tcp|/udp])"},
      {"port", R"("80;70000")",
       "port: '70000' is not a valid port mapping (ports must be 1..65535)"},
  });
}

TEST(SlaMicroserviceTest, StringArrays) {
  for (const char* field : {"cmd", "added_files", "args"}) {
    const std::string f = field;
    expectCases({
        {field, "[]", ""},
        {field, R"(["sh", "-c", "tail -f /dev/null"])", ""},
        {field, R"("ls")", (f + ": 'ls' is not of type 'array'").c_str()},
        {field, R"(["ls", 3])", (f + "[1]: 3 is not of type 'string'").c_str()},
    });
  }
}

TEST(SlaMicroserviceTest, Environment) {
  const std::string form = " is not of the form NAME=value (NAME matching [A-Za-z_][A-Za-z0-9_]*)";
  expectCases({
      {"environment", "[]", ""},
      {"environment", R"(["A=1", "_x=", "B=a=b", "PATH=/bin:/usr/bin", "lower_9=x y"])", ""},
      {"environment", R"(["FOO"])", ("environment[0]: 'FOO'" + form).c_str()},
      {"environment", R"(["A=1", "1A=b"])", ("environment[1]: '1A=b'" + form).c_str()},
      {"environment", R"(["=x"])", ("environment[0]: '=x'" + form).c_str()},
      {"environment", R"(["A B=1"])", ("environment[0]: 'A B=1'" + form).c_str()},
      {"environment", R"(["A-B=1"])", ("environment[0]: 'A-B=1'" + form).c_str()},
      {"environment", "[1]", "environment[0]: 1 is not of type 'string'"},
      {"environment", R"({"A": "1"})", R"(environment: {"A":"1"} is not of type 'array')"},
  });
}

TEST(SlaMicroserviceTest, Addresses) {
  expectCases({
      {"addresses", "{}", ""},
      // Values are not checked here: address allocation validates them.
      {"addresses",
       R"({"rr_ip": "not-an-ip", "rr_ip_v6": "fdff:2000::1", "closest_ip": "10.30.0.1",
           "closest_ip_v6": "", "RR_ip": 5})",
       ""},
      {"addresses", R"({"instances": [{"from": "a", "to": "b", "start": "c"}, {}]})", ""},
      {"addresses", "[]", "addresses: [] is not of type 'object'"},
      {"addresses", R"({"rr_ip": 1})", "addresses.rr_ip: 1 is not of type 'string'"},
      {"addresses", R"({"rr_ip_v6": 1})", "addresses.rr_ip_v6: 1 is not of type 'string'"},
      {"addresses", R"({"closest_ip": 1})", "addresses.closest_ip: 1 is not of type 'string'"},
      {"addresses", R"({"closest_ip_v6": false})",
       "addresses.closest_ip_v6: false is not of type 'string'"},
      {"addresses", R"({"instances": {}})", "addresses.instances: {} is not of type 'array'"},
      {"addresses", R"({"instances": [1]})", "addresses.instances[0]: 1 is not of type 'object'"},
      {"addresses", R"({"instances": [{"from": "a"}, {"to": 2}]})",
       "addresses.instances[1].to: 2 is not of type 'string'"},
      {"addresses", R"({"instances": [{"start": null}]})",
       "addresses.instances[0].start: null is not of type 'string'"},
  });
}

TEST(SlaMicroserviceTest, Constraints) {
  expectCases({
      {"constraints", "[]", ""},
      {"constraints",
       R"([{"type": "latency", "area": "munich-1", "threshold": 100, "rigidness": 0.99,
            "convergence_time": 300},
           {"type": "geo", "location": "48.1,11.5", "threshold": 1.5},
           {"type": "direct", "cluster": "c1"}, {"type": "direct", "node": "h1;h2"}])",
       ""},
      {"constraints", "{}", "constraints: {} is not of type 'array'"},
      {"constraints", "[5]", "constraints[0]: 5 is not of type 'object'"},
      {"constraints", "[{}]", "constraints[0].type: required property is missing"},
      {"constraints", R"([{"type": 1}])", "constraints[0].type: 1 is not of type 'string'"},
      {"constraints", R"([{"type": "foo"}])",
       "constraints[0].type: 'foo' is not one of 'direct', 'latency', 'geo'"},
      {"constraints", R"([{"type": "geo"}, {"type": "direct"}])",
       "constraints[1]: a 'direct' constraint needs 'cluster' or 'node'"},
      {"constraints", R"([{"type": "latency", "area": 1}])",
       "constraints[0].area: 1 is not of type 'string'"},
      {"constraints", R"([{"type": "direct", "cluster": 1}])",
       "constraints[0].cluster: 1 is not of type 'string'"},
      {"constraints", R"([{"type": "direct", "node": ["h1"]}])",
       R"(constraints[0].node: ["h1"] is not of type 'string')"},
      {"constraints", R"([{"type": "geo", "location": 4}])",
       "constraints[0].location: 4 is not of type 'string'"},
      {"constraints", R"([{"type": "latency", "threshold": "100"}])",
       "constraints[0].threshold: '100' is not of type 'number'"},
      {"constraints", R"([{"type": "latency", "rigidness": true}])",
       "constraints[0].rigidness: true is not of type 'number'"},
      {"constraints", R"([{"type": "latency", "convergence_time": 1.5}])",
       "constraints[0].convergence_time: 1.5 is not of type 'integer'"},
  });
}

TEST(SlaMicroserviceTest, Connectivity) {
  const std::string con = R"("type": "latency", "threshold": 50, "rigidness": 0.9,
                             "convergence_time": 300)";
  auto connectivity = [](const std::string& con_constraint) {
    return R"([{"target_microservice_id": "2", "con_constraints": [{)" + con_constraint + "}]}]";
  };
  const std::string no_type = connectivity(R"("threshold": 50, "rigidness": 0.9,
                                               "convergence_time": 300)");
  const std::string no_threshold =
      connectivity(R"("type": "latency", "rigidness": 0.9, "convergence_time": 300)");
  const std::string no_rigidness =
      connectivity(R"("type": "latency", "threshold": 50, "convergence_time": 300)");
  const std::string no_time = connectivity(R"("type": "latency", "threshold": 50,
                                               "rigidness": 0.9)");
  const std::string bad_time = connectivity(R"("type": "latency", "threshold": 50,
                                                "rigidness": 0.9, "convergence_time": 2.5)");
  const std::string bad_threshold = connectivity(R"("type": "latency", "threshold": "50",
                                                     "rigidness": 0.9, "convergence_time": 3)");
  const std::string cc = "connectivity[0].con_constraints[0].";
  expectCases({
      {"connectivity", "[]", ""},
      {"connectivity", R"([{"target_microservice_id": "1", "con_constraints": []}])", ""},
      {"connectivity", connectivity(con).c_str(), ""},
      {"connectivity", R"([{"con_constraints": []}])",
       "connectivity[0].target_microservice_id: required property is missing"},
      {"connectivity", R"([{"target_microservice_id": 1, "con_constraints": []}])",
       "connectivity[0].target_microservice_id: 1 is not of type 'string'"},
      {"connectivity", R"([{"target_microservice_id": "1"}])",
       "connectivity[0].con_constraints: required property is missing"},
      {"connectivity", R"([{"target_microservice_id": "1", "con_constraints": [3]}])",
       "connectivity[0].con_constraints[0]: 3 is not of type 'object'"},
      {"connectivity", no_type.c_str(), (cc + "type: required property is missing").c_str()},
      {"connectivity", no_threshold.c_str(),
       (cc + "threshold: required property is missing").c_str()},
      {"connectivity", no_rigidness.c_str(),
       (cc + "rigidness: required property is missing").c_str()},
      {"connectivity", no_time.c_str(),
       (cc + "convergence_time: required property is missing").c_str()},
      {"connectivity", bad_time.c_str(),
       (cc + "convergence_time: 2.5 is not of type 'integer'").c_str()},
      {"connectivity", bad_threshold.c_str(),
       (cc + "threshold: '50' is not of type 'number'").c_str()},
      {"connectivity", "{}", "connectivity: {} is not of type 'array'"},
  });
}

TEST(SlaMicroserviceTest, Arch) {
  expectCases({
      {"arch", "[]", ""},
      {"arch", R"(["amd64", "arm64"])", ""},
      {"arch", R"("amd64")", "arch: 'amd64' is not of type 'array'"},
      {"arch", "[1]", "arch[0]: 1 is not of type 'string'"},
      {"arch", R"(["amd64", ""])", "arch[1]: must not be empty"},
  });
}

TEST(SlaMicroserviceTest, UnikernelNeedsArch) {
  json::object ms = baseMicroservice();
  ms["virtualization"] = "unikernel";
  ms["code"] = "https://example.com/k-amd64.tar.gz,https://example.com/k-arm64.tar.gz";
  EXPECT_EQ(errorOf(validateMicroservice(ms, "ms")),
            "ms.arch: required when virtualization is 'unikernel'");
  ms["arch"] = json::array();
  EXPECT_EQ(errorOf(validateMicroservice(ms, "ms")),
            "ms.arch: required when virtualization is 'unikernel'");
  ms["arch"] = json::array{"amd64", "arm64"};
  EXPECT_EQ(errorOf(validateMicroservice(ms, "ms")), "");
  ms["arch"] = json::array{"amd64", 64};
  EXPECT_EQ(errorOf(validateMicroservice(ms, "ms")), "ms.arch[1]: 64 is not of type 'string'");
}

TEST(SlaMicroserviceTest, FirstViolationInSchemaOrderIsReported) {
  json::object ms = baseMicroservice();
  ms["port"] = 80;
  ms["memory"] = -5;
  ms.erase("code");
  EXPECT_EQ(errorOf(validateMicroservice(ms, "ms")), "ms.memory: -5 must be >= 0");
  ms["memory"] = 5;
  EXPECT_EQ(errorOf(validateMicroservice(ms, "ms")), "ms.code: required property is missing");
  ms["code"] = "img";
  EXPECT_EQ(errorOf(validateMicroservice(ms, "ms")), "ms.port: 80 is not of type 'string'");
}

TEST(SlaMessageTest, LongValuesAreCut) {
  const std::string long_name(100, 'x');
  EXPECT_EQ(withField("microservice_name", "\"" + long_name + "\""),
            "ms.microservice_name: '" + std::string(60, 'x') + "...' does not match " +
                "^[a-zA-Z0-9]{1,30}$");
  json::array many(40, json::value(1));
  EXPECT_EQ(withField("memory", json::serialize(many)),
            "ms.memory: " + json::serialize(many).substr(0, 60) + "... is not of type 'integer'");
  // A cut never splits a UTF-8 sequence: "é" would straddle the 60-byte limit.
  const std::string accented = std::string(59, 'a') + "\xc3\xa9" + std::string(10, 'b');
  EXPECT_EQ(withField("microservice_name", "\"" + accented + "\""),
            "ms.microservice_name: '" + std::string(59, 'a') + "...' does not match " +
                "^[a-zA-Z0-9]{1,30}$");
}

TEST(SlaMessageTest, StringsAreEscaped) {
  EXPECT_EQ(withField("microservice_name", R"("abc\n")"),
            R"(ms.microservice_name: 'abc\n' does not match ^[a-zA-Z0-9]{1,30}$)");
}

// ---- Names. ----

TEST(NameTest, MatchesThePatternExactly) {
  for (std::string_view name : {"a", "Z", "0", "test", "MicroA4", "ExampleApplication33",
                                "abcdefghijklmnopqrstuvwxyz0123"}) {
    EXPECT_TRUE(isValidName(name)) << name;
  }
  for (std::string_view name :
       {"", "abcdefghijklmnopqrstuvwxyz01234", "a.b", "a b", "a_b", "a-b", "abc\n", "\nabc",
        "badname!", "caf\xc3\xa9", "\xd9\xa1", "Example Application"}) {
    EXPECT_FALSE(isValidName(name)) << name;
  }
  EXPECT_FALSE(isValidName(std::string_view("a\0b", 3)));
}

}  // namespace
}  // namespace oak::sla
