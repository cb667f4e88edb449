#ifndef GPUFLEET_CORE_CATALOG_DATA_H_
#define GPUFLEET_CORE_CATALOG_DATA_H_

// Internal to src/core: the storage behind Catalog and the decoder that fills it.

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/catalog.h"
#include "core/catalog_model.h"

namespace gpufleet::core::internal {

struct CatalogData {
  std::vector<Source> sources;
  std::vector<Board> boards;
  std::vector<ReleaseBranch> releases;
  std::vector<CudaToolkit> toolkits;
  std::vector<MinorVersionCompat> minor_version_compatibility;
  CudaVgpuSupport cuda_vgpu_support;
  std::vector<Edition> editions;
  std::vector<FeatureTypeMeaning> feature_types;
  UnlicensedBehaviour unlicensed;

  // Indexes into the vectors above, built once after decoding; keys are lower-case.
  std::map<std::string, const Board*, std::less<>> board_by_key;
  std::map<std::string, const VgpuType*, std::less<>> type_by_name;
  std::map<int, const VgpuType*> type_by_mdev_id;
  std::map<std::string, const Board*, std::less<>> board_by_prefix;
};

// Decodes the documents into `out` and checks references between sections (source ids, board
// prefixes, names). Does not build the indexes.
absl::Status DecodeCatalog(const std::vector<CatalogDocument>& documents, CatalogData& out);

}  // namespace gpufleet::core::internal

#endif  // GPUFLEET_CORE_CATALOG_DATA_H_
