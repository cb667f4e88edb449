// vm.create, vm.delete and vm.delete-stale, and the checks of VMs and GPU capacity.

#include <algorithm>
#include <set>

#include "common/strings.h"
#include "workloads.h"

namespace gpufleet::crash {
namespace {

enum class VmState {
  kPresent,         // acknowledged (or found) created, not deleted
  kAbsent,          // refused, acknowledged deleted, or found absent
  kCreateInFlight,  // POST sent, no answer: created or not
  kDeleteInFlight,  // DELETE sent, no answer: deleted or not
};

struct VmRecord {
  std::string name;
  std::string type;
  int vgpus = 1;
  VmState state = VmState::kCreateInFlight;
  bool deleted = false;  // absent because a delete applied (it was placed once)
  bool busy = false;     // a client thread is deleting it
  bool broken = false;   // a check failed on it already; not checked again
  std::vector<VgpuView> placement;
  // vm.migrated + vm.restarted events that `placement` certainly reflects (a lower bound when
  // the snapshot's lists and events were separate reads).
  int moves_seen = 0;
  int64_t version = 0;
  std::string history;  // its requests and their answers, for messages
};

std::vector<VgpuView> Sorted(std::vector<VgpuView> v) {
  std::sort(v.begin(), v.end(),
            [](const VgpuView& a, const VgpuView& b) { return a.index < b.index; });
  return v;
}

std::string Describe(const std::vector<VgpuView>& placement) {
  std::vector<std::string> parts;
  for (const VgpuView& g : placement) {
    parts.push_back(StrCat("#", g.index, " ", g.type, " on ", g.host, "/", g.gpu, " ", g.uuid));
  }
  return parts.empty() ? "no vGPUs" : StrJoin(parts, ", ");
}

std::vector<VgpuView> PlacementOf(const nlohmann::json& vm) {
  std::vector<VgpuView> out;
  if (!vm.is_object() || !vm.contains("vgpus") || !vm["vgpus"].is_array()) return out;
  for (const nlohmann::json& g : vm["vgpus"]) {
    if (!g.is_object()) continue;
    out.push_back({g.value("uuid", ""), g.value("index", -1), g.value("host", ""),
                   g.value("gpu", ""), g.value("type", ""), g.value("placement", -1)});
  }
  return Sorted(std::move(out));
}

class VmWorkload final : public Workload {
 public:
  VmWorkload(const core::Catalog& catalog, std::vector<std::string> types)
      : catalog_(catalog), types_(std::move(types)) {}

  std::string_view name() const override { return "vms"; }

  std::vector<RequestKind> Kinds() override {
    return {{"vm.create", 45, [this](IssueContext& c) { return Create(c); }},
            {"vm.delete", 25, [this](IssueContext& c) { return Delete(c, /*stale=*/false); }},
            {"vm.delete-stale", 4, [this](IssueContext& c) { return Delete(c, /*stale=*/true); }}};
  }

  void Check(const Snapshot& s, Findings& f) override;

  std::string Summary() const override {
    std::lock_guard<std::mutex> lock(mu_);
    int present = 0;
    for (const auto& [name, r] : vms_) present += r.state == VmState::kPresent ? 1 : 0;
    return StrCat("vms: ", vms_.size(), " created or tried, ", present, " present; creates ",
                  creates_acked_, " acknowledged, ", creates_refused_, " refused (full), ",
                  creates_in_flight_, " in flight (", settled_created_, " found applied); deletes ",
                  deletes_acked_, " acknowledged, ", deletes_in_flight_, " in flight (",
                  settled_deleted_, " found applied, ", deletes_raced_, " raced a report: 412); ",
                  stale_refused_, " stale If-Match refused");
  }

 private:
  Sent Create(IssueContext& c);
  Sent Delete(IssueContext& c, bool stale);
  void CheckCapacity(const Snapshot& s, Findings& f) const;
  void CheckRecord(VmRecord& r, const Snapshot& s, Findings& f);

  const core::Catalog& catalog_;
  const std::vector<std::string> types_;
  mutable std::mutex mu_;
  std::map<std::string, VmRecord> vms_;                                  // guarded by mu_
  int creates_acked_ = 0, creates_refused_ = 0, creates_in_flight_ = 0;  // guarded by mu_
  int deletes_acked_ = 0, deletes_in_flight_ = 0, stale_refused_ = 0;    // guarded by mu_
  int deletes_raced_ = 0;                                                // guarded by mu_
  int settled_created_ = 0, settled_deleted_ = 0;                        // harness thread
};

Sent VmWorkload::Create(IssueContext& c) {
  VmRecord r;
  r.name = StrCat("vm-", c.Tag());
  r.type = types_[c.rng() % types_.size()];
  r.vgpus = c.rng() % 5 == 0 ? 2 : 1;
  const nlohmann::json body = {{"name", r.name}, {"type", r.type}, {"vgpus", r.vgpus}};
  const std::string what = StrCat("POST /api/v1/vms ", body.dump());
  {
    std::lock_guard<std::mutex> lock(mu_);
    vms_[r.name] = r;  // in flight from here on
  }
  Reply reply = c.client.Send("POST", "/api/v1/vms", &body);
  c.Log(what, reply);
  std::lock_guard<std::mutex> lock(mu_);
  VmRecord& rec = vms_[r.name];
  rec.history = StrCat(what, " answered ", reply.Describe(), " in round ", c.round);
  if (reply.status == 201) {
    ++creates_acked_;
    rec.state = VmState::kPresent;
    nlohmann::json vm = reply.Json();
    rec.placement = PlacementOf(vm);
    rec.version = vm.is_object() ? vm.value("version", int64_t{0}) : 0;
    if (static_cast<int>(rec.placement.size()) != rec.vgpus) {
      c.findings.Fail(rec.history, StrCat(rec.vgpus, " vGPUs in the answer"),
                      Describe(rec.placement));
    }
  } else if (reply.answered() && reply.status < 500) {
    rec.state = VmState::kAbsent;
    ++creates_refused_;
    if (reply.status != 409) {
      c.findings.Fail(rec.history, "201, or 409 when the GPUs are full", reply.Describe());
    }
  } else {
    ++creates_in_flight_;
  }
  return reply.answered() ? Sent::kAnswered : Sent::kNoAnswer;
}

Sent VmWorkload::Delete(IssueContext& c, bool stale) {
  std::string name;
  int64_t version = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<VmRecord*> candidates;
    for (auto& [n, r] : vms_) {
      if (r.state == VmState::kPresent && !r.busy && !r.broken) candidates.push_back(&r);
    }
    if (candidates.empty()) return Sent::kNothing;
    VmRecord* r = candidates[c.rng() % candidates.size()];
    r->busy = true;
    if (!stale) r->state = VmState::kDeleteInFlight;
    name = r->name;
    version = r->version;
  }
  if (!stale) {
    // As a client does: read the VM's version first (agents' reports move its phase, and with
    // it the version, at any time).
    Reply current = c.client.Send("GET", StrCat("/api/v1/vms/", name));
    if (current.status == 200 && current.Json().is_object()) {
      version = current.Json().value("version", version);
    } else if (!current.answered()) {
      std::lock_guard<std::mutex> lock(mu_);
      VmRecord& r = vms_[name];
      r.busy = false;
      r.state = VmState::kPresent;
      return Sent::kNoAnswer;
    }
  }
  const int64_t sent_version = stale ? version + 7 : version;
  const std::string etag = StrCat("\"v", sent_version, "\"");
  const std::string what = StrCat("DELETE /api/v1/vms/", name, " If-Match ", etag);
  Reply reply =
      c.client.Send("DELETE", StrCat("/api/v1/vms/", name), nullptr, {{"If-Match", etag}});
  c.Log(what, reply);
  std::lock_guard<std::mutex> lock(mu_);
  VmRecord& r = vms_[name];
  r.busy = false;
  r.history = StrCat(r.history, "; ", what, " answered ", reply.Describe(), " in round ", c.round);
  if (stale) {
    if (reply.status == 412) {
      ++stale_refused_;
    } else if (reply.answered()) {
      c.findings.Fail(StrCat("vm ", name, " [", r.history, "]"),
                      "412: the If-Match names another version", reply.Describe());
      r.broken = true;
    }
    // No answer: a delete with a stale If-Match cannot apply; the next check expects the VM.
  } else if (reply.status == 204) {
    ++deletes_acked_;
    r.state = VmState::kAbsent;
    r.deleted = true;
  } else if (reply.status == 412) {
    // An agent's report changed the VM between the read and the delete: nothing was deleted.
    ++deletes_raced_;
    r.state = VmState::kPresent;
  } else if (reply.answered() && reply.status < 500) {
    c.findings.Fail(StrCat("vm ", name, " [", r.history, "]"),
                    StrCat("204: the VM was present with version ", version), reply.Describe());
    r.broken = true;
  } else {
    ++deletes_in_flight_;
  }
  return reply.answered() ? Sent::kAnswered : Sent::kNoAnswer;
}

void VmWorkload::CheckCapacity(const Snapshot& s, Findings& f) const {
  std::map<std::pair<std::string, std::string>, std::vector<const VgpuView*>> by_gpu;
  std::map<std::string, std::string> uuid_owner;
  for (const auto& [name, vm] : s.vms) {
    for (const VgpuView& g : vm.vgpus) {
      by_gpu[{g.host, g.gpu}].push_back(&g);
      auto [it, inserted] = uuid_owner.emplace(g.uuid, name);
      if (!inserted) {
        f.Fail(StrCat("vGPU ", g.uuid, " in ", s.source), "each vGPU UUID once",
               StrCat("held by vm ", it->second, " and vm ", name));
      }
    }
  }
  for (const auto& [key, instances] : by_gpu) {
    const std::string gpu_name = StrCat(key.first, "/", key.second);
    auto gpu = s.gpus.find(key);
    if (gpu == s.gpus.end()) {
      f.Fail(StrCat("gpu ", gpu_name, " in ", s.source), "a GPU of the inventory",
             StrCat(instances.size(), " vGPUs on a GPU that is not listed"));
      continue;
    }
    const core::Board* board = catalog_.FindBoard(gpu->second.board);
    const std::string first = instances.front()->type;
    const core::VgpuType* type = catalog_.FindTypeByName(first);
    std::vector<std::string> listed;
    for (const VgpuView* g : instances) listed.push_back(StrCat(g->type, " ", g->uuid));
    const std::string what = StrCat("gpu ", gpu_name, " (", gpu->second.board, ", mode ",
                                    gpu->second.mode, ") in ", s.source);
    if (type == nullptr || board == nullptr || type->board_prefix != board->prefix) {
      f.Fail(what, "vGPU types of the GPU's board", StrJoin(listed, ", "));
      continue;
    }
    if (gpu->second.mode == "unconfigured" || gpu->second.mode == "equal-size") {
      for (const VgpuView* g : instances) {
        if (g->type != first) {
          f.Fail(what, "one vGPU type on an equal-size GPU", StrJoin(listed, ", "));
          break;
        }
      }
      if (static_cast<int>(instances.size()) > type->max_instances) {
        f.Fail(what, StrCat("at most ", type->max_instances, " x ", first, " (its max_instances)"),
               StrCat(instances.size(), ": ", StrJoin(listed, ", ")));
      }
    } else {
      int used = 0;
      std::set<int> placements;
      for (const VgpuView* g : instances) {
        if (const core::VgpuType* t = catalog_.FindTypeByName(g->type)) used += t->framebuffer_mib;
        if (g->placement >= 0 && !placements.insert(g->placement).second) {
          f.Fail(what, "each placement slot once", StrJoin(listed, ", "));
        }
      }
      if (used > board->framebuffer_mib) {
        f.Fail(what, StrCat("at most ", board->framebuffer_mib, " MiB of vGPUs"),
               StrCat(used, " MiB: ", StrJoin(listed, ", ")));
      }
    }
  }
}

void VmWorkload::CheckRecord(VmRecord& r, const Snapshot& s, Findings& f) {
  const std::string request = StrCat("vm ", r.name, " [", r.history, "]");
  const std::string object = StrCat("vm/", r.name);
  auto view = s.vms.find(r.name);
  const bool present = view != s.vms.end();
  const int placed = s.EventCount("vm.placed", object);
  const int deleted = s.EventCount("vm.deleted", object);
  auto fail = [&](std::string_view expected, std::string_view actual) {
    f.Fail(request, StrCat(expected, " in ", s.source), actual);
    r.broken = true;
  };
  const std::string events = StrCat(placed, " vm.placed and ", deleted, " vm.deleted events");
  // A durable operation may have moved the VM since its placement was taken: then it has a new
  // vm.migrated (or vm.restarted) event, and the new placement is taken (checked complete above).
  const int moves = s.EventCount("vm.migrated", object) + s.EventCount("vm.restarted", object);
  const int moves_before =
      s.EventCountBefore("vm.migrated", object) + s.EventCountBefore("vm.restarted", object);
  auto moved_to = [&](const std::vector<VgpuView>& now) {
    if (now == r.placement || moves <= r.moves_seen) return false;
    r.placement = now;
    r.moves_seen = moves_before;
    return true;
  };
  if (present) {
    const VmView& v = view->second;
    std::vector<VgpuView> got = Sorted(v.vgpus);
    // Complete: the spec it was asked with and every vGPU, indexes 0..n-1.
    bool complete = v.requested_type == r.type && v.requested_vgpus == r.vgpus &&
                    static_cast<int>(got.size()) == r.vgpus;
    for (std::size_t i = 0; complete && i < got.size(); ++i) {
      complete = got[i].index == static_cast<int>(i) && got[i].type == r.type &&
                 got[i].host == got[0].host;
    }
    if (!complete) {
      return fail(StrCat("all of the VM (", r.vgpus, " x ", r.type, " on one host) or none"),
                  StrCat("spec ", v.requested_vgpus, " x ", v.requested_type, ", ", Describe(got)));
    }
    if (placed != 1 || deleted != 0) {
      return fail("a present VM with 1 vm.placed and 0 vm.deleted events", events);
    }
  } else if (placed != deleted) {
    return fail("an absent VM with as many vm.deleted as vm.placed events (0 or 1)", events);
  }

  switch (r.state) {
    case VmState::kPresent:
      if (!present) return fail("the VM, present with " + Describe(r.placement), "absent");
      if (Sorted(view->second.vgpus) != r.placement && !moved_to(Sorted(view->second.vgpus))) {
        return fail(StrCat("the placement ", Describe(r.placement)),
                    Describe(Sorted(view->second.vgpus)));
      }
      break;
    case VmState::kAbsent:
      if (present) {
        return fail(r.deleted ? "no VM: its delete was acknowledged" : "no VM: it was refused",
                    StrCat("present with ", Describe(Sorted(view->second.vgpus))));
      }
      if (placed != (r.deleted ? 1 : 0)) {
        return fail(r.deleted ? "1 vm.placed event" : "no vm.placed event", events);
      }
      break;
    case VmState::kCreateInFlight:
      r.state = present ? VmState::kPresent : VmState::kAbsent;
      if (present) {
        ++settled_created_;
        r.placement = Sorted(view->second.vgpus);
        r.moves_seen = moves_before;
        r.version = view->second.version;
      }
      r.history = StrCat(r.history, "; found ", present ? "created" : "absent", " in ", s.source);
      break;
    case VmState::kDeleteInFlight:
      if (present && Sorted(view->second.vgpus) != r.placement &&
          !moved_to(Sorted(view->second.vgpus))) {
        return fail(StrCat("the placement ", Describe(r.placement), " or no VM"),
                    Describe(Sorted(view->second.vgpus)));
      }
      r.state = present ? VmState::kPresent : VmState::kAbsent;
      r.deleted = !present;
      settled_deleted_ += present ? 0 : 1;
      r.history =
          StrCat(r.history, "; found ", present ? "not deleted" : "deleted", " in ", s.source);
      break;
  }
}

void VmWorkload::Check(const Snapshot& s, Findings& f) {
  CheckCapacity(s, f);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [name, r] : vms_) {
    if (!r.broken) CheckRecord(r, s, f);
  }
  for (const auto& [name, v] : s.vms) {
    if (!vms_.contains(name)) {
      f.Fail(StrCat("vm ", name, " in ", s.source), "only VMs the harness asked for",
             StrCat("an unknown VM with ", Describe(Sorted(v.vgpus))));
    }
  }
}

}  // namespace

std::unique_ptr<Workload> NewVmWorkload(const core::Catalog& catalog,
                                        std::vector<std::string> types) {
  return std::make_unique<VmWorkload>(catalog, std::move(types));
}

}  // namespace gpufleet::crash
