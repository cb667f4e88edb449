#include "crash_harness.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <thread>

#include "common/strings.h"
#include "controller_process.h"
#include "core/catalog.h"
#include "harness.h"
#include "os/clock.h"
#include "snapshot.h"
#include "store/sqlite_store.h"
#include "workloads.h"

namespace gpufleet::crash {
namespace {

using Clock = std::chrono::steady_clock;

// The longest a (re)start may take before the harness gives up: ASan, a loaded CI machine.
constexpr absl::Duration kStartTimeout = absl::Seconds(60);

std::string MakeWorkDir(const std::string& requested) {
  if (!requested.empty()) {
    std::filesystem::create_directories(requested);
    return requested;
  }
  const char* tmp = ::getenv("TMPDIR");
  std::string pattern =
      StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/gpufleet-crash.XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

std::string ReadAdminToken(const std::string& data_dir) {
  std::ifstream in(StrCat(data_dir, "/admin-token"));
  std::string token;
  std::getline(in, token);
  return std::string(StripAsciiWhitespace(token));
}

void Sleep(absl::Duration d) { std::this_thread::sleep_for(absl::ToChronoMicroseconds(d)); }

int64_t MillisSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// A uniform duration in [0, max].
absl::Duration RandomDelay(std::mt19937_64& rng, absl::Duration max) {
  const int64_t us = absl::ToInt64Microseconds(max);
  return us <= 0 ? absl::ZeroDuration()
                 : absl::Microseconds(static_cast<int64_t>(rng() % static_cast<uint64_t>(us + 1)));
}

struct KindStats {
  std::atomic<int> sent{0};
  std::atomic<int> unanswered{0};
};

class Run {
 public:
  explicit Run(const CrashOptions& options)
      : options_(options),
        work_dir_(MakeWorkDir(options.work_dir)),
        data_dir_(StrCat(work_dir_, "/data")),
        journal_(StrCat(work_dir_, "/requests.log")),
        findings_(options.seed),
        process_({options.gpufleetd, data_dir_, work_dir_, {"--heartbeat-interval", "1h"}}),
        rng_(options.seed) {
    workloads_.push_back(NewHostWorkload({.client_threads = options.client_threads}));
    workloads_.push_back(NewVmWorkload(core::Catalog::Embedded(),
                                       {"P40-24Q", "P40-12Q", "P40-8Q", "P40-6Q", "P40-4Q"}));
    workloads_.push_back(NewTokenWorkload());
    workloads_.push_back(NewOperationWorkload());
    for (const auto& w : workloads_) {
      for (RequestKind& k : w->Kinds()) kinds_.push_back(std::move(k));
    }
    for (const RequestKind& k : kinds_) total_weight_ += k.weight;
    stats_ = std::make_unique<KindStats[]>(kinds_.size());
  }

  CrashResult Go();

 private:
  // Starts the controller and returns its port, or 0 after killing it during startup (or after
  // a failure, recorded).
  std::uint16_t Start(int round, bool kill_during_startup);
  // Reads the state over the API and runs every workload's check; false when it could not read.
  bool CheckLive(std::uint16_t port, bool final);
  void Load(int round, std::uint16_t port);
  void CheckStore(std::string_view when);
  void ClientThread(int round, int thread, std::uint16_t port, const std::atomic<bool>& stop);
  std::string Summary(absl::Duration took) const;

  const CrashOptions options_;
  const std::string work_dir_;
  const std::string data_dir_;
  Journal journal_;
  Findings findings_;
  ControllerProcess process_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<Workload>> workloads_;
  std::vector<RequestKind> kinds_;
  std::unique_ptr<KindStats[]> stats_;
  int total_weight_ = 0;
  ApiEventLog events_;
  std::string admin_token_;
  bool setup_done_ = false;
  absl::Duration startup_time_ = absl::Milliseconds(300);  // the last start's, measured
  int kills_ = 0;
  int startup_kills_ = 0;
  int store_checks_ = 0;
  // Where the time went, for the summary.
  int64_t start_ms_ = 0, check_ms_ = 0, load_ms_ = 0, store_ms_ = 0;
};

std::uint16_t Run::Start(int round, bool kill_during_startup) {
  const auto started = Clock::now();
  if (absl::Status s = process_.Spawn(StrCat("round ", round)); !s.ok()) {
    findings_.Fail("starting gpufleetd", "it starts", ToStd(s.message()));
    return 0;
  }
  if (kill_during_startup) {
    const absl::Duration delay = RandomDelay(rng_, startup_time_);
    Sleep(delay);
    const std::string how = process_.Kill();
    ++kills_;
    ++startup_kills_;
    journal_.Line(StrCat("round ", round, ": SIGKILL during startup after ",
                         absl::FormatDuration(delay), " (", how, ")"));
    return 0;
  }
  absl::StatusOr<std::uint16_t> port = process_.WaitListening(kStartTimeout);
  if (!port.ok()) {
    findings_.Fail("restarting gpufleetd on the data directory", "it listens",
                   ToStd(port.status().message()));
    return 0;
  }
  startup_time_ = absl::Milliseconds(MillisSince(started));
  const std::string token = ReadAdminToken(data_dir_);
  if (admin_token_.empty()) {
    admin_token_ = token;
  } else if (token != admin_token_) {
    // Once a start has listened, its admin token is committed and must never be replaced.
    findings_.Fail("the first admin token (data-dir/admin-token)",
                   "the token of the first start that listened, unchanged", "another token");
  }
  journal_.Line(StrCat("round ", round, ": listening on port ", *port, " after ",
                       absl::FormatDuration(startup_time_)));
  return *port;
}

bool Run::CheckLive(std::uint16_t port, bool final) {
  const auto checking = Clock::now();
  HttpClient client(port, admin_token_);
  if (!setup_done_) {
    for (const auto& w : workloads_) {
      if (!w->Setup(client, journal_, findings_)) return false;
    }
    setup_done_ = true;
  }
  Snapshot snapshot;
  if (absl::Status s = ReadApiSnapshot(client, events_, snapshot); !s.ok()) {
    findings_.Fail("reading the state after the restart", "200 answers and the events read before",
                   ToStd(s.message()));
    return false;
  }
  snapshot.final = final;
  std::string took = StrCat("read the state in ", MillisSince(checking), " ms; checked");
  for (const auto& w : workloads_) {
    const auto t = Clock::now();
    w->Check(snapshot, findings_);
    StrAppend(&took, " ", w->name(), " in ", MillisSince(t), " ms");
  }
  journal_.Line(took);
  return true;
}

void Run::ClientThread(int round, int thread, std::uint16_t port, const std::atomic<bool>& stop) {
  std::seed_seq seq{options_.seed, static_cast<std::uint64_t>(round),
                    static_cast<std::uint64_t>(thread)};
  std::mt19937_64 rng(seq);
  HttpClient client(port, admin_token_);
  IssueContext context{client, rng, journal_, findings_, round, thread, 0};
  while (!stop.load()) {
    int pick = static_cast<int>(rng() % static_cast<std::uint64_t>(total_weight_));
    std::size_t k = 0;
    while (pick >= kinds_[k].weight) pick -= kinds_[k++].weight;
    Sent sent = kinds_[k].issue(context);
    if (sent == Sent::kNothing) continue;
    ++context.serial;
    ++stats_[k].sent;
    if (sent == Sent::kNoAnswer) {
      ++stats_[k].unanswered;
      return;  // the controller is gone (or hung): nothing more this round
    }
  }
}

void Run::Load(int round, std::uint16_t port) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < options_.client_threads; ++t) {
    threads.emplace_back([this, round, t, port, &stop] { ClientThread(round, t, port, stop); });
  }
  const absl::Duration delay = RandomDelay(rng_, options_.max_load);
  Sleep(delay);
  const std::string how = process_.Kill();
  stop.store(true);
  for (std::thread& t : threads) t.join();
  ++kills_;
  journal_.Line(StrCat("round ", round, ": SIGKILL after ", absl::FormatDuration(delay),
                       " of load (", how, ")"));
  if (how != "killed by signal 9") {
    findings_.Fail(StrCat("the controller under load in round ", round),
                   "it runs until the SIGKILL",
                   StrCat(how, "; its stderr ends with:\n", process_.StderrTail()));
  }
}

void Run::CheckStore(std::string_view when) {
  ++store_checks_;
  // On a copy of the database and its WAL, so that the controller's data directory stays as the
  // kill left it: opening a store recovers the WAL and closing it checkpoints, which would spare
  // the next start the recovery it is meant to exercise.
  const std::string copy = StrCat(work_dir_, "/store-check");
  const std::string what = StrCat("the store ", when, " (copied to ", copy, ")");
  std::error_code error;
  std::filesystem::remove_all(copy, error);
  std::filesystem::create_directories(copy, error);
  std::filesystem::permissions(copy, std::filesystem::perms::owner_all, error);
  for (const char* suffix : {"", "-wal"}) {
    const std::string from = StrCat(data_dir_, "/", store::SqliteStore::kFileName, suffix);
    if (!std::filesystem::exists(from)) continue;
    std::filesystem::copy_file(from, StrCat(copy, "/", store::SqliteStore::kFileName, suffix),
                               error);
    if (error) {
      findings_.Fail(what, StrCat("a copy of ", from), error.message());
      return;
    }
  }
  std::unique_ptr<os::Clock> clock = os::NewRealClock();
  store::SqliteStoreOptions options;
  options.clock = clock.get();
  options.read_connections = 1;
  auto store = store::SqliteStore::Open(copy, options);
  if (!store.ok()) {
    findings_.Fail(what, "it opens", ToStd(store.status().message()));
    return;
  }
  if (absl::Status s = (*store)->CheckIntegrity(); !s.ok()) {
    findings_.Fail(what, "PRAGMA integrity_check and foreign_key_check ok", ToStd(s.message()));
  }
  EventCounts events;
  Snapshot snapshot;
  absl::Status read =
      (*store)->Read([&](store::ReadTx& tx) { return ReadStoreSnapshot(tx, events, snapshot); });
  if (!read.ok()) {
    findings_.Fail(what, "its rows readable", ToStd(read.message()));
    return;
  }
  for (const auto& w : workloads_) w->Check(snapshot, findings_);
}

std::string Run::Summary(absl::Duration took) const {
  std::string out = StrCat(
      options_.rounds, " rounds, seed ", options_.seed, ", ", kills_, " SIGKILLs (", startup_kills_,
      " during startup), ", store_checks_, " direct store checks, ",
      absl::FormatDuration(absl::Trunc(took, absl::Milliseconds(1))), ": starts ", start_ms_,
      " ms, checks ", check_ms_, " ms, load ", load_ms_, " ms, store checks ", store_ms_, " ms\n");
  for (std::size_t k = 0; k < kinds_.size(); ++k) {
    StrAppend(&out, "  ", kinds_[k].name, ": ", stats_[k].sent.load(), " sent, ",
              stats_[k].unanswered.load(), " unanswered (killed in flight)\n");
  }
  for (const auto& w : workloads_) StrAppend(&out, "  ", w->Summary(), "\n");
  return out;
}

CrashResult Run::Go() {
  CrashResult result;
  result.work_dir = work_dir_;
  if (work_dir_.empty()) {
    result.failures.push_back("cannot create a work directory under $TMPDIR");
    result.failure_count = 1;
    return result;
  }
  const auto began = Clock::now();
  for (int round = 0; round <= options_.rounds && findings_.ok(); ++round) {
    findings_.SetRound(round);
    const bool final = round == options_.rounds;
    const bool startup_kill =
        !final && static_cast<int>(rng_() % 100) < options_.startup_kill_percent;
    auto t = Clock::now();
    const std::uint16_t port = Start(round, startup_kill);
    start_ms_ += MillisSince(t);
    t = Clock::now();
    const bool checked = port != 0 && CheckLive(port, final);
    check_ms_ += MillisSince(t);
    t = Clock::now();
    if (checked && findings_.ok() && !final) Load(round, port);
    load_ms_ += MillisSince(t);
    t = Clock::now();
    if (final) {
      const std::string how = process_.Kill();
      ++kills_;
      journal_.Line(StrCat("final: SIGKILL (", how, ")"));
      CheckStore("after the final kill");
    } else if (options_.store_check_every > 0 && round % options_.store_check_every == 0 &&
               findings_.ok()) {
      CheckStore(StrCat("after the kill of round ", round));
    }
    store_ms_ += MillisSince(t);
  }
  process_.Kill();
  result.summary = Summary(absl::Milliseconds(MillisSince(began)));
  journal_.Line(result.summary);
  result.failures = findings_.failures();
  result.failure_count = findings_.count();
  result.kills = kills_;
  result.startup_kills = startup_kills_;
  result.kept = options_.keep || !findings_.ok();
  if (!result.kept) {
    std::error_code ignored;
    std::filesystem::remove_all(work_dir_, ignored);
  }
  return result;
}

}  // namespace

CrashResult RunCrashTest(const CrashOptions& options) {
  Run run(options);
  return run.Go();
}

}  // namespace gpufleet::crash
