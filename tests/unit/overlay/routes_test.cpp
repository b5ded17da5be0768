#include "overlay/routes.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "net/address_plan.h"
#include "testing_packets.h"

namespace oak::overlay {
namespace {

namespace bj = boost::json;
using testing::v4;
using testing::v6;

constexpr std::string_view kJob = R"({
  "job_name": "app.ns.svc.ns",
  "service_ip_list": [
    {"IpType": "RR", "Address": "10.30.0.1", "Address_v6": "fdff:2000::1"},
    {"IpType": "Closest", "Address": "10.30.0.2", "Address_v6": "fdff:1000::1"},
    {"IpType": "Teleport", "Address": "10.30.0.99", "Address_v6": "fdff:3000::1"}],
  "instance_list": [
    {"instance_number": 1, "worker_id": "w2", "instance_ip": "10.30.0.4",
     "instance_ip_v6": "fdff::4", "namespace_ip": "10.18.0.67", "namespace_ip_v6": null,
     "host_ip": "172.31.0.2", "host_port": 50103},
    {"instance_number": 0, "worker_id": "w1", "instance_ip": "10.30.0.3",
     "instance_ip_v6": "fdff::3", "namespace_ip": "10.18.0.2", "namespace_ip_v6": "fc00::2",
     "host_ip": "fd12::1", "host_port": 50104},
    {"instance_number": 2, "worker_id": "w3", "instance_ip": "10.30.0.5",
     "instance_ip_v6": "fdff::5", "host_ip": "172.31.0.3", "host_port": 50103}]
})";

bj::object object(std::string_view text) {
  return bj::parse(text).as_object();
}

JobRoutes job() {
  auto r = jobRoutesFromJson(object(kJob));
  EXPECT_TRUE(r) << r.error().message;
  return *r;
}

std::string errorOf(const bj::object& o) {
  auto r = jobRoutesFromJson(o);
  return r ? "ok" : r.error().message;
}

TEST(RoutesTest, ParsesTheWireForm) {
  const JobRoutes j = job();
  EXPECT_EQ(j.job_name, "app.ns.svc.ns");
  ASSERT_EQ(j.service_ips.size(), 2u);  // the unknown policy is skipped
  EXPECT_EQ(j.service_ips[0],
            (ServiceAddress{net::kRoundRobinPolicy, v4("10.30.0.1"), v6("fdff:2000::1")}));
  EXPECT_EQ(j.service_ips[1],
            (ServiceAddress{net::kClosestPolicy, v4("10.30.0.2"), v6("fdff:1000::1")}));
  ASSERT_EQ(j.instances.size(), 2u);  // the one without namespace_ip is skipped
  const InstanceRoute& a = j.instances[0];
  EXPECT_EQ(a.instance_number, 1);
  EXPECT_EQ(a.worker_id, "w2");
  EXPECT_EQ(a.instance_ip, v4("10.30.0.4"));
  EXPECT_EQ(a.instance_ip6, v6("fdff::4"));
  EXPECT_EQ(a.nsip, v4("10.18.0.67"));
  EXPECT_FALSE(a.nsip6);
  EXPECT_EQ(a.host, (TunnelEndpoint{v4("172.31.0.2"), 50103}));
  EXPECT_EQ(j.instances[1].nsip6, v6("fc00::2"));
  EXPECT_EQ(j.instances[1].host, (TunnelEndpoint{v6("fd12::1"), 50104}));
  EXPECT_EQ(j.instances[1].host.toString(), "[fd12::1]:50104");
  EXPECT_EQ(a.host.toString(), "172.31.0.2:50103");
}

TEST(RoutesTest, JsonRoundTrip) {
  const JobRoutes j = job();
  const bj::object wire = toJson(j);
  EXPECT_FALSE(wire.at("instance_list").as_array()[0].as_object().contains("namespace_ip_v6"));
  auto again = jobRoutesFromJson(wire);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, j);
}

TEST(RoutesTest, ErrorsNameTheField) {
  bj::object o = object(kJob);
  auto instance = [&o](size_t i) -> bj::object& {
    return o["instance_list"].as_array()[i].as_object();
  };
  auto service = [&o](size_t i) -> bj::object& {
    return o["service_ip_list"].as_array()[i].as_object();
  };
  const bj::object good = o;
  auto expectError = [&](std::string_view prefix) {
    const std::string message = errorOf(o);
    EXPECT_EQ(message.substr(0, prefix.size()), prefix) << message;
    o = good;
  };

  o.erase("job_name");
  expectError("job_name: ");
  o["job_name"] = "";
  expectError("job_name: ");
  o["service_ip_list"] = "x";
  expectError("service_ip_list: expected an array");
  o.erase("instance_list");
  expectError("instance_list: expected an array");
  o["service_ip_list"].as_array()[0] = 5;
  expectError("service_ip_list[0]: expected an object, got integer");
  service(0).erase("IpType");
  expectError("service_ip_list[0].IpType: ");
  service(1)["Address"] = "10.31.0.1";
  expectError("service_ip_list[1].Address: 10.31.0.1 is not inside 10.30.0.0/16");
  service(1)["Address_v6"] = "fc00::1";
  expectError("service_ip_list[1].Address_v6: fc00::1 is not inside fdff::/16");
  service(0)["Address"] = 7;
  expectError("service_ip_list[0].Address: expected an IPv4 address, got integer");
  service(0).erase("Address_v6");
  expectError("service_ip_list[0].Address_v6: missing");

  instance(1)["namespace_ip"] = "bogus";
  expectError("instance_list[1].namespace_ip: expected an IPv4 address, got 'bogus'");
  instance(1)["namespace_ip"] = "10.30.0.7";  // would loop back into the proxy
  expectError("instance_list[1].namespace_ip: 10.30.0.7 is not inside 10.16.0.0/12 outside");
  instance(1)["namespace_ip"] = "192.168.1.2";
  expectError("instance_list[1].namespace_ip: ");
  instance(1)["namespace_ip_v6"] = "fdff::9";
  expectError("instance_list[1].namespace_ip_v6: ");
  instance(1)["namespace_ip_v6"] = "10.18.0.2";
  expectError("instance_list[1].namespace_ip_v6: expected an IPv6 address");
  instance(0)["instance_number"] = -1;
  expectError("instance_list[0].instance_number: expected an integer 0..");
  instance(0)["instance_number"] = "1";
  expectError("instance_list[0].instance_number: ");
  instance(0).erase("worker_id");
  expectError("instance_list[0].worker_id: ");
  instance(0)["instance_ip"] = "10.18.0.9";
  expectError("instance_list[0].instance_ip: ");
  instance(0).erase("instance_ip_v6");
  expectError("instance_list[0].instance_ip_v6: ");
  instance(0)["host_ip"] = "example.org";
  expectError("instance_list[0].host_ip: expected an IP address, got 'example.org'");
  instance(0).erase("host_ip");
  expectError("instance_list[0].host_ip: ");
  instance(0)["host_port"] = 0;
  expectError("instance_list[0].host_port: expected an integer 1..65535, got 0");
  instance(0)["host_port"] = 65536;
  expectError("instance_list[0].host_port: ");
  instance(0).erase("host_port");
  expectError("instance_list[0].host_port: expected an integer 1..65535, got nothing");
  o["instance_list"].as_array()[2] = bj::array{};
  expectError("instance_list[2]: expected an object, got array");

  EXPECT_EQ(errorOf(o), "ok");
}

TEST(RoutesTest, NullNamespaceAddressMeansNotRunning) {
  bj::object o = object(kJob);
  o["instance_list"].as_array()[0].as_object()["namespace_ip"] = nullptr;
  auto r = jobRoutesFromJson(o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->instances.size(), 1u);
}

// A second job and local instances around the parsed one.
std::shared_ptr<const ServiceTable> table() {
  JobRoutes other{.job_name = "app.ns.db.ns",
                  .service_ips = {{net::kRoundRobinPolicy, v4("10.30.1.1"), v6("fdff:2000::2")}},
                  .instances = {}};
  return ServiceTable::Builder()
      .add(job())
      .add(other)
      .addLocal({.job_name = "app.ns.svc.ns",
                 .instance_number = 0,
                 .nsip = v4("10.18.0.2"),
                 .nsip6 = v6("fc00::2"),
                 .instance_ip = v4("10.30.0.3"),
                 .instance_ip6 = v6("fdff::3")})
      .build();
}

TEST(ServiceTableTest, ResolvesServiceAddresses) {
  auto t = table();
  for (const IpAddress& a : {IpAddress(v4("10.30.0.1")), IpAddress(v6("fdff:2000::1"))}) {
    const Resolution* r = t->resolve(a);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->job_name, "app.ns.svc.ns");
    EXPECT_EQ(r->policy, net::kRoundRobinPolicy);
    EXPECT_EQ(r->address, a);
    ASSERT_EQ(r->instances.size(), 2u);
    EXPECT_EQ(r->instances[0].instance_number, 0);  // sorted by number
    EXPECT_EQ(r->instances[1].instance_number, 1);
  }
  EXPECT_EQ(t->resolve(v4("10.30.0.2"))->policy, net::kClosestPolicy);
  EXPECT_EQ(t->resolve(v4("10.30.1.1"))->instances.size(), 0u);
  EXPECT_EQ(t->resolve(v4("10.30.1.1"))->job_name, "app.ns.db.ns");
  EXPECT_EQ(t->resolve(v4("10.30.0.99")), nullptr);
  EXPECT_EQ(t->resolve(v6("fdff:2000::3")), nullptr);
}

TEST(ServiceTableTest, InstanceAddressYieldsExactlyThatInstance) {
  auto t = table();
  for (const IpAddress& a : {IpAddress(v4("10.30.0.4")), IpAddress(v6("fdff::4"))}) {
    const Resolution* r = t->resolve(a);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->policy, net::kInstancePolicy);
    ASSERT_EQ(r->instances.size(), 1u);
    EXPECT_EQ(r->instances[0].instance_number, 1);
  }
  EXPECT_EQ(t->resolve(v4("10.30.0.5")), nullptr);  // not running
}

TEST(ServiceTableTest, NamespaceAndLocalLookups) {
  auto t = table();
  ASSERT_NE(t->instanceAtNsip(v4("10.18.0.67")), nullptr);
  EXPECT_EQ(t->instanceAtNsip(v4("10.18.0.67"))->instance_number, 1);
  EXPECT_EQ(t->instanceAtNsip(v6("fc00::2"))->instance_number, 0);
  EXPECT_EQ(t->instanceAtNsip(v4("10.18.0.68")), nullptr);
  ASSERT_NE(t->localSender(v4("10.18.0.2")), nullptr);
  EXPECT_EQ(t->localSender(v4("10.18.0.2"))->instance_ip, v4("10.30.0.3"));
  EXPECT_EQ(t->localSender(v6("fc00::2"))->instance_ip6, v6("fdff::3"));
  EXPECT_EQ(t->localSender(v4("10.18.0.67")), nullptr);
}

TEST(ServiceTableTest, IndexesAreDenseAndLaterJobsWin) {
  auto t = table();
  // 2 service addresses × 2 families + 2 instances × 2 families + the other job's 2.
  ASSERT_EQ(t->addressCount(), 10u);
  for (size_t i = 0; i < t->addressCount(); ++i) {
    EXPECT_EQ(t->resolutions()[i].index, i);
    EXPECT_EQ(t->resolve(t->resolutions()[i].address), &t->resolutions()[i]);
  }

  JobRoutes first = job();
  JobRoutes thief{.job_name = "app.ns.thief.ns",
                  .service_ips = {{net::kRoundRobinPolicy, v4("10.30.0.1"), v6("fdff:2000::9")}},
                  .instances = {}};
  auto t2 = ServiceTable::Builder().add(first).add(thief).build();
  EXPECT_EQ(t2->resolve(v4("10.30.0.1"))->job_name, "app.ns.thief.ns");
  EXPECT_EQ(t2->addressCount(), 9u);

  // The same job twice: the second replaces the first.
  JobRoutes smaller = job();
  smaller.instances.pop_back();
  auto t3 = ServiceTable::Builder().add(job()).add(smaller).build();
  EXPECT_EQ(t3->resolve(v4("10.30.0.1"))->instances.size(), 1u);
  EXPECT_EQ(t3->jobs().size(), 1u);
}

}  // namespace
}  // namespace oak::overlay
