#include "cli/online_inventory.h"

#include <map>
#include <vector>

#include "cli/online_common.h"
#include "common/strings.h"

namespace gpufleet::cli {
namespace {

using nlohmann::json;

// "2 x P40" or "1 x A16, 2 x T4": how many GPUs of each board.
std::string GpuSummary(const json& gpus) {
  if (!gpus.is_array() || gpus.empty()) return "none";
  std::map<std::string, int> by_board;
  for (const json& g : gpus) ++by_board[StrOr(g, "board", "?")];
  std::vector<std::string> parts;
  for (const auto& [board, n] : by_board) parts.push_back(StrCat(n, " x ", board));
  return StrJoin(parts, ", ");
}

}  // namespace

absl::Status RunHosts(Context& ctx, std::ostream& out) {
  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  absl::StatusOr<ApiReply> r =
      (*client)->Do({.method = "GET", .path = "/api/v1/hosts", .what = "hosts"});
  if (!r.ok()) return r.status();
  if (WriteStructured(ctx.format, r->body, out)) return absl::OkStatus();
  const json& items = r->body["items"];
  if (!items.is_array() || items.empty()) {
    out << "No hosts yet. Agents register them ('gpufleetd agent'); see docs/cli-online.md.\n";
    return absl::OkStatus();
  }
  Table t({"HOST", "STATE", "GPUS", "MANAGER", "HYPERVISOR", "AGENT", "LAST HEARTBEAT"});
  for (const json& h : items) {
    t.AddRow({StrOr(h, "name"), StrOr(h, "state"), GpuSummary(h.value("gpus", json::array())),
              StrOr(h, "manager_version"), StrOr(h, "hypervisor"), StrOr(h, "agent"),
              StrOr(h, "last_heartbeat")});
  }
  t.Print(out);
  return absl::OkStatus();
}

absl::Status RunHostDelete(Context& ctx, const std::string& host, std::ostream& out) {
  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  absl::StatusOr<ApiReply> r = (*client)->Do({.method = "DELETE",
                                              .path = StrCat("/api/v1/hosts/", UrlEscape(host)),
                                              .what = StrCat("host delete ", host),
                                              .needs_role = "admin"});
  if (!r.ok()) return r.status();
  if (WriteStructured(ctx.format, json{{"deleted", host}}, out)) return absl::OkStatus();
  out << "Deleted host " << host << " with its GPUs. Its agent's credential is revoked; to bring "
      << "the host back, enrol its agent again:\n  gpufleet tokens enrol " << host << "\n";
  return absl::OkStatus();
}

absl::Status RunGpus(Context& ctx, const GpusOptions& o, std::ostream& out) {
  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  std::string path = "/api/v1/gpus";
  std::vector<std::string> query;
  if (o.host) query.push_back(StrCat("host=", UrlEscape(*o.host)));
  if (o.board) query.push_back(StrCat("board=", UrlEscape(*o.board)));
  if (!query.empty()) path += StrCat("?", StrJoin(query, "&"));
  absl::StatusOr<ApiReply> r = (*client)->Do({.method = "GET", .path = path, .what = "gpus"});
  if (!r.ok()) return r.status();
  if (WriteStructured(ctx.format, r->body, out)) return absl::OkStatus();
  const json& items = r->body["items"];
  if (!items.is_array() || items.empty()) {
    out << "No GPUs" << (query.empty() ? "" : " match") << ".\n";
    return absl::OkStatus();
  }
  Table t({"HOST", "GPU", "BOARD", "MODE", "CARVED", "ECC", "HELD"});
  for (const json& g : items) {
    t.AddRow({StrOr(g, "host"), StrOr(g, "pci"), StrOr(g, "board"), StrOr(g, "mode"),
              StrOr(g, "carved_type"), g.value("ecc", false) ? "on" : "off",
              g.value("held", false) ? "yes" : "no"});
  }
  t.Print(out);
  return absl::OkStatus();
}

}  // namespace gpufleet::cli
