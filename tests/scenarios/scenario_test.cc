// The one driver of the planner scenarios: one test per tests/scenarios/*.yaml file, found at run
// time (CTest discovers them before each run, so a new file needs no rebuild), named after it.

#include "scenario.h"

#include <cstdlib>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "common/strings.h"
#include "gtest/gtest.h"
#include "os/file_system.h"
#include "scenario_run.h"

namespace gpufleet::planner::scenario {
namespace {

// GPUFLEET_SCENARIO_DIR in the environment points the driver at another directory (to try a
// scenario out of tree); by default it runs the files beside it.
std::string Directory() {
  const char* dir = std::getenv("GPUFLEET_SCENARIO_DIR");
  return dir != nullptr && *dir != '\0' ? dir : GPUFLEET_SOURCE_DIR "/tests/scenarios";
}
constexpr std::size_t kMinScenarios = 40;
constexpr std::size_t kMaxScenarioBytes = 1 << 20;

struct ScenarioFile {
  std::string name;  // the test name: the file name without .yaml, [A-Za-z0-9_] only
  std::string path;
};

void PrintTo(const ScenarioFile& f, std::ostream* os) { *os << f.path; }

std::string TestName(std::string_view file) {
  std::string name(file.substr(0, file.size() - 5));
  for (char& c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) c = '_';
  }
  return name;
}

const os::FileSystem& Fs() {
  static const std::unique_ptr<os::FileSystem> kFs = os::NewPosixFileSystem();
  return *kFs;
}

// The scenario files, sorted; empty when the directory cannot be listed (the count test then
// fails with the reason).
std::vector<ScenarioFile> ScenarioFiles(absl::Status* error = nullptr) {
  std::vector<ScenarioFile> files;
  absl::StatusOr<std::vector<std::string>> names = Fs().ListDirectory(Directory());
  if (!names.ok()) {
    if (error != nullptr) *error = names.status();
    return files;
  }
  for (const std::string& n : *names) {
    if (n.size() > 5 && n.ends_with(".yaml")) {
      files.push_back({TestName(n), StrCat(Directory(), "/", n)});
    }
  }
  return files;
}

TEST(ScenarioFilesTest, AtLeastFortyWithDistinctNames) {
  absl::Status error;
  const std::vector<ScenarioFile> files = ScenarioFiles(&error);
  ASSERT_TRUE(error.ok()) << error;
  EXPECT_GE(files.size(), kMinScenarios) << "in " << Directory();
  std::set<std::string> names;
  for (const ScenarioFile& f : files) {
    EXPECT_TRUE(names.insert(f.name).second)
        << f.path << ": another file has the test name " << f.name;
  }
}

class ScenarioTest : public ::testing::TestWithParam<ScenarioFile> {};

TEST_P(ScenarioTest, Holds) {
  const ScenarioFile& file = GetParam();
  absl::StatusOr<std::string> text = Fs().ReadFile(file.path, kMaxScenarioBytes);
  ASSERT_TRUE(text.ok()) << text.status();
  const core::Catalog& catalog = core::Catalog::Embedded();
  // Messages name the file as a path from the repository root when it is in the tree.
  constexpr std::string_view kRoot = GPUFLEET_SOURCE_DIR "/";
  const std::string display =
      file.path.starts_with(kRoot) ? file.path.substr(kRoot.size()) : file.path;
  absl::StatusOr<Scenario> s = ParseScenario(*text, display, catalog);
  ASSERT_TRUE(s.ok()) << s.status();
  const Outcome out = RunScenario(*s, catalog);
  for (const std::string& e : out.errors) ADD_FAILURE() << display << ": " << e;
  if (!out.errors.empty()) return;
  const std::string context = StrCat(display, " (", OperationName(s->operation),
                                     "): ", s->description, "\nplanner's answer:\n", out.summary);
  if (!s->known_bug.empty()) {
    if (out.failures.empty()) {
      ADD_FAILURE() << context << "\nevery expectation holds now: remove known_bug ("
                    << s->known_bug << ")";
    } else {
      GTEST_SKIP() << "known bug: " << s->known_bug << "\n" << StrJoin(out.failures, "\n");
    }
    return;
  }
  for (const std::string& f : out.failures) ADD_FAILURE() << f << "\n" << context;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, ScenarioTest, ::testing::ValuesIn(ScenarioFiles()),
                         [](const ::testing::TestParamInfo<ScenarioFile>& param) {
                           return param.param.name;
                         });

}  // namespace
}  // namespace gpufleet::planner::scenario
