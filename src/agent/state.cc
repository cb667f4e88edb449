#include "agent/state.h"

#include "agent/wire.h"
#include "common/json.h"
#include "common/strings.h"
#include "os/durable_file.h"

namespace gpufleet::agent {
namespace {

constexpr std::size_t kMaxStateBytes = 8 << 20;

}  // namespace

std::string EncodeAgentState(const AgentState& state) {
  nlohmann::json owned = nlohmann::json::array();
  for (const Uuid& u : state.owned) owned.push_back(u.ToString());
  nlohmann::json j = {{"format", 1},
                      {"host", state.host},
                      {"credential", state.credential},
                      {"desired", DesiredJson(state.desired)},
                      {"owned", std::move(owned)}};
  if (!state.departed.empty()) j["departed"] = state.departed;
  if (!state.unreported.empty()) j["migrations"] = MigrationsJson(state.unreported);
  if (state.migrating) j["migrating"] = {{"vm", state.migrating->vm}, {"to", state.migrating->to}};
  // A hypervisor message may not be UTF-8: replaced, not thrown on.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

absl::StatusOr<AgentState> DecodeAgentState(std::string_view text, std::string_view what) {
  absl::StatusOr<nlohmann::json> parsed = ParseJson(text, what);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) {
    return absl::InvalidArgumentError(StrCat(what, ": expected an object"));
  }
  JsonReader r(*parsed, "");
  AgentState state;
  int format = r.Int("format", 1, 1);
  (void)format;
  state.host = r.String("host");
  state.credential = r.OptString("credential").value_or("");
  const nlohmann::json* desired = r.Object("desired");
  std::vector<std::string> owned = r.StringList("owned");
  const nlohmann::json* departed = r.Array("departed", /*required=*/false);
  const nlohmann::json* migrations = r.Array("migrations", /*required=*/false);
  const nlohmann::json* migrating = r.Object("migrating", /*required=*/false);
  if (absl::Status s = r.Finish(); !s.ok()) {
    return absl::InvalidArgumentError(StrCat(what, ": ", s.message()));
  }
  absl::StatusOr<DesiredState> d = DecodeDesired(*desired, StrCat(what, ": desired"));
  if (!d.ok()) return d.status();
  state.desired = *std::move(d);
  if (owned.size() > static_cast<std::size_t>(4 * kMaxDesiredInstances)) {
    return absl::InvalidArgumentError(StrCat(what, ": owned: too many entries"));
  }
  for (std::size_t i = 0; i < owned.size(); ++i) {
    absl::StatusOr<Uuid> u = Uuid::Parse(owned[i]);
    if (!u.ok()) {
      return absl::InvalidArgumentError(
          StrCat(what, ": owned[", i, "]: not a UUID: \"", owned[i], "\""));
    }
    state.owned.insert(*u);
  }
  if (departed != nullptr) {
    if (departed->size() > static_cast<std::size_t>(kMaxDesiredInstances)) {
      return absl::InvalidArgumentError(StrCat(what, ": departed: too many entries"));
    }
    for (std::size_t i = 0; i < departed->size(); ++i) {
      const nlohmann::json& vm = (*departed)[i];
      // VM names are 1 to 253 characters (as the controller's and the migration reports').
      if (!vm.is_string() || vm.get_ref<const std::string&>().empty() ||
          vm.get_ref<const std::string&>().size() > 253) {
        return absl::InvalidArgumentError(StrCat(
            what, ": departed[", i, "]: expected a VM name of 1 to 253 characters, got ",
            vm.is_string()
                ? StrCat("a string of ", vm.get_ref<const std::string&>().size(), " characters")
                : DescribeJson(vm)));
      }
      state.departed.insert(vm.get<std::string>());
    }
  }
  if (migrations != nullptr) {
    absl::StatusOr<std::vector<MigrationResult>> m =
        DecodeMigrations(*migrations, StrCat(what, ": migrations"));
    if (!m.ok()) return m.status();
    state.unreported = *std::move(m);
  }
  if (migrating != nullptr) {
    JsonReader m(*migrating, "migrating");
    Departure intent{.vm = m.String("vm"), .to = m.String("to")};
    if (absl::Status s = m.Finish(); !s.ok()) {
      return absl::InvalidArgumentError(StrCat(what, ": ", s.message()));
    }
    if (intent.vm.empty() || intent.to.empty() || intent.vm.size() > 253 ||
        intent.to.size() > 253) {
      return absl::InvalidArgumentError(
          StrCat(what, ": migrating: vm and to must be 1 to 253 characters"));
    }
    state.migrating = std::move(intent);
  }
  return state;
}

StateFile::StateFile(const os::FileSystem& fs, std::string dir)
    : fs_(fs), dir_(std::move(dir)), path_(StrCat(dir_, "/agent-state.json")) {}

absl::StatusOr<std::optional<AgentState>> StateFile::Load() const {
  absl::StatusOr<std::string> text = fs_.ReadFile(path_, kMaxStateBytes);
  if (absl::IsNotFound(text.status())) return std::nullopt;
  if (!text.ok()) return text.status();
  absl::StatusOr<AgentState> state = DecodeAgentState(*text, path_);
  if (!state.ok()) return state.status();
  return std::optional<AgentState>(*std::move(state));
}

absl::Status StateFile::Save(const AgentState& state) const {
  if (absl::Status s = os::MakeDirectories(dir_); !s.ok()) return s;
  return os::WriteFileDurably(path_, EncodeAgentState(state), 0600);
}

}  // namespace gpufleet::agent
