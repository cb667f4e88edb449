// Decoding POST /api/v1/operations bodies: every kind, and each malformed field named.

#include "controller/operation_request.h"

#include "common/status_field.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::controller {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<OperationRequest> Decode(std::string_view text) {
  return DecodeOperationRequest(nlohmann::json::parse(text), core::Catalog::Embedded());
}

std::string FieldOfError(std::string_view text) {
  absl::StatusOr<OperationRequest> r = Decode(text);
  EXPECT_FALSE(r.ok()) << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  return FieldOf(r.status()).value_or("<none>");
}

TEST(OperationRequestTest, DecodesEveryKind) {
  auto migrate = Decode(R"({"kind":"migrate","vm":"web-1","to":"r730-2","dry_run":true})");
  ASSERT_TRUE(migrate.ok()) << migrate.status();
  EXPECT_EQ(migrate->kind, OperationKind::kMigrate);
  EXPECT_TRUE(migrate->dry_run);
  EXPECT_EQ(migrate->to, "r730-2");
  EXPECT_EQ(migrate->ToJson(), nlohmann::json::parse(R"({"kind":"migrate","vm":"web-1",
                                                         "to":"r730-2"})"));

  auto evacuate = Decode(R"({"kind":"evacuate","host":"r730-1","stun_budget_seconds":20})");
  ASSERT_TRUE(evacuate.ok()) << evacuate.status();
  EXPECT_EQ(evacuate->stun_budget_seconds, 20);
  EXPECT_FALSE(evacuate->dry_run);

  auto recarve = Decode(
      R"({"kind":"recarve","host":"r730-1","gpu":"0000:03:00.0","mode":"equal-size","type":"grid_p40-3q"})");
  ASSERT_TRUE(recarve.ok()) << recarve.status();
  EXPECT_EQ(recarve->type, "P40-3Q");  // canonical spelling
  EXPECT_EQ(recarve->gpu, "0000:03:00.0");

  auto defrag = Decode(R"({"kind":"defrag","type":"P40-24Q"})");
  ASSERT_TRUE(defrag.ok()) << defrag.status();
  EXPECT_EQ(defrag->count, 1);
  EXPECT_EQ(defrag->ToJson()["count"], 1);

  EXPECT_TRUE(Decode(R"({"kind":"ha-restart","host":"r730-3"})").ok());
  EXPECT_TRUE(Decode(R"({"kind":"exit-maintenance","host":"r730-3"})").ok());
}

TEST(OperationRequestTest, NamesTheFieldOfEveryMistake) {
  EXPECT_EQ(FieldOfError(R"({"vm":"a"})"), "kind");
  EXPECT_EQ(FieldOfError(R"({"kind":"reboot"})"), "kind");
  EXPECT_EQ(FieldOfError(R"({"kind":7})"), "kind");
  EXPECT_EQ(FieldOfError(R"({"kind":"migrate"})"), "vm");
  EXPECT_EQ(FieldOfError(R"({"kind":"migrate","vm":"a b"})"), "vm");
  EXPECT_EQ(FieldOfError(R"({"kind":"migrate","vm":"a","to":"/etc"})"), "to");
  EXPECT_EQ(FieldOfError(R"({"kind":"migrate","vm":"a","host":"h"})"), "host");  // unknown here
  EXPECT_EQ(FieldOfError(R"({"kind":"migrate","vm":"a","dry_run":"yes"})"), "dry_run");
  EXPECT_EQ(FieldOfError(R"({"kind":"evacuate","host":"h","stun_budget_seconds":0})"),
            "stun_budget_seconds");
  EXPECT_EQ(FieldOfError(R"({"kind":"recarve","host":"h","gpu":"zz","mode":"mig"})"), "gpu");
  EXPECT_EQ(FieldOfError(R"({"kind":"recarve","host":"h","gpu":"0000:03:00.0","mode":"big"})"),
            "mode");
  EXPECT_EQ(
      FieldOfError(R"({"kind":"recarve","host":"h","gpu":"0000:03:00.0","mode":"equal-size"})"),
      "type");
  EXPECT_EQ(
      FieldOfError(
          R"({"kind":"recarve","host":"h","gpu":"0000:03:00.0","mode":"mig","type":"P40-8Q"})"),
      "type");
  EXPECT_EQ(FieldOfError(R"({"kind":"defrag","type":"P41-8Q"})"), "type");
  EXPECT_EQ(FieldOfError(R"({"kind":"defrag","type":"P40-8Q","count":65})"), "count");
  EXPECT_EQ(FieldOfError(R"([1,2])"), "body");
}

TEST(OperationRequestTest, KindNamesRoundTrip) {
  for (OperationKind k :
       {OperationKind::kMigrate, OperationKind::kEvacuate, OperationKind::kExitMaintenance,
        OperationKind::kHaRestart, OperationKind::kRecarve, OperationKind::kDefrag}) {
    auto parsed = ParseOperationKind(OperationKindName(k));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, k);
  }
  EXPECT_THAT(std::string(ParseOperationKind("x").status().message()),
              HasSubstr("migrate, evacuate, exit-maintenance, ha-restart, recarve, defrag"));
}

}  // namespace
}  // namespace gpufleet::controller
