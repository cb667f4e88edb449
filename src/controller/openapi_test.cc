// docs/api/openapi.yaml and the router agree: every route (method + path template) is described,
// every described operation is a route, and each operation's x-access is the route's Access.

#include <map>
#include <set>
#include <string>

#include "controller/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace gpufleet::controller {
namespace {

TEST(OpenApiTest, DocumentAndRouterAgree) {
  testing::TempDir dir;
  os::FakeClock clock(testing::TestEpoch());
  testing::TestController tc(dir.path(), &clock);
  ASSERT_TRUE(tc.Start().ok());

  YAML::Node doc = YAML::LoadFile(GPUFLEET_OPENAPI_FILE);
  ASSERT_TRUE(doc["paths"].IsMap());
  std::map<std::string, std::string> documented;  // "GET /path" -> x-access
  for (const auto& path : doc["paths"]) {
    for (const auto& op : path.second) {
      std::string method = AsciiUpper(op.first.as<std::string>());
      if (method == "PARAMETERS") continue;
      documented[StrCat(method, " ", path.first.as<std::string>())] =
          op.second["x-access"] ? op.second["x-access"].as<std::string>() : "";
    }
  }
  std::set<std::string> routed;
  for (const api::Route& r : tc.router().routes()) {
    std::string key = StrCat(r.method, " ", r.path_template);
    routed.insert(key);
    auto it = documented.find(key);
    if (it == documented.end()) {
      ADD_FAILURE() << key << " is routed but not in docs/api/openapi.yaml";
      continue;
    }
    EXPECT_EQ(it->second, r.access.ToString()) << key << ": x-access differs from the route";
  }
  for (const auto& [key, access] : documented) {
    EXPECT_TRUE(routed.contains(key)) << key << " is documented but not routed";
  }
}

}  // namespace
}  // namespace gpufleet::controller
