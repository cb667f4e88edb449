// End-to-end tests of HttpServer over real HTTP on 127.0.0.1 with cpp-httplib as the client.

#include "api/http_server.h"

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "api/test_util.h"
#include "common/status_field.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace gpufleet::api {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TestServer;

httplib::Headers Bearer(std::string_view token) {
  return {{"Authorization", "Bearer " + std::string(token)}};
}

nlohmann::json JsonOf(const httplib::Result& r) { return nlohmann::json::parse(r->body); }

Router TestRoutes() {
  Router r;
  auto ok = [](absl::Status s) { EXPECT_TRUE(s.ok()) << s; };
  ok(r.Add("GET", "/api/v1/hosts/{host}/gpus/{pci}", Access::Viewer(), [](const Request& req) {
    absl::StatusOr<PageRequest> page = ParsePageRequest(req);
    if (!page.ok()) return Response::Error(page.status());
    return Response::Json({{"host", req.PathParam("host")},
                           {"pci", req.PathParam("pci")},
                           {"limit", page->limit},
                           {"who", req.principal ? req.principal->name : ""}});
  }));
  ok(r.Add("GET", "/api/v1/hosts/{host}", Access::Viewer(), [](const Request& req) {
    return Response::Json({{"host", req.PathParam("host")}});
  }));
  ok(r.Add("DELETE", "/api/v1/hosts/{host}", Access::Admin(),
           [](const Request&) { return Response::NoContent(); }));
  ok(r.Add("POST", "/api/v1/vms", Access::Operator(), [](const Request& req) {
    absl::StatusOr<nlohmann::json> body = req.JsonBody();
    if (!body.ok()) return Response::Error(body.status());
    if (!body->contains("name")) {
      return Response::Error(
          WithField(absl::InvalidArgumentError("name: required field is missing"), "name"));
    }
    return Response::Json(*body, 201);
  }));
  ok(r.Add("PUT", "/api/v1/vms/{vm}", Access::Operator(), [](const Request& req) {
    if (absl::Status s = CheckIfMatch(req, 7); !s.ok()) return Response::Error(s);
    return Response::Json({{"vm", req.PathParam("vm")}}).SetETag(8);
  }));
  ok(r.Add("POST", "/api/v1/hosts/{host}/heartbeat", Access::AgentOwnHost("host"),
           [](const Request& req) {
             return Response::Json({{"host", req.PathParam("host")}});
           }));
  ok(r.Add("GET", "/api/v1/boom", Access::Viewer(), [](const Request&) -> Response {
    throw std::runtime_error("boom-secret at /var/lib/gpufleet");
  }));
  ok(r.Add("GET", "/api/v1/public", Access::Public(), [](const Request& req) {
    return Response::Text(req.principal.has_value() ? "principal" : "anonymous");
  }));
  return r;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(ts_.Start(TestRoutes()).ok()); }
  httplib::Client Client() { return httplib::Client("127.0.0.1", ts_.port()); }
  TestServer ts_;
};

TEST_F(HttpServerTest, RoutesWithPathAndQueryParameters) {
  httplib::Client c = Client();
  auto r = c.Get("/api/v1/hosts/h1/gpus/0000:3b:00.0?limit=5", Bearer("viewer-token"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(
      JsonOf(r),
      nlohmann::json({{"host", "h1"}, {"pci", "0000:3b:00.0"}, {"limit", 5}, {"who", "vera"}}));
  auto h = c.Get("/api/v1/hosts/h%201", Bearer("viewer-token"));
  ASSERT_TRUE(h);
  EXPECT_EQ(JsonOf(h)["host"], "h 1");
}

TEST_F(HttpServerTest, NotFoundAndMethodNotAllowed) {
  httplib::Client c = Client();
  auto nf = c.Get("/api/v1/nope", Bearer("viewer-token"));
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(JsonOf(nf)["code"], "NOT_FOUND");
  auto na = c.Post("/api/v1/hosts/h1", Bearer("admin-token"), "{}", "application/json");
  ASSERT_TRUE(na);
  EXPECT_EQ(na->status, 405);
  EXPECT_EQ(na->get_header_value("Allow"), "DELETE, GET, HEAD");
  EXPECT_EQ(JsonOf(na)["code"], "METHOD_NOT_ALLOWED");
}

TEST_F(HttpServerTest, HeadIsGetWithoutTheBody) {
  httplib::Client c = Client();
  auto get = c.Get("/api/v1/hosts/h1", Bearer("viewer-token"));
  ASSERT_TRUE(get);
  auto head = c.Head("/api/v1/hosts/h1", Bearer("viewer-token"));
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
  EXPECT_EQ(head->get_header_value("Content-Length"), std::to_string(get->body.size()));
  EXPECT_EQ(head->get_header_value("Content-Type"), "application/json");
  // Same access rules, and the connection stays usable for the next request.
  auto anonymous = c.Head("/api/v1/hosts/h1");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  auto again = c.Get("/api/v1/hosts/h2", Bearer("viewer-token"));
  ASSERT_TRUE(again);
  EXPECT_EQ(JsonOf(again)["host"], "h2");
  auto healthz = c.Head("/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);
  EXPECT_EQ(healthz->get_header_value("Content-Length"), "3");
}

TEST_F(HttpServerTest, ErrorBodiesCarryTheField) {
  httplib::Client c = Client();
  auto r = c.Post("/api/v1/vms", Bearer("operator-token"), R"({"x": 1})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(JsonOf(r), nlohmann::json({{"code", "INVALID_ARGUMENT"},
                                       {"message", "name: required field is missing"},
                                       {"field", "name"}}));
  auto page = c.Get("/api/v1/hosts/h1/gpus/x?limit=5000", Bearer("viewer-token"));
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 400);
  EXPECT_EQ(JsonOf(page)["field"], "limit");
}

TEST_F(HttpServerTest, JsonBodyErrors) {
  httplib::Client c = Client();
  auto bad = c.Post("/api/v1/vms", Bearer("operator-token"), "{\n\"name\": }", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_THAT(JsonOf(bad)["message"].get<std::string>(), HasSubstr("line 2, column"));
  EXPECT_EQ(JsonOf(bad)["field"], "body");
  std::string deep = std::string(65, '[') + std::string(65, ']');
  auto d = c.Post("/api/v1/vms", Bearer("operator-token"), deep, "application/json");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, 400);
  EXPECT_THAT(JsonOf(d)["message"].get<std::string>(), HasSubstr("deeper than 64"));
  std::string ok_deep = "{\"name\": " + std::string(63, '[') + std::string(63, ']') + "}";
  auto o = c.Post("/api/v1/vms", Bearer("operator-token"), ok_deep, "application/json");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->status, 201);
}

TEST_F(HttpServerTest, IfMatchMismatchIs412) {
  httplib::Client c = Client();
  httplib::Headers h = Bearer("operator-token");
  h.emplace("If-Match", "\"v6\"");
  auto stale = c.Put("/api/v1/vms/vm1", h, "{}", "application/json");
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 412);
  EXPECT_EQ(JsonOf(stale)["field"], "If-Match");
  httplib::Headers fresh = Bearer("operator-token");
  fresh.emplace("If-Match", "\"v7\"");
  auto r = c.Put("/api/v1/vms/vm1", fresh, "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("ETag"), "\"v8\"");
}

TEST_F(HttpServerTest, HandlerExceptionsBecomeOpaque500s) {
  httplib::Client c = Client();
  auto r = c.Get("/api/v1/boom", Bearer("viewer-token"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, R"({"code":"INTERNAL","message":"internal error"})");
  EXPECT_THAT(ts_.errors(), Contains(HasSubstr("boom-secret")));
  auto again = c.Get("/healthz");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST_F(HttpServerTest, AuthenticationAndAuthorization) {
  httplib::Client c = Client();
  auto missing = c.Get("/api/v1/hosts/h1");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  EXPECT_THAT(missing->get_header_value("WWW-Authenticate"), HasSubstr("Bearer"));
  EXPECT_EQ(JsonOf(missing)["code"], "UNAUTHENTICATED");
  auto basic = c.Get("/api/v1/hosts/h1", {{"Authorization", "Basic dXNlcjpwYXNz"}});
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->status, 401);
  auto invalid = c.Get("/api/v1/hosts/h1", Bearer("guessed-token"));
  ASSERT_TRUE(invalid);
  EXPECT_EQ(invalid->status, 401);
  EXPECT_THAT(invalid->get_header_value("WWW-Authenticate"), HasSubstr("invalid_token"));
  EXPECT_THAT(invalid->body, Not(HasSubstr("guessed-token")));

  auto del_viewer = c.Delete("/api/v1/hosts/h1", Bearer("operator-token"));
  ASSERT_TRUE(del_viewer);
  EXPECT_EQ(del_viewer->status, 403);
  EXPECT_EQ(JsonOf(del_viewer)["code"], "PERMISSION_DENIED");
  auto del_admin = c.Delete("/api/v1/hosts/h1", Bearer("admin-token"));
  ASSERT_TRUE(del_admin);
  EXPECT_EQ(del_admin->status, 204);

  auto own =
      c.Post("/api/v1/hosts/h1/heartbeat", Bearer("agent-h1-token"), "{}", "application/json");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200);
  auto other =
      c.Post("/api/v1/hosts/h2/heartbeat", Bearer("agent-h1-token"), "{}", "application/json");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 403);
  auto human_route = c.Get("/api/v1/hosts/h1", Bearer("agent-h1-token"));
  ASSERT_TRUE(human_route);
  EXPECT_EQ(human_route->status, 403);
  auto admin_on_agent_route =
      c.Post("/api/v1/hosts/h1/heartbeat", Bearer("admin-token"), "{}", "application/json");
  ASSERT_TRUE(admin_on_agent_route);
  EXPECT_EQ(admin_on_agent_route->status, 403);

  auto down = c.Get("/api/v1/hosts/h1", Bearer("store-down"));
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 503);
  EXPECT_THAT(down->body, Not(HasSubstr("sqlite")));
}

TEST_F(HttpServerTest, PublicRoutesNeedNoToken) {
  httplib::Client c = Client();
  for (const char* path : {"/healthz", "/readyz", "/api/v1/public"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
  }
  EXPECT_EQ(c.Get("/api/v1/public", Bearer("garbage"))->body, "anonymous");
  EXPECT_EQ(ts_.authenticator.calls(), 0);
  EXPECT_EQ(c.Get("/metrics")->status, 401);
  EXPECT_EQ(c.Get("/metrics", Bearer("viewer-token"))->status, 200);
}

TEST_F(HttpServerTest, ReadinessCheck) {
  httplib::Client c = Client();
  ts_.readiness = [] { return absl::UnavailableError("store migrating"); };
  auto r = c.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_THAT(r->body, HasSubstr("store migrating"));
  EXPECT_EQ(c.Get("/healthz")->status, 200);
}

TEST_F(HttpServerTest, AuditGetsFailuresWithoutTokens) {
  httplib::Client c = Client();
  (void)c.Get("/api/v1/hosts/h1", Bearer("s3cret-guess"));
  (void)c.Get("/api/v1/hosts/h1");
  (void)c.Delete("/api/v1/hosts/h1", Bearer("viewer-token"));
  std::vector<AuthFailure> f = ts_.audit.failures();
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].kind, AuthFailure::Kind::kInvalidToken);
  EXPECT_EQ(f[0].peer_address, "127.0.0.1");
  EXPECT_EQ(f[0].route, "/api/v1/hosts/{host}");
  EXPECT_EQ(f[0].method, "GET");
  EXPECT_EQ(f[0].time, ts_.clock.Now());
  EXPECT_EQ(f[1].kind, AuthFailure::Kind::kMissingCredentials);
  EXPECT_EQ(f[2].kind, AuthFailure::Kind::kForbidden);
  EXPECT_EQ(f[2].principal, "vera");
  for (const AuthFailure& a : f) {
    for (const std::string& s : {a.peer_address, a.method, a.route, a.principal, a.reason}) {
      EXPECT_THAT(s, AllOf(Not(HasSubstr("s3cret")), Not(HasSubstr("viewer-token"))));
    }
  }
  for (const AccessLogEntry& e : ts_.access_log()) {
    EXPECT_THAT(e.route + e.principal + e.method, Not(HasSubstr("s3cret")));
  }
  for (const std::string& e : ts_.errors()) EXPECT_THAT(e, Not(HasSubstr("s3cret")));
}

TEST_F(HttpServerTest, AccessLogHasRouteTemplates) {
  httplib::Client c = Client();
  (void)c.Get("/api/v1/hosts/h42", Bearer("viewer-token"));
  std::vector<AccessLogEntry> log = ts_.access_log();
  ASSERT_FALSE(log.empty());
  const AccessLogEntry& e = log.back();
  EXPECT_EQ(e.method, "GET");
  EXPECT_EQ(e.route, "/api/v1/hosts/{host}");
  EXPECT_EQ(e.status, 200);
  EXPECT_EQ(e.principal, "vera");
  EXPECT_GE(e.duration, absl::ZeroDuration());
}

TEST_F(HttpServerTest, LatencyHistogramByRouteTemplate) {
  httplib::Client c = Client();
  (void)c.Get("/api/v1/hosts/h1", Bearer("viewer-token"));
  (void)c.Get("/api/v1/hosts/h2", Bearer("viewer-token"));
  (void)c.Get("/no/such/path");
  auto r = c.Get("/metrics", Bearer("viewer-token"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(r->body, HasSubstr("# TYPE gpufleet_api_request_duration_seconds histogram\n"));
  EXPECT_THAT(r->body, HasSubstr("gpufleet_api_request_duration_seconds_count{route=\"/api/v1/"
                                 "hosts/{host}\",method=\"GET\",status_class=\"2xx\"} 2\n"));
  EXPECT_THAT(r->body, HasSubstr("gpufleet_api_request_duration_seconds_count{route=\"unmatched\","
                                 "method=\"GET\",status_class=\"4xx\"} 1\n"));
  EXPECT_THAT(r->body, Not(HasSubstr("h2")));
  EXPECT_THAT(r->body, Not(HasSubstr("/no/such")));
}

TEST_F(HttpServerTest, RouteTableIncludesBuiltins) {
  std::vector<std::string> paths;
  for (const Route& r : ts_.server().router().routes())
    paths.push_back(r.method + " " + r.path_template);
  EXPECT_THAT(paths, Contains("GET /healthz"));
  EXPECT_THAT(paths, Contains("GET /readyz"));
  EXPECT_THAT(paths, Contains("GET /metrics"));
  EXPECT_THAT(paths, Contains("DELETE /api/v1/hosts/{host}"));
}

TEST_F(HttpServerTest, ConcurrentClients) {
  constexpr int kThreads = 6;
  constexpr int kRequests = 20;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client c = Client();
      c.set_keep_alive(true);
      for (int i = 0; i < kRequests; ++i) {
        std::string host = "h" + std::to_string(t);
        auto r = c.Get("/api/v1/hosts/" + host, Bearer("viewer-token"));
        if (r && r->status == 200 && JsonOf(r)["host"] == host) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, kThreads * kRequests);
  auto* h = *ts_.server().metrics().AddHistogram("gpufleet_api_request_duration_seconds", "",
                                                 {"route", "method", "status_class"},
                                                 DefaultLatencyBuckets());
  EXPECT_EQ(h->Count({"/api/v1/hosts/{host}", "GET", "2xx"}),
            static_cast<std::uint64_t>(kThreads * kRequests));
}

TEST(HttpServerStartTest, AuthDisabledRunsAsLocalAdmin) {
  TestServer ts;
  ASSERT_TRUE(ts.Start(TestRoutes(), testing::TestOptions(), /*with_auth=*/false).ok());
  httplib::Client c("127.0.0.1", ts.port());
  auto r = c.Get("/api/v1/hosts/h1/gpus/x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(JsonOf(r)["who"], "local");
  EXPECT_EQ(c.Delete("/api/v1/hosts/h1")->status, 204);
}

TEST(HttpServerStartTest, RefusesUnsafeListenAddresses) {
  TestServer ts;
  ServerOptions o = testing::TestOptions();
  o.listen = "0.0.0.0:0";
  absl::Status s = ts.Start(TestRoutes(), o, /*with_auth=*/false);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("TLS"));
}

TEST(HttpServerStartTest, RefusesConflictsWithBuiltins) {
  Router r;
  ASSERT_TRUE(r.Add("GET", "/metrics", Access::Public(), [](const Request&) {
                 return Response::NoContent();
               }).ok());
  TestServer ts;
  EXPECT_EQ(ts.Start(std::move(r)).code(), absl::StatusCode::kInvalidArgument);
}

TEST(HttpServerStartTest, ReportsAPortInUse) {
  TestServer first;
  ASSERT_TRUE(first.Start(Router()).ok());
  TestServer second;
  ServerOptions o = testing::TestOptions();
  o.listen = "127.0.0.1:" + std::to_string(first.port());
  EXPECT_EQ(second.Start(Router(), o).code(), absl::StatusCode::kUnavailable);
}

TEST(HttpServerRateLimitTest, FailedAuthenticationIsRateLimited) {
  TestServer ts;
  ServerOptions o = testing::TestOptions();
  o.auth_rate_limit = {.burst = 3, .refill_interval = absl::Seconds(10), .max_addresses = 100};
  ASSERT_TRUE(ts.Start(TestRoutes(), o).ok());
  httplib::Client c("127.0.0.1", ts.port());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.Get("/api/v1/hosts/h1", Bearer("bad"))->status, 401);
  auto limited = c.Get("/api/v1/hosts/h1", Bearer("viewer-token"));
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "10");
  EXPECT_EQ(JsonOf(limited)["code"], "RESOURCE_EXHAUSTED");
  EXPECT_EQ(ts.audit.failures().back().kind, AuthFailure::Kind::kRateLimited);
  EXPECT_EQ(c.Get("/api/v1/hosts/h1", Bearer("bad"))->status, 429);
  EXPECT_EQ(ts.audit.failures().size(), 4u);  // one audit record per lockout
  EXPECT_EQ(ts.authenticator.calls(), 3);     // a locked-out client is not even checked
  EXPECT_EQ(c.Get("/healthz")->status, 200);  // public routes are not limited
  ts.clock.Advance(absl::Seconds(10));
  EXPECT_EQ(c.Get("/api/v1/hosts/h1", Bearer("viewer-token"))->status, 200);
}

TEST(HttpServerStopTest, GracefulStopFinishesInFlightRequests) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  Router r;
  ASSERT_TRUE(r.Add("GET", "/slow", Access::Public(), [&](const Request&) {
                 entered.set_value();
                 released.wait();
                 return Response::Text("done");
               }).ok());
  TestServer ts;
  ASSERT_TRUE(ts.Start(std::move(r)).ok());
  std::uint16_t port = ts.port();
  auto response = std::async(std::launch::async, [port] {
    httplib::Client c("127.0.0.1", port);
    auto res = c.Get("/slow");
    return res ? res->status * 1000 + static_cast<int>(res->body.size()) : -1;
  });
  testing::RawClient idle(port);  // an idle connection is closed by Stop
  ASSERT_TRUE(idle.connected());
  entered.get_future().wait();
  auto stopper = std::async(std::launch::async, [&ts] { ts.server().Stop(); });
  EXPECT_TRUE(idle.WaitForClose());
  release.set_value();
  EXPECT_EQ(response.get(), 200 * 1000 + 4);
  stopper.get();
  httplib::Client after("127.0.0.1", port);
  EXPECT_FALSE(after.Get("/healthz"));
}

}  // namespace
}  // namespace gpufleet::api
