#ifndef GPUFLEET_COMMON_EMBEDDED_FILE_H_
#define GPUFLEET_COMMON_EMBEDDED_FILE_H_

#include <string_view>

namespace gpufleet {

// A data file compiled into the binary (see cmake/EmbedFiles.cmake). Both views point at static
// storage and stay valid for the life of the program.
struct EmbeddedFile {
  std::string_view name;
  std::string_view data;
};

}  // namespace gpufleet

#endif  // GPUFLEET_COMMON_EMBEDDED_FILE_H_
