#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mqtt/broker_config.h"

namespace oak::mqtt {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

BrokerOptions options() {
  BrokerOptions o;
  o.data_dir = "/var/lib/oak/mqtt";
  o.listen_host = "127.0.0.1";
  o.port = 10003;
  o.admin_password = "secret";
  return o;
}

TEST(BrokerConfigTest, LocksTheBrokerDown) {
  std::string conf = renderBrokerConfig(options(), "oak");
  EXPECT_THAT(conf, HasSubstr("\nallow_anonymous false\n"));
  EXPECT_THAT(conf, HasSubstr("\nper_listener_settings false\n"));
  EXPECT_THAT(conf, HasSubstr("\npassword_file /var/lib/oak/mqtt/passwd\n"));
  EXPECT_THAT(conf, HasSubstr("\nacl_file /var/lib/oak/mqtt/acl\n"));
  EXPECT_THAT(conf, HasSubstr("\npersistence false\n"));
  EXPECT_THAT(conf, HasSubstr("\nlog_dest file /var/lib/oak/mqtt/mosquitto.log\n"));
  EXPECT_THAT(conf, HasSubstr("\nuser oak\n"));
  EXPECT_THAT(conf, HasSubstr("\nlistener 10003 127.0.0.1\n"));
}

TEST(BrokerConfigTest, EmptyListenHostMeansEveryAddress) {
  BrokerOptions o = options();
  o.listen_host.clear();
  EXPECT_THAT(renderBrokerConfig(o, "root"), HasSubstr("\nlistener 10003\n"));
}

TEST(BrokerConfigTest, AclGivesEachUserOnlyItsPrefix) {
  std::map<std::string, BrokerUser> users{{"cluster", {"cluster:$7$a", ""}},
                                          {"w1", {"w1:$7$b", "nodes/w1"}},
                                          {"w2", {"w2:$7$c", "nodes/w2"}}};
  std::string acl = renderAcl(users);
  EXPECT_THAT(acl, HasSubstr("user cluster\ntopic readwrite #\n"));
  EXPECT_THAT(acl, HasSubstr("user w1\ntopic readwrite nodes/w1/#\n"));
  EXPECT_THAT(acl, HasSubstr("user w2\ntopic readwrite nodes/w2/#\n"));
  EXPECT_THAT(acl, Not(HasSubstr("pattern")));
  EXPECT_EQ(renderPasswordFile(users), "cluster:$7$a\nw1:$7$b\nw2:$7$c\n");
}

TEST(BrokerConfigTest, ValidatesNamesPasswordsAndPrefixes) {
  EXPECT_TRUE(validateUsername("66225d0aa1b2c3d4e5f60718"));
  EXPECT_TRUE(validateUsername("worker-1.edge_a@site"));
  EXPECT_FALSE(validateUsername(""));
  EXPECT_FALSE(validateUsername("a:b"));  // the password file separator
  EXPECT_FALSE(validateUsername("a b"));
  EXPECT_FALSE(validateUsername("a\nuser admin"));  // ACL injection

  EXPECT_TRUE(validatePassword("p a s s"));
  EXPECT_FALSE(validatePassword(""));
  EXPECT_FALSE(validatePassword("two\nlines"));
  EXPECT_FALSE(validatePassword(std::string("nul\0", 4)));

  EXPECT_TRUE(validateTopicPrefix("nodes/w1"));
  EXPECT_FALSE(validateTopicPrefix(""));
  EXPECT_FALSE(validateTopicPrefix("nodes/+"));
  EXPECT_FALSE(validateTopicPrefix("#"));
  EXPECT_FALSE(validateTopicPrefix("nodes/w1/"));
  EXPECT_FALSE(validateTopicPrefix("/nodes"));
  EXPECT_FALSE(validateTopicPrefix("nodes w1"));
  EXPECT_FALSE(validateTopicPrefix("$SYS"));
}

TEST(BrokerConfigTest, ValidatesOptions) {
  EXPECT_TRUE(validateBrokerOptions(options()));
  BrokerOptions o = options();
  o.port = 0;
  auto s = validateBrokerOptions(o);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, HasSubstr("port"));
  o = options();
  o.data_dir = "relative/dir";
  EXPECT_FALSE(validateBrokerOptions(o));
  o = options();
  o.data_dir = "/with space";
  EXPECT_FALSE(validateBrokerOptions(o));
  o = options();
  o.admin_password.clear();
  s = validateBrokerOptions(o);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, HasSubstr("admin_password"));
}

}  // namespace
}  // namespace oak::mqtt
