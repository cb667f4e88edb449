// The controller crash test (README.md): the real gpufleetd, killed with SIGKILL at random points
// under load, restarted on the same data directory, and checked after every restart.
//
//   crash_test --gpufleetd=PATH [--rounds=N] [--seed=S] [--threads=N] [--keep]
// or the environment: GPUFLEETD, GPUFLEET_CRASH_ROUNDS, GPUFLEET_CRASH_SEED,
// GPUFLEET_CRASH_THREADS, GPUFLEET_CRASH_KEEP=1, GPUFLEET_CRASH_WORK_DIR.

#include <stdlib.h>

#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include "common/strings.h"
#include "crash_harness.h"
#include "gtest/gtest.h"

namespace gpufleet::crash {
namespace {

CrashOptions& Flags() {
  static CrashOptions options;
  return options;
}

std::string Env(const char* name) {
  const char* v = ::getenv(name);
  return v == nullptr ? "" : v;
}

bool ParseUint(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text.size() > 19) return false;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

// Reads the environment, then the flags (which win). False, with a message, on a bad value.
bool ParseOptions(int argc, char** argv, CrashOptions& o) {
  auto number = [](std::string_view name, std::string_view text, std::uint64_t& out) {
    if (ParseUint(text, out)) return true;
    std::cerr << "crash_test: " << name << ": expected a non-negative integer, got "
              << QuoteForMessage(text) << "\n";
    return false;
  };
  std::uint64_t v = 0;
  o.gpufleetd = Env("GPUFLEETD");
  o.work_dir = Env("GPUFLEET_CRASH_WORK_DIR");
  o.keep = Env("GPUFLEET_CRASH_KEEP") == "1";
  if (std::string e = Env("GPUFLEET_CRASH_ROUNDS"); !e.empty()) {
    if (!number("GPUFLEET_CRASH_ROUNDS", e, v)) return false;
    o.rounds = static_cast<int>(v);
  }
  if (std::string e = Env("GPUFLEET_CRASH_SEED"); !e.empty()) {
    if (!number("GPUFLEET_CRASH_SEED", e, o.seed)) return false;
  }
  if (std::string e = Env("GPUFLEET_CRASH_THREADS"); !e.empty()) {
    if (!number("GPUFLEET_CRASH_THREADS", e, v)) return false;
    o.client_threads = static_cast<int>(v);
  }
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view flag) -> std::optional<std::string_view> {
      if (!arg.starts_with(flag) || arg.size() <= flag.size() || arg[flag.size()] != '=') {
        return std::nullopt;
      }
      return arg.substr(flag.size() + 1);
    };
    if (auto p = value("--gpufleetd")) {
      o.gpufleetd = std::string(*p);
    } else if (auto r = value("--rounds")) {
      if (!number("--rounds", *r, v)) return false;
      o.rounds = static_cast<int>(v);
    } else if (auto s = value("--seed")) {
      if (!number("--seed", *s, o.seed)) return false;
    } else if (auto t = value("--threads")) {
      if (!number("--threads", *t, v)) return false;
      o.client_threads = static_cast<int>(v);
    } else if (arg == "--keep") {
      o.keep = true;
    } else {
      std::cerr << "crash_test: unknown argument " << QuoteForMessage(arg) << "\n";
      return false;
    }
  }
  if (o.rounds > 1000000 || o.client_threads < 1 || o.client_threads > 64) {
    std::cerr << "crash_test: --rounds at most 1000000, --threads 1..64\n";
    return false;
  }
  return true;
}

TEST(ControllerCrashTest, AcknowledgedWritesSurviveSigkill) {
  const CrashOptions& options = Flags();
  ASSERT_FALSE(options.gpufleetd.empty())
      << "pass --gpufleetd=PATH (CTest does) or set GPUFLEETD to the gpufleetd binary";
  std::cout << "crash test: " << options.rounds << " rounds, seed " << options.seed << ", "
            << options.client_threads << " client threads" << std::endl;
  CrashResult result = RunCrashTest(options);
  std::cout << result.summary;
  if (result.kept) std::cout << "crash test: kept the work directory " << result.work_dir << "\n";
  for (const std::string& failure : result.failures) ADD_FAILURE() << failure;
  if (result.failure_count > result.failures.size()) {
    ADD_FAILURE() << result.failure_count - result.failures.size() << " more failures";
  }
  if (!result.failures.empty()) {
    ADD_FAILURE() << "the data directory, the controller's stderr and requests.log are kept in "
                  << result.work_dir << " (README.md: debugging a kept run)";
  }
  if (result.failure_count == 0) {
    EXPECT_GE(result.kills, options.rounds);
  }
}

}  // namespace
}  // namespace gpufleet::crash

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (!gpufleet::crash::ParseOptions(argc, argv, gpufleet::crash::Flags())) return 2;
  return RUN_ALL_TESTS();
}
