#include "worker/net/port_table.h"

#include <gtest/gtest.h>

namespace oak::worker {
namespace {

using Protocol = net::PortMapping::Protocol;

InstancePorts ports(std::vector<net::PortMapping> mappings) {
  return InstancePorts{*net::Ipv4Address::parse("10.18.0.2"), std::nullopt, std::move(mappings)};
}

TEST(PortTableTest, AHostPortBelongsToOneTaskPerProtocol) {
  PortTable table;
  table.set("a", ports({{8080, 80, Protocol::kTcp}}));
  EXPECT_TRUE(table.check("a", {{8080, 80, Protocol::kTcp}})) << "its own port";
  EXPECT_TRUE(table.check("b", {{8080, 80, Protocol::kUdp}}));
  Status taken = table.check("b", {{9090, 80, Protocol::kTcp}, {8080, 80, Protocol::kTcp}});
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::kConflict);
  EXPECT_EQ(taken.error().message, "host port tcp/8080 is already mapped by a");
}

TEST(PortTableTest, APortTwiceInOneListIsAConflict) {
  PortTable table;
  Status twice = table.check("a", {{53, 53, Protocol::kUdp}, {53, 5353, Protocol::kUdp}});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message, "host port udp/53 is mapped twice by a");
  EXPECT_TRUE(table.check("a", {{53, 53, Protocol::kUdp}, {53, 53, Protocol::kTcp}}));
}

TEST(PortTableTest, SetReplacesAndEraseFreesThePorts) {
  PortTable table;
  table.set("a", ports({{8080, 80, Protocol::kTcp}}));
  table.set("a", ports({{8081, 80, Protocol::kTcp}}));
  EXPECT_TRUE(table.check("b", {{8080, 80, Protocol::kTcp}}));
  EXPECT_FALSE(table.check("b", {{8081, 80, Protocol::kTcp}}));
  ASSERT_NE(table.find("a"), nullptr);
  EXPECT_EQ(table.find("a")->mappings[0].host_port, 8081);
  table.erase("a");
  EXPECT_EQ(table.find("a"), nullptr);
  EXPECT_TRUE(table.check("b", {{8081, 80, Protocol::kTcp}}));
  table.erase("a");  // idempotent
}

TEST(PortTableTest, AnEntryWithoutMappingsIsNotKept) {
  PortTable table;
  table.set("a", ports({}));
  EXPECT_EQ(table.find("a"), nullptr);
  EXPECT_TRUE(table.entries().empty());
}

TEST(PortTableTest, ClearForgetsEverything) {
  PortTable table;
  table.set("a", ports({{8080, 80, Protocol::kTcp}}));
  table.clear();
  EXPECT_TRUE(table.entries().empty());
  EXPECT_TRUE(table.check("b", {{8080, 80, Protocol::kTcp}}));
}

}  // namespace
}  // namespace oak::worker
