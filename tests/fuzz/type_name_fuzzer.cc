// Fuzzes the vGPU type-name grammar (names, mdev type ids, mdev descriptions) and the catalog's
// ResolveType. Beyond "no crash, no sanitizer report" it checks that what parses round-trips
// through every spelling the code prints, and that resolution never says OK without a type.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/strings.h"
#include "core/catalog.h"
#include "core/type_name.h"
#include "fuzz_check.h"

namespace gpufleet::core {
namespace {

using fuzz::Check;
using fuzz::PropertyViolated;

void CheckReparse(const absl::StatusOr<TypeName>& again, const TypeName& t,
                  std::string_view spelling, std::string_view input) {
  if (!again.ok()) {
    PropertyViolated(StrCat("ParseTypeName rejects its own spelling '", spelling,
                            "': ", again.status().message()),
                     input);
  }
  if (!(*again == t)) {
    PropertyViolated(StrCat("ParseTypeName('", spelling, "') differs from the original"), input);
  }
}

void CheckTypeName(std::string_view input) {
  absl::StatusOr<TypeName> parsed = ParseTypeName(input);
  if (!parsed.ok()) {
    Check(!parsed.status().message().empty(), "ParseTypeName errors carry a message", input);
    return;
  }
  const TypeName& t = *parsed;
  Check(!t.board_prefix.empty(), "a parsed type name has a board prefix", input);
  Check(t.framebuffer_gb >= 0 && t.framebuffer_mib() > 0, "framebuffer size is positive", input);
  Check(!t.gpu_instance_slices || (*t.gpu_instance_slices >= 1 && *t.gpu_instance_slices <= 8),
        "MIG slice count is within 1..8", input);

  std::string nvidia = t.ToString();
  CheckReparse(ParseTypeName(nvidia), t, nvidia, input);
  for (bool ampere_or_later : {false, true}) {
    std::string sysfs = t.SysfsName(ampere_or_later);
    CheckReparse(ParseTypeName(sysfs), t, sysfs, input);
  }
  // The VMware profile is all lower case, and the parser keeps the board prefix's case.
  std::string vmware = t.VmwareProfile();
  absl::StatusOr<TypeName> from_vmware = ParseTypeName(vmware);
  if (from_vmware.ok() && EqualsIgnoreCase(from_vmware->board_prefix, t.board_prefix)) {
    from_vmware->board_prefix = t.board_prefix;
  }
  CheckReparse(from_vmware, t, vmware, input);
}

void CheckMdevTypeId(std::string_view input) {
  absl::StatusOr<int> id = ParseMdevTypeId(input);
  if (!id.ok()) return;
  Check(*id >= 0, "mdev type ids are non-negative", input);
  Check(LooksLikeMdevTypeId(input), "ParseMdevTypeId accepts only what LooksLikeMdevTypeId does",
        input);
  absl::StatusOr<int> again = ParseMdevTypeId(StrCat("nvidia-", *id));
  Check(again.ok() && *again == *id, "ParseMdevTypeId(\"nvidia-\" + id) == id", input);
}

void CheckMdevDescription(std::string_view input) {
  absl::StatusOr<MdevDescription> d = ParseMdevDescription(input);
  if (!d.ok()) return;
  Check(LooksLikeMdevDescription(input),
        "ParseMdevDescription accepts only what LooksLikeMdevDescription does", input);
  Check(d->framebuffer_mib >= 0 && d->max_instance >= 0, "description numbers are non-negative",
        input);
  std::string printed = d->ToString();
  absl::StatusOr<MdevDescription> again = ParseMdevDescription(printed);
  if (!again.ok()) {
    PropertyViolated(StrCat("ParseMdevDescription rejects its own ToString() ",
                            QuoteForMessage(printed, 200), ": ", again.status().message()),
                     input);
  }
  Check(*again == *d, "ParseMdevDescription(d.ToString()) == d", input);
}

// Board contexts for ResolveType: a pre-Ampere time-sliced board, a MIG board, and one picked by
// the input so that descriptions get narrowed to every board over a run.
std::vector<const Board*> ContextBoards(const Catalog& catalog, std::string_view input) {
  static const Board* const kP40 = catalog.FindBoard("P40");
  static const Board* const kA100d = catalog.FindBoard("A100D");
  if (kP40 == nullptr || kA100d == nullptr) {
    PropertyViolated("the embedded catalog has boards P40 and A100D", input);
  }
  std::vector<const Board*> boards;
  const std::vector<Board>& all = catalog.boards();
  if (!input.empty() && !all.empty()) {
    boards.push_back(&all[static_cast<unsigned char>(input.front()) % all.size()]);
  }
  boards.push_back(kP40);
  boards.push_back(kA100d);
  return boards;
}

void CheckResolveType(std::string_view input) {
  const Catalog& catalog = Catalog::Embedded();
  absl::StatusOr<const VgpuType*> anywhere = catalog.ResolveType(input);
  if (anywhere.ok()) {
    const VgpuType* t = *anywhere;
    Check(t != nullptr, "ResolveType never returns OK with nullptr", input);
    Check(catalog.FindTypeByName(t->name) == t, "a resolved type is found by its own name", input);
    Check(catalog.BoardOf(*t) != nullptr, "a resolved type belongs to a board", input);
    absl::StatusOr<const VgpuType*> by_name = catalog.ResolveType(t->name);
    Check(by_name.ok() && *by_name == t, "ResolveType(t->name) gives t back", input);
  }
  std::vector<const Board*> boards = ContextBoards(catalog, input);
  // A rejected name costs a "did you mean" search over the whole catalog per call, which would
  // dominate run time; names that fail without a board are tried with one board only (the one
  // picked by the input, so every board gets its turn over a run).
  if (!anywhere.ok() && !LooksLikeMdevDescription(input) && boards.size() > 1) boards.resize(1);
  for (const Board* board : boards) {
    absl::StatusOr<const VgpuType*> within = catalog.ResolveType(input, board);
    if (within.ok()) {
      Check(*within != nullptr, "ResolveType(s, board) never returns OK with nullptr", input);
      if (!EqualsIgnoreCase((*within)->board_prefix, board->prefix)) {
        PropertyViolated(StrCat("ResolveType(s, ", board->prefix, ") returns ", (*within)->name),
                         input);
      }
      if (anywhere.ok() && *anywhere != *within) {
        PropertyViolated(StrCat("narrowing to ", board->prefix, " changes the resolved type from ",
                                (*anywhere)->name, " to ", (*within)->name),
                         input);
      }
      if (!anywhere.ok() && !LooksLikeMdevDescription(input)) {
        PropertyViolated(StrCat("a name that does not resolve resolves with board ", board->prefix,
                                " to ", (*within)->name),
                         input);
      }
    } else if (anywhere.ok() && EqualsIgnoreCase((*anywhere)->board_prefix, board->prefix)) {
      PropertyViolated(
          StrCat("ResolveType finds a ", board->prefix,
                 " type without the board but fails with it: ", within.status().message()),
          input);
    }
  }
}

}  // namespace
}  // namespace gpufleet::core

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > gpufleet::fuzz::kMaxFuzzInput) return -1;
  std::string_view input = gpufleet::fuzz::AsText(data, size);
  gpufleet::core::CheckTypeName(input);
  gpufleet::core::CheckMdevTypeId(input);
  gpufleet::core::CheckMdevDescription(input);
  gpufleet::core::CheckResolveType(input);
  return 0;
}
