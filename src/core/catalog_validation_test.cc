// Invariants of the shipped catalog (data/catalog/*.json). A failure here means a transcription
// error in the data, or a fact that contradicts another; fix the data, not the test.

#include <set>

#include "common/strings.h"
#include "core/catalog.h"
#include "core/compat_rules.h"
#include "core/type_name.h"
#include "gtest/gtest.h"

namespace gpufleet::core {
namespace {

const Catalog& C() { return Catalog::Embedded(); }

TEST(CatalogValidationTest, LoadsWithEveryKindOfRow) {
  EXPECT_GE(C().boards().size(), 30u);
  EXPECT_GE(C().releases().size(), 10u);
  EXPECT_GE(C().toolkits().size(), 40u);
  EXPECT_EQ(C().editions().size(), 4u);
  EXPECT_NE(C().FindBoard("P40"), nullptr);
}

TEST(CatalogValidationTest, FramebufferTimesInstancesFitsTheGpu) {
  for (const Board& b : C().boards()) {
    for (const VgpuType& t : b.types) {
      // MIG profile names round each instance's memory (a whole number of eighths of the GPU)
      // up to the next GB: H100L-1-24C is 2/8 of 94 GB = 23.5 GB. Allow that rounding, no more.
      const long long rounding = t.mig_backed ? 1024LL * t.max_instances : 0;
      EXPECT_LE(static_cast<long long>(t.framebuffer_mib) * t.max_instances,
                b.framebuffer_mib + rounding)
          << t.name << ": " << t.max_instances << " x " << t.framebuffer_mib << " MiB on a "
          << b.framebuffer_mib << " MiB GPU";
      EXPECT_LE(t.framebuffer_mib, b.framebuffer_mib) << t.name;
    }
  }
}

TEST(CatalogValidationTest, MigTypesFitTheSliceGeometry) {
  for (const Board& b : C().boards()) {
    for (const VgpuType& t : b.types) {
      if (!t.mig_backed) continue;
      ASSERT_TRUE(b.mig.has_value()) << t.name << " is MIG-backed but " << b.name << " has no MIG";
      ASSERT_TRUE(t.mig_slices.has_value()) << t.name;
      EXPECT_LE(*t.mig_slices * t.max_instances, b.mig->compute_slices) << t.name;
    }
  }
}

TEST(CatalogValidationTest, NamesAreUniqueAndCanonical) {
  std::set<std::string> names, prefixes;
  for (const Board& b : C().boards()) {
    EXPECT_TRUE(prefixes.insert(AsciiLower(b.prefix)).second) << b.prefix;
    for (const VgpuType& t : b.types) {
      EXPECT_TRUE(names.insert(AsciiLower(t.name)).second) << t.name;
      auto parsed = ParseTypeName(t.name);
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      EXPECT_EQ(parsed->ToString(), t.name);
      EXPECT_EQ(parsed->board_prefix, b.prefix) << t.name;
    }
  }
}

TEST(CatalogValidationTest, SeriesAreKnownAndCudaFollowsTheSeries) {
  for (const Board& b : C().boards()) {
    for (const VgpuType& t : b.types) {
      // A- and B-series never run CUDA; Q and C always do.
      EXPECT_EQ(t.cuda, t.series == Series::kQ || t.series == Series::kC) << t.name;
      if (t.mig_backed) {
        EXPECT_EQ(t.series, Series::kC) << t.name;
      }
    }
  }
}

TEST(CatalogValidationTest, VersionsParseAndAscendWithinABranch) {
  int previous_branch = 0;
  for (const ReleaseBranch& r : C().releases()) {
    EXPECT_GT(r.branch, previous_branch) << "branches must ascend";
    previous_branch = r.branch;
    EXPECT_EQ(r.driver_branch.front(), 'R') << r.branch;
    std::optional<ReleaseVersion> prev;
    std::optional<DriverVersion> prev_manager;
    for (const ReleaseVersionRow& v : r.versions) {
      if (v.version) {
        if (prev) {
          EXPECT_LT(*prev, *v.version) << v.label;
        }
        prev = v.version;
        if (v.vgpu_manager_kvm) {
          if (prev_manager) {
            EXPECT_LE(*prev_manager, *v.vgpu_manager_kvm) << v.label;
          }
          prev_manager = v.vgpu_manager_kvm;
        }
      }
      // Every driver of a branch carries the branch's driver number (R525 -> 525.x).
      for (const auto* d : {&v.vgpu_manager_kvm, &v.guest_linux}) {
        if (*d) {
          EXPECT_EQ(StrCat("R", (*d)->branch()), r.driver_branch) << v.label;
        }
      }
    }
  }
}

TEST(CatalogValidationTest, ToolkitMinimumsNeverDecreaseWithTheToolkit) {
  const CudaToolkit* prev = nullptr;
  for (const CudaToolkit& t : C().toolkits()) {
    ASSERT_TRUE(t.linux_min_driver.has_value()) << t.label;
    if (prev != nullptr) {
      EXPECT_GT(prev->version, t.version) << "toolkits are listed newest first: " << t.label;
      EXPECT_GE(*prev->linux_min_driver, *t.linux_min_driver) << t.label;
    }
    prev = &t;
  }
}

TEST(CatalogValidationTest, EveryRowHasKnownSources) {
  std::set<std::string> ids;
  for (const Source& s : C().sources()) ids.insert(s.id);
  for (const std::string& id : internal::RuleSourceIds()) {
    EXPECT_TRUE(ids.contains(id)) << "the rules cite " << id << ", which sources.json lacks";
  }
  std::size_t rows = 0;
  for (const Board& b : C().boards()) {
    EXPECT_FALSE(b.provenance.sources.empty()) << b.name;
    for (const VgpuType& t : b.types) {
      EXPECT_FALSE(t.provenance.sources.empty()) << t.name;
      ++rows;
    }
  }
  for (const ReleaseBranch& r : C().releases()) {
    for (const ReleaseVersionRow& v : r.versions)
      EXPECT_FALSE(v.provenance.sources.empty()) << v.label;
  }
  EXPECT_GT(rows, 500u);
}

TEST(CatalogValidationTest, EditionsCoverEverySeriesOnce) {
  for (Series s : {Series::kQ, Series::kC, Series::kB, Series::kA}) {
    const Edition* e = C().EditionForSeries(s);
    ASSERT_NE(e, nullptr) << SeriesLetter(s);
    EXPECT_EQ(e->cuda, s == Series::kQ || s == Series::kC);
  }
}

}  // namespace
}  // namespace gpufleet::core
