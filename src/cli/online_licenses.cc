#include "cli/online_licenses.h"

#include <algorithm>
#include <vector>

#include "cli/online_common.h"
#include "cli/output.h"
#include "common/strings.h"

namespace gpufleet::cli {
namespace {

using nlohmann::json;

std::string Int(const json& j, std::string_view key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->dump() : "-";
}

// "23h 30m", "45s", "expired 2h ago".
std::string Remaining(const json& seat) {
  auto it = seat.find("expires_in_seconds");
  if (it == seat.end() || !it->is_number_integer()) return "-";
  long long s = it->get<long long>();
  const bool past = s <= 0;
  if (past) s = -s;
  std::string text = s >= 86400  ? StrCat(s / 86400, "d ", (s % 86400) / 3600, "h")
                     : s >= 3600 ? StrCat(s / 3600, "h ", (s % 3600) / 60, "m")
                     : s >= 60   ? StrCat(s / 60, "m ", s % 60, "s")
                                 : StrCat(s, "s");
  return past ? StrCat("expired ", text, " ago") : text;
}

int Urgency(const json& seat) {
  const std::string lease = StrOr(seat, "lease", "");
  return lease == "expired" ? 0 : lease == "expiring" ? 1 : lease == "unknown" ? 2 : 3;
}

}  // namespace

absl::Status RunLicenses(Context& ctx, const LicensesOptions& o, std::ostream& out) {
  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  using What = LicensesOptions::What;
  if (o.what == What::kPoolSet) {
    absl::StatusOr<ApiReply> r =
        (*client)->Do({.method = "PUT",
                       .path = StrCat("/api/v1/licenses/pools/", UrlEscape(o.pool)),
                       .body = json{{"edition", o.edition}, {"seats", o.seats}},
                       .what = StrCat("licenses pool set ", o.pool),
                       .needs_role = "admin"});
    if (!r.ok()) return r.status();
    if (WriteStructured(ctx.format, r->body, out)) return absl::OkStatus();
    out << "Pool " << o.pool << (r->status == 201 ? " created: " : " updated: ")
        << r->body.value("seats", 0) << " " << StrOr(r->body, "edition") << " seats.\n";
    return absl::OkStatus();
  }
  if (o.what == What::kPoolDelete) {
    absl::StatusOr<ApiReply> r =
        (*client)->Do({.method = "DELETE",
                       .path = StrCat("/api/v1/licenses/pools/", UrlEscape(o.pool)),
                       .what = StrCat("licenses pool delete ", o.pool),
                       .needs_role = "admin"});
    if (!r.ok()) return r.status();
    if (ctx.format == OutputFormat::kTable) out << "Pool " << o.pool << " deleted.\n";
    return absl::OkStatus();
  }
  absl::StatusOr<ApiReply> r =
      (*client)->Do({.method = "GET", .path = "/api/v1/licenses", .what = "licenses"});
  if (!r.ok()) return r.status();
  if (WriteStructured(ctx.format, r->body, out)) return absl::OkStatus();
  const json& editions = r->body.value("editions", json::array());
  if (editions.empty()) {
    out << "No license pools: placements are not limited by seats. Add one with\n"
           "  gpufleet licenses pool set vws-main --edition vWS --seats 16\n";
  } else {
    Table t({"EDITION", "SEATS", "USED", "FREE"});
    for (const json& e : editions) {
      t.AddRow({StrOr(e, "edition"), Int(e, "seats"), Int(e, "used"), Int(e, "free")});
    }
    t.Print(out);
    out << '\n';
    Table p({"POOL", "EDITION", "SEATS", "USED"});
    for (const json& pool : r->body.value("pools", json::array())) {
      p.AddRow(
          {StrOr(pool, "name"), StrOr(pool, "edition"), Int(pool, "seats"), Int(pool, "used")});
    }
    p.Print(out);
  }
  std::vector<json> seats;
  for (const json& s : r->body.value("seats", json::array())) seats.push_back(s);
  std::stable_sort(seats.begin(), seats.end(),
                   [](const json& a, const json& b) { return Urgency(a) < Urgency(b); });
  if (!seats.empty()) {
    out << '\n';
    Table t({"VM", "EDITION", "POOL", "LEASE", "EXPIRES IN"});
    int unlicensed = 0;
    for (const json& s : seats) {
      unlicensed += StrOr(s, "lease", "") == "expired" ? 1 : 0;
      t.AddRow(
          {StrOr(s, "vm"), StrOr(s, "edition"), StrOr(s, "pool"), StrOr(s, "lease"), Remaining(s)});
    }
    t.Print(out);
    if (unlicensed > 0) {
      out << '\n'
          << unlicensed << " guest" << (unlicensed == 1 ? " runs" : "s run")
          << " unlicensed (3 fps, CUDA disabled): check the license server and the guests' "
             "nvidia-gridd.\n";
    }
  }
  return absl::OkStatus();
}

}  // namespace gpufleet::cli
