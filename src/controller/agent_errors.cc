#include "controller/agent_errors.h"

#include <algorithm>

#include "common/json.h"
#include "common/status_field.h"
#include "common/strings.h"
#include "controller/context.h"

namespace gpufleet::controller {

absl::StatusOr<std::vector<AgentErrorReport>> DecodeAgentErrors(const nlohmann::json& list) {
  std::vector<AgentErrorReport> out;
  if (list.size() > kMaxAgentErrors) {
    return InvalidField("errors", StrCat("more than ", kMaxAgentErrors, " problems"));
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = StrCat("errors[", i, "]");
    if (!list[i].is_object()) return InvalidField(path, "expected an object");
    JsonReader r(list[i], path);
    AgentErrorReport e;
    e.message = r.String("message");
    e.count = r.Int("count", 1, 1 << 30);
    if (absl::Status s = r.Finish(); !s.ok()) return s;
    if (e.message.empty() || e.message.size() > kMaxAgentErrorLength ||
        std::any_of(e.message.begin(), e.message.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      return InvalidField(StrCat(path, ".message"), StrCat("must be 1 to ", kMaxAgentErrorLength,
                                                           " bytes, without control characters"));
    }
    // The same message twice in one report is one problem (one event), its counts added.
    auto same = std::find_if(out.begin(), out.end(),
                             [&](const AgentErrorReport& x) { return x.message == e.message; });
    if (same != out.end()) {
      same->count = std::min(same->count + e.count, 1 << 30);
      continue;
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<AgentErrorReport> AgentErrorsByHost::Add(const std::string& host,
                                                     const std::vector<AgentErrorReport>& errors,
                                                     absl::Time now) {
  std::vector<AgentErrorReport> fresh;
  if (errors.empty()) return fresh;
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Entry>& entries = hosts_[host];
  for (const AgentErrorReport& e : errors) {
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const Entry& x) { return x.message == e.message; });
    if (it == entries.end() || now - it->last_seen > kAgentErrorMemory) {
      fresh.push_back(e);
      if (it == entries.end()) {
        entries.push_back({.message = e.message, .count = 0, .first_seen = now, .last_seen = now});
        it = entries.end() - 1;
      } else {
        *it = {.message = e.message, .count = 0, .first_seen = now, .last_seen = now};
      }
    }
    it->count += e.count;
    it->last_seen = now;
  }
  // The most recent first; the oldest go beyond the bound.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.last_seen > b.last_seen; });
  if (entries.size() > kMaxAgentErrors) entries.resize(kMaxAgentErrors);
  return fresh;
}

void AgentErrorsByHost::Withdraw(const std::string& host,
                                 const std::vector<AgentErrorReport>& errors,
                                 const std::vector<AgentErrorReport>& fresh) {
  std::lock_guard<std::mutex> lock(mu_);
  auto entries = hosts_.find(host);
  if (entries == hosts_.end()) return;
  for (const AgentErrorReport& e : errors) {
    const bool created = std::any_of(fresh.begin(), fresh.end(), [&](const AgentErrorReport& f) {
      return f.message == e.message;
    });
    std::erase_if(entries->second, [&](Entry& x) {
      if (x.message != e.message) return false;
      x.count -= e.count;
      return created || x.count <= 0;
    });
  }
}

std::vector<AgentErrorsByHost::Entry> AgentErrorsByHost::Get(const std::string& host,
                                                             absl::Time now) const {
  std::vector<Entry> out;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return out;
  for (const Entry& e : it->second) {
    if (now - e.last_seen <= kAgentErrorMemory) out.push_back(e);
  }
  return out;
}

void AgentErrorsByHost::Forget(const std::string& host) {
  std::lock_guard<std::mutex> lock(mu_);
  hosts_.erase(host);
}

nlohmann::json AgentErrorsJson(const std::vector<AgentErrorsByHost::Entry>& entries) {
  nlohmann::json list = nlohmann::json::array();
  for (const AgentErrorsByHost::Entry& e : entries) {
    list.push_back({{"message", e.message},
                    {"count", e.count},
                    {"first_seen", TimeText(e.first_seen)},
                    {"last_seen", TimeText(e.last_seen)}});
  }
  return list;
}

}  // namespace gpufleet::controller
