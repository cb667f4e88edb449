#ifndef GPUFLEET_STORE_SQL_H_
#define GPUFLEET_STORE_SQL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Internal to src/store: the narrow, dialect-neutral connection that the portable parts of the
// store (schema.cc, sql_tx.cc) are written against. Only SQL that SQLite 3.35+ and PostgreSQL 13+
// both accept goes through it: TEXT/INTEGER/BIGINT columns, `?` placeholders (a PostgreSQL
// connection rewrites them to $n), SAVEPOINT/RELEASE/ROLLBACK TO. Everything dialect-specific
// (pragmas, how a write transaction begins, catalogs) lives in the implementation of SqlConn:
// sqlite_conn.cc for SQLite.
namespace gpufleet::store::internal {

// NULL, an integer, or text. Booleans are 0/1, times are Unix microseconds.
using SqlValue = std::variant<std::monostate, int64_t, std::string>;
using SqlRow = std::vector<SqlValue>;

enum class TxKind {
  kRead,   // a snapshot that never blocks on, and never blocks, writers
  kWrite,  // takes the write lock at once, so the first write cannot fail to upgrade
};

// One database connection. Thread-compatible: one thread at a time. `what` names the action for
// error messages ("insert vm 'web-1'"); errors come back as "store: <what>: <reason>".
class SqlConn {
 public:
  virtual ~SqlConn() = default;

  // Runs one statement with `params` bound to its placeholders and returns its rows.
  virtual absl::StatusOr<std::vector<SqlRow>> Query(std::string_view sql,
                                                    const std::vector<SqlValue>& params,
                                                    std::string_view what) = 0;
  // Runs one statement and returns the number of rows it changed.
  virtual absl::StatusOr<int64_t> Exec(std::string_view sql, const std::vector<SqlValue>& params,
                                       std::string_view what) = 0;

  virtual absl::Status Begin(TxKind kind) = 0;
  virtual absl::Status Commit() = 0;
  // Rolls back the open transaction, if any; never fails in a way the caller could act on.
  virtual void Rollback() = 0;
  // Whether a transaction is open (false after the database rolled one back on its own, e.g.
  // after a full disk or an I/O error).
  [[nodiscard]] virtual bool InTransaction() const = 0;
};

}  // namespace gpufleet::store::internal

#endif  // GPUFLEET_STORE_SQL_H_
