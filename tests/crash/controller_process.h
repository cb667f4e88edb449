#ifndef GPUFLEET_TESTS_CRASH_CONTROLLER_PROCESS_H_
#define GPUFLEET_TESTS_CRASH_CONTROLLER_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gpufleet::crash {

struct ControllerProcessOptions {
  std::string binary;    // the gpufleetd executable
  std::string data_dir;  // --data-dir
  // Where the child's output goes: stdout to <log_dir>/controller.stdout (truncated at each
  // start, it holds the port and the first admin token), stderr appended to
  // <log_dir>/controller.stderr (kept across starts, one header line per start).
  std::string log_dir;
  std::vector<std::string> extra_args;  // after `controller --data-dir D --listen 127.0.0.1:0`
};

// The real `gpufleetd controller` as a child process (posix_spawn), on 127.0.0.1 port 0. One
// child at a time; Kill() ends it with SIGKILL and reaps it. Not thread-safe.
class ControllerProcess {
 public:
  explicit ControllerProcess(ControllerProcessOptions options);
  ~ControllerProcess();  // kills a child still running
  ControllerProcess(const ControllerProcess&) = delete;
  ControllerProcess& operator=(const ControllerProcess&) = delete;

  // Starts the binary; `label` goes into the stderr file's header line for this start.
  // Errors: FailedPrecondition when a child runs already, Internal when the spawn fails.
  absl::Status Spawn(std::string_view label);

  // Waits until the child prints "listening on http://127.0.0.1:PORT" and returns PORT.
  // Errors: Aborted when the child exited first (its exit status and the end of its stderr in
  // the message), DeadlineExceeded after `timeout`.
  absl::StatusOr<std::uint16_t> WaitListening(absl::Duration timeout);

  // SIGKILL, then waits for the child. No-op when none runs. Returns how the child ended, as
  // text ("killed by signal 9", "exited with 1": the latter means it had died on its own).
  std::string Kill();

  [[nodiscard]] bool running() const { return pid_ > 0; }
  [[nodiscard]] std::string stdout_path() const;
  [[nodiscard]] std::string stderr_path() const;
  // The last `bytes` of the stderr file.
  [[nodiscard]] std::string StderrTail(std::size_t bytes = 2000) const;

 private:
  ControllerProcessOptions options_;
  pid_t pid_ = -1;
};

[[nodiscard]] std::string DescribeWaitStatus(int wait_status);

}  // namespace gpufleet::crash

#endif  // GPUFLEET_TESTS_CRASH_CONTROLLER_PROCESS_H_
