#include "cli/version_command.h"

#include "common/strings.h"

#ifndef GPUFLEET_VERSION
#error "GPUFLEET_VERSION must be defined by the build"
#endif

namespace gpufleet::cli {

absl::Status RunVersion(Context& ctx, bool catalog_from_file, std::ostream& out) {
  const core::Catalog& c = *ctx.catalog;
  std::size_t types = 0;
  for (const core::Board& b : c.boards()) types += b.types.size();
  std::string newest;
  for (const core::ReleaseBranch& b : c.releases()) {
    for (const core::ReleaseVersionRow& v : b.versions) {
      if (v.version) newest = v.version->ToString();
    }
  }
  nlohmann::json doc = {{"version", GPUFLEET_VERSION},
                        {"catalog",
                         {{"origin", catalog_from_file ? "file" : "built-in"},
                          {"boards", c.boards().size()},
                          {"vgpu_types", types},
                          {"release_branches", c.releases().size()},
                          {"newest_release", newest},
                          {"cuda_toolkits", c.toolkits().size()},
                          {"sources", c.sources().size()}}}};
  if (WriteStructured(ctx.format, doc, out)) return absl::OkStatus();
  out << "gpufleet " << GPUFLEET_VERSION << "\n"
      << "catalog: " << (catalog_from_file ? "loaded with --catalog" : "built-in") << ", "
      << c.boards().size() << " boards, " << types << " vGPU types, " << c.releases().size()
      << " release branches (newest release " << newest << "), " << c.toolkits().size()
      << " CUDA toolkits, " << c.sources().size() << " sources\n";
  return absl::OkStatus();
}

}  // namespace gpufleet::cli
