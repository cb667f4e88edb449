#include "api/server_options.h"

#include "common/status_field.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ServerOptions Listen(std::string listen, bool tls) {
  ServerOptions o;
  o.listen = std::move(listen);
  if (tls) o.tls = TlsOptions{.cert_file = "/etc/gpufleet/cert.pem", .key_file = "/k.pem"};
  return o;
}

TEST(ListenAddressTest, Parses) {
  absl::StatusOr<ListenAddress> a = ParseListenAddress("127.0.0.1:8470");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8470);
  EXPECT_TRUE(a->is_loopback);
  EXPECT_TRUE(ParseListenAddress("[::1]:0")->is_loopback);
  EXPECT_TRUE(ParseListenAddress("localhost:1")->is_loopback);
  EXPECT_TRUE(ParseListenAddress("127.8.9.10:1")->is_loopback);
  EXPECT_FALSE(ParseListenAddress("0.0.0.0:8470")->is_loopback);
  EXPECT_FALSE(ParseListenAddress("[::]:8470")->is_loopback);
  EXPECT_FALSE(ParseListenAddress("10.1.2.3:8470")->is_loopback);
  for (std::string_view bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "host:80", "::1:80",
                               "[::1:80", "1.2.3:80", ":80", "127.0.0.1:-1"}) {
    absl::Status s = ParseListenAddress(bad).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(FieldOf(s), "listen") << bad;
  }
}

TEST(ListenPolicyTest, LoopbackIsAlwaysAllowed) {
  EXPECT_TRUE(CheckListenPolicy(Listen("127.0.0.1:8470", false), false).ok());
  EXPECT_TRUE(CheckListenPolicy(Listen("[::1]:8470", false), false).ok());
  EXPECT_TRUE(CheckListenPolicy(ServerOptions(), false).ok());
}

TEST(ListenPolicyTest, OtherAddressesNeedTlsAndAuth) {
  absl::Status neither = CheckListenPolicy(Listen("0.0.0.0:8470", false), false);
  EXPECT_EQ(neither.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(neither.message(), HasSubstr("TLS"));
  EXPECT_THAT(neither.message(), HasSubstr("authentication"));
  EXPECT_THAT(neither.message(), HasSubstr("127.0.0.1"));
  absl::Status no_auth = CheckListenPolicy(Listen("10.0.0.5:8470", true), false);
  EXPECT_THAT(no_auth.message(), HasSubstr("authentication"));
  EXPECT_THAT(no_auth.message(), Not(HasSubstr("TLS")));
  absl::Status no_tls = CheckListenPolicy(Listen("[::]:8470", false), true);
  EXPECT_THAT(no_tls.message(), HasSubstr("TLS"));
  EXPECT_THAT(no_tls.message(), Not(HasSubstr("authentication")));
  EXPECT_TRUE(CheckListenPolicy(Listen("0.0.0.0:8470", true), true).ok());
}

TEST(ListenPolicyTest, RejectsHalfConfiguredTls) {
  ServerOptions o = Listen("127.0.0.1:1", false);
  o.tls = TlsOptions{.cert_file = "c.pem", .key_file = ""};
  absl::Status s = CheckListenPolicy(o, true);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(s), "tls");
  EXPECT_EQ(CheckListenPolicy(Listen("nonsense", false), true).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gpufleet::api
