#ifndef GPUFLEET_CORE_CATALOG_H_
#define GPUFLEET_CORE_CATALOG_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/catalog_model.h"
#include "core/type_name.h"

namespace gpufleet::core {

namespace internal {
struct CatalogData;
}  // namespace internal

// One JSON document of the catalog: a file name (for messages) and its text. A document holds any
// of the top-level sections "sources", "boards", "releases", "toolkits" (+ "minor_version_
// compatibility", "vgpu_support"), "editions" (+ "feature_types", "unlicensed"); a set of
// documents must hold each section exactly once. data/catalog/ splits them into five files; a
// newer catalog may come as one file or as such a directory.
struct CatalogDocument {
  std::string name;
  std::string text;
};

// Where a release row was found for a driver version.
struct DriverMatch {
  const ReleaseBranch* branch = nullptr;
  const ReleaseVersionRow* row = nullptr;  // nullptr when only the branch is known
};

// The vGPU catalog: immutable after loading, cheap to share by const reference, thread-safe.
class Catalog {
 public:
  // Decodes and validates the documents. Errors name the document, the JSON path and the reason
  // ("boards.json: boards[3].types[2].series: 'X' is not one of Q, C, B, A"); unknown fields,
  // unknown source ids and duplicate names are errors. Invariants that only the validation test
  // checks (framebuffer arithmetic) are not enforced here.
  static absl::StatusOr<Catalog> Load(const std::vector<CatalogDocument>& documents);
  // The catalog compiled into the binary from data/catalog/ (parsed on first use).
  static const Catalog& Embedded();
  static std::vector<CatalogDocument> EmbeddedDocuments();

  Catalog(Catalog&&) noexcept;
  Catalog& operator=(Catalog&&) noexcept;
  ~Catalog();

  [[nodiscard]] const std::vector<Source>& sources() const;
  [[nodiscard]] const std::vector<Board>& boards() const;
  [[nodiscard]] const std::vector<ReleaseBranch>& releases() const;
  [[nodiscard]] const std::vector<CudaToolkit>& toolkits() const;
  [[nodiscard]] const std::vector<MinorVersionCompat>& minor_version_compatibility() const;
  [[nodiscard]] const CudaVgpuSupport& cuda_vgpu_support() const;
  [[nodiscard]] const std::vector<Edition>& editions() const;
  [[nodiscard]] const std::vector<FeatureTypeMeaning>& feature_types() const;
  [[nodiscard]] const UnlicensedBehaviour& unlicensed() const;

  [[nodiscard]] const Source* FindSource(std::string_view id) const;

  // A board by type prefix ("P40"), full name ("Tesla P40") or name without vendor ("P40",
  // "A100 PCIe 80GB"), case-insensitive. Resolve* return NotFound with a "did you mean" hint.
  [[nodiscard]] const Board* FindBoard(std::string_view name) const;
  absl::StatusOr<const Board*> ResolveBoard(std::string_view name) const;

  // A type from any spelling operators meet: NVIDIA / VMware / sysfs names, an mdev type id
  // ("nvidia-63"), or a sysfs description string. A description does not name the board, so it
  // may match types of several boards; `board` narrows it, and an ambiguous match is an error
  // listing the candidates.
  absl::StatusOr<const VgpuType*> ResolveType(std::string_view spelling,
                                              const Board* board = nullptr) const;
  [[nodiscard]] const VgpuType* FindTypeByName(std::string_view canonical_name) const;
  [[nodiscard]] const VgpuType* FindTypeByMdevId(int mdev_id) const;
  [[nodiscard]] const Board* BoardOf(const VgpuType& type) const;

  [[nodiscard]] const ReleaseBranch* FindBranch(int branch) const;
  // A release row by version ("15.2"); nullptr if the catalog has no such row.
  [[nodiscard]] DriverMatch FindRelease(const ReleaseVersion& version) const;
  // Rows whose vGPU manager (guest) driver equals `v`; if none, the branch whose driver branch
  // number matches (R525 for 525.x) with row == nullptr; if none, an empty match.
  [[nodiscard]] DriverMatch FindByHostDriver(const DriverVersion& v) const;
  [[nodiscard]] DriverMatch FindByGuestDriver(const DriverVersion& v, bool* is_windows) const;

  // The toolkit row for a version; "12.1" finds 12.1 GA, "12.1.1" finds 12.1 Update 1.
  [[nodiscard]] const CudaToolkit* FindToolkit(const CudaVersion& v) const;
  [[nodiscard]] const MinorVersionCompat* FindMinorVersionCompat(int cuda_major) const;

  [[nodiscard]] const Edition* FindEdition(std::string_view id) const;  // case-insensitive
  [[nodiscard]] const Edition* EditionForSeries(Series s) const;

  // All type names, for suggestions and completion.
  [[nodiscard]] std::vector<std::string> TypeNames() const;

 private:
  explicit Catalog(std::unique_ptr<internal::CatalogData> data);
  absl::StatusOr<const VgpuType*> ResolveDescription(std::string_view text,
                                                     const Board* board) const;
  std::unique_ptr<internal::CatalogData> data_;
};

}  // namespace gpufleet::core

#endif  // GPUFLEET_CORE_CATALOG_H_
