#include "cli/online_operations.h"

#include <chrono>
#include <map>
#include <thread>
#include <vector>

#include "cli/online_common.h"
#include "cli/output.h"
#include "common/strings.h"

namespace gpufleet::cli {
namespace {

using nlohmann::json;

bool Ended(std::string_view state) {
  return state == "succeeded" || state == "failed" || state == "cancelled";
}

bool StepEnded(std::string_view state) {
  return state == "done" || state == "failed" || state == "rolled-back";
}

std::string Joined(const json& list) {
  std::vector<std::string> parts;
  if (list.is_array()) {
    for (const json& s : list) parts.push_back(s.is_string() ? s.get<std::string>() : s.dump());
  }
  return parts.empty() ? "-" : StrJoin(parts, ", ");
}

std::string Number(const json& j, std::string_view key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return "-";
  if (it->is_number_integer()) return it->dump();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", it->get<double>());
  return buf;
}

std::string Progress(const json& op) {
  const json& p = op.value("progress", json::object());
  return StrCat(Number(p, "done"), "/", Number(p, "total"));
}

// One line about a step: what it acts on and, once done, what it did.
std::string StepSummary(const json& step) {
  const json& d = step.value("detail", json::object());
  const json& result = d.value("result", json::object());
  const std::string kind = StrOr(step, "kind", "");
  if (kind == "move" || kind == "restart") {
    std::string to = StrOr(result.value("to", json::object()), "host", "");
    if (to.empty()) to = StrOr(d.value("to", json::object()), "host", "(planner's choice)");
    std::string line = StrCat("vm ", StrOr(d, "vm"), ": ", StrOr(d, "from"), " -> ", to);
    if (result.contains("skipped"))
      line = StrCat("vm ", StrOr(d, "vm"), ": skipped, ", StrOr(result, "skipped"));
    return line;
  }
  if (kind == "await") {
    if (result.contains("skipped")) {
      return StrCat("vm ", StrOr(d, "vm"), ": skipped, ", StrOr(result, "skipped"));
    }
    if (result.contains("observed_at")) {
      return StrCat("vm ", StrOr(d, "vm"), ": reported by ", StrOr(d, "host"));
    }
    return StrCat("vm ", StrOr(d, "vm"), ": waiting for ", StrOr(d, "host"),
                  "'s agent to report it (until ", StrOr(d, "deadline"), ")");
  }
  if (kind == "maintenance") return StrCat("host ", StrOr(d, "host"), " takes no new VMs");
  if (kind == "exit-maintenance") return StrCat("host ", StrOr(d, "host"), " takes new VMs");
  if (kind == "plan-evacuation") {
    return StrCat("host ", StrOr(d, "host"), ": ", Number(result, "moves"), " move(s) planned");
  }
  if (kind == "plan-restart") {
    if (result.contains("skipped")) return StrOr(result, "skipped");
    return StrCat("host ", StrOr(d, "host"), ": ", Number(result, "restarts"), " restart(s)");
  }
  if (kind == "hold" || kind == "release") {
    std::vector<std::string> gpus;
    for (const json& g : d.value("gpus", json::array())) {
      gpus.push_back(StrCat(StrOr(g, "host"), "/", StrOr(g, "gpu")));
    }
    return StrJoin(gpus, ", ");
  }
  if (kind == "recarve") {
    return StrCat(StrOr(d, "host"), "/", StrOr(d, "gpu"), " -> ", StrOr(d, "mode"),
                  d.contains("type") && !StrOr(d, "type", "").empty()
                      ? StrCat(" ", StrOr(d, "type"))
                      : std::string());
  }
  return "";
}

void PrintMoves(const json& moves, std::ostream& out) {
  Table t({"VM", "FROM", "TO", "GPUS", "TYPES", "STUN (s)"});
  for (const json& m : moves) {
    const json& to = m.value("to", json::object());
    t.AddRow({StrOr(m, "vm"), StrOr(m, "from"), StrOr(to, "host"),
              Joined(to.value("gpus", json::array())), Joined(to.value("types", json::array())),
              Number(m, "stun_seconds")});
  }
  t.Print(out);
}

void PrintPlan(const json& reply, std::ostream& out) {
  const json& plan = reply.value("plan", json::object());
  const json& moves = plan.value("moves", json::array());
  const json& stuck =
      plan.contains("stuck") ? plan["stuck"] : plan.value("cannot_restart", json::array());
  if (!moves.empty()) {
    out << '\n';
    PrintMoves(moves, out);
  }
  if (plan.contains("vms")) out << '\n' << Number(plan, "vms") << " VM(s) to restart.\n";
  const json& recarves = plan.value("recarves", json::array());
  if (!recarves.empty()) {
    out << '\n';
    Table t({"RE-CARVE HOST", "GPU", "FROM", "TO"});
    for (const json& r : recarves) {
      t.AddRow(
          {StrOr(r, "host"), StrOr(r, "gpu"), StrOr(r, "from", "unconfigured"), StrOr(r, "to")});
    }
    t.Print(out);
  }
  if (plan.contains("to") && plan["to"].is_object()) {
    out << '\n'
        << StrOr(plan, "host") << " " << StrOr(plan, "gpu") << ": " << StrOr(plan["from"], "mode")
        << " " << StrOr(plan["from"], "type", "") << " -> " << StrOr(plan["to"], "mode") << " "
        << StrOr(plan["to"], "type", "") << '\n';
  }
  if (!stuck.empty()) {
    out << '\n';
    Table t({"VM", "CANNOT MOVE BECAUSE"});
    for (const json& s : stuck) t.AddRow({StrOr(s, "vm"), StrOr(s, "reason")});
    t.Print(out);
  }
  if (!StrOr(plan, "explanation", "").empty()) out << '\n' << StrOr(plan, "explanation") << '\n';
  if (!reply.value("can_run", true))
    out << "\nIt cannot run now: " << StrOr(reply, "blocked") << '\n';
}

absl::StatusOr<json> GetOperation(Client& client, const std::string& id) {
  absl::StatusOr<ApiReply> r = client.Do({.method = "GET",
                                          .path = StrCat("/api/v1/operations/", UrlEscape(id)),
                                          .what = StrCat("operation ", id)});
  if (!r.ok()) return r.status();
  return r->body;
}

// Waits for the operation to end, printing each step as it ends (unless quiet). Returns it.
absl::StatusOr<json> Follow(Client& client, const std::string& id, int poll_ms, bool quiet,
                            std::ostream& out) {
  std::map<int, std::string> shown;
  for (;;) {
    absl::StatusOr<json> op = GetOperation(client, id);
    if (!op.ok()) return op.status();
    const json& steps = op->value("steps", json::array());
    for (const json& s : steps) {
      const int index = s.value("index", -1);
      const std::string state = StrOr(s, "state", "");
      if (!StepEnded(state) || shown[index] == state || quiet) continue;
      shown[index] = state;
      std::string line = StrCat("  [", index + 1, "/", steps.size(), "] ", StrOr(s, "kind"), " ",
                                StepSummary(s), ": ", state);
      const json& d = s.value("detail", json::object());
      if (state == "failed") line += StrCat(" (", StrOr(d, "error"), ")");
      out << line << '\n' << std::flush;
    }
    if (Ended(StrOr(*op, "state", ""))) return *op;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
}

void PrintEnd(const json& op, std::ostream& out) {
  out << "Operation " << StrOr(op, "id") << " " << StrOr(op, "state");
  if (!StrOr(op, "error", "").empty()) out << ": " << StrOr(op, "error");
  out << '\n';
}

}  // namespace

absl::Status RunOperationStart(Context& ctx, json request, const OperationStartOptions& o,
                               const std::string& what, std::ostream& out) {
  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  request["dry_run"] = o.dry_run;
  absl::StatusOr<ApiReply> r = (*client)->Do({.method = "POST",
                                              .path = "/api/v1/operations",
                                              .body = request,
                                              .what = what,
                                              .needs_role = "operator"});
  if (!r.ok()) return r.status();
  if (o.dry_run) {
    ctx.exit_code = r->body.value("can_run", false) ? 0 : 1;
    if (WriteStructured(ctx.format, r->body, out)) return absl::OkStatus();
    out << what << " (dry run, nothing changes): "
        << (r->body.value("can_run", false) ? "it can run now." : "it cannot run now.") << '\n';
    PrintPlan(r->body, out);
    return absl::OkStatus();
  }
  const std::string id = StrOr(r->body, "id", "");
  const bool structured = ctx.format != OutputFormat::kTable;
  if (o.no_wait) {
    if (WriteStructured(ctx.format, r->body, out)) return absl::OkStatus();
    out << "Started operation " << id << " (" << StrOr(r->body, "kind") << " "
        << StrOr(r->body, "target") << ").\nFollow it: gpufleet operations show " << id
        << " --wait\n";
    return absl::OkStatus();
  }
  if (!structured) {
    out << "Operation " << id << " (" << StrOr(r->body, "kind") << " " << StrOr(r->body, "target")
        << ") started.\n"
        << std::flush;
  }
  absl::StatusOr<json> done = Follow(**client, id, o.poll_ms, structured, out);
  if (!done.ok()) return done.status();
  ctx.exit_code = StrOr(*done, "state", "") == "succeeded" ? 0 : 1;
  if (WriteStructured(ctx.format, *done, out)) return absl::OkStatus();
  PrintEnd(*done, out);
  return absl::OkStatus();
}

absl::Status RunOperationsList(Context& ctx, const OperationsListOptions& o, std::ostream& out) {
  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  std::string path = StrCat("/api/v1/operations?limit=", o.limit);
  if (!o.state.empty()) path += StrCat("&state=", UrlEscape(o.state));
  if (!o.kind.empty()) path += StrCat("&kind=", UrlEscape(o.kind));
  absl::StatusOr<ApiReply> r = (*client)->Do({.method = "GET", .path = path, .what = "operations"});
  if (!r.ok()) return r.status();
  const json& items = r->body.value("items", json::array());
  if (!WriteStructured(ctx.format, r->body, out)) {
    if (items.empty()) {
      out << "No operations" << (o.state.empty() && o.kind.empty() ? "" : " match") << ".\n";
    } else {
      Table t({"ID", "KIND", "TARGET", "STATE", "PROGRESS", "CREATED", "BY", "ERROR"});
      for (const json& op : items) {
        t.AddRow({StrOr(op, "id"), StrOr(op, "kind"), StrOr(op, "target"), StrOr(op, "state"),
                  Progress(op), StrOr(op, "created_at"), StrOr(op, "actor", "controller"),
                  StrOr(op, "error")});
      }
      t.Print(out, 160);
    }
  }
  if (!o.watch) return absl::OkStatus();
  // Follow every operation that has not ended, oldest first, until none is left.
  for (;;) {
    std::vector<std::string> active;
    for (const char* state : {"running", "pending"}) {
      absl::StatusOr<ApiReply> a =
          (*client)->Do({.method = "GET",
                         .path = StrCat("/api/v1/operations?limit=1000&state=", state),
                         .what = "operations"});
      if (!a.ok()) return a.status();
      for (const json& op : a->body.value("items", json::array())) {
        active.insert(active.begin(), StrOr(op, "id", ""));
      }
    }
    if (active.empty()) {
      if (ctx.format == OutputFormat::kTable) out << "No operation is pending or running.\n";
      return absl::OkStatus();
    }
    for (const std::string& id : active) {
      const bool quiet = ctx.format != OutputFormat::kTable;
      if (!quiet) out << "Following " << id << ":\n" << std::flush;
      absl::StatusOr<json> done = Follow(**client, id, o.poll_ms, quiet, out);
      if (!done.ok()) return done.status();
      if (!WriteStructured(ctx.format, *done, out)) PrintEnd(*done, out);
    }
  }
}

absl::Status RunOperationShow(Context& ctx, const std::string& id, bool wait, std::ostream& out) {
  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  absl::StatusOr<json> op = wait
                                ? Follow(**client, id, 250, ctx.format != OutputFormat::kTable, out)
                                : GetOperation(**client, id);
  if (!op.ok()) return op.status();
  if (wait) ctx.exit_code = StrOr(*op, "state", "") == "succeeded" ? 0 : 1;
  if (WriteStructured(ctx.format, *op, out)) return absl::OkStatus();
  out << "Operation " << StrOr(*op, "id") << ": " << StrOr(*op, "kind") << " "
      << StrOr(*op, "target") << ", " << StrOr(*op, "state") << " (" << Progress(*op)
      << " steps), by " << StrOr(*op, "actor", "the controller") << ", created "
      << StrOr(*op, "created_at") << '\n';
  if (!StrOr(*op, "error", "").empty()) out << "Error: " << StrOr(*op, "error") << '\n';
  if (op->value("cancel_requested", false) && !Ended(StrOr(*op, "state", ""))) {
    out << "A cancel was requested: it stops before its next step.\n";
  }
  const json& steps = op->value("steps", json::array());
  if (!steps.empty()) {
    out << '\n';
    Table t({"#", "STEP", "STATE", "WHAT"});
    for (const json& s : steps) {
      std::string what = StepSummary(s);
      const json& d = s.value("detail", json::object());
      if (StrOr(s, "state", "") == "failed") what += StrCat(" (", StrOr(d, "error"), ")");
      t.AddRow(
          {std::to_string(s.value("index", -1) + 1), StrOr(s, "kind"), StrOr(s, "state"), what});
    }
    t.Print(out, 160);
  }
  return absl::OkStatus();
}

absl::Status RunOperationCancel(Context& ctx, const std::string& id, std::ostream& out) {
  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  absl::StatusOr<ApiReply> r =
      (*client)->Do({.method = "POST",
                     .path = StrCat("/api/v1/operations/", UrlEscape(id), "/cancel"),
                     .body = json::object(),
                     .what = StrCat("cancel operation ", id),
                     .needs_role = "operator"});
  if (!r.ok()) return r.status();
  if (WriteStructured(ctx.format, r->body, out)) return absl::OkStatus();
  out << "Cancel requested for " << id
      << ": it stops before its next step and undoes what it can.\nFollow it: gpufleet "
         "operations show "
      << id << " --wait\n";
  return absl::OkStatus();
}

}  // namespace gpufleet::cli
