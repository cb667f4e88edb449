#include "api/static_site.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "os/file_system.h"

namespace gpufleet::api {
namespace {

using ::testing::HasSubstr;

// Runs GET `path` through a router holding only `site`'s routes.
Response Get(const StaticSite& site, std::string_view path, std::string if_none_match = "") {
  Router router;
  EXPECT_TRUE(site.AddRoutes(router).ok());
  RouteMatch m = router.Match("GET", path);
  if (m.route == nullptr) return Response::Error(404, "not_found", "no route");
  EXPECT_TRUE(m.route->access.is_public);
  Request request;
  request.method = "GET";
  request.path_params = m.params;
  if (!if_none_match.empty()) request.headers.Add("If-None-Match", if_none_match);
  return m.route->handler(request);
}

os::MemoryFileSystem BuiltSite() {
  os::MemoryFileSystem fs;
  fs.AddFile("/web/index.html", "<!doctype html><script type=module src=/assets/app-1a2b.js>");
  fs.AddFile("/web/favicon.svg", "<svg/>");
  fs.AddFile("/web/.env", "SECRET=1");
  fs.AddFile("/web/assets/app-1a2b.js", "console.log(1)");
  fs.AddFile("/web/assets/app-1a2b.css", "body{}");
  fs.AddFile("/web/assets/nested/deep.js", "x");
  return fs;
}

TEST(StaticSiteTest, ServesIndexTopLevelFilesAndAssetsWithTheCsp) {
  os::MemoryFileSystem fs = BuiltSite();
  absl::StatusOr<StaticSite> site = StaticSite::Load(fs, "/web/");
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_TRUE(site->built());
  EXPECT_EQ(site->file_count(), 4u);  // index, favicon, two assets; not .env, not nested/

  Response index = Get(*site, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_THAT(index.body, HasSubstr("/assets/app-1a2b.js"));
  EXPECT_EQ(index.headers.Get("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.headers.Get("Content-Security-Policy"), kDashboardCsp);
  EXPECT_EQ(index.headers.Get("Cache-Control"), "no-cache");
  EXPECT_EQ(index.headers.Get("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(index.headers.Get("X-Frame-Options"), "DENY");

  Response js = Get(*site, "/assets/app-1a2b.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "console.log(1)");
  EXPECT_EQ(js.headers.Get("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.headers.Get("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(Get(*site, "/assets/app-1a2b.css").headers.Get("Content-Type"),
            "text/css; charset=utf-8");
  EXPECT_EQ(Get(*site, "/favicon.svg").headers.Get("Content-Type"), "image/svg+xml");
}

TEST(StaticSiteTest, RefusesWhatIsNotInTheSite) {
  os::MemoryFileSystem fs = BuiltSite();
  absl::StatusOr<StaticSite> site = StaticSite::Load(fs, "/web");
  ASSERT_TRUE(site.ok()) << site.status();
  for (std::string_view path : {"/.env", "/assets/nope.js", "/assets/..%2Findex.html",
                                "/assets/nested", "/index.htm", "/assets/%2e%2e"}) {
    Response r = Get(*site, path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_FALSE(r.headers.Has("Content-Security-Policy")) << path;
  }
}

TEST(StaticSiteTest, AnswersNotModifiedForTheSameEtag) {
  os::MemoryFileSystem fs = BuiltSite();
  absl::StatusOr<StaticSite> site = StaticSite::Load(fs, "/web");
  ASSERT_TRUE(site.ok());
  Response first = Get(*site, "/assets/app-1a2b.js");
  std::optional<std::string_view> etag = first.headers.Get("ETag");
  ASSERT_TRUE(etag.has_value());
  Response again = Get(*site, "/assets/app-1a2b.js", std::string(*etag));
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(Get(*site, "/assets/app-1a2b.js", "\"other\"").status, 200);
  EXPECT_NE(Get(*site, "/").headers.Get("ETag"), etag);
}

TEST(StaticSiteTest, LoadFailsWithoutIndexOrOverALimit) {
  os::MemoryFileSystem empty;
  empty.AddFile("/web/assets/app.js", "x");
  absl::StatusOr<StaticSite> none = StaticSite::Load(empty, "/web");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(none.status().message(), HasSubstr("no index.html"));

  os::MemoryFileSystem big = BuiltSite();
  big.AddFile("/web/assets/huge.js", std::string(kMaxStaticFileBytes + 1, 'x'));
  absl::StatusOr<StaticSite> over = StaticSite::Load(big, "/web");
  EXPECT_FALSE(over.ok());
}

TEST(StaticSiteTest, NotBuiltPageSaysWhyAndHowEscaped) {
  StaticSite site = StaticSite::NotBuilt("npm was not found <when> building");
  EXPECT_FALSE(site.built());
  Response r = Get(site, "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("dashboard was not built"));
  EXPECT_THAT(r.body, HasSubstr("npm was not found &lt;when&gt; building"));
  EXPECT_THAT(r.body, HasSubstr("--target web"));
  EXPECT_EQ(r.headers.Get("Content-Security-Policy"), kDashboardCsp);
  EXPECT_EQ(Get(site, "/assets/app.js").status, 404);
}

TEST(StaticSiteTest, ContentTypes) {
  EXPECT_EQ(ContentTypeForName("a.woff2"), "font/woff2");
  EXPECT_EQ(ContentTypeForName("a.png"), "image/png");
  EXPECT_EQ(ContentTypeForName("a.bin"), "application/octet-stream");
  EXPECT_EQ(ContentTypeForName("js"), "application/octet-stream");
}

}  // namespace
}  // namespace gpufleet::api
