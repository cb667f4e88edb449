// op.migrate, op.evacuate, op.exit-maintenance and op.cancel: durable operations under SIGKILL,
// and the checks that every acknowledged operation survives, resumes and ends cleanly.

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/strings.h"
#include "workloads.h"

namespace gpufleet::crash {
namespace {

struct OpRecord {
  std::string id;
  std::string kind;
  std::string target;
  bool cancel_sent = false;  // a cancel was sent (acknowledged or not)
  bool ended = false;        // seen in an end state, and checked
  bool broken = false;       // a check failed on it already
  std::string history;
};

// A POST that got no answer: found created (by kind and target) at the next check, or absent.
struct InFlight {
  std::string kind;
  std::string target;
  std::string history;
};

bool Ended(std::string_view state) {
  return state == "succeeded" || state == "failed" || state == "cancelled";
}

bool Undoable(std::string_view kind) { return kind == "maintenance" || kind == "hold"; }

class OperationWorkload final : public Workload {
 public:
  std::string_view name() const override { return "operations"; }

  std::vector<RequestKind> Kinds() override {
    return {{"op.migrate", 8, [this](IssueContext& c) { return Start(c, "migrate"); }},
            {"op.evacuate", 2, [this](IssueContext& c) { return Start(c, "evacuate"); }},
            {"op.exit-maintenance", 2,
             [this](IssueContext& c) { return Start(c, "exit-maintenance"); }},
            {"op.cancel", 1, [this](IssueContext& c) { return Cancel(c); }},
            {"agent.report", 6, [](IssueContext& c) { return ReportOne(c); }}};
  }

  void Check(const Snapshot& s, Findings& f) override;

  std::string Summary() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return StrCat("operations: ", acked_, " acknowledged, ", refused_, " refused, ",
                  in_flight_count_, " in flight (", settled_created_, " found created); ", ended_,
                  " ended (", succeeded_, " succeeded, ", failed_, " failed, ", cancelled_,
                  " cancelled); ", cancels_, " cancels sent; ", audited_moves_,
                  " moves matched to their events");
  }

 private:
  Sent Start(IssueContext& c, const std::string& kind);
  Sent Cancel(IssueContext& c);
  // What a converged agent does: a random host reports its desired instances as observed.
  static Sent ReportOne(IssueContext& c);
  // Every host reports (the agents keep running while the end check waits for operations).
  static void ReportAll(HttpClient& client);
  // Checks one operation read over the API; true when it has ended.
  bool CheckOne(OpRecord& r, const nlohmann::json& op, Findings& f);
  // Events of `kind` in the log, read over the API.
  static int CountEvents(HttpClient& client, std::string_view kind, Findings& f);
  // Sum of the moves and restarts the operations did; -1 when one could not be read.
  int DoneMoves(HttpClient& client, Findings& f);

  mutable std::mutex mu_;
  std::map<std::string, OpRecord> ops_;                              // guarded by mu_
  std::vector<InFlight> in_flight_;                                  // guarded by mu_
  int acked_ = 0, refused_ = 0, in_flight_count_ = 0, cancels_ = 0;  // guarded by mu_
  int settled_created_ = 0, ended_ = 0, succeeded_ = 0, failed_ = 0, cancelled_ = 0;
  int checks_ = 0, audited_moves_ = 0, open_ = 0;  // harness thread
};

// A random name from a list answer's items, or "".
std::string PickName(const Reply& reply, std::mt19937_64& rng) {
  nlohmann::json j = reply.Json();
  if (!j.is_object() || !j.contains("items") || !j["items"].is_array() || j["items"].empty()) {
    return "";
  }
  const nlohmann::json& items = j["items"];
  const nlohmann::json& item = items[rng() % items.size()];
  return item.is_object() ? item.value("name", "") : "";
}

Sent OperationWorkload::Start(IssueContext& c, const std::string& kind) {
  const bool on_vm = kind == "migrate";
  Reply list = c.client.Send("GET", on_vm ? "/api/v1/vms?limit=1000" : "/api/v1/hosts");
  if (!list.answered()) return Sent::kNoAnswer;
  const std::string name = PickName(list, c.rng);
  if (name.empty()) return Sent::kNothing;
  nlohmann::json body = {{"kind", kind}};
  body[on_vm ? "vm" : "host"] = name;
  const std::string target = StrCat(on_vm ? "vm/" : "host/", name);
  const std::string what = StrCat("POST /api/v1/operations ", body.dump());
  Reply reply = c.client.Send("POST", "/api/v1/operations", &body);
  c.Log(what, reply);
  const std::string history = StrCat(what, " answered ", reply.Describe(), " in round ", c.round);
  std::lock_guard<std::mutex> lock(mu_);
  if (reply.status == 202) {
    nlohmann::json op = reply.Json();
    const std::string id = op.is_object() ? op.value("id", "") : "";
    if (id.empty()) {
      c.findings.Fail(history, "202 with the operation's id", reply.body);
    } else {
      ++acked_;
      ops_[id] = OpRecord{id, kind, target, false, false, false, history};
    }
  } else if (reply.answered() && reply.status < 500) {
    ++refused_;
    // 404: the VM or host went away meanwhile; 409: cannot run now, or the target is busy.
    if (reply.status != 404 && reply.status != 409) {
      c.findings.Fail(history, "202, or 404/409 with the reason", reply.Describe());
    }
  } else {
    ++in_flight_count_;
    in_flight_.push_back({kind, target, history});
  }
  return reply.answered() ? Sent::kAnswered : Sent::kNoAnswer;
}

Sent OperationWorkload::Cancel(IssueContext& c) {
  std::string id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<OpRecord*> open;
    for (auto& [i, r] : ops_) {
      if (!r.ended && !r.broken) open.push_back(&r);
    }
    if (open.empty()) return Sent::kNothing;
    OpRecord* r = open[c.rng() % open.size()];
    r->cancel_sent = true;  // before sending: a cancel without answer may have applied
    id = r->id;
  }
  const std::string what = StrCat("POST /api/v1/operations/", id, "/cancel");
  Reply reply = c.client.Send("POST", StrCat("/api/v1/operations/", id, "/cancel"));
  c.Log(what, reply);
  std::lock_guard<std::mutex> lock(mu_);
  ++cancels_;
  OpRecord& r = ops_[id];
  r.history = StrCat(r.history, "; ", what, " answered ", reply.Describe(), " in round ", c.round);
  // 202: requested; 409: it had ended already.
  if (reply.answered() && reply.status != 202 && reply.status != 409 && reply.status < 500) {
    c.findings.Fail(r.history, "202, or 409 when it has ended", reply.Describe());
    r.broken = true;
  }
  return reply.answered() ? Sent::kAnswered : Sent::kNoAnswer;
}

// GET the host's desired instances and PUT them back as observed (as admin), with its departures
// as migrated; whether it was answered.
bool ReportAsAgent(HttpClient& client, const std::string& host, std::string* what, Reply* reply) {
  *what = StrCat("GET+PUT /api/v1/hosts/", host, "/instances");
  Reply desired = client.Send("GET", StrCat("/api/v1/hosts/", host, "/desired"));
  if (desired.status != 200) {
    *reply = desired;
    return desired.answered();
  }
  nlohmann::json d = desired.Json();
  nlohmann::json body = {{"instances", nlohmann::json::array()}};
  for (const nlohmann::json& i : d.value("instances", nlohmann::json::array())) {
    body["instances"].push_back({{"uuid", i.value("uuid", "")},
                                 {"gpu", i.value("gpu", "")},
                                 {"type", i.value("type", "")},
                                 {"placement", i.value("placement", -1)},
                                 {"vm", i.value("vm", "")},
                                 {"active", true}});
  }
  // An agent that migrates at once: every departure listed is done.
  for (const nlohmann::json& m : d.value("departures", nlohmann::json::array())) {
    if (!m.value("ready", false)) continue;
    body["migrations"].push_back(
        {{"vm", m.value("vm", "")}, {"to", m.value("to", "")}, {"stun_ms", 2000}});
  }
  *reply = client.Send("PUT", StrCat("/api/v1/hosts/", host, "/instances"), &body);
  return reply->answered();
}

Sent OperationWorkload::ReportOne(IssueContext& c) {
  Reply list = c.client.Send("GET", "/api/v1/hosts");
  if (!list.answered()) return Sent::kNoAnswer;
  const std::string host = PickName(list, c.rng);
  if (host.empty()) return Sent::kNothing;
  std::string what;
  Reply reply;
  const bool answered = ReportAsAgent(c.client, host, &what, &reply);
  c.Log(what, reply);
  // 200; 404 for a host that went away; no answer when the controller died meanwhile.
  if (answered && reply.status != 200 && reply.status != 404 && reply.status < 500) {
    c.findings.Fail(StrCat(what, " in round ", c.round), "200", reply.Describe());
  }
  return answered ? Sent::kAnswered : Sent::kNoAnswer;
}

void OperationWorkload::ReportAll(HttpClient& client) {
  Reply list = client.Send("GET", "/api/v1/hosts");
  if (list.status != 200) return;
  for (const nlohmann::json& h : list.Json().value("items", nlohmann::json::array())) {
    std::string what;
    Reply reply;
    (void)ReportAsAgent(client, h.value("name", ""), &what, &reply);
  }
}

bool OperationWorkload::CheckOne(OpRecord& r, const nlohmann::json& op, Findings& f) {
  const std::string state = op.value("state", "");
  const std::string request = StrCat("operation ", r.id, " [", r.history, "]");
  auto fail = [&](std::string_view expected, std::string_view actual) {
    f.Fail(request, expected, actual);
    r.broken = true;
    return false;
  };
  if (op.value("kind", "") != r.kind || op.value("target", "") != r.target) {
    return fail(StrCat(r.kind, " on ", r.target),
                StrCat(op.value("kind", ""), " on ", op.value("target", "")));
  }
  if (!Ended(state)) return false;
  const nlohmann::json& steps = op.value("steps", nlohmann::json::array());
  int failed_steps = 0;        // steps whose failure fails the operation
  int failed_best_effort = 0;  // the awaits of moved VMs
  std::vector<std::string> seen;
  for (const nlohmann::json& s : steps) {
    const std::string st = s.value("state", "");
    const std::string kind = s.value("kind", "");
    seen.push_back(StrCat(kind, ":", st));
    if (st == "running") return fail("no step left running in an operation that ended", kind);
    if (st == "failed") ++(kind == "await" ? failed_best_effort : failed_steps);
  }
  // A failed or cancelled operation undoes its maintenance and holds; one that failed only in
  // awaits (every VM moved, a host did not confirm in time) keeps them: its moves stand.
  const bool unwound = state == "cancelled" || (state == "failed" && failed_steps > 0);
  for (const nlohmann::json& s : steps) {
    const std::string kind = s.value("kind", "");
    if (unwound && s.value("state", "") == "done" && Undoable(kind)) {
      return fail(StrCat("every ", kind, " step undone when the operation is ", state),
                  StrJoin(seen, ", "));
    }
  }
  if (state == "succeeded") {
    for (const nlohmann::json& s : steps) {
      if (s.value("state", "") != "done") {
        return fail("every step done in a succeeded operation", StrJoin(seen, ", "));
      }
    }
    ++succeeded_;
  } else if (state == "failed") {
    if (op.value("error", "").empty() ||
        !(failed_steps == 1 || (failed_steps == 0 && failed_best_effort > 0))) {
      return fail(
          "a failed operation with its error and exactly one failed step (or only "
          "failed awaits)",
          StrCat("error '", op.value("error", ""), "', steps ", StrJoin(seen, ", ")));
    }
    ++failed_;
  } else {
    if (!r.cancel_sent) return fail("no cancel: none was requested", state);
    ++cancelled_;
  }
  r.history = StrCat(r.history, "; ended ", state);
  ++ended_;
  return true;
}

int OperationWorkload::CountEvents(HttpClient& client, std::string_view kind, Findings& f) {
  int count = 0;
  int64_t after = 0;
  for (;;) {
    Reply reply =
        client.Send("GET", StrCat("/api/v1/events?limit=1000&kind=", kind, "&after=", after));
    if (reply.status != 200) {
      f.Fail(StrCat("GET /api/v1/events?kind=", kind), "200", reply.Describe());
      return 0;
    }
    const nlohmann::json items = reply.Json().value("items", nlohmann::json::array());
    for (const nlohmann::json& e : items) after = std::max(after, e.value("seq", int64_t{0}));
    count += static_cast<int>(items.size());
    if (items.size() < 1000) return count;
  }
}

int OperationWorkload::DoneMoves(HttpClient& client, Findings& f) {
  int moves = 0;
  for (auto& [id, r] : ops_) {
    Reply reply = client.Send("GET", StrCat("/api/v1/operations/", id));
    if (reply.status != 200) {
      f.Fail(StrCat("operation ", id, " [", r.history, "]"), "200", reply.Describe());
      return -1;
    }
    for (const nlohmann::json& s : reply.Json().value("steps", nlohmann::json::array())) {
      const std::string kind = s.value("kind", "");
      if ((kind != "move" && kind != "restart") || s.value("state", "") != "done") continue;
      const nlohmann::json& detail = s.value("detail", nlohmann::json::object());
      const nlohmann::json& result = detail.value("result", nlohmann::json::object());
      if (!result.contains("skipped")) ++moves;
    }
  }
  return moves;
}

void OperationWorkload::Check(const Snapshot& s, Findings& f) {
  if (s.client == nullptr) return;  // operations are read over the API
  HttpClient& client = *s.client;
  std::lock_guard<std::mutex> lock(mu_);
  ++checks_;
  // Every operation listed was asked for: acknowledged, or in flight (then settled as created).
  Reply list = client.Send("GET", "/api/v1/operations?limit=1000");
  if (list.status != 200) {
    f.Fail("GET /api/v1/operations", "200", list.Describe());
    return;
  }
  for (const nlohmann::json& op : list.Json().value("items", nlohmann::json::array())) {
    const std::string id = op.value("id", "");
    if (ops_.contains(id)) continue;
    auto match = std::find_if(in_flight_.begin(), in_flight_.end(), [&](const InFlight& x) {
      return x.kind == op.value("kind", "") && x.target == op.value("target", "");
    });
    if (match == in_flight_.end()) {
      f.Fail(StrCat("operation ", id, " (", op.value("kind", ""), " ", op.value("target", ""),
                    ") in the API"),
             "only operations the harness asked for", op.dump());
      ops_[id] =
          OpRecord{id, op.value("kind", ""), op.value("target", ""), false, true, true, "unknown"};
      continue;
    }
    ++settled_created_;
    ops_[id] = OpRecord{id,
                        match->kind,
                        match->target,
                        false,
                        false,
                        false,
                        StrCat(match->history, "; found created")};
    in_flight_.erase(match);
  }
  in_flight_.clear();  // the rest never reached the store
  // Every acknowledged operation is still there; the unfinished ones resume and end.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(s.final ? 60 : 0);
  for (;;) {
    if (s.final) ReportAll(client);
    int open = 0;
    for (auto& [id, r] : ops_) {
      if (r.ended || r.broken) continue;
      Reply reply = client.Send("GET", StrCat("/api/v1/operations/", id));
      if (reply.status == 404) {
        f.Fail(StrCat("operation ", id, " [", r.history, "]"), "the acknowledged operation",
               "404: lost");
        r.broken = true;
        continue;
      }
      if (reply.status != 200) {
        f.Fail(StrCat("operation ", id, " [", r.history, "]"), "200", reply.Describe());
        r.broken = true;
        continue;
      }
      if (CheckOne(r, reply.Json(), f)) {
        r.ended = true;
      } else if (!r.broken) {
        ++open;
      }
    }
    open_ = open;
    if (open == 0 || std::chrono::steady_clock::now() >= deadline) {
      if (open > 0 && s.final) {
        f.Fail("the operations at the end of the run", "every one ended within 60 s",
               StrCat(open, " still pending or running"));
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Every move and restart the operations did is one vm.migrated / vm.restarted event (counted
  // when none is running, so that both are read at rest).
  if ((s.final || checks_ % 10 == 0) && open_ == 0) {
    const int events =
        CountEvents(client, "vm.migrated", f) + CountEvents(client, "vm.restarted", f);
    const int moves = DoneMoves(client, f);
    if (moves >= 0 && moves != events) {
      f.Fail("the moves of every operation", StrCat(moves, " vm.migrated/vm.restarted events"),
             StrCat(events, " events"));
    }
    audited_moves_ = moves;
  }
}

}  // namespace

std::unique_ptr<Workload> NewOperationWorkload() { return std::make_unique<OperationWorkload>(); }

}  // namespace gpufleet::crash
