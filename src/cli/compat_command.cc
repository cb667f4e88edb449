#include "cli/compat_command.h"

#include <set>

#include "absl/status/status.h"
#include "common/strings.h"
#include "core/compat.h"

namespace gpufleet::cli {
namespace {

using nlohmann::json;

// Parses an optional flag value with `parse`, prefixing any error with the flag's name.
template <typename T, typename Parse>
absl::Status ParseFlag(const std::optional<std::string>& value, std::string_view flag, Parse parse,
                       std::optional<T>& out) {
  if (!value) return absl::OkStatus();
  absl::StatusOr<T> parsed = parse(*value);
  if (!parsed.ok()) {
    return absl::Status(parsed.status().code(),
                        StrCat(flag, ": ", ToStd(parsed.status().message())));
  }
  out = *std::move(parsed);
  return absl::OkStatus();
}

absl::StatusOr<bool> ParseOnOff(std::string_view text) {
  const std::string t = AsciiLower(text);
  if (t == "on" || t == "true" || t == "yes" || t == "1" || t == "enabled") return true;
  if (t == "off" || t == "false" || t == "no" || t == "0" || t == "disabled") return false;
  return absl::InvalidArgumentError(StrCat(QuoteForMessage(text), " is not on/off (true/false)"));
}

json FindingJson(const core::Finding& f) {
  return {{"rule", f.rule},     {"subject", f.subject}, {"verdict", core::VerdictName(f.verdict)},
          {"reason", f.reason}, {"sources", f.sources}, {"inferred", f.inferred}};
}

std::string Summary(const core::CompatReport& r) {
  int warn = 0, fail = 0, unknown = 0;
  for (const core::Finding& f : r.findings) {
    warn += f.verdict == core::Verdict::kWarn;
    fail += f.verdict == core::Verdict::kFail;
    unknown += f.verdict == core::Verdict::kUnknown;
  }
  auto count = [](int n, std::string_view what) { return StrCat(n, " ", what, n == 1 ? "" : "s"); };
  std::string s =
      fail > 0 ? StrCat("NOT compatible: ", count(fail, "rule"), " failed") : "compatible";
  std::vector<std::string> extra;
  if (warn > 0) extra.push_back(count(warn, "warning"));
  if (unknown > 0) extra.push_back(StrCat(unknown, " unknown"));
  if (!extra.empty()) s += StrCat(fail > 0 ? ", " : ", with ", StrJoin(extra, ", "));
  return s;
}

// Prints the report as verdict blocks, then the citations of every source it used.
void PrintReport(const Context& ctx, const core::CompatReport& report, std::string_view title,
                 std::ostream& out) {
  out << title << " (as of " << ctx.today.ToString() << ")\n\n";
  if (report.findings.empty()) {
    out << "Nothing to check: give at least one of --board, --profile, --host-driver, "
           "--guest-driver, --cuda, --release (see --help).\n";
    return;
  }
  std::size_t rule_width = 0;
  for (const core::Finding& f : report.findings) rule_width = std::max(rule_width, f.rule.size());
  const std::string indent(9 + rule_width + 2, ' ');
  std::set<std::string> cited;
  for (const core::Finding& f : report.findings) {
    std::string verdict(core::VerdictName(f.verdict));
    out << verdict << std::string(9 - verdict.size(), ' ') << f.rule
        << std::string(rule_width - f.rule.size() + 2, ' ') << f.subject << '\n';
    out << indent << Wrap(f.reason, 100 - indent.size(), indent) << '\n';
    if (!f.sources.empty() || f.inferred) {
      out << indent << "source: " << (f.sources.empty() ? "-" : StrJoin(f.sources, ", "))
          << (f.inferred ? "  (inferred)" : "") << '\n';
    }
    cited.insert(f.sources.begin(), f.sources.end());
  }
  out << "\nResult: " << Summary(report) << ".\n";
  if (!cited.empty()) {
    out << "\nSources:\n";
    for (const std::string& id : cited) {
      const core::Source* s = ctx.catalog->FindSource(id);
      out << "  " << id << ": "
          << Wrap(s ? s->citation : "?", 96 - id.size(), std::string(id.size() + 4, ' ')) << '\n';
    }
  }
}

void Emit(Context& ctx, const core::CompatReport& report, json query, std::string_view title,
          std::ostream& out) {
  ctx.exit_code = report.Overall() == core::Verdict::kFail ? 1 : 0;
  json findings = json::array();
  json sources = json::object();
  for (const core::Finding& f : report.findings) {
    findings.push_back(FindingJson(f));
    for (const std::string& id : f.sources) {
      if (const core::Source* s = ctx.catalog->FindSource(id)) sources[id] = s->citation;
    }
  }
  json doc = {{"query", std::move(query)},
              {"as_of", ctx.today.ToString()},
              {"verdict", core::VerdictName(report.Overall())},
              {"findings", std::move(findings)},
              {"sources", std::move(sources)}};
  if (WriteStructured(ctx.format, doc, out)) return;
  PrintReport(ctx, report, title, out);
}

}  // namespace

absl::Status RunCompat(Context& ctx, const CompatOptions& o, std::ostream& out) {
  core::CompatQuery q;
  q.today = ctx.today;
  q.board = o.board;
  q.profiles = o.profiles;
  q.license = o.license;
  q.feature_type = o.feature_type;
  if (o.feature_type && (*o.feature_type < 0 || *o.feature_type > 255)) {
    return absl::InvalidArgumentError(
        StrCat("--feature-type ", *o.feature_type, ": expected a gridd.conf FeatureType 0..255"));
  }
  for (auto [value, flag, out_field] :
       {std::tuple{&o.host_driver, "--host-driver", &q.host_driver},
        std::tuple{&o.guest_driver, "--guest-driver", &q.guest_driver}}) {
    if (absl::Status s = ParseFlag(*value, flag, core::DriverVersion::Parse, *out_field); !s.ok())
      return s;
  }
  if (absl::Status s = ParseFlag(o.cuda, "--cuda", core::CudaVersion::Parse, q.cuda); !s.ok())
    return s;
  if (absl::Status s = ParseFlag(o.release, "--release", core::ReleaseVersion::Parse, q.release);
      !s.ok())
    return s;
  if (o.guest_os) {
    const std::string os = AsciiLower(*o.guest_os);
    if (os != "linux" && os != "windows") {
      return absl::InvalidArgumentError(
          StrCat("--guest-os ", QuoteForMessage(*o.guest_os), ": expected linux or windows"));
    }
    q.guest_os = os == "windows" ? core::GuestOs::kWindows : core::GuestOs::kLinux;
  }
  absl::StatusOr<core::CompatReport> report = core::CheckCompatibility(*ctx.catalog, q);
  if (!report.ok()) return report.status();

  json query = json::object();
  std::vector<std::string> parts;
  auto note = [&](std::string_view key, const std::optional<std::string>& v,
                  std::string_view label) {
    if (!v) return;
    query[std::string(key)] = *v;
    parts.push_back(StrCat(label, *v));
  };
  note("board", o.board, "board ");
  note("release", o.release, "release ");
  note("host_driver", o.host_driver, "manager ");
  note("guest_driver", o.guest_driver, "guest ");
  note("guest_os", o.guest_os, "guest OS ");
  note("cuda", o.cuda, "CUDA ");
  note("license", o.license, "license ");
  if (!o.profiles.empty()) {
    query["profiles"] = o.profiles;
    parts.push_back(StrCat("profiles ", StrJoin(o.profiles, " ")));
  }
  if (o.feature_type) {
    query["feature_type"] = *o.feature_type;
    parts.push_back(StrCat("FeatureType ", *o.feature_type));
  }
  Emit(ctx, *report, std::move(query),
       StrCat("Compatibility of ", parts.empty() ? "nothing" : StrJoin(parts, ", ")), out);
  return absl::OkStatus();
}

absl::Status RunCompatMigration(Context& ctx, const MigrationOptions& o, std::ostream& out) {
  core::MigrationQuery q;
  const std::string hv = AsciiLower(o.hypervisor);
  if (hv == "kvm") {
    q.hypervisor = core::Hypervisor::kKvm;
  } else if (hv == "vsphere") {
    q.hypervisor = core::Hypervisor::kVsphere;
  } else {
    return absl::InvalidArgumentError(
        StrCat("--hypervisor ", QuoteForMessage(o.hypervisor), ": expected kvm or vsphere"));
  }
  for (auto [value, flag, field] :
       {std::tuple{&o.src_host_driver, "--src-host-driver", &q.src_host_driver},
        std::tuple{&o.dst_host_driver, "--dst-host-driver", &q.dst_host_driver},
        std::tuple{&o.guest_driver, "--guest-driver", &q.guest_driver}}) {
    if (absl::Status s = ParseFlag(*value, flag, core::DriverVersion::Parse, *field); !s.ok())
      return s;
  }
  for (auto [value, flag, field] : {std::tuple{&o.src_ecc, "--src-ecc", &q.src_ecc},
                                    std::tuple{&o.dst_ecc, "--dst-ecc", &q.dst_ecc},
                                    std::tuple{&o.hotmigrate, "--hotmigrate", &q.hotmigrate}}) {
    if (absl::Status s = ParseFlag(*value, flag, ParseOnOff, *field); !s.ok()) return s;
  }
  if (o.hotmigrate && q.hypervisor == core::Hypervisor::kKvm) {
    return absl::InvalidArgumentError(
        "--hotmigrate: vgpu.hotmigrate.enabled is a vCenter setting; use it with --hypervisor "
        "vsphere");
  }
  q.src_profile = o.src_profile;
  q.dst_profile = o.dst_profile;
  absl::StatusOr<core::CompatReport> report = core::CheckMigration(*ctx.catalog, q);
  if (!report.ok()) return report.status();
  json query = {{"hypervisor", hv}};
  for (auto [key, value] :
       {std::pair{"src_host_driver", &o.src_host_driver},
        std::pair{"dst_host_driver", &o.dst_host_driver},
        std::pair{"guest_driver", &o.guest_driver}, std::pair{"src_profile", &o.src_profile},
        std::pair{"dst_profile", &o.dst_profile}, std::pair{"src_ecc", &o.src_ecc},
        std::pair{"dst_ecc", &o.dst_ecc}, std::pair{"hotmigrate", &o.hotmigrate}}) {
    if (*value) query[key] = **value;
  }
  Emit(ctx, *report, std::move(query),
       StrCat("Live migration on ", hv == "kvm" ? "KVM" : "vSphere"), out);
  return absl::OkStatus();
}

}  // namespace gpufleet::cli
