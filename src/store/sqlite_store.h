#ifndef GPUFLEET_STORE_SQLITE_STORE_H_
#define GPUFLEET_STORE_SQLITE_STORE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "os/clock.h"
#include "store/store.h"

namespace gpufleet::store {

namespace internal {
class SqliteConn;
}  // namespace internal

struct SqliteStoreOptions {
  // The store's only source of time (created_at, updated_at, event times). Required; not owned;
  // must outlive the store.
  const os::Clock* clock = nullptr;
  // On: concurrent Write calls are committed together, one transaction and one fsync per batch.
  // Off: one transaction and one fsync per Write (the baseline the benchmark compares with).
  bool group_commit = true;
  // The most Write calls in one batch.
  int max_batch = 256;
  // Connections for Read; a Read waits when all are busy.
  int read_connections = 4;
  // How long a statement waits for a lock held by another process before failing Unavailable.
  absl::Duration busy_timeout = absl::Seconds(5);
  // The schema version to migrate to; 0 = the latest. Only tests set it.
  int schema_version = 0;
};

// The embedded store: one SQLite database, `gpufleet.db`, in WAL mode.
//
// Writes: one committer thread owns the only write connection. Write() queues its function and
// waits; the committer takes every queued function (up to max_batch), runs each inside its own
// SAVEPOINT of one BEGIN IMMEDIATE transaction, and COMMITs with synchronous=FULL, so one fsync
// makes the whole batch durable. A function that fails is rolled back to its savepoint alone. If
// the batch itself cannot commit (I/O error, full disk), each function runs again in its own
// transaction, so one caller's trouble is not reported to the others. Write returns after COMMIT.
//
// Reads: a pool of query-only connections, each Read one snapshot (WAL readers do not wait for
// the writer, nor it for them).
//
// Files: Open creates `data_dir` (mode 0700; an existing directory open to group or others is
// narrowed to 0700) and `gpufleet.db` in it (0600; SQLite gives the -wal and -shm files the same
// mode). One process at a time should own a data directory; SQLite's locks keep a second one
// safe but slow (its writes wait up to busy_timeout).
//
// Thread-safe. Destroying the store runs the writes already queued, then joins the committer;
// no call may be in progress or start during destruction.
class SqliteStore final : public Store {
 public:
  static constexpr std::string_view kFileName = "gpufleet.db";

  // Opens or creates the store and migrates its schema. Fails with InvalidArgument for bad
  // options, FailedPrecondition for a database written by a newer gpufleet (the message names
  // both versions) or a data directory that is not a directory, PermissionDenied, Unavailable or
  // DataLoss from the file system and SQLite.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(std::string_view data_dir,
                                                           const SqliteStoreOptions& options);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  absl::Status Read(const ReadFn& fn) override;
  absl::Status Write(const WriteFn& fn) override;
  int64_t LastEventSeq() const override;
  int64_t WaitForEvents(int64_t after_seq, absl::Duration timeout) const override;

  // PRAGMA integrity_check and foreign_key_check on a reader connection: OK or DataLoss.
  absl::Status CheckIntegrity();

  // The database file.
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] int schema_version() const { return schema_version_; }

  struct Stats {
    int64_t writes = 0;   // Write calls finished
    int64_t commits = 0;  // transactions committed (each one fsync)
    int64_t queued = 0;   // Write calls waiting for the committer to take them
  };
  [[nodiscard]] Stats stats() const;

 private:
  struct Request;

  SqliteStore(std::string path, const SqliteStoreOptions& options);
  void CommitLoop();
  void RunBatch(std::vector<Request*>& batch);
  // One attempt at committing `batch` in one transaction; false when the transaction was lost
  // (and rolled back), with the reason in `error`.
  bool TryCommit(std::vector<Request*>& batch, absl::Status& error);

  const std::string path_;
  const SqliteStoreOptions options_;
  int schema_version_ = 0;

  std::unique_ptr<internal::SqliteConn> writer_;  // used by the committer thread only

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // the committer waits for requests
  std::deque<Request*> queue_;       // guarded by mu_
  bool stopping_ = false;            // guarded by mu_
  std::thread committer_;

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<internal::SqliteConn>> idle_readers_;  // guarded by readers_mu_

  mutable std::mutex events_mu_;
  mutable std::condition_variable events_cv_;
  int64_t last_event_seq_ = 0;  // guarded by events_mu_
  bool closed_ = false;         // guarded by events_mu_

  std::atomic<int64_t> writes_{0};
  std::atomic<int64_t> commits_{0};
};

}  // namespace gpufleet::store

#endif  // GPUFLEET_STORE_SQLITE_STORE_H_
