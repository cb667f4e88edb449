// Decoding the request bodies of hosts, tokens, enrolment and licenses: accepted bodies come back
// canonical and round-trip, and each malformed field is named.

#include <string>
#include <string_view>

#include "common/status_field.h"
#include "controller/auth_bodies.h"
#include "controller/host_report.h"
#include "controller/license_bodies.h"
#include "controller/placement.h"
#include "gtest/gtest.h"

namespace gpufleet::controller {
namespace {

const core::Catalog& Catalog() { return core::Catalog::Embedded(); }

// The field a rejection of `text` names; "<accepted>" when `decode` takes it.
template <typename Decode>
std::string FieldOfError(Decode decode, std::string_view text) {
  auto r = decode(nlohmann::json::parse(text));
  if (r.ok()) return "<accepted>";
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  return FieldOf(r.status()).value_or("<none>");
}

absl::StatusOr<HostReport> Host(const nlohmann::json& body) {
  return DecodeHostReport(body, Catalog());
}

absl::StatusOr<LicensePoolRequest> Pool(const nlohmann::json& body) {
  return DecodeLicensePoolRequest(body, Catalog());
}

TEST(HostReportTest, DecodesAndCanonicalises) {
  absl::StatusOr<HostReport> r = Host(nlohmann::json::parse(R"({
      "hypervisor": "vsphere", "state": "maintenance", "manager_version": "550.54.16",
      "hotmigrate": false, "labels": {"rack": "r1"},
      "gpus": [{"pci": "0000:3B:00.0", "board": "p40", "mode": "equal-size",
                "carved_type": "grid_p40-8q", "ecc": true},
               {"pci": "0000:af:00.0", "board": "P40"}]})"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->hypervisor, "vsphere");
  EXPECT_EQ(r->state, store::HostState::kMaintenance);
  EXPECT_EQ(r->labels.at("rack"), "r1");
  EXPECT_EQ(r->labels.at(std::string(kHotmigrateLabel)), "false");
  ASSERT_EQ(r->gpus.size(), 2u);
  EXPECT_EQ(r->gpus[0].id, "0000:3b:00.0");
  EXPECT_EQ(r->gpus[0].board, "P40");
  EXPECT_EQ(r->gpus[0].carved_type, "P40-8Q");
  EXPECT_TRUE(r->gpus[0].ecc);
  EXPECT_EQ(r->gpus[1].mode, "unconfigured");

  nlohmann::json canonical = r->ToJson();
  EXPECT_FALSE(canonical["labels"].contains(std::string(kHotmigrateLabel)));
  absl::StatusOr<HostReport> again = Host(canonical);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *r);

  absl::StatusOr<HostReport> empty = Host(nlohmann::json::object());
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->hypervisor, "kvm");
  EXPECT_FALSE(empty->state.has_value());
  EXPECT_TRUE(empty->labels.empty());
}

TEST(HostReportTest, NamesTheFieldOfEveryMistake) {
  EXPECT_EQ(FieldOfError(Host, R"([1])"), "body");
  EXPECT_EQ(FieldOfError(Host, R"({"hypervisor":"xen"})"), "hypervisor");
  EXPECT_EQ(FieldOfError(Host, R"({"state":"down"})"), "state");
  EXPECT_EQ(FieldOfError(Host, R"({"manager_version":"five"})"), "manager_version");
  EXPECT_EQ(FieldOfError(Host, R"({"hotmigrate":"yes"})"), "hotmigrate");
  EXPECT_EQ(FieldOfError(Host, R"({"labels":{"rack":1}})"), "labels.'rack'");
  EXPECT_EQ(FieldOfError(Host, R"({"labels":{"gpufleet.io/x":"1"}})"), "labels.'gpufleet.io/x'");
  EXPECT_EQ(FieldOfError(Host, R"({"gpus":[7]})"), "gpus[0]");
  EXPECT_EQ(FieldOfError(Host, R"({"gpus":[{"board":"P40"}]})"), "gpus[0].pci");
  EXPECT_EQ(FieldOfError(Host, R"({"gpus":[{"pci":"zz","board":"P40"}]})"), "gpus[0].pci");
  EXPECT_EQ(FieldOfError(Host, R"({"gpus":[{"pci":"0000:01:00.0","board":"P4O"}]})"),
            "gpus[0].board");
  EXPECT_EQ(FieldOfError(Host, R"({"gpus":[{"pci":"0000:01:00.0","board":"P40","mode":"big"}]})"),
            "gpus[0].mode");
  EXPECT_EQ(FieldOfError(
                Host, R"({"gpus":[{"pci":"0000:01:00.0","board":"P40","carved_type":"T4-8Q"}]})"),
            "gpus[0].carved_type");
  EXPECT_EQ(FieldOfError(Host, R"({"gpus":[{"pci":"0000:01:00.0","board":"P40"},
                                          {"pci":"0000:01:00.0","board":"P40"}]})"),
            "gpus[1].pci");
  EXPECT_EQ(FieldOfError(Host, R"({"gpus":[{"pci":"0000:01:00.0","board":"P40","x":1}]})"),
            "gpus[0].x");
  EXPECT_EQ(FieldOfError(Host, R"({"name":"h"})"), "name");
}

TEST(AuthBodiesTest, DecodesTokenRequests) {
  absl::StatusOr<TokenRequest> t = DecodeTokenRequest(
      nlohmann::json::parse(R"({"name":"ci-bot","role":"operator","expires_in_seconds":60})"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->role, store::Role::kOperator);
  EXPECT_EQ(t->expires_in_seconds, 60);
  EXPECT_EQ(DecodeTokenRequest(t->ToJson()).value(), *t);

  EXPECT_EQ(FieldOfError(DecodeTokenRequest, R"({"role":"admin"})"), "name");
  EXPECT_EQ(FieldOfError(DecodeTokenRequest, R"({"name":"a"})"), "role");
  EXPECT_EQ(FieldOfError(DecodeTokenRequest, R"({"name":"a","role":"root"})"), "role");
  EXPECT_EQ(FieldOfError(DecodeTokenRequest, R"({"name":"a b","role":"admin"})"), "name");
  EXPECT_EQ(
      FieldOfError(DecodeTokenRequest, R"({"name":"a","role":"admin","expires_in_seconds":0})"),
      "expires_in_seconds");
  EXPECT_EQ(FieldOfError(DecodeTokenRequest, R"({"name":"a","role":"admin","scope":"x"})"),
            "scope");
}

TEST(AuthBodiesTest, DecodesEnrolmentBodies) {
  absl::StatusOr<EnrolmentTokenRequest> e =
      DecodeEnrolmentTokenRequest(nlohmann::json::parse(R"({"host":"r730-1"})"));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(e->expires_in_seconds.has_value());
  EXPECT_EQ(DecodeEnrolmentTokenRequest(e->ToJson()).value(), *e);
  EXPECT_EQ(FieldOfError(DecodeEnrolmentTokenRequest, R"({})"), "host");
  EXPECT_EQ(FieldOfError(DecodeEnrolmentTokenRequest, R"({"host":"-x"})"), "host");
  EXPECT_EQ(
      FieldOfError(DecodeEnrolmentTokenRequest, R"({"host":"h","expires_in_seconds":400000000})"),
      "expires_in_seconds");

  absl::StatusOr<EnrolRequest> enrol =
      DecodeEnrolRequest(nlohmann::json::parse(R"({"token":"x"})"));
  ASSERT_TRUE(enrol.ok()) << enrol.status();
  EXPECT_EQ(enrol->token, "x");  // the prefix is the handler's (an authentication failure)
  EXPECT_EQ(FieldOfError(DecodeEnrolRequest, R"({"token":5})"), "token");
  EXPECT_EQ(FieldOfError(DecodeEnrolRequest, R"({"token":"x","host":"h"})"), "host");
  EXPECT_EQ(FieldOfError(DecodeEnrolRequest, R"("x")"), "body");
}

TEST(LicenseBodiesTest, DecodesPoolsAndLeases) {
  absl::StatusOr<LicensePoolRequest> p =
      Pool(nlohmann::json::parse(R"({"edition":"vws","seats":16})"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->edition, "vWS");
  EXPECT_EQ(p->seats, 16);
  EXPECT_EQ(Pool(p->ToJson()).value(), *p);
  EXPECT_EQ(FieldOfError(Pool, R"({"seats":1})"), "edition");
  EXPECT_EQ(FieldOfError(Pool, R"({"edition":"vGPU","seats":1})"), "edition");
  EXPECT_EQ(FieldOfError(Pool, R"({"edition":"vWS"})"), "seats");
  EXPECT_EQ(FieldOfError(Pool, R"({"edition":"vWS","seats":-1})"), "seats");
  EXPECT_EQ(FieldOfError(Pool, R"({"edition":"vWS","seats":100001})"), "seats");

  absl::StatusOr<LeaseReport> l =
      DecodeLeaseReport(nlohmann::json::parse(R"({"expires_in_seconds":0})"));
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(DecodeLeaseReport(l->ToJson()).value(), *l);
  EXPECT_EQ(FieldOfError(DecodeLeaseReport, R"({})"), "expires_in_seconds");
  EXPECT_EQ(FieldOfError(DecodeLeaseReport, R"({"expires_in_seconds":2678401})"),
            "expires_in_seconds");
  EXPECT_EQ(FieldOfError(DecodeLeaseReport, R"({"expires_in_seconds":1.5})"), "expires_in_seconds");
}

}  // namespace
}  // namespace gpufleet::controller
