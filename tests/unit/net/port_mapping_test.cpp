#include "net/port_mapping.h"

#include <gtest/gtest.h>

#include <vector>

namespace oak::net {
namespace {

using Protocol = PortMapping::Protocol;

TEST(PortParserTest, ValidSpecs) {
  using V = std::vector<PortMapping>;
  const struct {
    const char* spec;
    V expected;
  } cases[] = {
      {"", V{}},
      {"80", V{{80, 80, Protocol::kTcp}}},
      {"80:80", V{{80, 80, Protocol::kTcp}}},
      {"8080:80/udp", V{{8080, 80, Protocol::kUdp}}},
      {"80/udp", V{{80, 80, Protocol::kUdp}}},
      {"6080:60/tcp", V{{6080, 60, Protocol::kTcp}}},
      {"1:65535", V{{1, 65535, Protocol::kTcp}}},
      {"80:80/tcp;90:100/tcp", V{{80, 80, Protocol::kTcp}, {90, 100, Protocol::kTcp}}},
      {"80:80/udp;90:100/udp;7",
       V{{80, 80, Protocol::kUdp}, {90, 100, Protocol::kUdp}, {7, 7, Protocol::kTcp}}},
  };
  for (const auto& c : cases) {
    auto parsed = parsePorts(c.spec);
    ASSERT_TRUE(parsed) << c.spec << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, c.expected) << c.spec;
  }
}

TEST(PortParserTest, InvalidSpecs) {
  for (const char* spec : {"80:80-80",   " ",
                           "hello",      "0",
                           "70000",      "80:",
                           ":80",        " 80",
                           "80 ",        "80; 90",
                           "80;",        ";80",
                           "80;;90",     ";",
                           "80/sctp",    "80/UDP",
                           "80:80:80",   "-80",
                           "+80",        "80:0",
                           "0:80",       "99999999999999999999",
                           "80/udp/tcp", "/udp",
                           "80:80/",     "8O",
                           "80,90"}) {
    auto parsed = parsePorts(spec);
    ASSERT_FALSE(parsed) << "'" << spec << "' was accepted";
    EXPECT_EQ(parsed.error().code, ErrorCode::kUnprocessable) << spec;
  }
}

TEST(PortParserTest, MessagesNameTheBadItem) {
  EXPECT_EQ(parsePorts("80:80-80").error().message,
            "'80:80-80' is not a valid port mapping (expected host[:container][/tcp|/udp])");
  EXPECT_EQ(parsePorts("80;hello/udp").error().message,
            "'hello/udp' is not a valid port mapping (expected host[:container][/tcp|/udp])");
  EXPECT_EQ(parsePorts("80;70000/udp").error().message,
            "'70000/udp' is not a valid port mapping (ports must be 1..65535)");
  EXPECT_EQ(parsePorts("0").error().message,
            "'0' is not a valid port mapping (ports must be 1..65535)");
  EXPECT_EQ(parsePorts("99999999999999999999").error().message,
            "'99999999999999999999' is not a valid port mapping (ports must be 1..65535)");
  EXPECT_EQ(parsePorts("80;;90").error().message, "'80;;90' contains an empty port mapping");
}

TEST(PortParserTest, ProtocolNames) {
  EXPECT_EQ(protocolName(Protocol::kTcp), "tcp");
  EXPECT_EQ(protocolName(Protocol::kUdp), "udp");
}

}  // namespace
}  // namespace oak::net
