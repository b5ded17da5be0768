#include <gtest/gtest.h>

#include "mqtt/bus.h"

namespace oak::mqtt {
namespace {

struct Case {
  const char* pattern;
  const char* topic;
  bool match;
};

class TopicMatchTest : public ::testing::TestWithParam<Case> {};

TEST_P(TopicMatchTest, MatchesLikeMqtt) {
  const Case& c = GetParam();
  EXPECT_EQ(topicMatches(c.pattern, c.topic), c.match) << c.pattern << " vs " << c.topic;
}

INSTANTIATE_TEST_SUITE_P(
    Table, TopicMatchTest,
    ::testing::Values(
        // exact
        Case{"nodes/w1/job", "nodes/w1/job", true}, Case{"nodes/w1/job", "nodes/w1/jobs", false},
        Case{"nodes/w1", "nodes/w1/job", false}, Case{"a/b", "a//b", false},
        // single level
        Case{"nodes/+/job", "nodes/w1/job", true}, Case{"nodes/+/job", "nodes/w1/x/job", false},
        Case{"nodes/+/jobs/resources", "nodes/66225d/jobs/resources", true},
        Case{"nodes/+", "nodes/", true}, Case{"nodes/+", "nodes", false}, Case{"+", "a", true},
        Case{"+", "/a", false}, Case{"+/+", "/a", true}, Case{"+/a/+", "x/a/y", true},
        // multi level
        Case{"nodes/w1/#", "nodes/w1/control/deploy", true}, Case{"nodes/w1/#", "nodes/w1", true},
        Case{"nodes/w1/#", "nodes/w10/job", false}, Case{"#", "a/b/c", true}, Case{"#", "/", true},
        Case{"nodes/+/control/#", "nodes/w1/control/delete", true},
        // $-topics are not matched by leading wildcards
        Case{"#", "$SYS/broker", false}, Case{"+/broker", "$SYS/broker", false},
        Case{"$SYS/#", "$SYS/broker", true},
        // malformed filters and topics
        Case{"a/#/b", "a/x/b", false}, Case{"a+", "a+", false}, Case{"a/b#", "a/b", false},
        Case{"", "a", false}, Case{"a", "", false}, Case{"a/+", "a/+", false},
        Case{"#", "a/#", false}));

TEST(ValidFilterTest, AcceptsWildcardsOnlyAsWholeLevels) {
  EXPECT_TRUE(validFilter("nodes/+/information"));
  EXPECT_TRUE(validFilter("#"));
  EXPECT_TRUE(validFilter("nodes/w1/#"));
  EXPECT_TRUE(validFilter("/"));
  EXPECT_FALSE(validFilter(""));
  EXPECT_FALSE(validFilter("nodes/#/x"));
  EXPECT_FALSE(validFilter("nodes/w+"));
  EXPECT_FALSE(validFilter("nodes/#w"));
}

}  // namespace
}  // namespace oak::mqtt
