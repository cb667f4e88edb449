// The server's limits, probed with raw sockets: requests too large, malformed or too slow.
// Timeouts are short so the tests are quick; assertions never depend on how fast anything runs,
// only that the server cuts a client off at all (within a generous bound).

#include <string>

#include "api/http_server.h"
#include "api/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace gpufleet::api {
namespace {

using ::testing::HasSubstr;
using testing::RawClient;
using testing::StatusOf;
using testing::TestServer;

Router EchoRoutes() {
  Router r;
  EXPECT_TRUE(r.Add("POST", "/echo", Access::Public(), [](const Request& req) {
                 return Response::Text(std::to_string(req.body.size()));
               }).ok());
  EXPECT_TRUE(r.Add("GET", "/hello", Access::Public(), [](const Request&) {
                 return Response::Text("hi");
               }).ok());
  return r;
}

std::string BodyOf(std::string_view raw) {
  std::size_t p = raw.find("\r\n\r\n");
  return p == std::string_view::npos ? "" : std::string(raw.substr(p + 4));
}

class LimitsTest : public ::testing::Test {
 protected:
  void Start(ServerOptions o = testing::TestOptions()) {
    ASSERT_TRUE(ts_.Start(EchoRoutes(), o).ok());
  }
  TestServer ts_;
};

TEST_F(LimitsTest, BodyAtTheLimitIsAccepted) {
  Start();
  RawClient c(ts_.port());
  std::string body(1 << 20, 'x');
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body));
  std::string r = c.ReadResponse();
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_EQ(BodyOf(r), std::to_string(1 << 20));
}

TEST_F(LimitsTest, DeclaredBodyOverTheLimitIs413) {
  Start();
  RawClient c(ts_.port());
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n"));
  std::string r = c.ReadResponse();
  EXPECT_EQ(StatusOf(r), 413);
  EXPECT_EQ(nlohmann::json::parse(BodyOf(r))["code"], "PAYLOAD_TOO_LARGE");
  EXPECT_THAT(r, HasSubstr("Connection: close"));
}

TEST_F(LimitsTest, SentBodyOverTheLimitStillGets413) {
  Start();
  RawClient c(ts_.port());
  std::string body((1 << 20) + 1, 'x');
  // The server answers after the header and discards the rest, so the client can send it all
  // and still read the response.
  c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body);
  EXPECT_EQ(StatusOf(c.ReadResponse()), 413);
}

TEST_F(LimitsTest, ChunkedBodyOverTheLimitIs413) {
  ServerOptions o = testing::TestOptions();
  o.limits.max_body_bytes = 1000;
  Start(o);
  RawClient c(ts_.port());
  std::string chunk(600, 'y');
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  c.Send("258\r\n" + chunk + "\r\n");
  c.Send("258\r\n" + chunk + "\r\n0\r\n\r\n");
  EXPECT_EQ(StatusOf(c.ReadResponse()), 413);
}

TEST_F(LimitsTest, ExpectContinueIsAnswered) {
  Start();
  RawClient c(ts_.port());
  ASSERT_TRUE(
      c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
             "Content-Length: 5\r\n\r\n"));
  EXPECT_EQ(c.ReadUntil("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  c.ReadResponse();  // consumes the interim response
  ASSERT_TRUE(c.Send("hello"));
  std::string r = c.ReadResponse();
  EXPECT_EQ(StatusOf(r), 200);
  EXPECT_EQ(BodyOf(r), "5");
}

TEST_F(LimitsTest, HeaderOverTheLimitIs431) {
  Start();
  RawClient c(ts_.port());
  ASSERT_TRUE(
      c.Send("GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n"));
  std::string r = c.ReadResponse();
  EXPECT_EQ(StatusOf(r), 431);
  EXPECT_EQ(nlohmann::json::parse(BodyOf(r))["code"], "HEADERS_TOO_LARGE");
}

TEST_F(LimitsTest, HeaderUnderTheLimitIsAccepted) {
  Start();
  RawClient c(ts_.port());
  ASSERT_TRUE(
      c.Send("GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(7000, 'a') + "\r\n\r\n"));
  EXPECT_EQ(StatusOf(c.ReadResponse()), 200);
}

TEST_F(LimitsTest, MalformedRequestIs400) {
  Start();
  RawClient c(ts_.port());
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost t\r\n\r\n"));
  std::string r = c.ReadResponse();
  EXPECT_EQ(StatusOf(r), 400);
  EXPECT_EQ(nlohmann::json::parse(BodyOf(r))["code"], "BAD_REQUEST");
}

TEST_F(LimitsTest, SlowHeaderIsCutOff) {
  ServerOptions o = testing::TestOptions();
  o.limits.header_timeout = absl::Milliseconds(300);
  Start(o);
  RawClient c(ts_.port());
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\n"));
  // Keep dribbling header lines; the deadline covers the whole header, not each byte.
  bool cut_off = false;
  for (int i = 0; i < 200 && !cut_off; ++i) {
    if (!c.Send("X-Slow: y\r\n")) cut_off = true;
    if (!cut_off && c.WaitForClose(absl::Milliseconds(50))) cut_off = true;
  }
  EXPECT_TRUE(cut_off);
}

TEST_F(LimitsTest, SilentConnectionIsCutOff) {
  ServerOptions o = testing::TestOptions();
  o.limits.header_timeout = absl::Milliseconds(200);
  Start(o);
  RawClient c(ts_.port());
  EXPECT_TRUE(c.WaitForClose());
}

TEST_F(LimitsTest, SlowBodyIsCutOff) {
  ServerOptions o = testing::TestOptions();
  o.limits.body_timeout = absl::Milliseconds(300);
  Start(o);
  RawClient c(ts_.port());
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789"));
  EXPECT_TRUE(c.WaitForClose());
}

TEST_F(LimitsTest, IdleKeepAliveConnectionIsClosed) {
  ServerOptions o = testing::TestOptions();
  o.limits.idle_timeout = absl::Milliseconds(200);
  Start(o);
  RawClient c(ts_.port());
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(StatusOf(c.ReadResponse()), 200);
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));  // still kept alive
  EXPECT_EQ(StatusOf(c.ReadResponse()), 200);
  EXPECT_TRUE(c.WaitForClose());
}

TEST_F(LimitsTest, PipelinedRequestsAreAnswered) {
  Start();
  RawClient c(ts_.port());
  ASSERT_TRUE(
      c.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n"
             "Connection: close\r\n\r\n"));
  EXPECT_EQ(StatusOf(c.ReadResponse()), 200);
  EXPECT_EQ(StatusOf(c.ReadResponse()), 200);
  EXPECT_TRUE(c.WaitForClose());
}

TEST_F(LimitsTest, ConnectionLimit) {
  ServerOptions o = testing::TestOptions();
  o.limits.max_connections = 1;
  Start(o);
  RawClient first(ts_.port());
  ASSERT_TRUE(first.Send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(StatusOf(first.ReadResponse()), 200);
  RawClient second(ts_.port());
  EXPECT_TRUE(second.WaitForClose());
}

}  // namespace
}  // namespace gpufleet::api
