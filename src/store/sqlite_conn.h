#ifndef GPUFLEET_STORE_SQLITE_CONN_H_
#define GPUFLEET_STORE_SQLITE_CONN_H_

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "store/sql.h"

struct sqlite3;
struct sqlite3_stmt;

// Internal to src/store: SqlConn over one SQLite connection. Everything SQLite-specific in the
// store's SQL (pragmas, BEGIN IMMEDIATE, integrity checks) is in sqlite_conn.cc; the result codes
// are translated in sqlite_status.cc.
namespace gpufleet::store::internal {

class SqliteConn final : public SqlConn {
 public:
  enum class Role {
    // WAL, synchronous=FULL (every commit fsyncs the WAL), foreign keys enforced.
    kWriter,
    // query_only: a snapshot reader.
    kReader,
  };

  // Opens (creating if needed) the database at `path` and applies the pragmas of `role`.
  static absl::StatusOr<std::unique_ptr<SqliteConn>> Open(const std::string& path, Role role,
                                                          absl::Duration busy_timeout);
  ~SqliteConn() override;
  SqliteConn(const SqliteConn&) = delete;
  SqliteConn& operator=(const SqliteConn&) = delete;

  absl::StatusOr<std::vector<SqlRow>> Query(std::string_view sql,
                                            const std::vector<SqlValue>& params,
                                            std::string_view what) override;
  absl::StatusOr<int64_t> Exec(std::string_view sql, const std::vector<SqlValue>& params,
                               std::string_view what) override;
  absl::Status Begin(TxKind kind) override;
  absl::Status Commit() override;
  void Rollback() override;
  [[nodiscard]] bool InTransaction() const override;

  // PRAGMA integrity_check and foreign_key_check; OK, or DataLoss listing what they found.
  absl::Status CheckIntegrity();

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  SqliteConn(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  absl::StatusOr<sqlite3_stmt*> Prepare(std::string_view sql, std::string_view what);
  // Steps a prepared, bound statement to the end, appending rows to `rows` when non-null.
  absl::Status Run(std::string_view sql, const std::vector<SqlValue>& params, std::string_view what,
                   std::vector<SqlRow>* rows);

  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, sqlite3_stmt*, StringHash, std::equal_to<>> cache_;
};

}  // namespace gpufleet::store::internal

#endif  // GPUFLEET_STORE_SQLITE_CONN_H_
