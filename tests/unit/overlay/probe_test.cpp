#include "overlay/probe.h"

#include <gtest/gtest.h>

#include <vector>

namespace oak::overlay {
namespace {

TEST(ProbeTest, RoundTrip) {
  std::vector<uint8_t> buffer(64, 0);
  const Probe request{.reply = false, .sequence = 0x0102030405060708, .sent_us = 1'700'000'000};
  ASSERT_EQ(encodeProbe(request, buffer), kProbeSize);
  EXPECT_EQ(buffer[0], kProbeRequest);
  EXPECT_EQ(buffer[1], 0x01);
  EXPECT_EQ(buffer[8], 0x08);
  EXPECT_EQ(decodeProbe(std::span(buffer).first(kProbeSize)), request);

  const Probe reply{.reply = true, .sequence = 9, .sent_us = ~uint64_t{0}};
  ASSERT_EQ(encodeProbe(reply, buffer), kProbeSize);
  EXPECT_EQ(buffer[0], kProbeReply);
  EXPECT_EQ(decodeProbe(std::span(buffer).first(kProbeSize)), reply);
}

TEST(ProbeTest, RejectsOtherDatagrams) {
  std::vector<uint8_t> buffer(kProbeSize, 0);
  EXPECT_EQ(encodeProbe(Probe{}, std::span(buffer).first(kProbeSize - 1)), 0u);
  ASSERT_EQ(encodeProbe(Probe{}, buffer), kProbeSize);
  EXPECT_FALSE(decodeProbe(std::span(buffer).first(kProbeSize - 1)));
  buffer.push_back(0);
  EXPECT_FALSE(decodeProbe(buffer));
  buffer.pop_back();
  for (uint8_t type : {0x00, 0x03, 0x45, 0x60}) {
    buffer[0] = type;
    EXPECT_FALSE(decodeProbe(buffer)) << int(type);
  }
  EXPECT_FALSE(decodeProbe({}));
}

}  // namespace
}  // namespace oak::overlay
