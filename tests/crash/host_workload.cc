// host.put and the checks of hosts and their GPUs.

#include <optional>

#include "common/strings.h"
#include "workloads.h"

namespace gpufleet::crash {
namespace {

constexpr char kGenerationLabel[] = "crash-generation";

struct Generation {
  int number = 0;
  int gpus = 0;
  std::string request;  // the PUT and its answer, for messages
};

struct HostRecord {
  std::string name;
  int owner = 0;                        // the client thread that writes it
  std::optional<Generation> applied;    // the newest PUT known applied
  std::optional<Generation> in_flight;  // a PUT with no answer
  int applied_puts = 0;                 // PUTs known applied: host.registered + host.updated
  int next_generation = 1;
  bool broken = false;
};

std::vector<std::string> GpuIds(int gpus) {
  std::vector<std::string> ids;
  for (int i = 0; i < gpus; ++i) ids.push_back(StrCat("0000:0", i + 1, ":00.0"));
  return ids;
}

nlohmann::json HostBody(int generation, int gpus) {
  nlohmann::json list = nlohmann::json::array();
  for (const std::string& id : GpuIds(gpus)) list.push_back({{"pci", id}, {"board", "P40"}});
  return {{"hypervisor", "kvm"},
          {"manager_version", "525.105.14"},
          {"labels", {{kGenerationLabel, std::to_string(generation)}}},
          {"gpus", list}};
}

class HostWorkload final : public Workload {
 public:
  explicit HostWorkload(HostWorkloadOptions options) : options_(options) {
    for (int i = 0; i < options_.hosts; ++i) {
      HostRecord r;
      r.name = StrCat("host-", i);
      r.owner = i % std::max(1, options_.client_threads);
      hosts_.push_back(r);
    }
  }

  std::string_view name() const override { return "hosts"; }

  std::vector<RequestKind> Kinds() override {
    return {{"host.put", 8, [this](IssueContext& c) { return Put(c); }}};
  }

  bool Setup(HttpClient& client, Journal& journal, Findings& findings) override {
    bool ok = true;
    for (HostRecord& r : hosts_) {
      const int generation = r.next_generation++;
      nlohmann::json body = HostBody(generation, options_.initial_gpus);
      const std::string what = StrCat("PUT /api/v1/hosts/", r.name, " (setup)");
      Reply reply = client.Send("PUT", StrCat("/api/v1/hosts/", r.name), &body);
      journal.Line(StrCat("setup: ", what, " -> ", reply.Describe()));
      if (reply.status != 201) {
        findings.Fail(what, "201", reply.Describe());
        ok = false;
        continue;
      }
      r.applied = Generation{generation, options_.initial_gpus, what};
      r.applied_puts = 1;
    }
    return ok;
  }

  void Check(const Snapshot& s, Findings& f) override;

  std::string Summary() const override {
    std::lock_guard<std::mutex> lock(mu_);
    int gpus = 0;
    for (const HostRecord& r : hosts_) gpus += r.applied ? r.applied->gpus : 0;
    return StrCat("hosts: ", hosts_.size(), " with ", gpus, " GPUs; puts ", acked_,
                  " acknowledged, ", in_flight_, " in flight (", settled_applied_,
                  " found applied)");
  }

 private:
  Sent Put(IssueContext& c);

  const HostWorkloadOptions options_;
  mutable std::mutex mu_;
  std::vector<HostRecord> hosts_;  // guarded by mu_ during the load
  int acked_ = 0, in_flight_ = 0;  // guarded by mu_
  int settled_applied_ = 0;        // harness thread
};

Sent HostWorkload::Put(IssueContext& c) {
  HostRecord* r = nullptr;
  Generation g;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<HostRecord*> mine;
    for (HostRecord& h : hosts_) {
      if (h.owner == c.thread && !h.in_flight && !h.broken && h.applied) mine.push_back(&h);
    }
    if (mine.empty()) return Sent::kNothing;
    r = mine[c.rng() % mine.size()];
    g.number = r->next_generation++;
    g.gpus = std::min(options_.max_gpus, r->applied->gpus + static_cast<int>(c.rng() % 2));
    g.request = StrCat("PUT /api/v1/hosts/", r->name, " generation ", g.number, " with ", g.gpus,
                       " GPUs in round ", c.round);
    r->in_flight = g;
  }
  nlohmann::json body = HostBody(g.number, g.gpus);
  Reply reply = c.client.Send("PUT", StrCat("/api/v1/hosts/", r->name), &body);
  c.Log(g.request, reply);
  std::lock_guard<std::mutex> lock(mu_);
  g.request = StrCat(g.request, " answered ", reply.Describe());
  if (reply.status == 200) {
    ++acked_;
    r->applied = g;
    r->in_flight.reset();
    ++r->applied_puts;
  } else if (reply.answered() && reply.status < 500) {
    c.findings.Fail(g.request, "200: the host exists and its GPUs only grow", reply.Describe());
    r->in_flight.reset();
    r->broken = true;
  } else {
    ++in_flight_;
    r->in_flight = g;
  }
  return reply.answered() ? Sent::kAnswered : Sent::kNoAnswer;
}

void HostWorkload::Check(const Snapshot& s, Findings& f) {
  std::lock_guard<std::mutex> lock(mu_);
  for (HostRecord& r : hosts_) {
    if (r.broken || !r.applied) continue;
    const std::string request =
        StrCat("host ", r.name, " [", r.in_flight ? r.in_flight->request : r.applied->request, "]");
    auto fail = [&](std::string_view expected, std::string_view actual) {
      f.Fail(request, StrCat(expected, " in ", s.source), actual);
      r.broken = true;
    };
    auto view = s.hosts.find(r.name);
    if (view == s.hosts.end()) {
      fail(StrCat("the host at generation ", r.applied->number), "no such host");
      continue;
    }
    auto label = view->second.labels.find(kGenerationLabel);
    std::optional<int> number;
    if (label != view->second.labels.end()) number = ParseNonNegativeInt(label->second);
    const Generation* found = nullptr;
    if (number == r.applied->number) found = &*r.applied;
    if (r.in_flight && number == r.in_flight->number) found = &*r.in_flight;
    const std::string expected_generation =
        r.in_flight ? StrCat("generation ", r.applied->number, " or ", r.in_flight->number)
                    : StrCat("generation ", r.applied->number);
    if (found == nullptr) {
      fail(expected_generation,
           label == view->second.labels.end() ? "no generation label" : label->second);
      continue;
    }
    if (view->second.gpus != GpuIds(found->gpus)) {
      fail(StrCat("generation ", found->number, "'s GPUs ", StrJoin(GpuIds(found->gpus), ", ")),
           StrJoin(view->second.gpus, ", "));
      continue;
    }
    for (const std::string& id : view->second.gpus) {
      if (!s.gpus.contains({r.name, id})) fail(StrCat("gpu ", id, " listed in /gpus"), "missing");
    }
    if (found != &*r.applied) {
      ++settled_applied_;
      ++r.applied_puts;
      r.applied = *r.in_flight;
      r.applied->request = StrCat(r.applied->request, "; found applied in ", s.source);
    }
    r.in_flight.reset();
    const std::string object = StrCat("host/", r.name);
    const int registered = s.EventCount("host.registered", object);
    const int updated = s.EventCount("host.updated", object);
    if (registered != 1 || registered + updated != r.applied_puts) {
      fail(StrCat("1 host.registered and ", r.applied_puts - 1,
                  " host.updated events (one per PUT applied)"),
           StrCat(registered, " and ", updated));
    }
  }
}

}  // namespace

std::unique_ptr<Workload> NewHostWorkload(HostWorkloadOptions options) {
  return std::make_unique<HostWorkload>(options);
}

}  // namespace gpufleet::crash
