// planner_bench: prints the planner benchmark table (docs/performance.md says how to read it).
// Like src/cmd/*/main.cc, this is where real implementations are picked: the file system (for
// /proc) and the wall clock.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "bench/items.h"
#include "bench/report.h"
#include "common/strings.h"
#include "os/file_system.h"

namespace gpufleet::bench {
namespace {

constexpr char kUsage[] =
    "usage: planner_bench [--smoke] [--json] [--only ITEMS] [--hosts N] [--gpus-per-host N]\n"
    "                     [--vms N] [--seed N] [--budget S] [--plan-budget S] [--stream-hosts N]\n"
    "                     [--accept-seeds N]\n"
    "  --smoke           tiny sizes, for CTest: checks that every item runs, not its speed\n"
    "  --json            one JSON document instead of the table\n"
    "  --only ITEMS      comma-separated subset of online,plan,gap,accept,evac,ha\n"
    "  --hosts N         fleet hosts (default 10000); --gpus-per-host N (default 8)\n"
    "  --vms N           VMs of the full plan (default 320000)\n"
    "  --seed N          seed of every generator (default 1)\n"
    "  --budget S        seconds per timed online measurement (default 3)\n"
    "  --plan-budget S   longest run of a size ladder; larger sizes are extrapolated (default 15)\n"
    "  --stream-hosts N  hosts of the arrival/departure replays (default 100)\n"
    "  --accept-seeds N  also replay the acceptance streams on N seeds from --seed on and print\n"
    "                    the default policy's worst lead over the best baseline (default 1: off)\n";

const std::vector<std::string>& AllItems() {
  static const std::vector<std::string> kItems = {"online", "plan", "gap", "accept", "evac", "ha"};
  return kItems;
}

struct Args {
  BenchOptions bench;
  bool json = false;
  std::set<std::string> items;
};

std::optional<Args> Parse(int argc, char** argv) {
  Args a;
  a.items = {AllItems().begin(), AllItems().end()};
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (std::find(args.begin(), args.end(), "--smoke") != args.end()) {
    a.bench = BenchOptions{6, 4, 48, 1, 0.02, 0.5, 4, 2, true};
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
    BenchOptions& b = a.bench;
    if (flag == "--hosts" && n > 0) {
      b.hosts = *n;
    } else if (flag == "--gpus-per-host" && n > 0) {
      b.gpus_per_host = *n;
    } else if (flag == "--vms" && n) {
      b.vms = *n;
    } else if (flag == "--seed" && n) {
      b.seed = *n;
    } else if (flag == "--budget" && positive) {
      b.budget_s = d;
    } else if (flag == "--plan-budget" && positive) {
      b.plan_budget_s = d;
    } else if (flag == "--stream-hosts" && n > 0) {
      b.stream_hosts = *n;
    } else if (flag == "--accept-seeds" && n > 0) {
      b.accept_seeds = *n;
    } else if (flag == "--only") {
      a.items.clear();
      for (std::string_view item : StrSplit(v, ',')) {
        if (std::find(AllItems().begin(), AllItems().end(), item) == AllItems().end()) {
          return std::nullopt;
        }
        a.items.insert(std::string(item));
      }
    } else {
      return std::nullopt;
    }
  }
  return a;
}

std::string CpuModel(const os::FileSystem& fs) {
  absl::StatusOr<std::string> info = fs.ReadFile("/proc/cpuinfo", 1 << 24);
  if (!info.ok()) return "CPU model unknown";
  for (std::string_view line : StrSplit(*info, '\n')) {
    if (!line.starts_with("model name")) continue;
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      return std::string(StripAsciiWhitespace(line.substr(colon + 1)));
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

int Run(const Args& args) {
  const BenchOptions& o = args.bench;
  std::unique_ptr<os::FileSystem> fs = os::NewPosixFileSystem("/");
  Memory memory(*fs);
  const auto start = std::chrono::steady_clock::now();
  Report report;
  report.baselines = BaselineNames();
  auto part = [&] {
    Report r;
    r.baselines = report.baselines;
    return r;
  };
  auto want = [&](std::string_view item) { return args.items.contains(std::string(item)); };
  // Memory-heavy whole-cluster items first, so that the peaks they read are their own.
  Report plan = part(), online = part(), ops = part();
  if (want("plan")) PlanRows(o, memory, plan);
  if (want("gap")) GapRows(o, memory, plan);
  if (want("online")) OnlineRows(o, online);
  if (want("accept")) AcceptanceRows(o, online);
  if (want("evac")) EvacuationRows(o, ops);
  if (want("ha")) HaRows(o, ops);
  for (Report* r : {&online, &plan, &ops}) {
    for (Row& row : r->rows) report.rows.push_back(std::move(row));
  }
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.facts = {
      StrCat("planner_bench", o.smoke ? " --smoke" : "", ", ", Now()),
      StrCat("machine: ", std::thread::hardware_concurrency(), " CPUs (", CpuModel(*fs), ")"),
      StrCat("build: ", GPUFLEET_BUILD_TYPE,
             GPUFLEET_SANITIZERS ? ", sanitizers on: timings not representative" : ""),
      StrCat("fleet: ", FormatNumber(o.hosts), " hosts x ", o.gpus_per_host, " GPUs; ",
             FormatNumber(o.vms), " VMs in the full plan; seed ", o.seed, "; run took ",
             FormatNumber(took, 1), " s")};
  if (args.json) {
    PrintJson(report, std::cout);
  } else {
    PrintTable(report, std::cout);
  }
  return 0;
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
