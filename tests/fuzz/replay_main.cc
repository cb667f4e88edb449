// Replays files through a fuzzer's LLVMFuzzerTestOneInput without libFuzzer, so any compiler can
// run the seed corpus as a test. Arguments are corpus directories (every regular file inside, in
// name order) or single files, e.g. a crash-* file saved by the fuzzer. Exits non-zero when an
// argument is missing, when nothing was replayed, or when the target returns anything but 0 / -1;
// a violated property aborts the process.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

bool ReadFile(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

// Appends the files named by `arg` to `files`; false (with a message) when there are none.
bool CollectInputs(const fs::path& arg, std::vector<fs::path>* files) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) {
    files->push_back(arg);
    return true;
  }
  if (!fs::is_directory(arg, ec)) {
    std::cerr << "fuzz replay: " << arg << " is neither a file nor a directory\n";
    return false;
  }
  std::vector<fs::path> found;
  for (const fs::directory_entry& entry : fs::directory_iterator(arg, ec)) {
    if (entry.is_regular_file(ec)) found.push_back(entry.path());
  }
  if (ec) {
    std::cerr << "fuzz replay: cannot list " << arg << ": " << ec.message() << "\n";
    return false;
  }
  if (found.empty()) {
    std::cerr << "fuzz replay: corpus directory " << arg << " has no files\n";
    return false;
  }
  std::sort(found.begin(), found.end());
  files->insert(files->end(), found.begin(), found.end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " CORPUS_DIR_OR_FILE...\n";
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    if (!CollectInputs(argv[i], &files)) return 1;
  }
  std::size_t replayed = 0;
  for (const fs::path& path : files) {
    std::string data;
    if (!ReadFile(path, &data)) {
      std::cerr << "fuzz replay: cannot read " << path << "\n";
      return 1;
    }
    int rc =
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    if (rc != 0 && rc != -1) {
      std::cerr << "fuzz replay: " << path << ": LLVMFuzzerTestOneInput returned " << rc << "\n";
      return 1;
    }
    ++replayed;
  }
  std::cout << "replayed " << replayed << " inputs\n";
  return replayed == 0 ? 1 : 0;
}
