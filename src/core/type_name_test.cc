#include "core/type_name.h"

#include "common/strings.h"
#include "core/catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::core {
namespace {

using ::testing::HasSubstr;

TEST(TypeNameTest, ParsesTimeSlicedAndMigNames) {
  auto t = ParseTypeName("P40-8Q");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->board_prefix, "P40");
  EXPECT_EQ(t->framebuffer_gb, 8);
  EXPECT_EQ(t->series, Series::kQ);
  EXPECT_FALSE(t->mig_backed());

  auto m = ParseTypeName("A100D-3-40C");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->board_prefix, "A100D");
  EXPECT_EQ(m->gpu_instance_slices, 3);
  EXPECT_EQ(m->framebuffer_gb, 40);

  auto me = ParseTypeName("H100-1-10CME");
  ASSERT_TRUE(me.ok());
  EXPECT_EQ(me->variant, "ME");

  auto ada = ParseTypeName("RTX6000-Ada-8Q");
  ASSERT_TRUE(ada.ok());
  EXPECT_EQ(ada->board_prefix, "RTX6000-Ada");

  auto b4 = ParseTypeName("P40-1B4");
  ASSERT_TRUE(b4.ok());
  EXPECT_EQ(b4->variant, "4");
  EXPECT_EQ(ParseTypeName("M60-0Q")->framebuffer_mib(), 512);
}

TEST(TypeNameTest, AcceptsVmwareAndSysfsSpellings) {
  EXPECT_EQ(ParseTypeName("grid_p40-8q")->ToString(), "p40-8Q");
  EXPECT_EQ(ParseTypeName("grid_a100d-3-40c")->gpu_instance_slices, 3);
  EXPECT_EQ(ParseTypeName("GRID P40-8Q")->ToString(), "P40-8Q");
  EXPECT_EQ(ParseTypeName("NVIDIA A40-8Q")->ToString(), "A40-8Q");
  TypeName t = *ParseTypeName("A100D-3-40C");
  EXPECT_EQ(t.VmwareProfile(), "grid_a100d-3-40c");
  EXPECT_EQ(t.SysfsName(true), "NVIDIA A100D-3-40C");
  EXPECT_EQ(ParseTypeName("P40-8Q")->SysfsName(false), "GRID P40-8Q");
}

TEST(TypeNameTest, RejectsMalformedNamesSayingWhatWasExpected) {
  struct Case {
    std::string_view input;
    std::string_view why;
  } cases[] = {
      {"", "empty name"},
      {"P40", "no '-'"},
      {"P40-Q", "does not start with a size"},
      {"P40-8", "has no series letter"},
      {"P40-8X", "is not one of Q, C, B, A"},
      {"P40-8QZ", "unknown variant suffix"},
      {"-8Q", "missing board prefix"},
      {"4P0-8Q", "must start with a letter"},
      {"P4_0-8Q", "may contain only letters"},
      {"A100-9-40C", "outside 1..8"},
  };
  for (const Case& c : cases) {
    auto t = ParseTypeName(c.input);
    ASSERT_FALSE(t.ok()) << c.input;
    EXPECT_THAT(t.status().message(), HasSubstr(c.why)) << c.input;
    EXPECT_THAT(t.status().message(), HasSubstr("expected <board>-<GB><series>")) << c.input;
  }
  EXPECT_FALSE(ParseTypeName(std::string(600, 'A')).ok());
}

TEST(MdevTest, ParsesTypeIds) {
  EXPECT_EQ(*ParseMdevTypeId("nvidia-63"), 63);
  EXPECT_TRUE(LooksLikeMdevTypeId("nvidia-63"));
  EXPECT_FALSE(LooksLikeMdevTypeId("NVIDIA A40-8Q"));
  EXPECT_FALSE(ParseMdevTypeId("nvidia-").ok());
  EXPECT_FALSE(ParseMdevTypeId("nvidia-12345678").ok());
}

TEST(MdevTest, ParsesDescriptions) {
  auto d = ParseMdevDescription(
      "num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, max_instance=3");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->num_heads, 4);
  EXPECT_EQ(d->frl_config, 60);
  EXPECT_EQ(d->framebuffer_mib, 8192);
  EXPECT_EQ(d->max_resolution, "7680x4320");
  EXPECT_EQ(d->max_instance, 3);
  EXPECT_EQ(
      d->ToString(),
      "num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, max_instance=3");
  auto extra = ParseMdevDescription("framebuffer=1024M, max_instance=24, new_key=x");
  ASSERT_TRUE(extra.ok());
  EXPECT_EQ(extra->extra.size(), 1u);
}

TEST(MdevTest, RejectsBadDescriptionsNamingTheKey) {
  EXPECT_THAT(ParseMdevDescription("num_heads=4").status().message(),
              HasSubstr("missing framebuffer"));
  EXPECT_THAT(ParseMdevDescription("framebuffer=8192, max_instance=3").status().message(),
              HasSubstr("framebuffer='8192' is not a size in MiB"));
  EXPECT_THAT(ParseMdevDescription("framebuffer=8192M, max_instance=three").status().message(),
              HasSubstr("max_instance='three' is not a number"));
  EXPECT_THAT(
      ParseMdevDescription("framebuffer=1M, framebuffer=2M, max_instance=1").status().message(),
      HasSubstr("appears twice"));
  EXPECT_THAT(
      ParseMdevDescription("framebuffer=1M, max_instance=1, max_resolution=big").status().message(),
      HasSubstr("WIDTHxHEIGHT"));
  EXPECT_THAT(ParseMdevDescription("framebuffer=1M, junk").status().message(),
              HasSubstr("not key=value"));
  std::string many = "framebuffer=1M, max_instance=1";
  for (int i = 0; i < 20; ++i) many += StrCat(", k", i, "=v");
  EXPECT_THAT(std::string(ParseMdevDescription(many).status().message()),
              HasSubstr("more than 16 items"));
  EXPECT_THAT(
      std::string(ParseMdevDescription("framebuffer=1M, max_instance=1, x=" + std::string(65, 'v'))
                      .status()
                      .message()),
      HasSubstr("is too long"));
}

// Every type in the catalog round-trips through each spelling operators meet.
TEST(TypeNameTest, EveryCatalogTypeRoundTripsThroughEverySpelling) {
  const Catalog& catalog = Catalog::Embedded();
  int checked = 0;
  for (const Board& board : catalog.boards()) {
    for (const VgpuType& type : board.types) {
      TypeName name = *ParseTypeName(type.name);
      EXPECT_EQ(name.ToString(), type.name);
      EXPECT_EQ(name.framebuffer_mib(), type.framebuffer_mib) << type.name;
      std::vector<std::string> spellings = {type.name, name.VmwareProfile(),
                                            name.SysfsName(board.UsesNvidiaSysfsPrefix())};
      if (type.mdev_id) spellings.push_back(StrCat("nvidia-", *type.mdev_id));
      for (const std::string& s : spellings) {
        auto resolved = catalog.ResolveType(s);
        ASSERT_TRUE(resolved.ok()) << s << ": " << resolved.status();
        EXPECT_EQ(*resolved, &type) << s;
      }
      // A description built from the row resolves back to it when the board is named.
      if (type.display_heads && type.frame_rate_limit_fps && type.max_resolution) {
        MdevDescription d{type.display_heads,  type.frame_rate_limit_fps, type.framebuffer_mib,
                          type.max_resolution, type.max_instances,        {}};
        auto parsed = ParseMdevDescription(d.ToString());
        ASSERT_TRUE(parsed.ok()) << parsed.status();
        EXPECT_EQ(*parsed, d);
        auto resolved = catalog.ResolveType(d.ToString(), &board);
        if (resolved.ok()) {
          EXPECT_EQ((*resolved)->framebuffer_mib, type.framebuffer_mib);
          EXPECT_EQ((*resolved)->series == Series::kQ, type.series == Series::kQ) << type.name;
        } else {
          // Only B4/B variants of identical shape may collide within one board.
          EXPECT_EQ(resolved.status().code(), absl::StatusCode::kFailedPrecondition) << type.name;
        }
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 500);
}

}  // namespace
}  // namespace gpufleet::core
