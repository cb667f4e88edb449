#include "controller/vm_spec.h"

#include "common/status_field.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::controller {
namespace {

using ::testing::HasSubstr;

const core::Catalog& Cat() { return core::Catalog::Embedded(); }

TEST(VmSpecTest, AcceptsAnyTypeSpellingAndCanonicalises) {
  for (const char* spelling : {"P40-8Q", "grid_p40-8q"}) {
    absl::StatusOr<VmSpec> spec =
        DecodeVmSpec({{"name", "web-1"}, {"type", spelling}, {"license", "vws"}}, Cat());
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_EQ(spec->type, "P40-8Q");
    EXPECT_EQ(spec->license, "vWS");
  }
}

TEST(VmSpecTest, RequirementRoundTrips) {
  nlohmann::json body = {{"name", "ml-1"},
                         {"requirement",
                          {{"min_framebuffer_gb", 8},
                           {"cuda", true},
                           {"boards", nlohmann::json::array({"Tesla P40"})}}},
                         {"vgpus", 2}};
  absl::StatusOr<VmSpec> spec = DecodeVmSpec(body, Cat());
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->requirement->boards, std::vector<std::string>{"P40"});
  absl::StatusOr<VmSpec> again = DecodeVmSpec(EncodeVmSpec(*spec), Cat());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(EncodeVmSpec(*again), EncodeVmSpec(*spec));
  absl::StatusOr<planner::Vm> vm = ToPlannerVm(*spec, Cat());
  ASSERT_TRUE(vm.ok());
  EXPECT_EQ(vm->need.min_framebuffer_mib, 8192);
  EXPECT_EQ(vm->vgpus, 2);
}

TEST(VmSpecTest, ErrorsNameTheField) {
  auto err = [](const nlohmann::json& body) { return DecodeVmSpec(body, Cat()).status(); };
  absl::Status s = err({{"name", "a"}, {"type", "P40-9Q"}});
  EXPECT_EQ(FieldOf(s), "type");
  s = err({{"name", "a"}});
  EXPECT_THAT(s.message(), HasSubstr("exactly one of"));
  s = err({{"name", "a b"}, {"type", "P40-8Q"}});
  EXPECT_EQ(FieldOf(s), "name");
  s = err({{"name", "a"}, {"type", "P40-8Q"}, {"colour", "red"}});
  EXPECT_FALSE(s.ok());
  s = err({{"name", "a"}, {"requirement", {{"series", "Z"}}}});
  EXPECT_EQ(FieldOf(s), "requirement.series");
}

}  // namespace
}  // namespace gpufleet::controller
