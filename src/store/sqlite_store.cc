#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <system_error>
#include <utility>

#include "common/status_macros.h"
#include "common/strings.h"
#include "store/schema.h"
#include "store/sql_tx.h"
#include "store/sqlite_conn.h"

namespace gpufleet::store {

using internal::SqliteConn;

struct SqliteStore::Request {
  const WriteFn* fn = nullptr;
  absl::Status status;
  int64_t last_event_seq = 0;  // the newest event this request appended, once committed
  bool done = false;           // guarded by mu_
  // One per caller, so that finishing a batch wakes its callers and not every waiting writer.
  std::condition_variable cv;
};

namespace {

absl::Status ErrnoStatus(int e, std::string_view what) {
  std::string message = StrCat("store: ", what, ": ", std::generic_category().message(e));
  if (e == EACCES || e == EPERM || e == EROFS) return absl::PermissionDeniedError(message);
  if (e == ENOENT || e == ENOTDIR) return absl::FailedPreconditionError(message);
  if (e == ENOSPC || e == EDQUOT) return absl::ResourceExhaustedError(message);
  return absl::UnavailableError(message);
}

// The directory (0700) and the empty database file (0600) before SQLite sees them, so that
// neither is ever created with the process umask's wider default.
absl::Status PrepareFiles(const std::string& dir, const std::string& file) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, StrCat("create data directory ", dir));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus(errno, StrCat("stat ", dir));
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        StrCat("store: data directory ", dir, " exists and is not a directory"));
  }
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0) {
    return ErrnoStatus(errno, StrCat("restrict ", dir, " to mode 0700"));
  }
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, StrCat("create ", file));
  absl::Status status;
  if (::fstat(fd, &st) != 0) {
    status = ErrnoStatus(errno, StrCat("stat ", file));
  } else if ((st.st_mode & 077) != 0 && ::fchmod(fd, 0600) != 0) {
    status = ErrnoStatus(errno, StrCat("restrict ", file, " to mode 0600"));
  }
  ::close(fd);
  return status;
}

}  // namespace

SqliteStore::SqliteStore(std::string path, const SqliteStoreOptions& options)
    : path_(std::move(path)), options_(options) {}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(std::string_view data_dir,
                                                               const SqliteStoreOptions& options) {
  if (options.clock == nullptr) {
    return absl::InvalidArgumentError("store: open: options.clock is required");
  }
  if (options.max_batch < 1 || options.read_connections < 1) {
    return absl::InvalidArgumentError(StrCat("store: open: max_batch (", options.max_batch,
                                             ") and read_connections (", options.read_connections,
                                             ") must be at least 1"));
  }
  if (data_dir.empty()) return absl::InvalidArgumentError("store: open: empty data directory");
  std::string dir(data_dir);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  std::string path = StrCat(dir, "/", kFileName);
  GPUFLEET_RETURN_IF_ERROR(PrepareFiles(dir, path));

  std::unique_ptr<SqliteStore> store(new SqliteStore(path, options));
  GPUFLEET_ASSIGN_OR_RETURN(
      store->writer_, SqliteConn::Open(path, SqliteConn::Role::kWriter, options.busy_timeout));
  GPUFLEET_ASSIGN_OR_RETURN(store->schema_version_,
                            internal::Migrate(*store->writer_, path, options.schema_version));
  if (store->schema_version_ >= 2) {
    GPUFLEET_ASSIGN_OR_RETURN(
        std::vector<internal::SqlRow> rows,
        store->writer_->Query("SELECT value FROM sequences WHERE name = 'events'", {},
                              "read the events sequence"));
    if (!rows.empty()) {
      if (const auto* v = std::get_if<int64_t>(&rows[0][0])) store->last_event_seq_ = *v;
    }
  }
  for (int i = 0; i < options.read_connections; ++i) {
    GPUFLEET_ASSIGN_OR_RETURN(
        std::unique_ptr<SqliteConn> reader,
        SqliteConn::Open(path, SqliteConn::Role::kReader, options.busy_timeout));
    store->idle_readers_.push_back(std::move(reader));
  }
  store->committer_ = std::thread([s = store.get()] { s->CommitLoop(); });
  return store;
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    closed_ = true;
  }
  events_cv_.notify_all();
}

absl::Status SqliteStore::Read(const ReadFn& fn) {
  std::unique_ptr<SqliteConn> conn;
  {
    std::unique_lock<std::mutex> lock(readers_mu_);
    readers_cv_.wait(lock, [&] { return !idle_readers_.empty(); });
    conn = std::move(idle_readers_.back());
    idle_readers_.pop_back();
  }
  absl::Status status = conn->Begin(internal::TxKind::kRead);
  if (status.ok()) {
    internal::SqlTx tx(*conn, *options_.clock, /*writable=*/false);
    status = fn(tx);
  }
  conn->Rollback();  // ends the snapshot; a read transaction has nothing to commit
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    idle_readers_.push_back(std::move(conn));
  }
  readers_cv_.notify_one();
  return status;
}

absl::Status SqliteStore::Write(const WriteFn& fn) {
  if (std::this_thread::get_id() == committer_.get_id()) {
    return absl::FailedPreconditionError(
        "store: write: called from inside a write function; return and write again instead");
  }
  Request request;
  request.fn = &fn;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) return absl::FailedPreconditionError("store: write: the store is closing");
    queue_.push_back(&request);
    work_cv_.notify_one();
    request.cv.wait(lock, [&] { return request.done; });
  }
  return request.status;
}

void SqliteStore::CommitLoop() {
  const std::size_t max_batch =
      options_.group_commit ? static_cast<std::size_t>(options_.max_batch) : 1;
  std::vector<Request*> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to write
      batch.clear();
      while (!queue_.empty() && batch.size() < max_batch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    RunBatch(batch);
    int64_t newest = 0;
    for (const Request* r : batch) newest = std::max(newest, r->last_event_seq);
    writes_.fetch_add(static_cast<int64_t>(batch.size()), std::memory_order_relaxed);
    if (newest > 0) {
      {
        std::lock_guard<std::mutex> lock(events_mu_);
        last_event_seq_ = std::max(last_event_seq_, newest);
      }
      events_cv_.notify_all();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Notified under the lock: once `done` is seen, the caller may return and destroy `cv`.
      for (Request* r : batch) {
        r->done = true;
        r->cv.notify_one();
      }
    }
  }
}

void SqliteStore::RunBatch(std::vector<Request*>& batch) {
  absl::Status error;
  if (TryCommit(batch, error)) return;
  if (batch.size() == 1) {
    // The function's own error explains a lost transaction better than the commit's, if it has one.
    if (batch[0]->status.ok()) batch[0]->status = error;
    batch[0]->last_event_seq = 0;
    return;
  }
  // The batch could not commit as a whole: give each caller its own transaction, so that the
  // outcome each one sees is its own.
  for (Request* r : batch) {
    std::vector<Request*> one = {r};
    absl::Status own;
    if (!TryCommit(one, own)) {
      if (r->status.ok()) r->status = own;
      r->last_event_seq = 0;
    }
  }
}

bool SqliteStore::TryCommit(std::vector<Request*>& batch, absl::Status& error) {
  for (Request* r : batch) {
    r->status = absl::OkStatus();
    r->last_event_seq = 0;
  }
  error = writer_->Begin(internal::TxKind::kWrite);
  if (!error.ok()) {
    writer_->Rollback();
    return false;
  }
  for (Request* r : batch) {
    error = writer_->Exec("SAVEPOINT caller", {}, "begin caller savepoint").status();
    if (!error.ok()) break;
    internal::SqlTx tx(*writer_, *options_.clock, /*writable=*/true);
    r->status = (*r->fn)(tx);
    if (!writer_->InTransaction()) {
      // SQLite rolled the whole transaction back on its own (full disk, I/O error): the work of
      // the callers before this one is gone too.
      error = r->status.ok() ? absl::UnavailableError("store: write: transaction rolled back")
                             : r->status;
      break;
    }
    if (r->status.ok()) {
      r->last_event_seq = tx.last_event_seq();
      error = writer_->Exec("RELEASE caller", {}, "release caller savepoint").status();
    } else {
      error = writer_->Exec("ROLLBACK TO caller", {}, "roll back caller savepoint").status();
      if (error.ok()) {
        error = writer_->Exec("RELEASE caller", {}, "release caller savepoint").status();
      }
    }
    if (!error.ok()) break;
  }
  if (!error.ok()) {
    writer_->Rollback();
    return false;
  }
  bool any_ok = false;
  for (const Request* r : batch) any_ok = any_ok || r->status.ok();
  if (!any_ok) {
    writer_->Rollback();  // nothing to make durable
    return true;
  }
  error = writer_->Commit();
  if (!error.ok()) {
    writer_->Rollback();
    return false;
  }
  commits_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

int64_t SqliteStore::LastEventSeq() const {
  std::lock_guard<std::mutex> lock(events_mu_);
  return last_event_seq_;
}

int64_t SqliteStore::WaitForEvents(int64_t after_seq, absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(events_mu_);
  // A relative wait on the condition variable's steady clock: no wall-clock reading involved.
  // Clamped so that "now + timeout" cannot overflow for an infinite timeout.
  timeout = std::clamp(timeout, absl::ZeroDuration(), absl::Hours(24 * 365));
  events_cv_.wait_for(lock, absl::ToChronoMicroseconds(timeout),
                      [&] { return closed_ || last_event_seq_ > after_seq; });
  return last_event_seq_;
}

absl::Status SqliteStore::CheckIntegrity() {
  std::unique_ptr<SqliteConn> conn;
  {
    std::unique_lock<std::mutex> lock(readers_mu_);
    readers_cv_.wait(lock, [&] { return !idle_readers_.empty(); });
    conn = std::move(idle_readers_.back());
    idle_readers_.pop_back();
  }
  absl::Status status = conn->CheckIntegrity();
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    idle_readers_.push_back(std::move(conn));
  }
  readers_cv_.notify_one();
  return status;
}

SqliteStore::Stats SqliteStore::stats() const {
  Stats s;
  s.writes = writes_.load(std::memory_order_relaxed);
  s.commits = commits_.load(std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  s.queued = static_cast<int64_t>(queue_.size());
  return s;
}

}  // namespace gpufleet::store
