#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status_macros.h"
#include "common/strings.h"
#include "gtest/gtest.h"
#include "store/sqlite_store.h"
#include "store/store_testing.h"

// A child process writes through the store and reports each acknowledged Write (Write returned
// OK) through a pipe; then it dies without closing the store, by _exit or by SIGKILL in the middle
// of a burst. Every acknowledged write must be in the database after reopening.
//
// What this proves: nothing acknowledged lives only in the process (queues, unflushed buffers,
// an open transaction). It does not simulate power loss: the page cache survives a killed
// process, so fsync itself is exercised only by the benchmark's timing, not checked here.
namespace gpufleet::store {
namespace {

using testing::TempDir;
using testing::TestEpoch;
using testing::TestOptions;

constexpr int kThreads = 4;

void WriteAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(4);
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

// Runs in the child; never returns. writes_per_thread < 0: write until killed.
[[noreturn]] void ChildWriter(const std::string& dir, int fd, int writes_per_thread) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
  std::unique_ptr<os::Clock> clock = os::NewRealClock();
  SqliteStoreOptions options;
  options.clock = clock.get();
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir, options);
  if (!store.ok()) ::_exit(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; writes_per_thread < 0 || i < writes_per_thread; ++i) {
        std::string name = StrCat("vm-", t, "-", i);
        absl::Status s = (*store)->Write([&](WriteTx& tx) -> absl::Status {
          Vm vm{.name = name, .spec_json = "{}"};
          GPUFLEET_RETURN_IF_ERROR(tx.CreateVm(vm));
          Event e{.kind = "vm.created", .object = StrCat("vm/", name)};
          return tx.AppendEvent(e);
        });
        if (!s.ok()) ::_exit(3);
        std::string line = StrCat(name, "\n");  // < PIPE_BUF: written atomically
        WriteAll(fd, line.data(), line.size());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ::_exit(0);  // no destructors: the store is not closed
}

struct ChildResult {
  std::set<std::string> acknowledged;
  int wait_status = 0;
};

// Forks a writer; with kill_after > 0, SIGKILLs it once that many writes are acknowledged.
ChildResult RunChild(const std::string& dir, int writes_per_thread, int kill_after) {
  ChildResult result;
  int fds[2];
  if (::pipe(fds) != 0) {
    ADD_FAILURE() << "pipe";
    return result;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork";
    return result;
  }
  if (pid == 0) {
    ::close(fds[0]);
    ChildWriter(dir, fds[1], writes_per_thread);
  }
  ::close(fds[1]);
  std::string pending;
  bool killed = false;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      result.acknowledged.insert(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
    if (kill_after > 0 && !killed &&
        result.acknowledged.size() >= static_cast<std::size_t>(kill_after)) {
      ::kill(pid, SIGKILL);
      killed = true;  // keep reading: acknowledgements already in the pipe still count
    }
  }
  ::close(fds[0]);
  ::waitpid(pid, &result.wait_status, 0);
  return result;
}

std::set<std::string> StoredVms(const std::string& dir) {
  std::set<std::string> names;
  os::FakeClock clock(TestEpoch());
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir, TestOptions(clock));
  if (!store.ok()) {
    ADD_FAILURE() << store.status();
    return names;
  }
  absl::Status s = (*store)->Read([&](ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<Vm> vms, tx.ListVms());
    for (const Vm& vm : vms) names.insert(vm.name);
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<Event> events, tx.ListEvents({.limit = 10000}));
    // Each write's event is there with its VM: the two commit together or not at all.
    EXPECT_EQ(events.size(), vms.size());
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_TRUE((*store)->CheckIntegrity().ok());
  return names;
}

TEST(DurabilityTest, AcknowledgedWritesSurviveExitWithoutClose) {
  TempDir dir;
  constexpr int kWrites = 50;
  ChildResult child = RunChild(dir.path(), kWrites, /*kill_after=*/0);
  ASSERT_TRUE(WIFEXITED(child.wait_status) && WEXITSTATUS(child.wait_status) == 0)
      << "child wait status " << child.wait_status;
  EXPECT_EQ(child.acknowledged.size(), static_cast<std::size_t>(kThreads * kWrites));
  EXPECT_EQ(StoredVms(dir.path()), child.acknowledged);
}

TEST(DurabilityTest, AcknowledgedWritesSurviveSigkillMidBurst) {
  TempDir dir;
  ChildResult child = RunChild(dir.path(), /*writes_per_thread=*/-1, /*kill_after=*/200);
  ASSERT_TRUE(WIFSIGNALED(child.wait_status) && WTERMSIG(child.wait_status) == SIGKILL)
      << "child wait status " << child.wait_status;
  ASSERT_GE(child.acknowledged.size(), 200u);
  std::set<std::string> stored = StoredVms(dir.path());
  for (const std::string& name : child.acknowledged) {
    EXPECT_TRUE(stored.count(name) == 1) << name << " was acknowledged but is missing";
  }
  // Writes committed but not yet reported when the signal came may be there too, no more.
  EXPECT_GE(stored.size(), child.acknowledged.size());
}

}  // namespace
}  // namespace gpufleet::store
