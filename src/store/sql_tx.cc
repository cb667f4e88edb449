#include "store/sql_tx.h"

#include <cstddef>
#include <string>

#include "common/status_macros.h"
#include "common/strings.h"
#include "store/tables.h"

namespace gpufleet::store::internal {
namespace {

constexpr std::size_t kMaxKeyBytes = 256;
constexpr std::size_t kMaxTextBytes = 1 << 20;
constexpr int kMaxEventLimit = 10000;

// Collects column names.
struct Names {
  std::vector<std::string> keys;
  std::vector<std::string> cols;
  template <typename F>
  void Key(std::string_view name, F&) {
    keys.emplace_back(name);
  }
  template <typename F>
  void Col(std::string_view name, F&) {
    cols.emplace_back(name);
  }
  void Hash(std::string_view, std::string&) {}
};

// Collects values in column order.
struct Binder {
  std::vector<SqlValue> keys;
  std::vector<SqlValue> cols;
  template <typename F>
  void Key(std::string_view, F& f) {
    keys.push_back(ToSql(f));
  }
  template <typename F>
  void Col(std::string_view, F& f) {
    cols.push_back(ToSql(f));
  }
  void Hash(std::string_view, std::string&) {}
};

// Reads a row in column order; the first error sticks.
struct Reader {
  Reader(const SqlRow& r, std::string_view t) : row(r), table(t) {}
  const SqlRow& row;
  std::string_view table;
  std::size_t next = 0;
  absl::Status status;

  template <typename F>
  void Key(std::string_view name, F& f) {
    Read(name, f);
  }
  template <typename F>
  void Col(std::string_view name, F& f) {
    Read(name, f);
  }
  void Hash(std::string_view, std::string&) {}
  template <typename F>
  void Read(std::string_view name, F& f) {
    if (!status.ok()) return;
    if (next >= row.size()) {
      status = absl::InternalError(StrCat("store: ", table, ": row has too few columns"));
      return;
    }
    status = FromSql(row[next++], name, &f);
    if (!status.ok()) {
      status = absl::DataLossError(StrCat("store: ", table, ".", ToStd(status.message())));
    }
  }
};

// Checks shape: keys non-empty, short and free of control characters; text bounded; hashes hex.
struct Validator {
  explicit Validator(std::string_view n) : noun(n) {}
  std::string_view noun;
  absl::Status status;

  void Key(std::string_view name, std::string& f) {
    if (!status.ok()) return;
    if (f.empty()) return Fail(name, "must not be empty");
    if (f.size() > kMaxKeyBytes) return Fail(name, StrCat("longer than ", kMaxKeyBytes, " bytes"));
    for (char c : f) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return Fail(name, StrCat(QuoteForMessage(f), " holds a control character"));
      }
    }
  }
  template <typename F>
  void Key(std::string_view, F&) {}
  void Col(std::string_view name, std::string& f) {
    if (status.ok() && f.size() > kMaxTextBytes) {
      Fail(name, StrCat("longer than ", kMaxTextBytes, " bytes"));
    }
  }
  template <typename F>
  void Col(std::string_view, F&) {}
  void Hash(std::string_view name, std::string& f) {
    if (status.ok() && !IsSha256Hex(f)) Fail(name, "must be a SHA-256 digest in lower-case hex");
  }
  void Fail(std::string_view name, std::string_view why) {
    status = absl::InvalidArgumentError(StrCat("store: ", noun, ".", name, ": ", why));
  }
};

std::string KeyPart(const SqlValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* s = std::get_if<std::string>(&v)) {
    // Digests of secrets are shown shortened: enough to tell them apart in a log.
    if (IsSha256Hex(*s)) return StrCat(s->substr(0, 12), "...");
    return *s;
  }
  return "NULL";
}

std::string DescribeKey(const std::vector<SqlValue>& key) {
  std::vector<std::string> parts;
  for (const SqlValue& v : key) parts.push_back(KeyPart(v));
  return QuoteForMessage(StrJoin(parts, "/"), 300);
}

std::string Conjunction(const std::vector<std::string>& cols) {
  std::vector<std::string> terms;
  for (const std::string& c : cols) terms.push_back(StrCat(c, " = ?"));
  return StrJoin(terms, " AND ");
}

// The statements of one table, built once.
struct TableSql {
  std::size_t key_count = 0;
  std::string select_list;
  std::string from;
  std::string order_by;
  std::string get;
  std::string insert;
  std::string update;
  std::string remove;
  std::string remove_versioned;
  std::string version_of;
};

template <typename T>
const TableSql& SqlFor() {
  static const TableSql* sql = [] {
    T row;
    Names n;
    Table<T>::Fields(n, row);
    auto* s = new TableSql;
    s->key_count = n.keys.size();
    std::vector<std::string> all = n.keys;
    all.insert(all.end(), n.cols.begin(), n.cols.end());
    all.insert(all.end(), {"version", "created_at", "updated_at"});
    std::string table(Table<T>::kTable);
    std::string where_key = Conjunction(n.keys);
    s->select_list = StrJoin(all, ", ");
    s->from = StrCat(" FROM ", table);
    s->order_by = StrCat(" ORDER BY ", StrJoin(n.keys, ", "));
    s->get = StrCat("SELECT ", s->select_list, s->from, " WHERE ", where_key);
    std::vector<std::string> marks(all.size(), "?");
    s->insert = StrCat("INSERT INTO ", table, " (", s->select_list, ") VALUES (",
                       StrJoin(marks, ", "), ")");
    std::vector<std::string> sets;
    for (const std::string& c : n.cols) sets.push_back(StrCat(c, " = ?"));
    sets.push_back("version = ?");
    sets.push_back("updated_at = ?");
    s->update = StrCat("UPDATE ", table, " SET ", StrJoin(sets, ", "), " WHERE ", where_key,
                       " AND version = ?");
    s->remove = StrCat("DELETE FROM ", table, " WHERE ", where_key);
    s->remove_versioned = StrCat(s->remove, " AND version = ?");
    s->version_of = StrCat("SELECT version FROM ", table, " WHERE ", where_key);
    return s;
  }();
  return *sql;
}

template <typename T>
absl::StatusOr<T> FromRow(const SqlRow& row) {
  T out;
  Reader r(row, Table<T>::kTable);
  Table<T>::Fields(r, out);
  r.Read("version", out.version);
  r.Read("created_at", out.created_at);
  r.Read("updated_at", out.updated_at);
  if (!r.status.ok()) return r.status;
  return out;
}

template <typename T>
absl::Status Validate(T& row) {
  Validator v(Table<T>::kNoun);
  Table<T>::Fields(v, row);
  return v.status;
}

std::vector<SqlValue> Key(std::string_view a) { return {std::string(a)}; }
std::vector<SqlValue> Key(std::string_view a, std::string_view b) {
  return {std::string(a), std::string(b)};
}

}  // namespace

absl::Status SqlTx::CheckWritable(std::string_view what) const {
  if (writable_) return absl::OkStatus();
  return absl::FailedPreconditionError(StrCat("store: ", what, ": read-only transaction"));
}

template <typename T>
absl::StatusOr<T> SqlTx::GetRow(std::vector<SqlValue> key) {
  const TableSql& sql = SqlFor<T>();
  std::string what = StrCat("get ", Table<T>::kNoun, " ", DescribeKey(key));
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, conn_.Query(sql.get, key, what));
  if (rows.empty()) return absl::NotFoundError(StrCat("store: ", what, ": not found"));
  return FromRow<T>(rows.front());
}

template <typename T>
absl::StatusOr<std::vector<T>> SqlTx::ListRows(const Where& where) {
  const TableSql& sql = SqlFor<T>();
  std::string query = StrCat("SELECT ", sql.select_list, sql.from);
  std::vector<SqlValue> params;
  std::vector<std::string> cols;
  for (const auto& [col, value] : where) {
    cols.emplace_back(col);
    params.push_back(value);
  }
  if (!cols.empty()) StrAppend(&query, " WHERE ", Conjunction(cols));
  StrAppend(&query, sql.order_by);
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                            conn_.Query(query, params, StrCat("list ", Table<T>::kTable)));
  std::vector<T> out;
  out.reserve(rows.size());
  for (const SqlRow& row : rows) {
    GPUFLEET_ASSIGN_OR_RETURN(T item, FromRow<T>(row));
    out.push_back(std::move(item));
  }
  return out;
}

template <typename T>
absl::Status SqlTx::CreateRow(T& row) {
  GPUFLEET_RETURN_IF_ERROR(Validate(row));
  Binder b;
  Table<T>::Fields(b, row);
  std::string what = StrCat("insert ", Table<T>::kNoun, " ", DescribeKey(b.keys));
  GPUFLEET_RETURN_IF_ERROR(CheckWritable(what));
  absl::Time now = clock_.Now();
  std::vector<SqlValue> params = std::move(b.keys);
  params.insert(params.end(), std::make_move_iterator(b.cols.begin()),
                std::make_move_iterator(b.cols.end()));
  params.push_back(int64_t{1});
  params.push_back(ToSql(now));
  params.push_back(ToSql(now));
  GPUFLEET_RETURN_IF_ERROR(conn_.Exec(SqlFor<T>().insert, params, what).status());
  row.version = 1;
  row.created_at = now;
  row.updated_at = now;
  return absl::OkStatus();
}

template <typename T>
absl::Status SqlTx::UpdateRow(T& row) {
  GPUFLEET_RETURN_IF_ERROR(Validate(row));
  Binder b;
  Table<T>::Fields(b, row);
  std::string what = StrCat("update ", Table<T>::kNoun, " ", DescribeKey(b.keys));
  GPUFLEET_RETURN_IF_ERROR(CheckWritable(what));
  if (row.version <= 0) {
    return absl::InvalidArgumentError(
        StrCat("store: ", what, ": version ", row.version, " is not one the store handed out"));
  }
  const TableSql& sql = SqlFor<T>();
  absl::Time now = clock_.Now();
  std::vector<SqlValue> params = std::move(b.cols);
  params.push_back(row.version + 1);
  params.push_back(ToSql(now));
  params.insert(params.end(), b.keys.begin(), b.keys.end());
  params.push_back(row.version);
  GPUFLEET_ASSIGN_OR_RETURN(int64_t changed, conn_.Exec(sql.update, params, what));
  if (changed == 0) {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, conn_.Query(sql.version_of, b.keys, what));
    if (rows.empty()) return absl::NotFoundError(StrCat("store: ", what, ": not found"));
    int64_t actual = 0;
    GPUFLEET_RETURN_IF_ERROR(FromSql(rows.front().front(), "version", &actual));
    return absl::FailedPreconditionError(
        StrCat("store: ", what, ": version conflict: expected ", row.version, ", actual ", actual));
  }
  row.version += 1;
  row.updated_at = now;
  return absl::OkStatus();
}

template <typename T>
absl::Status SqlTx::DeleteRow(std::vector<SqlValue> key, int64_t expected_version) {
  const TableSql& sql = SqlFor<T>();
  std::string what = StrCat("delete ", Table<T>::kNoun, " ", DescribeKey(key));
  GPUFLEET_RETURN_IF_ERROR(CheckWritable(what));
  std::vector<SqlValue> params = key;
  if (expected_version != kAnyVersion) params.push_back(expected_version);
  GPUFLEET_ASSIGN_OR_RETURN(
      int64_t changed,
      conn_.Exec(expected_version == kAnyVersion ? sql.remove : sql.remove_versioned, params,
                 what));
  if (changed > 0) return absl::OkStatus();
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, conn_.Query(sql.version_of, key, what));
  if (rows.empty()) return absl::NotFoundError(StrCat("store: ", what, ": not found"));
  int64_t actual = 0;
  GPUFLEET_RETURN_IF_ERROR(FromSql(rows.front().front(), "version", &actual));
  return absl::FailedPreconditionError(StrCat("store: ", what, ": version conflict: expected ",
                                              expected_version, ", actual ", actual));
}

absl::Status SqlTx::CheckNoInstances(const Where& where, std::string_view what) {
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<DesiredInstance> held, ListRows<DesiredInstance>(where));
  if (held.empty()) return absl::OkStatus();
  std::vector<std::string> vms;
  for (const DesiredInstance& d : held) {
    if (vms.size() == 3) {
      vms.push_back("...");
      break;
    }
    vms.push_back(QuoteForMessage(d.vm));
  }
  return absl::FailedPreconditionError(
      StrCat("store: ", what, ": ", held.size(), " desired vGPU instance(s) are placed on it (vm ",
             StrJoin(vms, ", "), "); unplace or evacuate them first"));
}

// ---- Inventory ----

absl::StatusOr<Host> SqlTx::GetHost(std::string_view name) { return GetRow<Host>(Key(name)); }
absl::StatusOr<std::vector<Host>> SqlTx::ListHosts() { return ListRows<Host>({}); }
absl::StatusOr<Gpu> SqlTx::GetGpu(std::string_view host, std::string_view id) {
  return GetRow<Gpu>(Key(host, id));
}
absl::StatusOr<std::vector<Gpu>> SqlTx::ListGpus(std::string_view host) {
  if (host.empty()) return ListRows<Gpu>({});
  return ListRows<Gpu>({{"host", std::string(host)}});
}
absl::StatusOr<ObservedInstance> SqlTx::GetObservedInstance(const Uuid& uuid) {
  return GetRow<ObservedInstance>({uuid.ToString()});
}
absl::StatusOr<std::vector<ObservedInstance>> SqlTx::ListObservedInstances(std::string_view host) {
  if (host.empty()) return ListRows<ObservedInstance>({});
  return ListRows<ObservedInstance>({{"host", std::string(host)}});
}

absl::StatusOr<std::vector<LeftoverInstance>> SqlTx::ListLeftoverInstances(
    std::string_view host, std::optional<Uuid> uuid) {
  Where where;
  if (!host.empty()) where.emplace_back("host", std::string(host));
  if (uuid) where.emplace_back("uuid", uuid->ToString());
  return ListRows<LeftoverInstance>(where);
}

absl::Status SqlTx::CreateHost(Host& row) { return CreateRow(row); }
absl::Status SqlTx::UpdateHost(Host& row) { return UpdateRow(row); }
absl::Status SqlTx::DeleteHost(std::string_view name, int64_t expected_version) {
  GPUFLEET_RETURN_IF_ERROR(CheckNoInstances({{"host", std::string(name)}},
                                            StrCat("delete host ", QuoteForMessage(name))));
  return DeleteRow<Host>(Key(name), expected_version);
}
absl::Status SqlTx::CreateGpu(Gpu& row) { return CreateRow(row); }
absl::Status SqlTx::UpdateGpu(Gpu& row) { return UpdateRow(row); }
absl::Status SqlTx::DeleteGpu(std::string_view host, std::string_view id,
                              int64_t expected_version) {
  GPUFLEET_RETURN_IF_ERROR(CheckNoInstances({{"host", std::string(host)}, {"gpu", std::string(id)}},
                                            StrCat("delete gpu ", DescribeKey(Key(host, id)))));
  return DeleteRow<Gpu>(Key(host, id), expected_version);
}
absl::Status SqlTx::CreateObservedInstance(ObservedInstance& row) { return CreateRow(row); }
absl::Status SqlTx::UpdateObservedInstance(ObservedInstance& row) { return UpdateRow(row); }
absl::Status SqlTx::DeleteObservedInstance(const Uuid& uuid, int64_t expected_version) {
  return DeleteRow<ObservedInstance>({uuid.ToString()}, expected_version);
}

absl::Status SqlTx::CreateLeftoverInstance(LeftoverInstance& row) { return CreateRow(row); }
absl::Status SqlTx::UpdateLeftoverInstance(LeftoverInstance& row) { return UpdateRow(row); }
absl::Status SqlTx::DeleteLeftoverInstance(std::string_view host, const Uuid& uuid,
                                           int64_t expected_version) {
  return DeleteRow<LeftoverInstance>(Key(host, uuid.ToString()), expected_version);
}

// ---- Desired state ----

absl::StatusOr<Vm> SqlTx::GetVm(std::string_view name) { return GetRow<Vm>(Key(name)); }
absl::StatusOr<std::vector<Vm>> SqlTx::ListVms() { return ListRows<Vm>({}); }
absl::StatusOr<DesiredInstance> SqlTx::GetDesiredInstance(const Uuid& uuid) {
  return GetRow<DesiredInstance>({uuid.ToString()});
}
absl::StatusOr<std::vector<DesiredInstance>> SqlTx::ListDesiredInstances(
    const InstanceFilter& filter) {
  if (!filter.gpu.empty() && filter.host.empty()) {
    return absl::InvalidArgumentError("store: list desired instances: a gpu filter needs a host");
  }
  Where where;
  if (!filter.host.empty()) where.emplace_back("host", filter.host);
  if (!filter.gpu.empty()) where.emplace_back("gpu", filter.gpu);
  if (!filter.vm.empty()) where.emplace_back("vm", filter.vm);
  if (!filter.migrate_from.empty()) where.emplace_back("migrate_from", filter.migrate_from);
  return ListRows<DesiredInstance>(where);
}
absl::Status SqlTx::CreateVm(Vm& row) { return CreateRow(row); }
absl::Status SqlTx::UpdateVm(Vm& row) { return UpdateRow(row); }
absl::Status SqlTx::DeleteVm(std::string_view name, int64_t expected_version) {
  return DeleteRow<Vm>(Key(name), expected_version);
}
absl::Status SqlTx::CreateDesiredInstance(DesiredInstance& row) { return CreateRow(row); }
absl::Status SqlTx::UpdateDesiredInstance(DesiredInstance& row) { return UpdateRow(row); }
absl::Status SqlTx::DeleteDesiredInstance(const Uuid& uuid, int64_t expected_version) {
  return DeleteRow<DesiredInstance>({uuid.ToString()}, expected_version);
}

// ---- Operations ----

absl::StatusOr<Operation> SqlTx::GetOperation(std::string_view id) {
  return GetRow<Operation>(Key(id));
}
absl::StatusOr<std::vector<Operation>> SqlTx::ListOperations(const OperationFilter& filter) {
  Where where;
  if (filter.state) where.emplace_back("state", ToSql(*filter.state));
  if (!filter.kind.empty()) where.emplace_back("kind", filter.kind);
  if (!filter.target.empty()) where.emplace_back("target", filter.target);
  return ListRows<Operation>(where);
}
absl::StatusOr<OperationStep> SqlTx::GetStep(std::string_view operation, int index) {
  return GetRow<OperationStep>({std::string(operation), int64_t{index}});
}
absl::StatusOr<std::vector<OperationStep>> SqlTx::ListSteps(std::string_view operation) {
  return ListRows<OperationStep>({{"operation", std::string(operation)}});
}
absl::Status SqlTx::CreateOperation(Operation& row) { return CreateRow(row); }
absl::Status SqlTx::UpdateOperation(Operation& row) { return UpdateRow(row); }
absl::Status SqlTx::DeleteOperation(std::string_view id, int64_t expected_version) {
  return DeleteRow<Operation>(Key(id), expected_version);
}
absl::Status SqlTx::CreateStep(OperationStep& row) {
  if (row.index < 0) {
    return absl::InvalidArgumentError(
        StrCat("store: operation step.step_index: ", row.index, " is negative"));
  }
  return CreateRow(row);
}
absl::Status SqlTx::UpdateStep(OperationStep& row) { return UpdateRow(row); }

// ---- Events ----

absl::Status SqlTx::TouchTime(std::string_view table, std::string_view column, std::string_view key,
                              std::string_view value, absl::Time at) {
  GPUFLEET_RETURN_IF_ERROR(CheckWritable("touch"));
  // One statement text per table, so the connection's statement cache keeps each prepared.
  const std::string sql = StrCat("UPDATE ", table, " SET ", column, " = ? WHERE ", key,
                                 " = ? AND (", column, " IS NULL OR ", column, " < ?)");
  const SqlValue when = ToSql(at);
  absl::StatusOr<int64_t> changed = conn_.Exec(sql, {when, std::string(value), when}, "touch");
  if (!changed.ok()) {
    return absl::Status(changed.status().code(), StrCat("store: set ", table, ".", column, ": ",
                                                        changed.status().message()));
  }
  return absl::OkStatus();
}

absl::Status SqlTx::TouchHostHeartbeat(std::string_view host, absl::Time at) {
  return TouchTime("hosts", "last_heartbeat", "name", host, at);
}
absl::Status SqlTx::TouchApiTokenUse(std::string_view sha256, absl::Time at) {
  return TouchTime("api_tokens", "last_used_at", "sha256", sha256, at);
}
absl::Status SqlTx::TouchAgentCredentialUse(std::string_view agent, absl::Time at) {
  return TouchTime("agent_credentials", "last_seen_at", "agent", agent, at);
}

absl::Status SqlTx::AppendEvent(Event& event) {
  std::string what = StrCat("append event ", QuoteForMessage(event.kind));
  GPUFLEET_RETURN_IF_ERROR(CheckWritable(what));
  if (event.kind.empty() || event.kind.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(
        StrCat("store: ", what, ": kind must be 1..", kMaxKeyBytes, " bytes"));
  }
  if (event.message.size() > kMaxTextBytes || event.data_json.size() > kMaxTextBytes) {
    return absl::InvalidArgumentError(
        StrCat("store: ", what, ": message or data longer than ", kMaxTextBytes, " bytes"));
  }
  // A counter row rather than MAX(seq)+1: under a multi-writer database its row lock orders the
  // appenders, so seq order is commit order and a reader's cursor never skips a late commit.
  GPUFLEET_RETURN_IF_ERROR(
      conn_.Exec("UPDATE sequences SET value = value + 1 WHERE name = 'events'", {}, what)
          .status());
  GPUFLEET_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      conn_.Query("SELECT value FROM sequences WHERE name = 'events'", {}, what));
  if (rows.empty()) return absl::DataLossError(StrCat("store: ", what, ": no events sequence"));
  int64_t seq = 0;
  GPUFLEET_RETURN_IF_ERROR(FromSql(rows.front().front(), "sequences.value", &seq));
  absl::Time now = clock_.Now();
  GPUFLEET_RETURN_IF_ERROR(
      conn_
          .Exec("INSERT INTO events (seq, time_us, kind, object, actor, message, data_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                {seq, ToSql(now), event.kind, event.object, event.actor, event.message,
                 event.data_json},
                what)
          .status());
  event.seq = seq;
  event.time = now;
  last_event_seq_ = seq;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Event>> SqlTx::ListEvents(const EventQuery& query) {
  if (query.limit < 1 || query.limit > kMaxEventLimit) {
    return absl::InvalidArgumentError(
        StrCat("store: list events: limit ", query.limit, " is outside 1..", kMaxEventLimit));
  }
  std::string sql =
      "SELECT seq, time_us, kind, object, actor, message, data_json FROM events WHERE seq > ?";
  std::vector<SqlValue> params = {query.after_seq};
  if (!query.kind.empty()) {
    sql += " AND kind = ?";
    params.push_back(query.kind);
  }
  if (!query.object.empty()) {
    sql += " AND object = ?";
    params.push_back(query.object);
  }
  sql += " ORDER BY seq LIMIT ?";
  params.push_back(int64_t{query.limit});
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, conn_.Query(sql, params, "list events"));
  std::vector<Event> out;
  out.reserve(rows.size());
  for (const SqlRow& row : rows) {
    Event e;
    Reader r(row, "events");
    r.Read("seq", e.seq);
    r.Read("time_us", e.time);
    r.Read("kind", e.kind);
    r.Read("object", e.object);
    r.Read("actor", e.actor);
    r.Read("message", e.message);
    r.Read("data_json", e.data_json);
    if (!r.status.ok()) return r.status;
    out.push_back(std::move(e));
  }
  return out;
}

// ---- Licensing ----

absl::StatusOr<LicensePool> SqlTx::GetLicensePool(std::string_view name) {
  return GetRow<LicensePool>(Key(name));
}
absl::StatusOr<std::vector<LicensePool>> SqlTx::ListLicensePools() {
  return ListRows<LicensePool>({});
}
absl::StatusOr<LicenseSeat> SqlTx::GetLicenseSeat(std::string_view pool, std::string_view vm) {
  return GetRow<LicenseSeat>(Key(pool, vm));
}
absl::StatusOr<std::vector<LicenseSeat>> SqlTx::ListLicenseSeats(std::string_view pool) {
  if (pool.empty()) return ListRows<LicenseSeat>({});
  return ListRows<LicenseSeat>({{"pool", std::string(pool)}});
}
absl::Status SqlTx::CreateLicensePool(LicensePool& row) {
  if (row.seats < 0) {
    return absl::InvalidArgumentError(
        StrCat("store: license pool.seats: ", row.seats, " is negative"));
  }
  return CreateRow(row);
}
absl::Status SqlTx::UpdateLicensePool(LicensePool& row) {
  if (row.seats < 0) {
    return absl::InvalidArgumentError(
        StrCat("store: license pool.seats: ", row.seats, " is negative"));
  }
  return UpdateRow(row);
}
absl::Status SqlTx::DeleteLicensePool(std::string_view name, int64_t expected_version) {
  std::string what = StrCat("delete license pool ", QuoteForMessage(name));
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<LicenseSeat> seats, ListLicenseSeats(name));
  if (!seats.empty()) {
    return absl::FailedPreconditionError(StrCat("store: ", what, ": ", seats.size(),
                                                " seat(s) are leased from it; release them first"));
  }
  return DeleteRow<LicensePool>(Key(name), expected_version);
}
absl::Status SqlTx::CreateLicenseSeat(LicenseSeat& row) { return CreateRow(row); }
absl::Status SqlTx::UpdateLicenseSeat(LicenseSeat& row) { return UpdateRow(row); }
absl::Status SqlTx::DeleteLicenseSeat(std::string_view pool, std::string_view vm,
                                      int64_t expected_version) {
  return DeleteRow<LicenseSeat>(Key(pool, vm), expected_version);
}

// ---- Authentication ----

absl::StatusOr<ApiToken> SqlTx::GetApiToken(std::string_view sha256) {
  return GetRow<ApiToken>(Key(sha256));
}
absl::StatusOr<std::vector<ApiToken>> SqlTx::ListApiTokens() { return ListRows<ApiToken>({}); }
absl::StatusOr<AgentCredential> SqlTx::GetAgentCredential(std::string_view agent) {
  return GetRow<AgentCredential>(Key(agent));
}
absl::StatusOr<std::vector<AgentCredential>> SqlTx::ListAgentCredentials() {
  return ListRows<AgentCredential>({});
}
absl::StatusOr<EnrolmentToken> SqlTx::GetEnrolmentToken(std::string_view sha256) {
  return GetRow<EnrolmentToken>(Key(sha256));
}
absl::StatusOr<std::vector<EnrolmentToken>> SqlTx::ListEnrolmentTokens() {
  return ListRows<EnrolmentToken>({});
}
absl::Status SqlTx::CreateApiToken(ApiToken& row) { return CreateRow(row); }
absl::Status SqlTx::UpdateApiToken(ApiToken& row) { return UpdateRow(row); }
absl::Status SqlTx::DeleteApiToken(std::string_view sha256, int64_t expected_version) {
  return DeleteRow<ApiToken>(Key(sha256), expected_version);
}
absl::Status SqlTx::CreateAgentCredential(AgentCredential& row) { return CreateRow(row); }
absl::Status SqlTx::UpdateAgentCredential(AgentCredential& row) { return UpdateRow(row); }
absl::Status SqlTx::DeleteAgentCredential(std::string_view agent, int64_t expected_version) {
  return DeleteRow<AgentCredential>(Key(agent), expected_version);
}
absl::Status SqlTx::CreateEnrolmentToken(EnrolmentToken& row) { return CreateRow(row); }
absl::Status SqlTx::UpdateEnrolmentToken(EnrolmentToken& row) { return UpdateRow(row); }
absl::Status SqlTx::DeleteEnrolmentToken(std::string_view sha256, int64_t expected_version) {
  return DeleteRow<EnrolmentToken>(Key(sha256), expected_version);
}

}  // namespace gpufleet::store::internal
