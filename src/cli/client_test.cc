// The CLI's HTTP adapter and connection settings without a server: SSE parsing, the HTTP error
// mapping and exit codes, flag parsing helpers, and where server and token come from.

#include "cli/client.h"

#include <map>

#include "cli/online_common.h"
#include "cli/online_config.h"
#include "cli/online_vms.h"
#include "common/status_field.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "os/file_system.h"

namespace gpufleet::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(SseParserTest, EventsAcrossChunksAndLineEndings) {
  std::vector<SseParser::Event> got;
  SseParser p([&](const SseParser::Event& e) { got.push_back(e); });
  p.Feed(": keep-alive\n\nid: 7\nevent: vm.pla");
  p.Feed("ced\ndata: {\"a\":1}\r\n\r");
  p.Feed("\nid: 8\r\ndata: x\ndata: y\n");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, "7");
  EXPECT_EQ(got[0].event, "vm.placed");
  EXPECT_EQ(got[0].data, "{\"a\":1}");
  p.Feed("\n");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].id, "8");
  EXPECT_EQ(got[1].data, "x\ny");
}

TEST(StatusFromHttpTest, MapsStatusesAndKeepsTheControllersWords) {
  ApiCall call{.what = "vm create web-4", .needs_role = "operator"};
  const std::string server = "http://127.0.0.1:8470";
  absl::Status full = StatusFromHttp(
      409, R"({"code":"FAILED_PRECONDITION","message":"no place for P40-8Q: all 1 GPUs full"})",
      call, server);
  EXPECT_EQ(full.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(full.message(), HasSubstr("no place for P40-8Q: all 1 GPUs full"));
  EXPECT_EQ(OnlineExitCodeFor(full), 1);

  absl::Status taken = StatusFromHttp(
      409, R"({"code":"ALREADY_EXISTS","message":"vm \"a\" exists already","field":"name"})", call,
      server);
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(FieldOf(taken), "name");
  EXPECT_EQ(OnlineExitCodeFor(taken), 1);

  absl::Status forbidden = StatusFromHttp(
      403, R"({"code":"PERMISSION_DENIED","message":"role viewer may not use this route"})", call,
      server);
  EXPECT_THAT(forbidden.message(), HasSubstr("--role operator"));
  EXPECT_EQ(OnlineExitCodeFor(forbidden), 2);

  absl::Status unauth =
      StatusFromHttp(401, R"({"code":"UNAUTHENTICATED","message":"x"})", call, server);
  EXPECT_THAT(unauth.message(), HasSubstr("Check --token"));
  EXPECT_EQ(OnlineExitCodeFor(unauth), 2);

  EXPECT_EQ(OnlineExitCodeFor(StatusFromHttp(412, "{}", call, server)), 1);
  EXPECT_EQ(OnlineExitCodeFor(StatusFromHttp(404, "{}", call, server)), 2);
  EXPECT_EQ(OnlineExitCodeFor(StatusFromHttp(500, "{}", call, server)), 3);
  absl::Status html = StatusFromHttp(502, "<html>bad gateway</html>", call, server);
  EXPECT_THAT(html.message(), HasSubstr("HTTP 502"));
  EXPECT_EQ(OnlineExitCodeFor(html), 3);
}

TEST(ClientTest, RefusesBadUrls) {
  for (const char* url : {"127.0.0.1:8470", "ftp://x", "http://", "http://h:0", "http://h:99999",
                          "http://u:secret@h:1", "http://h:1/api"}) {
    auto c = Client::Create({.server = url, .token = "t"});
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << url;
  }
  EXPECT_TRUE(Client::Create({.server = "http://127.0.0.1:8470/", .token = "t"}).ok());
}

TEST(ClientTest, HttpsWithABadCaFileIsNamed) {
  auto c = Client::Create({.server = "https://127.0.0.1:8470",
                           .token = "t",
                           .ca_pem = "not pem",
                           .ca_file = "/ca.pem"});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("/ca.pem"));
}

TEST(FlagParsingTest, FramebufferSizes) {
  EXPECT_EQ(*ParseFramebufferGb("8G"), 8);
  EXPECT_EQ(*ParseFramebufferGb("16GB"), 16);
  EXPECT_EQ(*ParseFramebufferGb("4gib"), 4);
  EXPECT_EQ(*ParseFramebufferGb("8192M"), 8);
  EXPECT_EQ(*ParseFramebufferGb("2"), 2);
  EXPECT_FALSE(ParseFramebufferGb("1000M").ok());
  EXPECT_FALSE(ParseFramebufferGb("big").ok());
  EXPECT_FALSE(ParseFramebufferGb("0G").ok());
  EXPECT_EQ(UrlEscape("Tesla P40/x"), "Tesla%20P40%2Fx");
}

class ResolveConnectionTest : public ::testing::Test {
 protected:
  absl::StatusOr<ClientOptions> Resolve(const ConnectionFlags& flags = {}) {
    Environment env{.fs = &fs_};
    env.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = vars_.find(name);
      if (it == vars_.end()) return std::nullopt;
      return it->second;
    };
    return ResolveConnection(flags, env);
  }
  os::MemoryFileSystem fs_;
  std::map<std::string, std::string> vars_ = {{"HOME", "/home/u"}};
};

TEST_F(ResolveConnectionTest, NothingConfiguredSaysHowToConfigure) {
  auto o = Resolve();
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(o.status().message(), HasSubstr("--server URL"));
  EXPECT_THAT(o.status().message(), HasSubstr("$GPUFLEET_SERVER"));
}

TEST_F(ResolveConnectionTest, FlagsWinOverEnvironmentOverFile) {
  fs_.AddFile("/home/u/.config/gpufleet/config.yaml",
              "server: http://file:1\ntoken_file: token\nca_file: ~/ca.pem\n");
  fs_.AddFile("/home/u/.config/gpufleet/token", "gft_fromfile\n");
  fs_.AddFile("/home/u/ca.pem", "PEM");
  auto file = Resolve();
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->server, "http://file:1");
  EXPECT_EQ(file->token, "gft_fromfile");
  EXPECT_EQ(file->ca_file, "/home/u/ca.pem");

  vars_["GPUFLEET_SERVER"] = "http://env:2";
  vars_["GPUFLEET_TOKEN"] = "gft_fromenv";
  auto env = Resolve();
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->server, "http://env:2");
  EXPECT_EQ(env->token, "gft_fromenv");

  auto flags = Resolve({.server = "http://flag:3", .token = "gft_fromflag"});
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(flags->server, "http://flag:3");
  EXPECT_EQ(flags->token, "gft_fromflag");
  EXPECT_EQ(flags->ca_file, "/home/u/ca.pem");  // still from the file
}

TEST_F(ResolveConnectionTest, BadSettingsNeverQuoteTheToken) {
  fs_.AddFile("/c.yaml", "server: http://h:1\ntoken: gft_secret value\n");
  auto spaced = Resolve({.config = "/c.yaml"});
  EXPECT_EQ(spaced.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(spaced.status().message(), Not(HasSubstr("secret")));
  fs_.AddFile("/d.yaml", "server: http://h:1\ntokn: gft_secret\n");
  auto typo = Resolve({.config = "/d.yaml"});
  EXPECT_THAT(typo.status().message(), HasSubstr("unknown key 'tokn'"));
  EXPECT_THAT(typo.status().message(), Not(HasSubstr("secret")));
  auto missing = Resolve({.server = "http://h:1", .token_file = "/nowhere"});
  EXPECT_THAT(missing.status().message(), HasSubstr("/nowhere"));
  auto no_token = Resolve({.server = "http://h:1"});
  EXPECT_THAT(no_token.status().message(), HasSubstr("no token configured"));
}

}  // namespace
}  // namespace gpufleet::cli
