// The root's overlay control plane: service, instance and subnet addresses, table queries of
// clusters, and route changes pushed to exactly the clusters that asked.

#include "root/service_routes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/json.h"
#include "link/net_messages.h"
#include "net/address_plan.h"
#include "root/cluster_registry.h"
#include "root_fixture.h"

namespace oak::root {
namespace {

namespace bj = boost::json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct RecordingChannel : ClusterChannel {
  std::vector<link::Envelope> sent;
  void send(std::string text) override { sent.push_back(link::decode(text).value()); }
  void close(std::string) override {}
  std::vector<link::Envelope> ofType(std::string_view t) const {
    std::vector<link::Envelope> out;
    for (const auto& e : sent) {
      if (e.type == t) out.push_back(e);
    }
    return out;
  }
};

class ServiceRoutesTest : public test::RootFixture {
 protected:
  void SetUp() override {
    RootFixture::SetUp();
    ctx.clusters = &registry;
    ctx.routes = &routes;
  }
  // A connected cluster; returns its session key.
  uint64_t connect(std::shared_ptr<RecordingChannel> ch, const std::string& name) {
    uint64_t key = registry.attach(ch, "192.0.2.7");
    bj::object resources{{"cores_total", 4},
                         {"cores_free", 4},
                         {"memory_total_mb", 8192},
                         {"memory_free_mb", 8192},
                         {"runtimes", bj::array{"docker"}},
                         {"nodes", 1}};
    registry.onMessage(key, link::encodeHello({name, "", resources, {}, "test"}));
    return key;
  }
  std::string clusterId(const RecordingChannel& ch) {
    return json::getString(ch.ofType("welcome").back().body, "cluster_id").value_or("");
  }
  // One service with one placed instance; returns the service document.
  bj::object placedService(const std::string& name = "web") {
    auto r = applications.createApplications(admin, test::slaOf(name, {test::microservice(name)}));
    EXPECT_TRUE(r) << test::errorText(r);
    std::string id;
    for (const auto& s : all(coll::kServices)) {
      if (json::getString(s, "microservice_name") == name) id = Accounts::idOf(s);
    }
    EXPECT_TRUE(applications.requestInstance(admin, id));
    EXPECT_TRUE(scheduler.placeNow(id));
    return memory.get(coll::kServices, id).value().value();
  }
  static bj::object instance0(const bj::object& service) {
    return service.at("instance_list").as_array().at(0).as_object();
  }
  void running(uint64_t key, const bj::object& service, const std::string& nsip) {
    link::InstanceState st;
    st.service_id = Accounts::idOf(service);
    st.instance_number = 0;
    st.status = "RUNNING";
    st.worker_id = "w1";
    st.namespace_ip = nsip;
    st.namespace_ip_v6 = "fc00::2";
    st.host_ip = "172.31.0.2";
    st.host_port = 50103;
    registry.onMessage(key, link::encodeInstanceStatus(st));
  }
  link::Table lastTable(const RecordingChannel& ch, std::string_view type = "table") {
    auto all_of = ch.ofType(type);
    EXPECT_FALSE(all_of.empty());
    return all_of.empty() ? link::Table{} : link::tableFrom(all_of.back()).value();
  }

  ClusterRegistry registry{ctx};
  ServiceRoutes routes{ctx};
};

TEST_F(ServiceRoutesTest, ServicesGetRoundRobinAndClosestAddressesInTheirPolicyBlocks) {
  auto service = placedService();
  const auto& list = service.at("service_ip_list").as_array();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].at("IpType"), "RR");
  EXPECT_EQ(list[1].at("IpType"), "Closest");
  for (const auto& e : list) {
    auto v4 = net::Ipv4Address::parse(json::getString(e.as_object(), "Address").value());
    auto v6 = net::Ipv6Address::parse(json::getString(e.as_object(), "Address_v6").value());
    ASSERT_TRUE(v4 && v6);
    EXPECT_TRUE(net::kServiceIpv4Prefix.contains(*v4));
    int policy = e.at("IpType") == "RR" ? net::kRoundRobinPolicy : net::kClosestPolicy;
    EXPECT_EQ(net::balancingPolicyOf(*v6), policy) << *v6;
  }
  EXPECT_EQ(service.at("RR_ip"), list[0].at("Address"));
}

TEST_F(ServiceRoutesTest, InstancesGetInstanceAddressesThatAreReleasedWithThem) {
  connect(std::make_shared<RecordingChannel>(), "c1");
  auto service = placedService();
  auto inst = instance0(service);
  auto v4 = json::getString(inst, "instance_ip").value_or("");
  auto v6 = json::getString(inst, "instance_ip_v6").value_or("");
  auto a6 = net::Ipv6Address::parse(v6);
  ASSERT_TRUE(net::Ipv4Address::parse(v4) && a6) << v4 << " " << v6;
  EXPECT_EQ(net::balancingPolicyOf(*a6), net::kInstancePolicy);
  EXPECT_TRUE(memory.get(coll::kAddresses, v4).value().has_value());
  // No address is handed out twice.
  for (const auto& e : service.at("service_ip_list").as_array())
    EXPECT_NE(e.at("Address"), bj::value(v4));

  ASSERT_TRUE(applications.removeInstances(admin, Accounts::idOf(service), "0"));
  EXPECT_FALSE(memory.get(coll::kAddresses, v4).value().has_value());
  EXPECT_FALSE(memory.get(coll::kAddresses, v6).value().has_value());
}

TEST_F(ServiceRoutesTest, TableQueriesResolveEveryAddressOfAServiceAndItsName) {
  auto ch = std::make_shared<RecordingChannel>();
  uint64_t key = connect(ch, "c1");
  auto service = placedService();
  running(key, service, "10.18.0.2");
  auto rr6 = json::getString(service.at("service_ip_list").as_array()[0].as_object(), "Address_v6");
  auto closest4 =
      json::getString(service.at("service_ip_list").as_array()[1].as_object(), "Address");
  auto inst4 = json::getString(instance0(service), "instance_ip");
  std::string job = json::getString(service, "job_name").value();
  for (const auto& k : {*rr6, *closest4, *inst4, job}) {
    registry.onMessage(key, link::encodeTableQuery({k}));
    auto t = lastTable(*ch);
    EXPECT_EQ(t.key, k);
    ASSERT_TRUE(t.routes) << k;
    EXPECT_EQ(t.routes->at("job_name"), bj::value(job));
    const auto& instances = t.routes->at("instance_list").as_array();
    ASSERT_EQ(instances.size(), 1u);
    EXPECT_EQ(instances[0].at("namespace_ip"), "10.18.0.2");
    EXPECT_EQ(instances[0].at("host_port"), 50103);
    EXPECT_EQ(instances[0].at("instance_ip"), bj::value(*inst4));
  }
  registry.onMessage(key, link::encodeTableQuery({"10.30.200.200"}));
  EXPECT_FALSE(lastTable(*ch).routes.has_value());
  registry.onMessage(key, link::encodeTableQuery({"no.such.job.here"}));
  EXPECT_FALSE(lastTable(*ch).routes.has_value());
}

TEST_F(ServiceRoutesTest, InstancesThatDoNotRunHaveNoRoute) {
  auto ch = std::make_shared<RecordingChannel>();
  uint64_t key = connect(ch, "c1");
  auto service = placedService();
  registry.onMessage(key, link::encodeTableQuery({json::getString(service, "job_name").value()}));
  auto t = lastTable(*ch);
  ASSERT_TRUE(t.routes);
  EXPECT_THAT(t.routes->at("instance_list").as_array(), IsEmpty());
}

TEST_F(ServiceRoutesTest, ChangesArePushedToInterestedClustersOnly) {
  auto asking = std::make_shared<RecordingChannel>();
  auto other = std::make_shared<RecordingChannel>();
  uint64_t k1 = connect(asking, "c1");
  connect(other, "c2");
  auto service = placedService();
  std::string job = json::getString(service, "job_name").value();
  registry.onMessage(k1, link::encodeTableQuery({job}));
  // The instance starts (on whichever cluster): the asking cluster hears of it.
  running(k1, service, "10.18.0.2");
  auto update = lastTable(*asking, "table_update");
  EXPECT_EQ(update.key, job);
  ASSERT_TRUE(update.routes);
  EXPECT_EQ(update.routes->at("instance_list").as_array().size(), 1u);
  EXPECT_THAT(other->ofType("table_update"), IsEmpty());
  // The same report again changes nothing and sends nothing.
  size_t updates = asking->ofType("table_update").size();
  running(k1, service, "10.18.0.2");
  EXPECT_EQ(asking->ofType("table_update").size(), updates);
  // It moves: new namespace address.
  running(k1, service, "10.18.0.66");
  EXPECT_EQ(lastTable(*asking, "table_update")
                .routes->at("instance_list")
                .as_array()[0]
                .at("namespace_ip"),
            "10.18.0.66");
  // Removed: no route left.
  ASSERT_TRUE(applications.removeInstances(admin, Accounts::idOf(service), "0"));
  EXPECT_THAT(lastTable(*asking, "table_update").routes->at("instance_list").as_array(), IsEmpty());
  // Deleted: the routes are gone.
  ASSERT_TRUE(applications.deleteService(admin, Accounts::idOf(service)));
  EXPECT_FALSE(lastTable(*asking, "table_update").routes.has_value());
}

TEST_F(ServiceRoutesTest, InterestEndsWhenTheClusterSaysSoOrDisconnects) {
  auto ch = std::make_shared<RecordingChannel>();
  uint64_t key = connect(ch, "c1");
  auto service = placedService();
  std::string job = json::getString(service, "job_name").value();
  registry.onMessage(key, link::encodeTableQuery({job}));
  registry.onMessage(key, link::encodeInterestRemove(job));
  running(key, service, "10.18.0.2");
  EXPECT_THAT(ch->ofType("table_update"), IsEmpty());

  registry.onMessage(key, link::encodeTableQuery({job}));
  registry.onClose(key);
  auto again = std::make_shared<RecordingChannel>();
  uint64_t key2 = connect(again, "c1");
  running(key2, service, "10.18.0.9");
  EXPECT_THAT(again->ofType("table_update"), IsEmpty());
}

TEST_F(ServiceRoutesTest, WorkersKeepTheirSubnetsAndNoTwoWorkersShareOne) {
  auto c1 = std::make_shared<RecordingChannel>();
  auto c2 = std::make_shared<RecordingChannel>();
  uint64_t k1 = connect(c1, "c1");
  uint64_t k2 = connect(c2, "c2");
  auto ask = [&](uint64_t key, RecordingChannel& ch, const std::string& worker) {
    registry.onMessage(key, link::encodeSubnetRequest({worker}));
    return link::subnetFrom(ch.ofType("subnet").back()).value();
  };
  auto a = ask(k1, *c1, "w1");
  auto b = ask(k1, *c1, "w2");
  auto c = ask(k2, *c2, "w1");  // the same worker id in another cluster is another worker
  auto again = ask(k1, *c1, "w1");
  EXPECT_EQ(a.subnet, "10.18.0.0/26");
  EXPECT_EQ(a.subnet_v6, "fc00::/120");
  EXPECT_EQ(b.subnet, "10.18.0.64/26");
  EXPECT_EQ(b.subnet_v6, "fc00::100/120");
  EXPECT_EQ(c.subnet, "10.18.0.128/26");
  EXPECT_EQ(again.subnet, a.subnet);
  EXPECT_EQ(again.subnet_v6, a.subnet_v6);
  for (const auto& s : {a, b, c}) {
    auto v4 = net::Ipv4Prefix::parse(s.subnet);
    auto v6 = net::Ipv6Prefix::parse(s.subnet_v6);
    ASSERT_TRUE(v4 && v6);
    EXPECT_EQ(v4->length(), net::kWorkerIpv4SubnetLength);
    EXPECT_TRUE(net::kOverlayIpv6Prefix.contains(v6->address()));
  }
}

TEST_F(ServiceRoutesTest, BadOverlayMessagesAreRefusedWithoutAnAnswer) {
  auto ch = std::make_shared<RecordingChannel>();
  uint64_t key = connect(ch, "c1");
  size_t before = ch->sent.size();
  registry.onMessage(key, R"({"type":"table_query"})");
  registry.onMessage(key, R"({"type":"subnet_request","worker_id":""})");
  registry.onMessage(key, R"({"type":"interest_remove","job_name":7})");
  EXPECT_EQ(ch->sent.size(), before);
}

}  // namespace
}  // namespace oak::root
