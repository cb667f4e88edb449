#ifndef GPUFLEET_CLI_APP_H_
#define GPUFLEET_CLI_APP_H_

#include <atomic>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "os/clock.h"
#include "os/file_system.h"

namespace gpufleet::cli {

// What the CLI needs from the machine; src/cmd/gpufleet/main.cc passes the real ones, tests pass
// fakes.
struct Environment {
  const os::FileSystem* fs = nullptr;
  const os::Clock* clock = nullptr;
  // Reads an environment variable ($GPUFLEET_SERVER, $HOME, ...). Null reads the process
  // environment; tests pass their own so that they do not depend on the machine.
  std::function<std::optional<std::string>(const std::string&)> getenv = nullptr;
  // Commands that run until stopped (events --follow) end cleanly once this is true. Null: they
  // install a SIGINT handler of their own for as long as they run.
  const std::atomic<bool>* interrupted = nullptr;
  // Waits between reconnects (events --follow). Null waits in real time.
  std::function<void(absl::Duration)> sleep = nullptr;
};

// Reads `name` through env.getenv, or the process environment when that is null.
[[nodiscard]] std::optional<std::string> GetEnv(const Environment& env, const std::string& name);

// Exit codes of `gpufleet`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitNo = 1;        // the answer is "no": a compatibility rule failed, or the
                                         // controller refused (409/412)
inline constexpr int kExitBadInput = 2;  // usage error, bad flag value, unknown name, bad file,
                                         // rejected token or role
inline constexpr int kExitInternal = 3;  // anything else; a bug, an I/O failure, no controller

// Parses argv, runs the chosen command and returns the process exit code. Output goes to `out`,
// diagnostics to `err`.
int RunCli(int argc, const char* const* argv, const Environment& env, std::ostream& out,
           std::ostream& err);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_APP_H_
