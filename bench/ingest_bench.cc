// ingest_bench: heartbeat ingest of a real controller on one core (issue 4; docs/performance.md,
// "Heartbeat ingest"). In one process: a SqliteStore in a temporary directory seeded with N hosts
// and their agent credentials, the Controller and its HttpServer (one worker thread) with a
// liveness sweep every second as gpufleetd runs it, all pinned to CPU 0; the load generator
// (bench/ingest_load.h) pinned to CPU 1 sends POST /api/v1/hosts/{host}/heartbeat over keep-alive
// connections, each with the credential of its host's agent. Like src/cmd/*/main.cc, this is
// where real implementations are picked: the wall clock.

#include <stdlib.h>
#include <sys/statfs.h>
#include <time.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/http_server.h"
#include "bench/fs_type.h"
#include "bench/ingest_load.h"
#include "bench/report.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/auth.h"
#include "controller/controller.h"
#include "controller/secrets.h"
#include "os/clock.h"
#include "store/sqlite_store.h"

namespace gpufleet::bench {
namespace {

constexpr char kUsage[] =
    "usage: ingest_bench [--smoke] [--json] [--hosts N] [--seconds S] [--rate R]\n"
    "                    [--connections N] [--open-connections N] [--server-threads N]\n"
    "                    [--dir PARENT]\n"
    "  --smoke               tiny runs, for CTest: checks that every phase runs, not its speed\n"
    "  --json                one JSON document instead of the table\n"
    "  --hosts N             hosts, each with its agent credential (default 1000)\n"
    "  --seconds S           measured seconds per phase, after 1 s of warm-up (default 5)\n"
    "  --rate R              offered heartbeats per second of the open loop (default 10000)\n"
    "  --connections N       keep-alive connections of the closed loop (default 16)\n"
    "  --open-connections N  connections of the open loop: most requests in flight (default 64)\n"
    "  --server-threads N    HTTP worker threads of the server (default 1)\n"
    "  --dir PARENT          where the temporary data directory goes (default $TMPDIR or "
    "/var/tmp)\n";

constexpr double kTargetPerSecond = 30000;
constexpr double kTargetP99Ms = 5;
constexpr absl::Duration kHeartbeatInterval = absl::Seconds(10);

struct Args {
  bool smoke = false;
  bool json = false;
  int hosts = 1000;
  double seconds = 5;
  double warmup = 1;
  double rate = 10000;
  int connections = 16;
  int open_connections = 64;
  int server_threads = 1;
  std::string parent;
};

std::optional<Args> Parse(int argc, char** argv) {
  Args a;
  const char* tmp = std::getenv("TMPDIR");
  a.parent = tmp != nullptr && *tmp != '\0' ? tmp : "/var/tmp";
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (std::find(args.begin(), args.end(), "--smoke") != args.end()) {
    a.smoke = true;
    a.hosts = 20;
    a.seconds = 0.2;
    a.warmup = 0.05;
    a.rate = 1000;
    a.connections = 4;
    a.open_connections = 8;
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view flag = args[i];
    if (flag == "--smoke") continue;
    if (flag == "--json") {
      a.json = true;
      continue;
    }
    if (i + 1 >= args.size()) return std::nullopt;
    const std::string_view v = args[++i];
    const std::optional<int> n = ParseNonNegativeInt(v);
    double d = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
    const bool positive = ec == std::errc() && end == v.data() + v.size() && d > 0;
    if (flag == "--hosts" && n > 0) {
      a.hosts = *n;
    } else if (flag == "--seconds" && positive) {
      a.seconds = d;
    } else if (flag == "--rate" && positive) {
      a.rate = d;
    } else if (flag == "--connections" && n > 0 && *n <= 4096) {
      a.connections = *n;
    } else if (flag == "--open-connections" && n > 0 && *n <= 4096) {
      a.open_connections = *n;
    } else if (flag == "--server-threads" && n > 0 && *n <= 256) {
      a.server_threads = *n;
    } else if (flag == "--dir") {
      a.parent = std::string(v);
    } else {
      return std::nullopt;
    }
  }
  return a;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("model name")) continue;
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      return std::string(StripAsciiWhitespace(std::string_view(line).substr(colon + 1)));
    }
  }
  return "CPU model unknown";
}

std::string Now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string HostName(int i) { return StrCat("bench-", i); }

// Registers `hosts` hosts of one Tesla P40 each, with an agent credential apiece, in one
// transaction; returns the credentials. The agents' last_seen_at is spread over the last
// minute, as in a controller that has run for a while: each agent's next request after its
// minute (AuthOptions::last_used_granularity) writes it again, hosts / 60 durable writes a
// second in all, as in production.
absl::StatusOr<std::vector<std::string>> Seed(store::Store& store, int hosts, absl::Time now) {
  std::vector<std::string> credentials;
  for (int i = 0; i < hosts; ++i) {
    GPUFLEET_ASSIGN_OR_RETURN(std::string secret, controller::NewSecret(""));
    credentials.push_back(StrCat(controller::kAgentCredentialPrefix, HostName(i), ".", secret));
  }
  absl::Status written = store.Write([&](store::WriteTx& tx) -> absl::Status {
    for (int i = 0; i < hosts; ++i) {
      store::Host host{.name = HostName(i),
                       .hypervisor = "kvm",
                       .agent = HostName(i),
                       .manager_version = "525.105.14",
                       .labels = {{"rack", StrCat("r", i / 40)}}};
      GPUFLEET_RETURN_IF_ERROR(tx.CreateHost(host));
      store::Gpu gpu{
          .host = HostName(i), .id = "0000:01:00.0", .board = "P40", .mode = "unconfigured"};
      GPUFLEET_RETURN_IF_ERROR(tx.CreateGpu(gpu));
      store::AgentCredential agent{
          .agent = HostName(i),
          .secret_sha256 = controller::Sha256Hex(credentials[static_cast<std::size_t>(i)]),
          .last_seen_at = now - absl::Seconds(60) * (static_cast<double>(i) / hosts)};
      GPUFLEET_RETURN_IF_ERROR(tx.CreateAgentCredential(agent));
    }
    return absl::OkStatus();
  });
  if (!written.ok()) return written;
  return credentials;
}

// The liveness sweep of gpufleetd: every second, on its own thread (pinned with the server).
class Sweeper {
 public:
  explicit Sweeper(controller::Controller& ctl) : ctl_(ctl), thread_([this] { Loop(); }) {}
  ~Sweeper() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  // Hosts marked down and sweep errors so far (none are expected: every host heartbeats).
  [[nodiscard]] int marked() {
    std::lock_guard<std::mutex> lock(mu_);
    return marked_;
  }
  [[nodiscard]] int errors() {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_;
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
      lock.unlock();
      absl::StatusOr<std::vector<std::string>> swept = ctl_.SweepLiveness();
      lock.lock();
      if (swept.ok()) {
        marked_ += static_cast<int>(swept->size());
      } else {
        ++errors_;
      }
    }
  }

  controller::Controller& ctl_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  int marked_ = 0;
  int errors_ = 0;
  std::thread thread_;
};

struct Phase {
  LoadResult load;
  double server_cpu_seconds = 0;  // CPU time of every thread but the generator's
  double wall_seconds = 0;
  std::int64_t answered = 0;  // every answered request, warm-up included
};

absl::StatusOr<Phase> Measure(const LoadOptions& options) {
  Phase phase;
  const double cpu = ProcessCpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<LoadResult> load;
  // The generator runs on a thread of its own, so that pinning it leaves this thread (and the
  // server's) where they are.
  std::thread generator([&] { load = RunLoad(options); });
  generator.join();
  if (!load.ok()) return load.status();
  phase.load = *load;
  phase.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  phase.server_cpu_seconds = ProcessCpuSeconds() - cpu - load->client_cpu_seconds;
  phase.answered = load->answered;
  return phase;
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// CPU time of the parts of a heartbeat, called in-process on this thread (pinned with the
// server): authentication of the agent credential, and the route's handler once authenticated.
struct Parts {
  double auth_us = 0;
  double handler_us = 0;
  int failures = 0;
};

Parts MeasureParts(controller::Controller& ctl, const api::Router& router,
                   const std::vector<std::string>& credentials, int calls) {
  Parts parts;
  const std::size_t n = credentials.size();
  double cpu = ThreadCpuSeconds();
  for (int i = 0; i < calls; ++i) {
    const std::size_t host = static_cast<std::size_t>(i) % n;
    if (!ctl.auth().Authenticate(credentials[host]).ok()) ++parts.failures;
  }
  parts.auth_us = (ThreadCpuSeconds() - cpu) / calls * 1e6;
  std::vector<api::Request> requests(n);
  const api::Route* route = nullptr;
  for (std::size_t i = 0; i < n; ++i) {
    api::Request& r = requests[i];
    r.method = "POST";
    r.path = StrCat("/api/v1/hosts/", HostName(static_cast<int>(i)), "/heartbeat");
    r.target = r.path;
    api::RouteMatch match = router.Match(r.method, r.path);
    route = match.route;
    if (route == nullptr) return Parts{.failures = 1};
    r.route = route->path_template;
    r.path_params = std::move(match.params);
    r.principal = api::Principal{.name = StrCat("agent:", HostName(static_cast<int>(i))),
                                 .role = api::Role::kAgent,
                                 .agent_host = HostName(static_cast<int>(i))};
  }
  cpu = ThreadCpuSeconds();
  for (int i = 0; i < calls; ++i) {
    if (route->handler(requests[static_cast<std::size_t>(i) % n]).status != 200) ++parts.failures;
  }
  parts.handler_us = (ThreadCpuSeconds() - cpu) / calls * 1e6;
  return parts;
}

double ServerMicrosPerRequest(const Phase& p) {
  return p.answered > 0 ? p.server_cpu_seconds / static_cast<double>(p.answered) * 1e6 : 0;
}

// What an agent's desired-state poll costs (GET /api/v1/hosts/{host}/desired with its own
// credential, a full 200 answer): the bench's hosts run no VMs, so this is each poll's fixed
// part (authentication, the host's desired instances, its observed ones for the start holds,
// the document and its ETag), the part every agent pays on every poll.
void AddPollRows(Report& report, const Args& a, const Phase& poll) {
  const std::string size =
      StrCat(FormatNumber(a.hosts), " hosts, ", a.connections, " conns, closed loop");
  const std::string note =
      "GET /hosts/{host}/desired with the host's credential, 200 with the whole document (an "
      "agent whose document did not change gets a 304); the hosts run no VMs";
  report.rows.push_back(Row{.workload = "desired-state poll, one core",
                            .size = size,
                            .metric = "polls/s",
                            .gpufleet = Number(poll.load.per_second),
                            .note = note});
  report.rows.push_back(Row{.workload = "desired-state poll, one core",
                            .size = size,
                            .metric = "server CPU us/poll",
                            .gpufleet = Number(ServerMicrosPerRequest(poll), 1),
                            .note = note});
  report.rows.push_back(Row{.workload = "desired-state poll, one core",
                            .size = size,
                            .metric = "non-200 answers",
                            .gpufleet = Number(static_cast<double>(poll.load.failed)),
                            .target = "0",
                            .verdict = poll.load.failed == 0 ? Verdict::kPass : Verdict::kFail});
}

void AddRows(Report& report, const Args& a, const Phase& first, const Phase& closed,
             const Phase& floor, const Phase& open, const Parts& parts) {
  const std::string hosts = StrCat(FormatNumber(a.hosts), " hosts");
  auto verdict = [&](bool ok) {
    if (a.smoke) return Verdict::kInfo;
    return ok ? Verdict::kPass : Verdict::kFail;
  };
  const std::string smoke_note = "--smoke: sizes too small for the targets to mean anything";
  report.rows.push_back(Row{.workload = "first heartbeat since start",
                            .size = StrCat(hosts, ", ", a.connections, " conns"),
                            .metric = "heartbeats/s",
                            .gpufleet = Number(first.load.per_second),
                            .note = "each host's first heartbeat reads its row from the store"});
  const std::string closed_size = StrCat(hosts, ", ", a.connections, " conns, closed loop");
  report.rows.push_back(Row{.workload = "heartbeat ingest, one core",
                            .size = closed_size,
                            .metric = "heartbeats/s",
                            .gpufleet = Number(closed.load.per_second),
                            .target = StrCat(">= ", FormatNumber(kTargetPerSecond)),
                            .verdict = verdict(closed.load.per_second >= kTargetPerSecond),
                            .note = a.smoke ? smoke_note : ""});
  report.rows.push_back(Row{.workload = "heartbeat ingest, one core",
                            .size = closed_size,
                            .metric = "server CPU us/heartbeat",
                            .gpufleet = Number(ServerMicrosPerRequest(closed), 1),
                            .note = "CPU time of every thread but the load generator's, over "
                                    "the requests answered"});
  report.rows.push_back(
      Row{.workload = "heartbeat ingest, one core",
          .size = closed_size,
          .metric = "server core busy %",
          .gpufleet = Number(
              closed.wall_seconds > 0 ? 100 * closed.server_cpu_seconds / closed.wall_seconds : 0),
          .note = "below 100: the core was not saturated or was taken by another process (a "
                  "shared VM)"});
  const std::string floor_size = StrCat(a.connections, " conns, closed loop");
  const std::string floor_note =
      "the HTTP layer alone: GET /healthz (no authentication, no handler work) on the same "
      "server and connections";
  report.rows.push_back(Row{.workload = "HTTP floor: GET /healthz",
                            .size = floor_size,
                            .metric = "requests/s",
                            .gpufleet = Number(floor.load.per_second),
                            .note = floor_note});
  report.rows.push_back(Row{.workload = "HTTP floor: GET /healthz",
                            .size = floor_size,
                            .metric = "server CPU us/request",
                            .gpufleet = Number(ServerMicrosPerRequest(floor), 1),
                            .note = floor_note});
  const std::string parts_note =
      "called in-process on the server's CPU, without HTTP: the parts of a heartbeat's cost";
  report.rows.push_back(Row{.workload = "part: agent authentication",
                            .size = hosts,
                            .metric = "CPU us/call",
                            .gpufleet = Number(parts.auth_us, 1),
                            .note = parts_note});
  report.rows.push_back(Row{.workload = "part: heartbeat handler",
                            .size = hosts,
                            .metric = "CPU us/call",
                            .gpufleet = Number(parts.handler_us, 1),
                            .note = parts_note});
  const std::string open_size =
      StrCat(hosts, ", ", FormatNumber(a.rate), "/s offered, ", a.open_connections, " conns");
  report.rows.push_back(Row{.workload = "heartbeat latency, open loop",
                            .size = open_size,
                            .metric = "heartbeats/s answered",
                            .gpufleet = Number(open.load.per_second)});
  report.rows.push_back(Row{.workload = "heartbeat latency, open loop",
                            .size = open_size,
                            .metric = "p50 ms",
                            .gpufleet = Number(open.load.p50_ms, 2),
                            .note = "from the time each request was due, not when it was sent "
                                    "(no coordinated omission)"});
  report.rows.push_back(Row{.workload = "heartbeat latency, open loop",
                            .size = open_size,
                            .metric = "p99 ms",
                            .gpufleet = Number(open.load.p99_ms, 2),
                            .target = StrCat("<= ", FormatNumber(kTargetP99Ms)),
                            .verdict = verdict(open.load.p99_ms <= kTargetP99Ms),
                            .note = a.smoke ? smoke_note : ""});
  report.rows.push_back(Row{.workload = "heartbeat latency, open loop",
                            .size = open_size,
                            .metric = "p99.9 ms",
                            .gpufleet = Number(open.load.p999_ms, 2)});
  report.rows.push_back(Row{.workload = "heartbeat latency, open loop",
                            .size = open_size,
                            .metric = "max ms",
                            .gpufleet = Number(open.load.max_ms, 2)});
  const std::int64_t failed = first.load.failed + closed.load.failed + floor.load.failed +
                              open.load.failed + parts.failures;
  report.rows.push_back(Row{.workload = "all phases",
                            .size = hosts,
                            .metric = "non-200 answers",
                            .gpufleet = Number(static_cast<double>(failed)),
                            .target = "0",
                            .verdict = failed == 0 ? Verdict::kPass : Verdict::kFail});
}

int Run(const Args& a) {
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  const int server_cpu = 0;
  const int client_cpu = cpus > 1 ? 1 : 0;
  // Every thread started from here on (store, controller, server, sweep) inherits CPU 0.
  if (absl::Status s = PinThisThread(server_cpu); !s.ok()) {
    std::cerr << "ingest_bench: " << s.message() << "\n";
    return 1;
  }
  std::string pattern = a.parent + "/ingest_bench.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::cerr << "ingest_bench: cannot create a directory under " << a.parent << "\n";
    return 1;
  }
  const std::string dir = pattern;
  auto fail = [&](const absl::Status& s) {
    std::cerr << "ingest_bench: " << s << "\n";
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    return 1;
  };
  const auto started = std::chrono::steady_clock::now();
  std::unique_ptr<os::Clock> clock = os::NewRealClock();
  store::SqliteStoreOptions store_options;
  store_options.clock = clock.get();
  absl::StatusOr<std::unique_ptr<store::SqliteStore>> store =
      store::SqliteStore::Open(StrCat(dir, "/data"), store_options);
  if (!store.ok()) return fail(store.status());
  absl::StatusOr<std::vector<std::string>> credentials = Seed(**store, a.hosts, clock->Now());
  if (!credentials.ok()) return fail(credentials.status());

  controller::ControllerOptions options;
  options.data_dir = StrCat(dir, "/data");
  options.inventory.heartbeat_interval = kHeartbeatInterval;
  absl::StatusOr<std::unique_ptr<controller::Controller>> ctl =
      controller::Controller::Create(**store, *clock, options);
  if (!ctl.ok()) return fail(ctl.status());
  absl::StatusOr<api::Router> router = (*ctl)->BuildRouter();
  if (!router.ok()) return fail(router.status());
  api::ServerOptions server_options;
  server_options.listen = "127.0.0.1:0";
  server_options.threads = a.server_threads;
  absl::StatusOr<std::unique_ptr<api::HttpServer>> server =
      api::HttpServer::Start(server_options, *std::move(router), (*ctl)->ServerDeps());
  if (!server.ok()) return fail(server.status());

  std::vector<std::string> requests;
  for (int i = 0; i < a.hosts; ++i) {
    requests.push_back(StrCat("POST /api/v1/hosts/", HostName(i),
                              "/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ",
                              (*credentials)[static_cast<std::size_t>(i)],
                              "\r\nContent-Length: 0\r\n\r\n"));
  }
  std::vector<std::string> polls;
  for (int i = 0; i < a.hosts; ++i) {
    polls.push_back(StrCat("GET /api/v1/hosts/", HostName(i),
                           "/desired HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ",
                           (*credentials)[static_cast<std::size_t>(i)], "\r\n\r\n"));
  }
  Phase first_phase, closed_phase, floor_phase, open_phase, poll_phase;
  Parts parts;
  int marked = 0;
  int sweep_errors = 0;
  {
    Sweeper sweeper(**ctl);
    LoadOptions load{.port = (*server)->port(),
                     .connections = a.connections,
                     .requests = requests,
                     .seconds = 600,
                     .max_requests = a.hosts,
                     .cpu = client_cpu};
    absl::StatusOr<Phase> measured = Measure(load);
    if (!measured.ok()) return fail(measured.status());
    first_phase = *measured;

    load.max_requests = 0;
    load.warmup_seconds = a.warmup;
    load.seconds = a.seconds;
    measured = Measure(load);
    if (!measured.ok()) return fail(measured.status());
    closed_phase = *measured;

    LoadOptions floor = load;
    floor.requests = {"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"};
    measured = Measure(floor);
    if (!measured.ok()) return fail(measured.status());
    floor_phase = *measured;

    LoadOptions poll = load;
    poll.requests = polls;
    measured = Measure(poll);
    if (!measured.ok()) return fail(measured.status());
    poll_phase = *measured;

    load.connections = a.open_connections;
    load.rate = a.rate;
    measured = Measure(load);
    if (!measured.ok()) return fail(measured.status());
    open_phase = *measured;
    // The server's router is the one it serves; its handlers are thread-safe.
    parts = MeasureParts(**ctl, (*server)->router(), *credentials, a.smoke ? 200 : 20000);
    marked = sweeper.marked();
    sweep_errors = sweeper.errors();
  }
  (*server)->Stop();
  server->reset();
  ctl->reset();
  store->reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  Report report;
  AddRows(report, a, first_phase, closed_phase, floor_phase, open_phase, parts);
  AddPollRows(report, a, poll_phase);
  report.facts = {
      StrCat("ingest_bench", a.smoke ? " --smoke" : "", ", ", Now()),
      StrCat("machine: ", cpus, " CPUs (", CpuModel(), "); server on CPU ", server_cpu, " (",
             a.server_threads, " HTTP worker thread", a.server_threads == 1 ? "" : "s",
             "; the store's threads and the liveness sweep with it), load generator on CPU ",
             client_cpu, cpus > 1 ? "" : " (the same: one CPU)"),
      StrCat("build: ", GPUFLEET_BUILD_TYPE,
             GPUFLEET_SANITIZERS ? ", sanitizers on: timings not representative" : ""),
      StrCat("controller: in-process, SqliteStore on ", FsType(a.parent), " under ", a.parent,
             "; heartbeat interval ", absl::FormatDuration(kHeartbeatInterval),
             ", sweep every 1 s (hosts marked down: ", marked, ", sweep errors: ", sweep_errors,
             ")"),
      StrCat("load: POST /api/v1/hosts/{host}/heartbeat, keep-alive HTTP/1.1, each host with its "
             "agent credential, hosts in turn; ",
             FormatNumber(a.seconds, 1), " s measured per phase after ", FormatNumber(a.warmup, 2),
             " s of warm-up; agents' last_seen_at spread over the last minute (",
             FormatNumber(a.hosts / 60.0, 1), " durable writes/s); run took ",
             FormatNumber(took, 1), " s")};
  if (a.json) {
    PrintJson(report, std::cout);
  } else {
    PrintTable(report, std::cout);
  }
  // The last row counts the non-200 answers of every phase.
  const bool failed =
      report.rows.back().verdict == Verdict::kFail || marked > 0 || sweep_errors > 0;
  if (failed) {
    std::cerr << "ingest_bench: failures: " << first_phase.load.first_failure << " "
              << closed_phase.load.first_failure << " " << open_phase.load.first_failure << "\n";
  }
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace gpufleet::bench

int main(int argc, char** argv) {
  const std::optional<gpufleet::bench::Args> args = gpufleet::bench::Parse(argc, argv);
  if (!args) {
    std::cerr << gpufleet::bench::kUsage;
    return 2;
  }
  return gpufleet::bench::Run(*args);
}
