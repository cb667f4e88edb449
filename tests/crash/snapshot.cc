#include "snapshot.h"

#include <string>

#include "common/status_macros.h"
#include "common/strings.h"

namespace gpufleet::crash {
namespace {

// Field readers that never throw: a wrong type reads as the default, and the checks then report
// the odd value.
std::string Str(const nlohmann::json& j, std::string_view key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t Int(const nlohmann::json& j, std::string_view key, int64_t fallback = 0) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

const nlohmann::json& Items(const nlohmann::json& j) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  if (!j.is_object()) return kEmpty;
  auto it = j.find("items");
  return it != j.end() && it->is_array() ? *it : kEmpty;
}

absl::StatusOr<nlohmann::json> GetJson(HttpClient& client, const std::string& path) {
  Reply r = client.Send("GET", path);
  if (r.status != 200) {
    return absl::UnavailableError(StrCat("GET ", path, " answered ", r.Describe()));
  }
  nlohmann::json j = r.Json();
  if (!j.is_object()) return absl::UnavailableError(StrCat("GET ", path, ": body is not JSON"));
  return j;
}

VmView VmFromJson(const nlohmann::json& vm) {
  VmView v;
  v.name = Str(vm, "name");
  v.version = Int(vm, "version");
  const nlohmann::json spec = vm.is_object() && vm.contains("spec") ? vm["spec"] : nlohmann::json();
  v.requested_type = Str(spec, "type");
  v.requested_vgpus = static_cast<int>(Int(spec, "vgpus", 1));
  if (vm.is_object() && vm.contains("vgpus") && vm["vgpus"].is_array()) {
    for (const nlohmann::json& g : vm["vgpus"]) {
      v.vgpus.push_back({Str(g, "uuid"), static_cast<int>(Int(g, "index", -1)), Str(g, "host"),
                         Str(g, "gpu"), Str(g, "type"), static_cast<int>(Int(g, "placement", -1))});
    }
  }
  return v;
}

}  // namespace

absl::Status ApiEventLog::Update(HttpClient& client) {
  if (last_seq_ > 0) {
    GPUFLEET_ASSIGN_OR_RETURN(
        nlohmann::json j, GetJson(client, StrCat("/api/v1/events?limit=1&after=", last_seq_ - 1)));
    const nlohmann::json& items = Items(j);
    if (items.empty() || Int(items[0], "seq") != last_seq_) {
      return absl::DataLossError(StrCat("event ", last_seq_, ", read before the kill, is gone (",
                                        items.empty() ? "no event after " : "the next is ",
                                        items.empty() ? last_seq_ - 1 : Int(items[0], "seq"), ")"));
    }
  }
  while (true) {
    GPUFLEET_ASSIGN_OR_RETURN(
        nlohmann::json j, GetJson(client, StrCat("/api/v1/events?limit=1000&after=", last_seq_)));
    const nlohmann::json& items = Items(j);
    for (const nlohmann::json& e : items) {
      int64_t seq = Int(e, "seq");
      if (seq <= last_seq_) {
        return absl::DataLossError(
            StrCat("event seq ", seq, " listed after ", last_seq_, ": seqs must increase"));
      }
      last_seq_ = seq;
      ++counts_[{Str(e, "kind"), Str(e, "object")}];
    }
    if (items.size() < 1000) return absl::OkStatus();
  }
}

absl::Status ReadApiSnapshot(HttpClient& client, ApiEventLog& events, Snapshot& out) {
  out = Snapshot{};
  out.source = "the API";
  out.client = &client;
  GPUFLEET_RETURN_IF_ERROR(events.Update(client));
  out.events_before = events.counts();

  std::string cursor;
  do {
    std::string path = "/api/v1/vms?limit=1000";
    if (!cursor.empty()) path = StrCat(path, "&cursor=", cursor);
    GPUFLEET_ASSIGN_OR_RETURN(nlohmann::json j, GetJson(client, path));
    for (const nlohmann::json& vm : Items(j)) {
      VmView v = VmFromJson(vm);
      out.vms[v.name] = std::move(v);
    }
    cursor = Str(j, "next_cursor");
  } while (!cursor.empty());

  GPUFLEET_ASSIGN_OR_RETURN(nlohmann::json hosts, GetJson(client, "/api/v1/hosts"));
  for (const nlohmann::json& h : Items(hosts)) {
    HostView v;
    v.name = Str(h, "name");
    if (h.contains("labels") && h["labels"].is_object()) {
      for (const auto& [k, value] : h["labels"].items()) {
        if (value.is_string()) v.labels[k] = value.get<std::string>();
      }
    }
    if (h.contains("gpus") && h["gpus"].is_array()) {
      for (const nlohmann::json& g : h["gpus"]) v.gpus.push_back(Str(g, "pci"));
    }
    out.hosts[v.name] = std::move(v);
  }

  GPUFLEET_ASSIGN_OR_RETURN(nlohmann::json gpus, GetJson(client, "/api/v1/gpus"));
  for (const nlohmann::json& g : Items(gpus)) {
    GpuView v{Str(g, "host"), Str(g, "pci"), Str(g, "board"), Str(g, "mode")};
    out.gpus[{v.host, v.id}] = v;
  }

  GPUFLEET_ASSIGN_OR_RETURN(nlohmann::json tokens, GetJson(client, "/api/v1/tokens"));
  for (const nlohmann::json& t : Items(tokens)) {
    TokenView v{Str(t, "name"), Str(t, "role")};
    out.tokens[v.name] = v;
  }
  // Events last: the controller's operation runner may change state while this reads (a move
  // resumed after the restart), and every change the lists above show then has its event here.
  GPUFLEET_RETURN_IF_ERROR(events.Update(client));
  out.events = &events.counts();
  return absl::OkStatus();
}

absl::Status ReadStoreSnapshot(store::ReadTx& tx, EventCounts& events, Snapshot& out) {
  out = Snapshot{};
  out.source = "the store";
  events.clear();
  out.events = &events;

  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Vm> vms, tx.ListVms());
  for (const store::Vm& vm : vms) {
    nlohmann::json spec = nlohmann::json::parse(vm.spec_json, nullptr, false);
    VmView v;
    v.name = vm.name;
    v.version = vm.version;
    v.requested_type = Str(spec, "type");
    v.requested_vgpus = static_cast<int>(Int(spec, "vgpus", 1));
    out.vms[v.name] = std::move(v);
  }
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::DesiredInstance> instances,
                            tx.ListDesiredInstances());
  for (const store::DesiredInstance& d : instances) {
    // A desired instance whose VM row is missing cannot be listed by the foreign key; if it were,
    // the VM shows up with only vgpus and no spec, which the checks report.
    VmView& v = out.vms[d.vm];
    if (v.name.empty()) v.name = d.vm;
    v.vgpus.push_back({d.uuid.ToString(), d.index, d.host, d.gpu, d.type, d.placement});
  }

  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Host> hosts, tx.ListHosts());
  for (const store::Host& h : hosts) out.hosts[h.name] = HostView{h.name, h.labels, {}};
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Gpu> gpus, tx.ListGpus(""));
  for (const store::Gpu& g : gpus) {
    out.gpus[{g.host, g.id}] = GpuView{g.host, g.id, g.board, g.mode};
    out.hosts[g.host].gpus.push_back(g.id);
  }

  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::ApiToken> tokens, tx.ListApiTokens());
  for (const store::ApiToken& t : tokens) {
    out.tokens[t.name] = TokenView{t.name, std::string(store::RoleName(t.role))};
  }

  store::EventQuery query;
  query.limit = 10000;
  while (true) {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Event> page, tx.ListEvents(query));
    for (const store::Event& e : page) {
      ++events[{e.kind, e.object}];
      query.after_seq = e.seq;
    }
    if (page.size() < static_cast<std::size_t>(query.limit)) break;
  }
  return absl::OkStatus();
}

}  // namespace gpufleet::crash
