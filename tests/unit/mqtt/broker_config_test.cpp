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
  std::string conf = renderBrokerConfig(options(), "/usr/lib/dynsec.so", "oak");
  EXPECT_THAT(conf, HasSubstr("\nallow_anonymous false\n"));
  EXPECT_THAT(conf, HasSubstr("\nper_listener_settings false\n"));
  EXPECT_THAT(conf, HasSubstr("\nplugin /usr/lib/dynsec.so\n"));
  EXPECT_THAT(conf,
              HasSubstr("\nplugin_opt_config_file /var/lib/oak/mqtt/dynamic-security.json\n"));
  EXPECT_THAT(conf, Not(HasSubstr("password_file")));
  EXPECT_THAT(conf, HasSubstr("\nacl_file /var/lib/oak/mqtt/acl\n"));
  EXPECT_THAT(conf, HasSubstr("\nmax_queued_messages 100000\n"));
  EXPECT_THAT(conf, HasSubstr("\nset_tcp_nodelay true\n"));
  EXPECT_THAT(conf, HasSubstr("\npersistence false\n"));
  EXPECT_THAT(conf, HasSubstr("\nlog_dest file /var/lib/oak/mqtt/mosquitto.log\n"));
  EXPECT_THAT(conf, HasSubstr("\nuser oak\n"));
  EXPECT_THAT(conf, HasSubstr("\nlistener 10003 127.0.0.1\n"));
}

TEST(BrokerConfigTest, EmptyListenHostMeansEveryAddress) {
  BrokerOptions o = options();
  o.listen_host.clear();
  EXPECT_THAT(renderBrokerConfig(o, "/p.so", "root"), HasSubstr("\nlistener 10003\n"));
}

TEST(BrokerConfigTest, TheAclIsTheSamePatternsForEveryWorker) {
  BrokerOptions o = options();
  EXPECT_THAT(renderAcl(o), HasSubstr("\npattern readwrite nodes/%u/#\n"));
  o.acl_patterns = {"read nodes/%u/#", "write nodes/%u/heartbeat"};
  std::string acl = renderAcl(o);
  EXPECT_THAT(acl, HasSubstr("\npattern read nodes/%u/#\npattern write nodes/%u/heartbeat\n"));
  EXPECT_THAT(acl, Not(HasSubstr("\nuser ")));
  EXPECT_THAT(acl, Not(HasSubstr("\ntopic ")));
}

TEST(BrokerConfigTest, FindsThePluginOrSaysItIsMissing) {
  BrokerOptions o = options();
  o.dynsec_plugin = "/nonexistent/mosquitto_dynamic_security.so";
  auto missing = findDynsecPlugin(o);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("/nonexistent"));
  o.dynsec_plugin = "/etc/hostname";  // any readable file stands in for it
  EXPECT_EQ(findDynsecPlugin(o).value(), "/etc/hostname");
}

TEST(BrokerConfigTest, ValidatesNamesPasswordsAndPrefixes) {
  EXPECT_TRUE(validateUsername("66225d0aa1b2c3d4e5f60718"));
  EXPECT_TRUE(validateUsername("worker-1.edge_a@site"));
  EXPECT_FALSE(validateUsername(""));
  EXPECT_FALSE(validateUsername("a:b"));  // the password file separator
  EXPECT_FALSE(validateUsername("a b"));
  EXPECT_FALSE(validateUsername("a\nuser admin"));  // ACL injection
  EXPECT_FALSE(validateUsername("a/b"));            // would widen nodes/%u/#
  EXPECT_FALSE(validateUsername("a+"));

  EXPECT_TRUE(validatePassword("p a s s"));
  EXPECT_FALSE(validatePassword(""));
  EXPECT_FALSE(validatePassword("two\nlines"));
  EXPECT_FALSE(validatePassword(std::string("nul\0", 4)));
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
  for (const char* bad : {"", "read", "delete nodes/#", "read nodes/ x", "readwrite  "}) {
    o = options();
    o.acl_patterns = {bad};
    s = validateBrokerOptions(o);
    ASSERT_FALSE(s) << bad;
    EXPECT_THAT(s.error().message, HasSubstr("acl_patterns"));
  }
  o = options();
  o.dynsec_plugin = "relative.so";
  EXPECT_FALSE(validateBrokerOptions(o));
}

}  // namespace
}  // namespace oak::mqtt
