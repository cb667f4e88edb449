#include "store/sqlite_conn.h"

#include <sqlite3.h>

#include <limits>
#include <utility>

#include "common/status_macros.h"
#include "common/strings.h"
#include "store/sqlite_status.h"

namespace gpufleet::store::internal {
namespace {

// Statements are cached per connection; the store's SQL comes from a small fixed set (plus list
// filters), so the cap only guards against a caller that builds unbounded variants.
constexpr std::size_t kMaxCachedStatements = 512;

std::string TextAt(const SqlRow& row, std::size_t i) {
  if (i >= row.size()) return "?";
  const std::string* s = std::get_if<std::string>(&row.at(i));
  return s == nullptr ? "?" : *s;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteConn>> SqliteConn::Open(const std::string& path, Role role,
                                                             absl::Duration busy_timeout) {
  sqlite3* db = nullptr;
  // NOMUTEX: each connection is used by one thread at a time (the store's contract), so SQLite's
  // own per-connection mutex would only cost time.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status st = SqliteStatus(rc, db, StrCat("open ", path));
    sqlite3_close_v2(db);
    return st;
  }
  sqlite3_extended_result_codes(db, 1);
  int64_t ms = absl::ToInt64Milliseconds(busy_timeout);
  if (ms < 0) ms = 0;
  if (ms > std::numeric_limits<int>::max()) ms = std::numeric_limits<int>::max();
  sqlite3_busy_timeout(db, static_cast<int>(ms));
  std::unique_ptr<SqliteConn> conn(new SqliteConn(db, path));
  std::string what = StrCat("configure ", path);
  if (role == Role::kWriter) {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<SqlRow> mode,
                              conn->Query("PRAGMA journal_mode=WAL", {}, what));
    const std::string* got = mode.empty() ? nullptr : std::get_if<std::string>(&mode[0][0]);
    if (got == nullptr || AsciiLower(*got) != "wal") {
      return absl::FailedPreconditionError(
          StrCat("store: ", what, ": the file system does not support WAL mode (journal mode is ",
                 got == nullptr ? std::string("unknown") : *got, ")"));
    }
    GPUFLEET_RETURN_IF_ERROR(conn->Exec("PRAGMA synchronous=FULL", {}, what).status());
    GPUFLEET_RETURN_IF_ERROR(conn->Exec("PRAGMA foreign_keys=ON", {}, what).status());
  } else {
    GPUFLEET_RETURN_IF_ERROR(conn->Exec("PRAGMA query_only=ON", {}, what).status());
  }
  return conn;
}

SqliteConn::~SqliteConn() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

absl::StatusOr<sqlite3_stmt*> SqliteConn::Prepare(std::string_view sql, std::string_view what) {
  if (auto it = cache_.find(sql); it != cache_.end()) return it->second;
  if (sql.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError(StrCat("store: ", what, ": statement too long"));
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(rc, db_, what);
  if (cache_.size() >= kMaxCachedStatements) {
    for (auto& [text, old] : cache_) sqlite3_finalize(old);
    cache_.clear();
  }
  cache_.emplace(std::string(sql), stmt);
  return stmt;
}

absl::Status SqliteConn::Run(std::string_view sql, const std::vector<SqlValue>& params,
                             std::string_view what, std::vector<SqlRow>* rows) {
  GPUFLEET_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, what));
  absl::Status status;
  for (std::size_t i = 0; i < params.size() && status.ok(); ++i) {
    const int index = static_cast<int>(i) + 1;
    int rc = SQLITE_OK;
    const SqlValue& p = params[i];
    if (const auto* n = std::get_if<int64_t>(&p)) {
      rc = sqlite3_bind_int64(stmt, index, *n);
    } else if (const auto* s = std::get_if<std::string>(&p)) {
      // STATIC: `params` outlives the statement's use; it is reset before returning.
      rc = sqlite3_bind_text64(stmt, index, s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
    } else {
      rc = sqlite3_bind_null(stmt, index);
    }
    status = SqliteStatus(rc, db_, what);
  }
  while (status.ok()) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      status = SqliteStatus(rc, db_, what);
      break;
    }
    if (rows == nullptr) continue;
    const int n = sqlite3_column_count(stmt);
    SqlRow row;
    row.reserve(static_cast<std::size_t>(n));
    for (int c = 0; c < n; ++c) {
      switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_INTEGER:
          row.emplace_back(int64_t{sqlite3_column_int64(stmt, c)});
          break;
        case SQLITE_NULL:
          row.emplace_back(std::monostate{});
          break;
        case SQLITE_FLOAT:
          status =
              absl::DataLossError(StrCat("store: ", what, ": column ", sqlite3_column_name(stmt, c),
                                         " holds a REAL value, which the store never writes"));
          break;
        default: {  // TEXT, or a BLOB read as bytes
          const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, c));
          const int bytes = sqlite3_column_bytes(stmt, c);
          row.emplace_back(std::string(data == nullptr ? "" : data,
                                       static_cast<std::size_t>(bytes < 0 ? 0 : bytes)));
        }
      }
    }
    rows->push_back(std::move(row));
  }
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  return status;
}

absl::StatusOr<std::vector<SqlRow>> SqliteConn::Query(std::string_view sql,
                                                      const std::vector<SqlValue>& params,
                                                      std::string_view what) {
  std::vector<SqlRow> rows;
  GPUFLEET_RETURN_IF_ERROR(Run(sql, params, what, &rows));
  return rows;
}

absl::StatusOr<int64_t> SqliteConn::Exec(std::string_view sql, const std::vector<SqlValue>& params,
                                         std::string_view what) {
  GPUFLEET_RETURN_IF_ERROR(Run(sql, params, what, nullptr));
  return int64_t{sqlite3_changes64(db_)};
}

absl::Status SqliteConn::Begin(TxKind kind) {
  // IMMEDIATE takes the write lock at BEGIN, so a write transaction never fails half-way to
  // upgrade from a read lock; a deferred BEGIN gives readers a snapshot at their first read.
  return Exec(kind == TxKind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN", {},
              kind == TxKind::kWrite ? "begin write transaction" : "begin read transaction")
      .status();
}

absl::Status SqliteConn::Commit() { return Exec("COMMIT", {}, "commit").status(); }

void SqliteConn::Rollback() {
  if (!InTransaction()) return;
  absl::Status ignored = Exec("ROLLBACK", {}, "rollback").status();
  (void)ignored;  // a failed ROLLBACK leaves SQLite to roll back when the connection closes
}

bool SqliteConn::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

absl::Status SqliteConn::CheckIntegrity() {
  std::string what = StrCat("check ", path_);
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, Query("PRAGMA integrity_check", {}, what));
  std::vector<std::string> problems;
  for (const SqlRow& row : rows) {
    if (std::string line = TextAt(row, 0); line != "ok") problems.push_back(line);
  }
  GPUFLEET_ASSIGN_OR_RETURN(rows, Query("PRAGMA foreign_key_check", {}, what));
  for (const SqlRow& row : rows) {
    problems.push_back(
        StrCat("a row of ", TextAt(row, 0), " refers to a missing row of ", TextAt(row, 2)));
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::DataLossError(StrCat("store: ", what, ": ", StrJoin(problems, "; ")));
}

}  // namespace gpufleet::store::internal
