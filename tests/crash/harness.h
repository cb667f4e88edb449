#ifndef GPUFLEET_TESTS_CRASH_HARNESS_H_
#define GPUFLEET_TESTS_CRASH_HARNESS_H_

// The pieces shared by the crash harness (crash_harness.cc) and its workloads: what a failed
// check says, the request journal, a small HTTP client, the views of the controller's state that
// checks compare with what was acknowledged, and the Workload interface a request kind plugs into.

#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "httplib.h"
#include "nlohmann/json.hpp"

namespace gpufleet::crash {

// Failed checks, each naming the round, the seed, the request and what was expected. The first
// kMaxKept are kept. Thread-safe (client threads report impossible answers directly).
class Findings {
 public:
  static constexpr std::size_t kMaxKept = 40;

  explicit Findings(std::uint64_t seed) : seed_(seed) {}
  void SetRound(int round);
  void Fail(std::string_view request, std::string_view expected, std::string_view actual);
  [[nodiscard]] bool ok() const;
  [[nodiscard]] std::vector<std::string> failures() const;
  [[nodiscard]] std::size_t count() const;

 private:
  const std::uint64_t seed_;
  mutable std::mutex mu_;
  int round_ = 0;                      // guarded by mu_
  std::size_t count_ = 0;              // guarded by mu_
  std::vector<std::string> failures_;  // guarded by mu_
};

// One line per request and outcome, appended to <work dir>/requests.log, for reading a kept run.
// Thread-safe.
class Journal {
 public:
  explicit Journal(const std::string& path) : out_(path, std::ios::app) {}
  void Line(std::string_view line);

 private:
  std::mutex mu_;
  std::ofstream out_;  // guarded by mu_
};

// An answer, or none (status 0: the connection failed, was reset, or timed out).
struct Reply {
  int status = 0;
  std::string error;  // httplib's reason when status is 0
  std::string body;
  std::string etag;
  [[nodiscard]] bool answered() const { return status != 0; }
  [[nodiscard]] bool ok() const { return status >= 200 && status < 300; }
  // The body as JSON; null when it is not JSON.
  [[nodiscard]] nlohmann::json Json() const;
  // "201", or "no response (Read)".
  [[nodiscard]] std::string Describe() const;
};

// HTTP/1.1 to the controller on 127.0.0.1, one connection per request (no keep-alive: a
// refused connection then means the request never reached the server), short timeouts.
// Not thread-safe: one per thread.
class HttpClient {
 public:
  HttpClient(std::uint16_t port, std::string token);
  Reply Send(std::string_view method, std::string_view path, const nlohmann::json* body = nullptr,
             const httplib::Headers& headers = {});
  // With another bearer token than the client's.
  Reply SendAs(std::string_view token, std::string_view method, std::string_view path);
  [[nodiscard]] const std::string& token() const { return token_; }

 private:
  httplib::Client client_;
  std::string token_;
};

// The controller's state as the checks see it, read either over the API (after a restart) or
// from the store directly (with the controller killed). Plain data.
struct VgpuView {
  std::string uuid;
  int index = 0;
  std::string host;
  std::string gpu;
  std::string type;
  int placement = -1;
  bool operator==(const VgpuView&) const = default;
};

struct VmView {
  std::string name;
  int64_t version = 0;
  std::string requested_type;  // spec.type
  int requested_vgpus = 1;     // spec.vgpus
  std::vector<VgpuView> vgpus;
};

struct GpuView {
  std::string host;
  std::string id;
  std::string board;
  std::string mode;
};

struct HostView {
  std::string name;
  std::map<std::string, std::string> labels;
  std::vector<std::string> gpus;  // ids
};

struct TokenView {
  std::string name;
  std::string role;
};

// Events by (kind, object): how many of each. The API snapshot accumulates them round after
// round (events are append-only), the store snapshot reads them all.
using EventCounts = std::map<std::pair<std::string, std::string>, int>;

struct Snapshot {
  std::string source;  // "the API" or "the store", for messages
  std::map<std::string, VmView> vms;
  std::map<std::string, HostView> hosts;
  std::map<std::pair<std::string, std::string>, GpuView> gpus;  // by (host, id)
  std::map<std::string, TokenView> tokens;
  const EventCounts* events = nullptr;
  // Over the API only, where the lists and the events are separate reads while the operation
  // runner may still move VMs: the events counted before the lists were read. A list shows at
  // least these moves and at most those of `events` (read after).
  std::optional<EventCounts> events_before;
  // Over the API only: a client for probes (e.g. authenticating with a token); null otherwise.
  HttpClient* client = nullptr;
  // The last check of the run: probes everything rather than a sample.
  bool final = false;

  [[nodiscard]] int EventCount(std::string_view kind, std::string_view object) const;
  // EventCount as of before the lists were read (the same where the read is one transaction).
  [[nodiscard]] int EventCountBefore(std::string_view kind, std::string_view object) const;
};

// What a request kind gets to issue one request.
struct IssueContext {
  HttpClient& client;
  std::mt19937_64& rng;
  Journal& journal;
  Findings& findings;
  int round = 0;
  int thread = 0;
  int serial = 0;  // this thread's request number in this round

  // "r12-t1-4": unique over the run, for names.
  [[nodiscard]] std::string Tag() const;
  // Appends "round R thread T: <what> -> <reply>" to the journal.
  void Log(std::string_view what, const Reply& reply);
};

// What one call of a request kind did.
enum class Sent {
  kNothing,   // nothing to send (e.g. no VM to delete)
  kAnswered,  // sent and answered
  kNoAnswer,  // sent, no answer: the controller is gone; the client thread stops for this round
};

// One row of the request table: a name ("vm.create"), its share of the stream, and the function
// that picks, sends and records one request. `issue` runs on any client thread, concurrently
// with the other rows' and its own.
struct RequestKind {
  std::string name;
  int weight = 1;
  std::function<Sent(IssueContext&)> issue;
};

// A family of request kinds and the ledger of what was sent and acknowledged, with its checks.
// Outcomes: an answer 2xx is acknowledged (must be durable); an answer 4xx is a refusal (must
// have no effect); no answer, or 5xx, is in flight (must be found either fully applied or fully
// absent after the restart, and is then settled as whichever it was).
//
// Threads: Kinds()'s functions run on client threads during the load; Setup, Check and Summary
// run on the harness thread with no load running. Implementations lock their own ledger.
class Workload {
 public:
  virtual ~Workload() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  [[nodiscard]] virtual std::vector<RequestKind> Kinds() = 0;
  // After the first start that listens, before any load (not killed). Returns false on failure,
  // recorded in `findings`.
  virtual bool Setup(HttpClient& client, Journal& journal, Findings& findings) {
    (void)client;
    (void)journal;
    (void)findings;
    return true;
  }
  // Compares the snapshot with the ledger, settles requests in flight, records failures.
  virtual void Check(const Snapshot& snapshot, Findings& findings) = 0;
  // One line of counts for the final report.
  [[nodiscard]] virtual std::string Summary() const = 0;
};

}  // namespace gpufleet::crash

#endif  // GPUFLEET_TESTS_CRASH_HARNESS_H_
