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

absl::Status RunHostInstances(Context& ctx, const std::string& host, std::ostream& out) {
  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  const std::string base = StrCat("/api/v1/hosts/", UrlEscape(host));
  const std::string what = StrCat("host instances ", host);
  absl::StatusOr<ApiReply> seen =
      (*client)->Do({.method = "GET", .path = StrCat(base, "/instances"), .what = what});
  if (!seen.ok()) return seen.status();
  absl::StatusOr<ApiReply> desired =
      (*client)->Do({.method = "GET", .path = StrCat(base, "/desired"), .what = what});
  if (!desired.ok()) return desired.status();
  json doc = seen->body;
  doc["holds"] = desired->body.value("holds", json::array());
  doc["departures"] = desired->body.value("departures", json::array());
  if (WriteStructured(ctx.format, doc, out)) return absl::OkStatus();
  auto list = [&](const char* key) -> const json& {
    static const json kNone = json::array();
    const json& v = doc[key];
    return v.is_array() ? v : kNone;
  };
  const json& items = list("items");
  out << "Host " << host << ": " << items.size() << " vGPU instance"
      << (items.size() == 1 ? "" : "s") << " reported by its agent\n";
  if (!items.empty()) {
    Table t({"VGPU", "VM", "TYPE", "GPU", "STATE", "IN USE", "SEEN"});
    for (const json& i : items) {
      t.AddRow({StrOr(i, "uuid"), StrOr(i, "vm"), StrOr(i, "type"), StrOr(i, "gpu"),
                StrOr(i, "state"), i.value("active", false) ? "yes" : "no",
                StrOr(i, "observed_at")});
    }
    out << "\n";
    t.Print(out);
  }
  if (!list("missing").empty()) {
    out << "\nDesired here, not reported yet (the agent creates them):\n";
    Table t({"VGPU", "VM", "TYPE", "GPU"});
    for (const json& m : list("missing")) {
      t.AddRow({StrOr(m, "uuid"), StrOr(m, "vm"), StrOr(m, "type"), StrOr(m, "gpu")});
    }
    t.Print(out);
  }
  if (!list("leftovers").empty()) {
    out << "\nCopies of VMs that moved away, still here (the agent tears them down):\n";
    Table t({"VGPU", "VM", "SINCE"});
    for (const json& l : list("leftovers")) {
      t.AddRow({StrOr(l, "uuid"), StrOr(l, "vm"), StrOr(l, "since")});
    }
    t.Print(out);
  }
  if (!list("holds").empty()) {
    out << "\nNot started yet, another host may still run them:\n";
    for (const json& h : list("holds")) {
      out << "  " << StrOr(h, "vm") << ": " << StrOr(h, "reason") << "\n";
    }
  }
  if (!list("departures").empty()) {
    out << "\nTo live-migrate away:\n";
    for (const json& d : list("departures")) {
      out << "  " << StrOr(d, "vm") << " -> " << StrOr(d, "to") << " ("
          << (d.value("ready", false) ? "ready" : "waiting for the destination's vGPUs") << ")\n";
    }
  }
  if (!list("errors").empty()) {
    out << "\nProblems its agent reported in the last hour:\n";
    Table t({"LAST SEEN", "COUNT", "PROBLEM"});
    for (const json& e : list("errors")) {
      t.AddRow({StrOr(e, "last_seen"), std::to_string(e.value("count", 0LL)), StrOr(e, "message")});
    }
    t.Print(out);
  }
  if (!list("creatable").empty()) {
    out << "\nWhat each GPU's driver can still create:\n";
    for (const json& g : list("creatable")) {
      std::vector<std::string> types;
      for (const json& t : g.value("types", json::array())) {
        types.push_back(StrCat(StrOr(t, "type"), " x ", t.value("available", 0)));
      }
      out << "  " << StrOr(g, "gpu") << ": " << (types.empty() ? "nothing" : StrJoin(types, ", "))
          << "\n";
    }
  }
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
