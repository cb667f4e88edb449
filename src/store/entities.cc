#include "store/entities.h"

#include <array>
#include <utility>

#include "absl/status/status.h"
#include "common/strings.h"

namespace gpufleet::store {
namespace {

template <typename E, std::size_t N>
using NameTable = std::array<std::pair<E, std::string_view>, N>;

constexpr NameTable<HostState, 3> kHostStates = {{
    {HostState::kReady, "ready"},
    {HostState::kMaintenance, "maintenance"},
    {HostState::kDown, "down"},
}};
constexpr NameTable<OperationState, 5> kOperationStates = {{
    {OperationState::kPending, "pending"},
    {OperationState::kRunning, "running"},
    {OperationState::kSucceeded, "succeeded"},
    {OperationState::kFailed, "failed"},
    {OperationState::kCancelled, "cancelled"},
}};
constexpr NameTable<StepState, 5> kStepStates = {{
    {StepState::kPending, "pending"},
    {StepState::kRunning, "running"},
    {StepState::kDone, "done"},
    {StepState::kFailed, "failed"},
    {StepState::kRolledBack, "rolled-back"},
}};
constexpr NameTable<Role, 3> kRoles = {{
    {Role::kViewer, "viewer"},
    {Role::kOperator, "operator"},
    {Role::kAdmin, "admin"},
}};

template <typename E, std::size_t N>
std::string_view NameOf(const NameTable<E, N>& table, E e) {
  for (const auto& [value, name] : table) {
    if (value == e) return name;
  }
  return "?";
}

template <typename E, std::size_t N>
absl::StatusOr<E> Parse(const NameTable<E, N>& table, std::string_view what, std::string_view s) {
  std::vector<std::string> names;
  for (const auto& [value, name] : table) {
    if (name == s) return value;
    names.emplace_back(name);
  }
  return absl::InvalidArgumentError(StrCat("unknown ", what, " ", QuoteForMessage(s),
                                           "; expected one of ", StrJoin(names, ", ")));
}

}  // namespace

std::string_view HostStateName(HostState s) { return NameOf(kHostStates, s); }
std::string_view OperationStateName(OperationState s) { return NameOf(kOperationStates, s); }
std::string_view StepStateName(StepState s) { return NameOf(kStepStates, s); }
std::string_view RoleName(Role r) { return NameOf(kRoles, r); }

absl::StatusOr<HostState> ParseHostState(std::string_view s) {
  return Parse(kHostStates, "host state", s);
}
absl::StatusOr<OperationState> ParseOperationState(std::string_view s) {
  return Parse(kOperationStates, "operation state", s);
}
absl::StatusOr<StepState> ParseStepState(std::string_view s) {
  return Parse(kStepStates, "step state", s);
}
absl::StatusOr<Role> ParseRole(std::string_view s) { return Parse(kRoles, "role", s); }

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace gpufleet::store
