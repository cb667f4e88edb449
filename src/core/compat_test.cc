#include "core/compat.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::core {
namespace {

using ::testing::HasSubstr;

const Catalog& C() { return Catalog::Embedded(); }

CompatQuery Seed() {
  CompatQuery q;
  q.board = "P40";
  q.host_driver = *DriverVersion::Parse("525.105.14");
  q.guest_driver = *DriverVersion::Parse("525.105.17");
  q.cuda = *CudaVersion::Parse("12.1");
  q.profiles = {"P40-3Q", "P40-8Q"};
  q.release = *ReleaseVersion::Parse("15.2");
  q.today = *CivilDate::Parse("2026-11-28");
  return q;
}

CompatQuery Today() {
  CompatQuery q;
  q.today = *CivilDate::Parse("2026-11-28");
  return q;
}

// The findings of one rule, in order.
std::vector<Finding> Rule(const CompatReport& r, std::string_view rule) {
  std::vector<Finding> out;
  for (const Finding& f : r.findings) {
    if (f.rule == rule) out.push_back(f);
  }
  return out;
}

Finding One(const CompatReport& r, std::string_view rule) {
  std::vector<Finding> f = Rule(r, rule);
  EXPECT_EQ(f.size(), 1u) << rule;
  return f.empty() ? Finding{} : f.front();
}

CompatReport Check(const CompatQuery& q) {
  absl::StatusOr<CompatReport> r = CheckCompatibility(C(), q);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : CompatReport{};
}

TEST(CompatTest, SeedSetupIsCompatibleWithWarnings) {
  CompatReport r = Check(Seed());
  EXPECT_EQ(One(r, "host-guest").verdict, Verdict::kOk);
  EXPECT_EQ(One(r, "board-release").verdict, Verdict::kOk);
  // CUDA 12.1 wants 530.30.02; 525.105.17 runs it through minor-version compatibility.
  Finding cuda = One(r, "guest-cuda");
  EXPECT_EQ(cuda.verdict, Verdict::kWarn);
  EXPECT_THAT(cuda.reason, HasSubstr("minor-version compatibility"));
  EXPECT_EQ(One(r, "cuda-vgpu").verdict, Verdict::kOk);
  // 3Q and 8Q cannot share a P40: equal-size only, and mixed-size came after Pascal support ended.
  Finding mix = One(r, "profile-mix");
  EXPECT_EQ(mix.verdict, Verdict::kWarn);
  EXPECT_THAT(mix.reason, HasSubstr("cannot share one physical GPU"));
  // 15.x has no published end date, but the newer LTS 16.x ended in July 2026.
  Finding support = One(r, "support");
  EXPECT_EQ(support.verdict, Verdict::kWarn);
  EXPECT_TRUE(support.inferred);
  EXPECT_THAT(support.reason, HasSubstr("16.x ended in July 2026"));
  EXPECT_EQ(r.Overall(), Verdict::kWarn);
  for (const Finding& f : r.findings) {
    EXPECT_NE(f.verdict, Verdict::kFail) << f.rule << ": " << f.reason;
    EXPECT_FALSE(f.reason.empty()) << f.rule;
  }
}

TEST(CompatTest, SameOutputForSameInput) {
  CompatReport a = Check(Seed()), b = Check(Seed());
  ASSERT_EQ(a.findings.size(), b.findings.size());
  for (std::size_t i = 0; i < a.findings.size(); ++i)
    EXPECT_EQ(a.findings[i].reason, b.findings[i].reason);
}

TEST(CompatTest, HostGuestRules) {
  CompatQuery q = Today();
  q.host_driver = *DriverVersion::Parse("525.105.14");  // 15.2
  q.guest_driver = *DriverVersion::Parse("525.60.13");  // 15.0: same branch, allowed for 15.x
  EXPECT_EQ(One(Check(q), "host-guest").verdict, Verdict::kOk);

  q.guest_driver = *DriverVersion::Parse("535.104.06");  // 16.1 guest on a 15.x manager
  Finding newer = One(Check(q), "host-guest");
  EXPECT_EQ(newer.verdict, Verdict::kFail);
  EXPECT_THAT(newer.reason, HasSubstr("newer than the vGPU manager"));

  q.host_driver = *DriverVersion::Parse("580.65.05");    // 19.0 manager
  q.guest_driver = *DriverVersion::Parse("570.124.06");  // 18.0 guest: previous branch
  EXPECT_EQ(One(Check(q), "host-guest").verdict, Verdict::kOk);

  q.guest_driver = *DriverVersion::Parse("535.104.06");  // 16.x guest: previous LTS branch
  Finding lts = One(Check(q), "host-guest");
  EXPECT_EQ(lts.verdict, Verdict::kOk);
  EXPECT_THAT(lts.reason, HasSubstr("previous LTS branch"));

  q.guest_driver = *DriverVersion::Parse("550.54.14");  // 17.x guest: neither
  EXPECT_EQ(One(Check(q), "host-guest").verdict, Verdict::kFail);

  q.host_driver = *DriverVersion::Parse("418.240");  // 8.x: same branch only
  q.guest_driver = *DriverVersion::Parse("418.70");
  EXPECT_EQ(One(Check(q), "host-guest").verdict, Verdict::kOk);

  q.host_driver = *DriverVersion::Parse("430.67");  // 9.x manager, 8.x guest: 8.x policy, inferred
  Finding inferred = One(Check(q), "host-guest");
  EXPECT_EQ(inferred.verdict, Verdict::kFail);
  EXPECT_TRUE(inferred.inferred);
}

TEST(CompatTest, HostGuestUnknownDriverAndMissingInput) {
  CompatQuery q = Today();
  q.host_driver = *DriverVersion::Parse("999.1.2");
  q.guest_driver = *DriverVersion::Parse("525.60.13");
  EXPECT_EQ(One(Check(q), "host-guest").verdict, Verdict::kUnknown);
  CompatQuery only_host = Today();
  only_host.host_driver = *DriverVersion::Parse("525.105.14");
  Finding f = One(Check(only_host), "host-guest");
  EXPECT_EQ(f.verdict, Verdict::kUnknown);
  EXPECT_THAT(f.reason, HasSubstr("needs --guest-driver"));
}

TEST(CompatTest, ReleaseMustMatchHostDriver) {
  CompatQuery q = Today();
  q.release = *ReleaseVersion::Parse("15.1");
  q.host_driver = *DriverVersion::Parse("525.105.14");
  std::vector<Finding> f = Rule(Check(q), "release");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1].verdict, Verdict::kFail);
  EXPECT_THAT(f[1].reason, HasSubstr("belongs to release 15.2, not 15.1"));
}

TEST(CompatTest, GuestCudaRules) {
  CompatQuery q = Today();
  q.guest_driver = *DriverVersion::Parse("535.104.06");
  q.cuda = *CudaVersion::Parse("12.2");
  EXPECT_EQ(One(Check(q), "guest-cuda").verdict, Verdict::kOk);
  q.cuda = *CudaVersion::Parse("13.0");  // needs 580.65.06; 535 is outside 13.x compatibility
  Finding f = One(Check(q), "guest-cuda");
  EXPECT_EQ(f.verdict, Verdict::kFail);
  EXPECT_THAT(f.reason, HasSubstr("is older"));
  q.cuda = *CudaVersion::Parse("12.9");  // not in CUDA-on-vGPU lists
  EXPECT_EQ(One(Check(q), "cuda-vgpu").verdict, Verdict::kUnknown);
  q.cuda = *CudaVersion::Parse("12.3");
  EXPECT_EQ(One(Check(q), "cuda-vgpu").verdict, Verdict::kWarn);
  q.cuda = *CudaVersion::Parse("42.0");
  EXPECT_EQ(One(Check(q), "guest-cuda").verdict, Verdict::kUnknown);
}

TEST(CompatTest, WindowsGuestUsesWindowsMinimum) {
  CompatQuery q = Today();
  q.guest_driver = *DriverVersion::Parse("528.89");  // 15.2 Windows guest
  q.cuda = *CudaVersion::Parse("12.0");              // Windows minimum 527.41
  Finding f = One(Check(q), "guest-cuda");
  EXPECT_EQ(f.verdict, Verdict::kOk);
  EXPECT_THAT(f.reason, HasSubstr("Windows driver >= 527.41"));
}

TEST(CompatTest, ReleaseCudaGeneration) {
  CompatQuery q = Today();
  q.release = *ReleaseVersion::Parse("15.2");
  q.cuda = *CudaVersion::Parse("12.0");
  EXPECT_EQ(One(Check(q), "release-cuda").verdict, Verdict::kOk);
  q.cuda = *CudaVersion::Parse("12.4");
  EXPECT_EQ(One(Check(q), "release-cuda").verdict, Verdict::kWarn);
  q.cuda = *CudaVersion::Parse("13.0");
  EXPECT_EQ(One(Check(q), "release-cuda").verdict, Verdict::kFail);
}

TEST(CompatTest, BoardReleaseSupport) {
  CompatQuery q = Today();
  q.board = "Tesla P40";
  q.release = *ReleaseVersion::Parse("17.0");
  Finding dropped = One(Check(q), "board-release");
  EXPECT_EQ(dropped.verdict, Verdict::kFail);
  EXPECT_THAT(dropped.reason, HasSubstr("supported up to 16.x"));
  q.board = "H200";
  q.release = *ReleaseVersion::Parse("16.5");
  EXPECT_EQ(One(Check(q), "board-release").verdict, Verdict::kFail);
  q.release = *ReleaseVersion::Parse("18.0");
  EXPECT_EQ(One(Check(q), "board-release").verdict, Verdict::kOk);
  q.board = "L4";
  EXPECT_EQ(One(Check(q), "board-release").verdict, Verdict::kUnknown);
}

TEST(CompatTest, EachProfileIsDescribed) {
  CompatQuery q = Today();
  q.board = "P40";
  q.profiles = {
      "num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, max_instance=3"};
  Finding f = One(Check(q), "profile");
  EXPECT_EQ(f.subject, "P40-8Q");
  EXPECT_THAT(f.reason, HasSubstr("8 GB, up to 3 per GPU"));
}

TEST(CompatTest, ProfileRules) {
  CompatQuery q = Today();
  q.board = "P40";
  q.profiles = {"A40-8Q"};
  EXPECT_EQ(One(Check(q), "profile-board").verdict, Verdict::kFail);

  q = Today();
  q.profiles = {"P40-2B"};
  q.cuda = *CudaVersion::Parse("12.0");
  Finding cuda = One(Check(q), "profile-cuda");
  EXPECT_EQ(cuda.verdict, Verdict::kFail);
  EXPECT_THAT(cuda.reason, HasSubstr("cannot run CUDA"));
  q.profiles = {"grid_p40-8q"};
  EXPECT_EQ(One(Check(q), "profile-cuda").verdict, Verdict::kOk);

  q = Today();
  q.profiles = {"P40-8Q"};
  q.license = "vApps";
  Finding lic = One(Check(q), "profile-license");
  EXPECT_EQ(lic.verdict, Verdict::kFail);
  EXPECT_THAT(lic.reason, HasSubstr("3 fps"));
  q.license = "vws";
  EXPECT_EQ(One(Check(q), "profile-license").verdict, Verdict::kOk);

  q = Today();
  q.profiles = {"A40-8C"};
  q.license = "vWS";
  q.release = *ReleaseVersion::Parse("16.1");
  EXPECT_EQ(One(Check(q), "profile-license").verdict, Verdict::kWarn);
}

TEST(CompatTest, ProfileMixes) {
  CompatQuery q = Today();
  q.profiles = {"T4-4Q", "T4-8Q"};
  q.release = *ReleaseVersion::Parse("17.0");
  Finding t4 = One(Check(q), "profile-mix");
  EXPECT_THAT(t4.reason, HasSubstr("does not support mixed-size mode"));
  q.profiles = {"A100D-3-40C", "A100D-1-10C"};
  EXPECT_EQ(One(Check(q), "profile-mix").verdict, Verdict::kOk);
  q.profiles = {"A40-8Q", "A40-8Q"};
  EXPECT_TRUE(Rule(Check(q), "profile-mix").empty());
}

TEST(CompatTest, FeatureTypeRules) {
  CompatQuery q = Today();
  for (auto [value, verdict] : {std::pair{0, Verdict::kFail},
                                {1, Verdict::kOk},
                                {2, Verdict::kWarn},
                                {4, Verdict::kWarn},
                                {7, Verdict::kFail}}) {
    q.feature_type = value;
    EXPECT_EQ(One(Check(q), "feature-type").verdict, verdict) << value;
  }
}

TEST(CompatTest, SupportStatusDependsOnTheDate) {
  CompatQuery q = Today();
  q.release = *ReleaseVersion::Parse("16.9");
  q.today = *CivilDate::Parse("2026-01-15");
  Finding before = One(Check(q), "support");
  EXPECT_EQ(before.verdict, Verdict::kOk);
  EXPECT_THAT(before.reason, HasSubstr("supported until July 2026"));
  q.today = *CivilDate::Parse("2026-11-28");
  Finding after = One(Check(q), "support");
  EXPECT_EQ(after.verdict, Verdict::kWarn);
  EXPECT_THAT(after.reason, HasSubstr("4 months ago"));
  q.release = *ReleaseVersion::Parse("20.0");
  EXPECT_EQ(One(Check(q), "support").verdict, Verdict::kUnknown);
}

TEST(CompatTest, BadInputIsAnError) {
  CompatQuery q = Today();
  q.board = "P99";
  EXPECT_EQ(CheckCompatibility(C(), q).status().code(), absl::StatusCode::kNotFound);
  q = Today();
  q.profiles = {"P40-9Q"};
  EXPECT_THAT(std::string(CheckCompatibility(C(), q).status().message()),
              HasSubstr("nearest: P40-8Q, P40-12Q"));
  q = Today();
  q.license = "vGold";
  EXPECT_THAT(CheckCompatibility(C(), q).status().message(), HasSubstr("is not one of vWS"));
}

TEST(MigrationTest, KvmNeedsIdenticalManagersAndProfiles) {
  MigrationQuery q;
  q.src_host_driver = *DriverVersion::Parse("535.161.05");
  q.dst_host_driver = *DriverVersion::Parse("535.161.05");
  q.guest_driver = *DriverVersion::Parse("535.161.07");
  q.src_profile = "A40-8Q";
  q.dst_profile = "grid_a40-8q";
  q.src_ecc = true;
  q.dst_ecc = true;
  CompatReport ok = *CheckMigration(C(), q);
  EXPECT_EQ(ok.Overall(), Verdict::kOk);
  q.dst_host_driver = *DriverVersion::Parse("535.183.04");
  EXPECT_EQ(One(*CheckMigration(C(), q), "migration-driver").verdict, Verdict::kFail);
  q.dst_profile = "A40-12Q";
  EXPECT_EQ(One(*CheckMigration(C(), q), "migration-profile").verdict, Verdict::kFail);
  q.dst_profile = "L40S-8Q";
  EXPECT_THAT(One(*CheckMigration(C(), q), "migration-profile").reason, HasSubstr("boards differ"));
  q.dst_ecc = false;
  EXPECT_EQ(One(*CheckMigration(C(), q), "migration-ecc").verdict, Verdict::kWarn);
}

TEST(MigrationTest, VsphereNeedsHotmigrate) {
  MigrationQuery q;
  q.hypervisor = Hypervisor::kVsphere;
  q.hotmigrate = false;
  EXPECT_EQ(One(*CheckMigration(C(), q), "migration-hotmigrate").verdict, Verdict::kFail);
  q.hotmigrate = true;
  q.src_host_driver = *DriverVersion::Parse("535.161.05");
  q.dst_host_driver = *DriverVersion::Parse("550.54.10");
  q.guest_driver = *DriverVersion::Parse("535.161.07");
  CompatReport r = *CheckMigration(C(), q);
  EXPECT_EQ(One(r, "migration-driver").verdict, Verdict::kWarn);
  std::vector<Finding> hg = Rule(r, "host-guest");
  ASSERT_EQ(hg.size(), 2u);
  EXPECT_THAT(hg[1].subject, HasSubstr("destination"));
}

}  // namespace
}  // namespace gpufleet::core
