#ifndef GPUFLEET_TESTS_CRASH_CRASH_HARNESS_H_
#define GPUFLEET_TESTS_CRASH_CRASH_HARNESS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace gpufleet::crash {

struct CrashOptions {
  std::string gpufleetd;  // the binary; required
  int rounds = 200;       // each ends with one SIGKILL (during startup or during load)
  std::uint64_t seed = 1;
  int client_threads = 3;
  // Each round's load runs for a random time in [0, max_load] before the kill.
  absl::Duration max_load = absl::Milliseconds(120);
  // Share of rounds killed during startup, at a random point before the port is printed.
  int startup_kill_percent = 12;
  // Every this many rounds, and after the final kill, the store is opened directly (with the
  // controller dead) for PRAGMA integrity_check and the checks on its rows. 0: the end only.
  int store_check_every = 10;
  // Where the data directory, the controller's output and requests.log go; "" = a new
  // directory under $TMPDIR (or /tmp), removed after a run that passed unless `keep`.
  std::string work_dir;
  bool keep = false;
};

struct CrashResult {
  std::vector<std::string> failures;  // empty: every check held
  std::size_t failure_count = 0;      // failures found (only the first few are kept)
  std::string work_dir;               // still on disk when kept
  bool kept = false;
  int kills = 0;          // SIGKILLs sent
  int startup_kills = 0;  // of which during startup
  std::string summary;    // several lines: counts per request kind and workload
};

// Starts `gpufleetd controller` on a fresh data directory, then for each round: checks the
// restarted controller against everything acknowledged so far, drives load from the client
// threads, and kills it with SIGKILL after a random delay. A final start checks everything, with
// every token probed, and a final kill is followed by a check of the store itself.
CrashResult RunCrashTest(const CrashOptions& options);

}  // namespace gpufleet::crash

#endif  // GPUFLEET_TESTS_CRASH_CRASH_HARNESS_H_
