#include "agent/wire.h"

#include <string_view>

#include "common/json.h"
#include "common/strings.h"

namespace gpufleet::agent {
namespace {

template <typename T>
void PutIf(nlohmann::json& j, const char* key, const std::optional<T>& v) {
  if (v.has_value()) j[key] = *v;
}

absl::StatusOr<DesiredInstance> DecodeInstance(const nlohmann::json& item, std::string path) {
  if (!item.is_object()) {
    return absl::InvalidArgumentError(
        StrCat(path, ": expected an object, got ", DescribeJson(item)));
  }
  JsonReader r(item, path);
  DesiredInstance d;
  std::string uuid = r.String("uuid");
  d.vm = r.String("vm");
  d.index = r.Int("index", 0, 15);
  d.gpu = r.String("gpu");
  d.type = r.String("type");
  d.placement = r.OptInt("placement", -1, 1 << 20).value_or(-1);
  if (r.ok()) {
    absl::StatusOr<Uuid> parsed = Uuid::Parse(uuid);
    if (parsed.ok()) {
      d.uuid = *parsed;
    } else {
      r.Fail("uuid", StrCat("not a UUID: \"", uuid, "\""));
    }
  }
  if (absl::Status s = r.Finish(); !s.ok()) return s;
  return d;
}

}  // namespace

nlohmann::json HostReportJson(const backends::HostFacts& facts) {
  nlohmann::json gpus = nlohmann::json::array();
  for (const backends::PhysicalGpu& g : facts.gpus) {
    nlohmann::json j = {{"pci", g.id}, {"board", g.board}, {"ecc", g.ecc}};
    if (!g.mode.empty()) j["mode"] = g.mode;
    if (!g.carved_type.empty()) j["carved_type"] = g.carved_type;
    gpus.push_back(std::move(j));
  }
  return {{"hypervisor", facts.hypervisor},
          {"manager_version", facts.manager_version},
          {"hotmigrate", facts.hotmigrate},
          {"gpus", std::move(gpus)}};
}

namespace {

// The length of the well-formed UTF-8 character at the front of `s` (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0 when it is not one.
std::size_t Utf8Length(std::string_view s) {
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b = at(0);
  if (b < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
  if (b >= 0xC2 && b <= 0xDF) {
    len = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    len = 3;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    len = 4;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < len || at(1) < lo || at(1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if ((at(k) & 0xC0) != 0x80) return 0;
  }
  return len;
}

// A hypervisor's message as the controller takes it: control characters as spaces, at most
// 1,024 bytes, cut at a UTF-8 character boundary.
std::string ReportableError(std::string text) {
  // Bytes that are not UTF-8 become '?' here: left to the JSON encoder they would become three
  // bytes each and could push the text past the controller's limit, which refuses the report.
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = Utf8Length(std::string_view(text).substr(i));
    if (len == 0) {
      text[i++] = '?';
      continue;
    }
    i += len;
  }
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (text.size() > 1024) {
    std::size_t n = 1024;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
    text.resize(n);
  }
  return text;
}

}  // namespace

nlohmann::json ObservedJson(const std::vector<backends::VgpuInstance>& observed,
                            const std::vector<MigrationResult>& migrations,
                            const std::vector<GpuCreatable>& creatable,
                            const std::vector<AgentError>& errors) {
  nlohmann::json items = nlohmann::json::array();
  for (const backends::VgpuInstance& o : observed) {
    nlohmann::json j = {
        {"uuid", o.uuid.ToString()}, {"gpu", o.gpu}, {"type", o.type}, {"active", o.active}};
    if (o.placement >= 0) j["placement"] = o.placement;
    if (!o.vm.empty()) j["vm"] = o.vm;
    items.push_back(std::move(j));
  }
  nlohmann::json body = {{"instances", std::move(items)}};
  if (!migrations.empty()) body["migrations"] = MigrationsJson(migrations);
  if (!creatable.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const GpuCreatable& g : creatable) {
      nlohmann::json types = nlohmann::json::array();
      for (const backends::CreatableType& t : g.types) {
        types.push_back({{"type", t.type}, {"available", t.available}});
      }
      list.push_back({{"gpu", g.gpu}, {"types", std::move(types)}});
    }
    body["creatable"] = std::move(list);
  }
  if (!errors.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const AgentError& e : errors) {
      if (e.message.empty()) continue;  // the controller refuses an empty message
      list.push_back({{"message", ReportableError(e.message)}, {"count", e.count}});
    }
    body["errors"] = std::move(list);
  }
  return body;
}

nlohmann::json MigrationsJson(const std::vector<MigrationResult>& migrations) {
  nlohmann::json list = nlohmann::json::array();
  for (const MigrationResult& m : migrations) {
    nlohmann::json j = {{"vm", m.vm}, {"to", m.to}};
    if (m.stun) {
      j["stun_ms"] = absl::ToInt64Milliseconds(*m.stun);
    } else if (m.unmeasured) {
      j["unmeasured"] = true;
    } else {
      // The controller refuses an empty error (the result would then be resent, and refused,
      // with every report); a state file of an earlier version may hold one.
      j["error"] = m.error.empty() ? std::string("the migration failed (no message)")
                                   : ReportableError(m.error);
    }
    list.push_back(std::move(j));
  }
  return list;
}

absl::StatusOr<std::vector<MigrationResult>> DecodeMigrations(const nlohmann::json& list,
                                                              std::string_view what) {
  if (!list.is_array()) {
    return absl::InvalidArgumentError(
        StrCat(what, ": expected an array, got ", DescribeJson(list)));
  }
  if (list.size() > static_cast<std::size_t>(kMaxDesiredInstances)) {
    return absl::InvalidArgumentError(
        StrCat(what, ": more than ", kMaxDesiredInstances, " entries"));
  }
  std::vector<MigrationResult> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = StrCat("[", i, "]");
    if (!list[i].is_object()) {
      return absl::InvalidArgumentError(
          StrCat(what, path, ": expected an object, got ", DescribeJson(list[i])));
    }
    JsonReader r(list[i], path);
    MigrationResult m{.vm = r.String("vm"), .to = r.String("to")};
    std::optional<int> stun = r.OptInt("stun_ms", 0, 1 << 30);
    std::optional<std::string> error = r.OptString("error");
    m.unmeasured = r.OptBool("unmeasured").value_or(false);
    if (r.ok() && stun.has_value() + error.has_value() + m.unmeasured != 1) {
      r.Fail("stun_ms", "exactly one of stun_ms, error and unmeasured is required");
    }
    if (r.ok() && (m.vm.empty() || m.to.empty() || m.vm.size() > 253 || m.to.size() > 253)) {
      r.Fail("vm", "vm and to must be 1 to 253 characters");
    }
    if (absl::Status s = r.Finish(); !s.ok()) {
      return absl::InvalidArgumentError(StrCat(what, s.message()));
    }
    if (stun) m.stun = absl::Milliseconds(*stun);
    if (error) m.error = ReportableError(*std::move(error));
    out.push_back(std::move(m));
  }
  return out;
}

nlohmann::json TelemetryJson(const std::vector<backends::GpuSample>& gpus,
                             const std::optional<backends::BmcReading>& bmc) {
  nlohmann::json items = nlohmann::json::array();
  for (const backends::GpuSample& s : gpus) {
    nlohmann::json j = {{"gpu", s.gpu}};
    PutIf(j, "temperature_c", s.temperature_c);
    PutIf(j, "utilisation_pct", s.utilisation_pct);
    PutIf(j, "framebuffer_used_mib", s.framebuffer_used_mib);
    PutIf(j, "framebuffer_total_mib", s.framebuffer_total_mib);
    PutIf(j, "power_w", s.power_w);
    PutIf(j, "xid", s.xid);
    if (s.lost) j["lost"] = true;
    if (!s.vgpus.empty()) {
      nlohmann::json vgpus = nlohmann::json::array();
      for (const backends::VgpuSample& v : s.vgpus) {
        nlohmann::json vj = {{"uuid", v.uuid.ToString()}};
        PutIf(vj, "utilisation_pct", v.utilisation_pct);
        PutIf(vj, "framebuffer_used_mib", v.framebuffer_used_mib);
        vgpus.push_back(std::move(vj));
      }
      j["vgpus"] = std::move(vgpus);
    }
    items.push_back(std::move(j));
  }
  nlohmann::json body = {{"gpus", std::move(items)}};
  if (bmc.has_value()) {
    nlohmann::json temps = nlohmann::json::array();
    for (const backends::TemperatureSensor& t : bmc->temperatures) {
      temps.push_back({{"name", t.name}, {"celsius", t.celsius}});
    }
    nlohmann::json fans = nlohmann::json::array();
    for (const backends::Fan& f : bmc->fans) fans.push_back({{"name", f.name}, {"rpm", f.rpm}});
    body["bmc"] = {{"temperatures", std::move(temps)},
                   {"fans", std::move(fans)},
                   {"automatic", bmc->automatic},
                   {"duty_pct", bmc->duty_pct}};
  }
  return body;
}

nlohmann::json DesiredJson(const DesiredState& desired) {
  nlohmann::json items = nlohmann::json::array();
  for (const DesiredInstance& d : desired.instances) {
    nlohmann::json j = {{"uuid", d.uuid.ToString()},
                        {"vm", d.vm},
                        {"index", d.index},
                        {"gpu", d.gpu},
                        {"type", d.type}};
    if (d.placement >= 0) j["placement"] = d.placement;
    items.push_back(std::move(j));
  }
  nlohmann::json out = {{"generation", desired.generation}, {"instances", std::move(items)}};
  if (!desired.departures.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const Departure& d : desired.departures) {
      list.push_back({{"vm", d.vm}, {"to", d.to}, {"ready", d.ready}});
    }
    out["departures"] = std::move(list);
  }
  if (!desired.holds.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const StartHold& h : desired.holds) list.push_back({{"vm", h.vm}, {"reason", h.reason}});
    out["holds"] = std::move(list);
  }
  return out;
}

absl::StatusOr<DesiredState> DecodeDesired(const nlohmann::json& body, std::string_view what) {
  auto fail = [&](const absl::Status& s) {
    return absl::InvalidArgumentError(StrCat(what, ": ", s.message()));
  };
  if (!body.is_object()) {
    return absl::InvalidArgumentError(
        StrCat(what, ": expected an object, got ", DescribeJson(body)));
  }
  JsonReader r(body, "");
  DesiredState out;
  out.generation = r.String("generation");
  r.Ignore("host");
  const nlohmann::json* items = r.Array("instances");
  if (items != nullptr && items->size() > static_cast<std::size_t>(kMaxDesiredInstances)) {
    r.Fail("instances", StrCat("more than ", kMaxDesiredInstances, " entries"));
  }
  const nlohmann::json* departures = r.Array("departures", /*required=*/false);
  if (departures != nullptr &&
      departures->size() > static_cast<std::size_t>(kMaxDesiredInstances)) {
    r.Fail("departures", StrCat("more than ", kMaxDesiredInstances, " entries"));
  }
  const nlohmann::json* holds = r.Array("holds", /*required=*/false);
  if (holds != nullptr && holds->size() > static_cast<std::size_t>(kMaxDesiredInstances)) {
    r.Fail("holds", StrCat("more than ", kMaxDesiredInstances, " entries"));
  }
  if (absl::Status s = r.Finish(); !s.ok()) return fail(s);
  for (std::size_t i = 0; holds != nullptr && i < holds->size(); ++i) {
    const nlohmann::json& item = (*holds)[i];
    const std::string path = StrCat("holds[", i, "]");
    if (!item.is_object()) {
      return absl::InvalidArgumentError(
          StrCat(what, ": ", path, ": expected an object, got ", DescribeJson(item)));
    }
    JsonReader h(item, path);
    StartHold hold{.vm = h.String("vm"), .reason = h.String("reason")};
    if (absl::Status s = h.Finish(); !s.ok()) return fail(s);
    if (hold.vm.empty() || hold.vm.size() > 253 || hold.reason.size() > 512) {
      return absl::InvalidArgumentError(
          StrCat(what, ": ", path, ": vm must be 1 to 253 characters and reason at most 512"));
    }
    out.holds.push_back(std::move(hold));
  }
  for (std::size_t i = 0; departures != nullptr && i < departures->size(); ++i) {
    const nlohmann::json& item = (*departures)[i];
    const std::string path = StrCat("departures[", i, "]");
    if (!item.is_object()) {
      return absl::InvalidArgumentError(
          StrCat(what, ": ", path, ": expected an object, got ", DescribeJson(item)));
    }
    JsonReader d(item, path);
    Departure dep{
        .vm = d.String("vm"), .to = d.String("to"), .ready = d.OptBool("ready").value_or(true)};
    if (absl::Status s = d.Finish(); !s.ok()) return fail(s);
    if (dep.vm.empty() || dep.to.empty() || dep.vm.size() > 253 || dep.to.size() > 253) {
      return absl::InvalidArgumentError(
          StrCat(what, ": ", path, ": vm and to must be 1 to 253 characters"));
    }
    out.departures.push_back(std::move(dep));
  }
  for (std::size_t i = 0; i < items->size(); ++i) {
    absl::StatusOr<DesiredInstance> d = DecodeInstance((*items)[i], StrCat("instances[", i, "]"));
    if (!d.ok()) return fail(d.status());
    out.instances.push_back(*std::move(d));
  }
  return out;
}

}  // namespace gpufleet::agent
