#include "controller_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/strings.h"

extern char** environ;

namespace gpufleet::crash {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The port of "gpufleetd: listening on http://127.0.0.1:PORT\n", or 0 while the line is not
// complete.
std::uint16_t ParsePort(const std::string& out) {
  constexpr std::string_view kPrefix = "listening on http://127.0.0.1:";
  std::size_t at = out.find(kPrefix);
  if (at == std::string::npos) return 0;
  std::size_t end = out.find('\n', at);
  if (end == std::string::npos) return 0;
  std::optional<int> port = ParseNonNegativeInt(
      std::string_view(out).substr(at + kPrefix.size(), end - at - kPrefix.size()));
  if (!port || *port <= 0 || *port > 65535) return 0;
  return static_cast<std::uint16_t>(*port);
}

}  // namespace

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return StrCat("exited with ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return StrCat("killed by signal ", WTERMSIG(wait_status));
  return StrCat("ended with wait status ", wait_status);
}

ControllerProcess::ControllerProcess(ControllerProcessOptions options)
    : options_(std::move(options)) {}

ControllerProcess::~ControllerProcess() { Kill(); }

std::string ControllerProcess::stdout_path() const {
  return StrCat(options_.log_dir, "/controller.stdout");
}
std::string ControllerProcess::stderr_path() const {
  return StrCat(options_.log_dir, "/controller.stderr");
}

absl::Status ControllerProcess::Spawn(std::string_view label) {
  if (pid_ > 0) return absl::FailedPreconditionError("crash: a controller runs already");
  {
    std::ofstream err(stderr_path(), std::ios::app);
    err << "=== crash harness: start " << label << " ===\n";
  }
  std::vector<std::string> args = {options_.binary,   "controller", "--data-dir",
                                   options_.data_dir, "--listen",   "127.0.0.1:0"};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string out = stdout_path();
  const std::string err = stderr_path();
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return absl::InternalError(
        StrCat("crash: cannot start ", options_.binary, ": ", std::strerror(rc)));
  }
  pid_ = pid;
  return absl::OkStatus();
}

absl::StatusOr<std::uint16_t> ControllerProcess::WaitListening(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("crash: no controller runs");
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
  while (true) {
    if (std::uint16_t port = ParsePort(ReadFile(stdout_path())); port != 0) return port;
    int wait_status = 0;
    if (::waitpid(pid_, &wait_status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::AbortedError(StrCat("crash: the controller ", DescribeWaitStatus(wait_status),
                                       " before listening; its stderr ends with:\n", StderrTail()));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError(StrCat("crash: the controller printed no port within ",
                                                absl::FormatDuration(timeout),
                                                "; its stderr ends with:\n", StderrTail()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::string ControllerProcess::Kill() {
  if (pid_ <= 0) return "not running";
  ::kill(pid_, SIGKILL);
  int wait_status = 0;
  pid_t r = -1;
  do {
    r = ::waitpid(pid_, &wait_status, 0);
  } while (r < 0 && errno == EINTR);
  pid_ = -1;
  return r < 0 ? "lost (waitpid failed)" : DescribeWaitStatus(wait_status);
}

std::string ControllerProcess::StderrTail(std::size_t bytes) const {
  std::string all = ReadFile(stderr_path());
  return all.size() <= bytes ? all : all.substr(all.size() - bytes);
}

}  // namespace gpufleet::crash
