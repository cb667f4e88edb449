#ifndef GPUFLEET_CLI_APP_H_
#define GPUFLEET_CLI_APP_H_

#include <ostream>

#include "os/clock.h"
#include "os/file_system.h"

namespace gpufleet::cli {

// What the CLI needs from the machine; src/cmd/gpufleet/main.cc passes the real ones, tests pass
// fakes.
struct Environment {
  const os::FileSystem* fs = nullptr;
  const os::Clock* clock = nullptr;
};

// Exit codes of `gpufleet`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitNo = 1;        // the answer is "no": a compatibility rule failed
inline constexpr int kExitBadInput = 2;  // usage error, bad flag value, unknown name, bad file
inline constexpr int kExitInternal = 3;  // anything else; a bug or an I/O failure

// Parses argv, runs the chosen command and returns the process exit code. Output goes to `out`,
// diagnostics to `err`.
int RunCli(int argc, const char* const* argv, const Environment& env, std::ostream& out,
           std::ostream& err);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_APP_H_
