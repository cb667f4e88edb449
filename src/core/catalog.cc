#include "core/catalog.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "absl/status/status.h"
#include "common/embedded_file.h"
#include "common/strings.h"
#include "core/catalog_data.h"

namespace gpufleet {
// Generated from data/catalog/*.json by cmake/EmbedFiles.cmake.
std::vector<EmbeddedFile> EmbeddedCatalogFiles();
}  // namespace gpufleet

namespace gpufleet::core {

using internal::CatalogData;

bool Provenance::IsInferred(std::string_view field) const {
  return std::find(inferred_fields.begin(), inferred_fields.end(), field) != inferred_fields.end();
}

bool Board::UsesNvidiaSysfsPrefix() const {
  return architecture != "Maxwell" && architecture != "Pascal" && architecture != "Volta" &&
         architecture != "Turing";
}

Catalog::Catalog(std::unique_ptr<CatalogData> data) : data_(std::move(data)) {}
Catalog::Catalog(Catalog&&) noexcept = default;
Catalog& Catalog::operator=(Catalog&&) noexcept = default;
Catalog::~Catalog() = default;

absl::StatusOr<Catalog> Catalog::Load(const std::vector<CatalogDocument>& documents) {
  auto data = std::make_unique<CatalogData>();
  if (absl::Status s = internal::DecodeCatalog(documents, *data); !s.ok()) return s;
  for (const Board& b : data->boards) {
    data->board_by_prefix.emplace(AsciiLower(b.prefix), &b);
    data->board_by_key.emplace(AsciiLower(b.prefix), &b);
    data->board_by_key.emplace(AsciiLower(b.name), &b);
    // "Tesla P40" and "NVIDIA A40" are also known as "P40" and "A40".
    for (std::string_view vendor : {"tesla ", "nvidia "}) {
      std::string lower = AsciiLower(b.name);
      if (lower.starts_with(vendor)) data->board_by_key.emplace(lower.substr(vendor.size()), &b);
    }
    for (const VgpuType& t : b.types) {
      data->type_by_name.emplace(AsciiLower(t.name), &t);
      if (t.mdev_id) {
        auto [it, inserted] = data->type_by_mdev_id.emplace(*t.mdev_id, &t);
        if (!inserted) {
          return absl::InvalidArgumentError(StrCat("catalog: mdev type nvidia-", *t.mdev_id,
                                                   " is given to both ", it->second->name, " and ",
                                                   t.name));
        }
      }
    }
  }
  return Catalog(std::move(data));
}

std::vector<CatalogDocument> Catalog::EmbeddedDocuments() {
  std::vector<CatalogDocument> docs;
  for (const EmbeddedFile& f : EmbeddedCatalogFiles()) {
    docs.push_back({std::string(f.name), std::string(f.data)});
  }
  return docs;
}

const Catalog& Catalog::Embedded() {
  static const Catalog* const catalog = [] {
    absl::StatusOr<Catalog> c = Load(EmbeddedDocuments());
    if (!c.ok()) {
      // The embedded catalog is validated by tests at build time; failing here is a build bug.
      std::cerr << "gpufleet: the built-in catalog is invalid: " << c.status() << "\n";
      std::abort();
    }
    return new Catalog(*std::move(c));
  }();
  return *catalog;
}

const std::vector<Source>& Catalog::sources() const { return data_->sources; }
const std::vector<Board>& Catalog::boards() const { return data_->boards; }
const std::vector<ReleaseBranch>& Catalog::releases() const { return data_->releases; }
const std::vector<CudaToolkit>& Catalog::toolkits() const { return data_->toolkits; }
const std::vector<MinorVersionCompat>& Catalog::minor_version_compatibility() const {
  return data_->minor_version_compatibility;
}
const CudaVgpuSupport& Catalog::cuda_vgpu_support() const { return data_->cuda_vgpu_support; }
const std::vector<Edition>& Catalog::editions() const { return data_->editions; }
const std::vector<FeatureTypeMeaning>& Catalog::feature_types() const {
  return data_->feature_types;
}
const UnlicensedBehaviour& Catalog::unlicensed() const { return data_->unlicensed; }

const Source* Catalog::FindSource(std::string_view id) const {
  for (const Source& s : data_->sources) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

const Board* Catalog::FindBoard(std::string_view name) const {
  auto it = data_->board_by_key.find(AsciiLower(StripAsciiWhitespace(name)));
  return it == data_->board_by_key.end() ? nullptr : it->second;
}

absl::StatusOr<const Board*> Catalog::ResolveBoard(std::string_view name) const {
  if (const Board* b = FindBoard(name)) return b;
  std::vector<std::string> keys;
  for (const Board& b : data_->boards) {
    keys.push_back(b.prefix);
    keys.push_back(b.name);
  }
  std::string msg = StrCat("unknown board ", QuoteForMessage(name));
  if (auto near = ClosestMatch(name, keys)) StrAppend(&msg, "; did you mean ", *near, "?");
  StrAppend(&msg, " (see 'gpufleet catalog boards')");
  return absl::NotFoundError(msg);
}

const VgpuType* Catalog::FindTypeByName(std::string_view canonical_name) const {
  auto it = data_->type_by_name.find(AsciiLower(canonical_name));
  return it == data_->type_by_name.end() ? nullptr : it->second;
}

const VgpuType* Catalog::FindTypeByMdevId(int mdev_id) const {
  auto it = data_->type_by_mdev_id.find(mdev_id);
  return it == data_->type_by_mdev_id.end() ? nullptr : it->second;
}

const Board* Catalog::BoardOf(const VgpuType& type) const {
  auto it = data_->board_by_prefix.find(AsciiLower(type.board_prefix));
  return it == data_->board_by_prefix.end() ? nullptr : it->second;
}

std::vector<std::string> Catalog::TypeNames() const {
  std::vector<std::string> names;
  for (const Board& b : data_->boards) {
    for (const VgpuType& t : b.types) names.push_back(t.name);
  }
  return names;
}

namespace {

// The board's types of the same series and kind just below and just above the requested size:
// what an operator who typed P40-9Q most likely wants to see.
std::vector<std::string> NearestSizes(const Board& b, const TypeName& wanted) {
  const VgpuType* below = nullptr;
  const VgpuType* above = nullptr;
  for (const VgpuType& t : b.types) {
    if (t.series != wanted.series || t.mig_backed != wanted.mig_backed()) continue;
    if (t.framebuffer_mib <= wanted.framebuffer_mib() &&
        (!below || t.framebuffer_mib > below->framebuffer_mib)) {
      below = &t;
    }
    if (t.framebuffer_mib >= wanted.framebuffer_mib() &&
        (!above || t.framebuffer_mib < above->framebuffer_mib)) {
      above = &t;
    }
  }
  std::vector<std::string> out;
  if (below) out.push_back(below->name);
  if (above && above != below) out.push_back(above->name);
  return out;
}

}  // namespace

absl::StatusOr<const VgpuType*> Catalog::ResolveType(std::string_view spelling,
                                                     const Board* board) const {
  const VgpuType* found = nullptr;
  if (LooksLikeMdevTypeId(spelling)) {
    absl::StatusOr<int> id = ParseMdevTypeId(spelling);
    if (!id.ok()) return id.status();
    found = FindTypeByMdevId(*id);
    if (found == nullptr) {
      return absl::NotFoundError(StrCat(
          "mdev type nvidia-", *id,
          " is not in the catalog (mdev ids are known for most boards up to Ampere and for the "
          "L40S, from driver 510.47.03; read the type's 'name' file in sysfs instead)"));
    }
  } else if (LooksLikeMdevDescription(spelling)) {
    return ResolveDescription(spelling, board);
  } else {
    absl::StatusOr<TypeName> parsed = ParseTypeName(spelling);
    if (!parsed.ok()) {
      std::string msg(parsed.status().message());
      if (auto near = ClosestMatch(spelling, TypeNames())) {
        StrAppend(&msg, "; did you mean ", *near, "?");
      }
      return absl::InvalidArgumentError(msg);
    }
    found = FindTypeByName(parsed->ToString());
    if (found == nullptr) {
      std::string msg = StrCat("unknown vGPU type ", QuoteForMessage(spelling));
      const Board* b = FindBoard(parsed->board_prefix);
      std::vector<std::string> nearest = b ? NearestSizes(*b, *parsed) : std::vector<std::string>{};
      if (b == nullptr) {
        StrAppend(&msg, ": no board with prefix ", QuoteForMessage(parsed->board_prefix));
        if (auto near = ClosestMatch(parsed->ToString(), TypeNames())) {
          StrAppend(&msg, "; did you mean ", *near, "?");
        }
      } else if (!nearest.empty()) {
        StrAppend(&msg, ": ", b->prefix, " has no ", parsed->framebuffer_gb, " GB ",
                  std::string(1, SeriesLetter(parsed->series)),
                  "-series type; nearest: ", StrJoin(nearest, ", "));
      } else {
        StrAppend(&msg, ": ", b->prefix, " has no ", std::string(1, SeriesLetter(parsed->series)),
                  "-series", parsed->mig_backed() ? " MIG-backed" : "", " types");
      }
      StrAppend(&msg, " (see 'gpufleet catalog types",
                b ? StrCat(" --board ", b->prefix) : std::string(), "')");
      return absl::NotFoundError(msg);
    }
  }
  if (board != nullptr && !EqualsIgnoreCase(found->board_prefix, board->prefix)) {
    return absl::InvalidArgumentError(StrCat("vGPU type ", found->name, " belongs to board ",
                                             found->board_prefix, ", not ", board->prefix));
  }
  return found;
}

absl::StatusOr<const VgpuType*> Catalog::ResolveDescription(std::string_view text,
                                                            const Board* board) const {
  absl::StatusOr<MdevDescription> d = ParseMdevDescription(text);
  if (!d.ok()) return d.status();
  std::vector<const VgpuType*> matches;
  for (const Board& b : data_->boards) {
    if (board != nullptr && &b != board) continue;
    for (const VgpuType& t : b.types) {
      if (t.framebuffer_mib != d->framebuffer_mib || t.max_instances != d->max_instance) continue;
      if (d->num_heads && t.display_heads && *t.display_heads != *d->num_heads) continue;
      if (d->frl_config && t.frame_rate_limit_fps && *t.frame_rate_limit_fps != *d->frl_config) {
        continue;
      }
      if (d->max_resolution && t.max_resolution && *t.max_resolution != *d->max_resolution) {
        continue;
      }
      matches.push_back(&t);
    }
  }
  if (matches.size() == 1) return matches.front();
  if (matches.empty()) {
    return absl::NotFoundError(
        StrCat("no vGPU type", board ? StrCat(" of ", board->prefix) : std::string(),
               " matches the description ", QuoteForMessage(d->ToString(), 160)));
  }
  std::vector<std::string> names;
  for (const VgpuType* t : matches) names.push_back(t->name);
  if (names.size() > 8) {
    names.resize(8);
    names.push_back("...");
  }
  return absl::FailedPreconditionError(
      StrCat("the description ", QuoteForMessage(d->ToString(), 160), " matches ", matches.size(),
             " types (", StrJoin(names, ", "), "); name the board to choose one"));
}

const ReleaseBranch* Catalog::FindBranch(int branch) const {
  for (const ReleaseBranch& b : data_->releases) {
    if (b.branch == branch) return &b;
  }
  return nullptr;
}

DriverMatch Catalog::FindRelease(const ReleaseVersion& version) const {
  const ReleaseBranch* b = FindBranch(version.major());
  if (b == nullptr) return {};
  for (const ReleaseVersionRow& row : b->versions) {
    if (row.version && *row.version == version) return {b, &row};
  }
  return {b, nullptr};
}

namespace {

int DriverBranchNumber(const ReleaseBranch& b) {
  return ParseNonNegativeInt(std::string_view(b.driver_branch).substr(1)).value_or(-1);
}

}  // namespace

DriverMatch Catalog::FindByHostDriver(const DriverVersion& v) const {
  for (const ReleaseBranch& b : data_->releases) {
    for (const ReleaseVersionRow& row : b.versions) {
      if (row.vgpu_manager_kvm && *row.vgpu_manager_kvm == v) return {&b, &row};
    }
  }
  for (const ReleaseBranch& b : data_->releases) {
    if (DriverBranchNumber(b) == v.branch()) return {&b, nullptr};
  }
  return {};
}

DriverMatch Catalog::FindByGuestDriver(const DriverVersion& v, bool* is_windows) const {
  *is_windows = false;
  for (const ReleaseBranch& b : data_->releases) {
    for (const ReleaseVersionRow& row : b.versions) {
      if (row.guest_linux && *row.guest_linux == v) return {&b, &row};
    }
  }
  for (const ReleaseBranch& b : data_->releases) {
    for (const ReleaseVersionRow& row : b.versions) {
      if (row.guest_windows && *row.guest_windows == v) {
        *is_windows = true;
        return {&b, &row};
      }
    }
  }
  for (const ReleaseBranch& b : data_->releases) {
    if (DriverBranchNumber(b) == v.branch()) return {&b, nullptr};
  }
  return {};
}

const CudaToolkit* Catalog::FindToolkit(const CudaVersion& v) const {
  for (const CudaToolkit& t : data_->toolkits) {
    if (t.version == v) return &t;
  }
  return nullptr;
}

const MinorVersionCompat* Catalog::FindMinorVersionCompat(int cuda_major) const {
  for (const MinorVersionCompat& m : data_->minor_version_compatibility) {
    if (m.major == cuda_major) return &m;
  }
  return nullptr;
}

const Edition* Catalog::FindEdition(std::string_view id) const {
  for (const Edition& e : data_->editions) {
    if (EqualsIgnoreCase(e.id, id)) return &e;
  }
  return nullptr;
}

const Edition* Catalog::EditionForSeries(Series s) const {
  for (const Edition& e : data_->editions) {
    if (e.primary_series == s) return &e;
  }
  return nullptr;
}

}  // namespace gpufleet::core
