#ifndef GPUFLEET_STORE_STORE_H_
#define GPUFLEET_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/uuid.h"
#include "store/entities.h"

namespace gpufleet::store {

// The controller's durable state, behind an interface free of any database's types: SqliteStore
// (sqlite_store.h) for one controller, a PostgreSQL store later for several replicas.
//
// Access is by transaction functions:
//
//   absl::Status s = store.Write([&](WriteTx& tx) -> absl::Status {
//     GPUFLEET_ASSIGN_OR_RETURN(auto on_gpu, tx.ListDesiredInstances({.host = h, .gpu = g}));
//     if (on_gpu.size() >= max) return absl::ResourceExhaustedError("gpu full");
//     return tx.CreateDesiredInstance(instance);
//   });
//
// Why functions rather than Begin()/Commit() handles: the store decides where and how often the
// function runs. That is what lets SqliteStore batch many callers into one durable commit (group
// commit, each caller in its own savepoint), and what lets a PostgreSQL store retry a function
// after a serialization failure. The reads and the writes of one function are atomic and
// isolated: a read-check-write such as the one above can never double-book a GPU, however many
// threads call it.
//
// Errors (every method): NotFound (Get/Update/Delete of a missing row), AlreadyExists (Create of
// an existing key or unique value), FailedPrecondition (version conflict, a foreign key: a row
// still referenced or a reference to a missing row, a store that is closed or newer than this
// build), InvalidArgument (a malformed row: empty key, bad hash, over-long text), Unavailable
// (busy or I/O errors, usually transient), DataLoss (corruption), Internal (a bug). Messages
// start with "store: " and name the action and the object, e.g.
//   store: update vm 'web-1': version conflict: expected 3, actual 4

struct InstanceFilter {
  std::string host{};  // "" = any
  std::string gpu{};   // "" = any; needs host
  std::string vm{};    // "" = any
  // Desired instances only: those whose live migration waits for this source host; "" = any.
  std::string migrate_from{};
};

struct OperationFilter {
  std::optional<OperationState> state{};
  std::string kind{};    // "" = any
  std::string target{};  // "" = any
};

struct EventQuery {
  int64_t after_seq = 0;  // events with seq > after_seq (the resume cursor)
  std::string kind{};     // "" = any; exact match
  std::string object{};   // "" = any; exact match
  int limit = 100;        // 1..10000
};

// Reads inside a transaction. Lists are ordered by key (events by seq). Valid only during the
// transaction function it is passed to; not thread-safe.
class ReadTx {
 public:
  virtual ~ReadTx() = default;

  virtual absl::StatusOr<Host> GetHost(std::string_view name) = 0;
  virtual absl::StatusOr<std::vector<Host>> ListHosts() = 0;
  virtual absl::StatusOr<Gpu> GetGpu(std::string_view host, std::string_view id) = 0;
  virtual absl::StatusOr<std::vector<Gpu>> ListGpus(std::string_view host = "") = 0;
  virtual absl::StatusOr<ObservedInstance> GetObservedInstance(const Uuid& uuid) = 0;
  virtual absl::StatusOr<std::vector<ObservedInstance>> ListObservedInstances(
      std::string_view host = "") = 0;
  // By host ("" = any) and/or by UUID (nullopt = any).
  virtual absl::StatusOr<std::vector<LeftoverInstance>> ListLeftoverInstances(
      std::string_view host = "", std::optional<Uuid> uuid = std::nullopt) = 0;

  virtual absl::StatusOr<Vm> GetVm(std::string_view name) = 0;
  virtual absl::StatusOr<std::vector<Vm>> ListVms() = 0;
  virtual absl::StatusOr<DesiredInstance> GetDesiredInstance(const Uuid& uuid) = 0;
  virtual absl::StatusOr<std::vector<DesiredInstance>> ListDesiredInstances(
      const InstanceFilter& filter = {}) = 0;

  virtual absl::StatusOr<Operation> GetOperation(std::string_view id) = 0;
  virtual absl::StatusOr<std::vector<Operation>> ListOperations(
      const OperationFilter& filter = {}) = 0;
  virtual absl::StatusOr<OperationStep> GetStep(std::string_view operation, int index) = 0;
  virtual absl::StatusOr<std::vector<OperationStep>> ListSteps(std::string_view operation) = 0;

  // Events matching `query` in seq order, at most query.limit of them.
  virtual absl::StatusOr<std::vector<Event>> ListEvents(const EventQuery& query) = 0;

  virtual absl::StatusOr<LicensePool> GetLicensePool(std::string_view name) = 0;
  virtual absl::StatusOr<std::vector<LicensePool>> ListLicensePools() = 0;
  virtual absl::StatusOr<LicenseSeat> GetLicenseSeat(std::string_view pool,
                                                     std::string_view vm) = 0;
  virtual absl::StatusOr<std::vector<LicenseSeat>> ListLicenseSeats(std::string_view pool = "") = 0;

  virtual absl::StatusOr<ApiToken> GetApiToken(std::string_view sha256) = 0;
  virtual absl::StatusOr<std::vector<ApiToken>> ListApiTokens() = 0;
  virtual absl::StatusOr<AgentCredential> GetAgentCredential(std::string_view agent) = 0;
  virtual absl::StatusOr<std::vector<AgentCredential>> ListAgentCredentials() = 0;
  virtual absl::StatusOr<EnrolmentToken> GetEnrolmentToken(std::string_view sha256) = 0;
  virtual absl::StatusOr<std::vector<EnrolmentToken>> ListEnrolmentTokens() = 0;
};

// Reads see the transaction's own writes. Create sets version = 1 and the timestamps in the
// caller's row; Update checks row.version against the stored one, then stores row with
// version + 1 and writes the new version and updated_at back into `row`. Delete takes the
// expected version, or kAnyVersion.
class WriteTx : public ReadTx {
 public:
  virtual absl::Status CreateHost(Host& row) = 0;
  virtual absl::Status UpdateHost(Host& row) = 0;
  virtual absl::Status DeleteHost(std::string_view name, int64_t expected_version) = 0;
  virtual absl::Status CreateGpu(Gpu& row) = 0;
  virtual absl::Status UpdateGpu(Gpu& row) = 0;
  virtual absl::Status DeleteGpu(std::string_view host, std::string_view id,
                                 int64_t expected_version) = 0;
  virtual absl::Status CreateObservedInstance(ObservedInstance& row) = 0;
  virtual absl::Status UpdateObservedInstance(ObservedInstance& row) = 0;
  virtual absl::Status DeleteObservedInstance(const Uuid& uuid, int64_t expected_version) = 0;
  virtual absl::Status CreateLeftoverInstance(LeftoverInstance& row) = 0;
  virtual absl::Status UpdateLeftoverInstance(LeftoverInstance& row) = 0;
  virtual absl::Status DeleteLeftoverInstance(std::string_view host, const Uuid& uuid,
                                              int64_t expected_version) = 0;

  virtual absl::Status CreateVm(Vm& row) = 0;
  virtual absl::Status UpdateVm(Vm& row) = 0;
  virtual absl::Status DeleteVm(std::string_view name, int64_t expected_version) = 0;
  virtual absl::Status CreateDesiredInstance(DesiredInstance& row) = 0;
  virtual absl::Status UpdateDesiredInstance(DesiredInstance& row) = 0;
  virtual absl::Status DeleteDesiredInstance(const Uuid& uuid, int64_t expected_version) = 0;

  virtual absl::Status CreateOperation(Operation& row) = 0;
  virtual absl::Status UpdateOperation(Operation& row) = 0;
  virtual absl::Status DeleteOperation(std::string_view id, int64_t expected_version) = 0;
  virtual absl::Status CreateStep(OperationStep& row) = 0;
  virtual absl::Status UpdateStep(OperationStep& row) = 0;

  // Assigns event.seq (the next number) and event.time (the store's clock), then appends.
  virtual absl::Status AppendEvent(Event& event) = 0;

  // Soft-state times, for the write-behind of heartbeats and credential use: each sets its
  // column only when `at` is later than the stored time, and moves neither the row's version
  // nor updated_at (they are not edits of the record, so an If-Match taken earlier still
  // holds). A row that is gone is skipped, not an error.
  virtual absl::Status TouchHostHeartbeat(std::string_view host, absl::Time at) = 0;
  virtual absl::Status TouchApiTokenUse(std::string_view sha256, absl::Time at) = 0;
  virtual absl::Status TouchAgentCredentialUse(std::string_view agent, absl::Time at) = 0;

  virtual absl::Status CreateLicensePool(LicensePool& row) = 0;
  virtual absl::Status UpdateLicensePool(LicensePool& row) = 0;
  virtual absl::Status DeleteLicensePool(std::string_view name, int64_t expected_version) = 0;
  virtual absl::Status CreateLicenseSeat(LicenseSeat& row) = 0;
  virtual absl::Status UpdateLicenseSeat(LicenseSeat& row) = 0;
  virtual absl::Status DeleteLicenseSeat(std::string_view pool, std::string_view vm,
                                         int64_t expected_version) = 0;

  virtual absl::Status CreateApiToken(ApiToken& row) = 0;
  virtual absl::Status UpdateApiToken(ApiToken& row) = 0;
  virtual absl::Status DeleteApiToken(std::string_view sha256, int64_t expected_version) = 0;
  virtual absl::Status CreateAgentCredential(AgentCredential& row) = 0;
  virtual absl::Status UpdateAgentCredential(AgentCredential& row) = 0;
  virtual absl::Status DeleteAgentCredential(std::string_view agent, int64_t expected_version) = 0;
  virtual absl::Status CreateEnrolmentToken(EnrolmentToken& row) = 0;
  virtual absl::Status UpdateEnrolmentToken(EnrolmentToken& row) = 0;
  virtual absl::Status DeleteEnrolmentToken(std::string_view sha256, int64_t expected_version) = 0;
};

using ReadFn = std::function<absl::Status(ReadTx&)>;
using WriteFn = std::function<absl::Status(WriteTx&)>;

// Thread-safe: any number of threads may call every method concurrently.
class Store {
 public:
  virtual ~Store() = default;

  // Runs `fn` in a read-only snapshot transaction, on the calling thread, and returns its status
  // (or the store's error). Reads never wait for writers.
  virtual absl::Status Read(const ReadFn& fn) = 0;

  // Runs `fn` in a write transaction and returns once its writes are durable (fsync'd), or its
  // error. A non-OK status from `fn` rolls back that call's writes, and only those, and is
  // returned as is. Contract for `fn`:
  //   - it may run on another thread than the caller's (SqliteStore runs it on its committer
  //     thread, one function at a time) and may run more than once (after a failed commit, or a
  //     serialization failure in a multi-writer database): effects outside `tx` must be limited
  //     to filling the caller's variables, reset at the start of each run;
  //   - it must be short (it holds up the other writers of its batch) and must not call this
  //     Store (Read or Write) — a nested Write is refused with FailedPrecondition.
  virtual absl::Status Write(const WriteFn& fn) = 0;

  // The seq of the newest durable event (0 when none).
  virtual int64_t LastEventSeq() const = 0;

  // Blocks until an event with seq > after_seq is durable, or `timeout` passes, or the store
  // closes; returns LastEventSeq(). For SSE streams: list from the cursor, then wait.
  virtual int64_t WaitForEvents(int64_t after_seq, absl::Duration timeout) const = 0;
};

// Marks the enrolment token with hash `sha256` used by `agent` at `now`, within `tx`. Fails with
// NotFound for an unknown token and FailedPrecondition if it was used already or expired at `now`.
// Single use holds under concurrency: two callers racing for one token see one succeed.
absl::StatusOr<EnrolmentToken> ConsumeEnrolmentToken(WriteTx& tx, std::string_view sha256,
                                                     std::string_view agent, absl::Time now);

}  // namespace gpufleet::store

#endif  // GPUFLEET_STORE_STORE_H_
