#ifndef GPUFLEET_STORE_TABLES_H_
#define GPUFLEET_STORE_TABLES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/uuid.h"
#include "store/entities.h"
#include "store/sql.h"

// Internal to src/store: how each entity maps to its table. Table<T>::Fields lists the columns in
// one place, in schema order, and is walked by visitors that name, bind, read and validate them,
// so a row's SQL and its struct cannot drift apart field by field. Every mutable table ends with
// version, created_at, updated_at (handled by sql_tx.cc, not listed here).
namespace gpufleet::store::internal {

// Conversions between field types and SqlValue. Reads report a DataLoss error naming the column
// when the database holds something this build cannot have written.
SqlValue ToSql(const std::string& v);
SqlValue ToSql(int v);
SqlValue ToSql(int64_t v);
SqlValue ToSql(bool v);
SqlValue ToSql(absl::Time v);
SqlValue ToSql(const std::optional<absl::Time>& v);
SqlValue ToSql(const Uuid& v);
SqlValue ToSql(HostState v);
SqlValue ToSql(OperationState v);
SqlValue ToSql(StepState v);
SqlValue ToSql(Role v);
SqlValue ToSql(const std::map<std::string, std::string>& v);  // a JSON object

absl::Status FromSql(const SqlValue& v, std::string_view column, std::string* out);
absl::Status FromSql(const SqlValue& v, std::string_view column, int* out);
absl::Status FromSql(const SqlValue& v, std::string_view column, int64_t* out);
absl::Status FromSql(const SqlValue& v, std::string_view column, bool* out);
absl::Status FromSql(const SqlValue& v, std::string_view column, absl::Time* out);
absl::Status FromSql(const SqlValue& v, std::string_view column, std::optional<absl::Time>* out);
absl::Status FromSql(const SqlValue& v, std::string_view column, Uuid* out);
absl::Status FromSql(const SqlValue& v, std::string_view column, HostState* out);
absl::Status FromSql(const SqlValue& v, std::string_view column, OperationState* out);
absl::Status FromSql(const SqlValue& v, std::string_view column, StepState* out);
absl::Status FromSql(const SqlValue& v, std::string_view column, Role* out);
absl::Status FromSql(const SqlValue& v, std::string_view column,
                     std::map<std::string, std::string>* out);

// Field kinds a Fields() function uses:
//   Key(name, field)   part of the primary key
//   Col(name, field)   any other column
//   Hash(name, field)  a column (or key, with Key) that must hold a SHA-256 hex digest
template <typename T>
struct Table;

template <>
struct Table<Host> {
  static constexpr std::string_view kTable = "hosts";
  static constexpr std::string_view kNoun = "host";
  template <typename V>
  static void Fields(V& v, Host& r) {
    v.Key("name", r.name);
    v.Col("hypervisor", r.hypervisor);
    v.Col("state", r.state);
    v.Col("agent", r.agent);
    v.Col("manager_version", r.manager_version);
    v.Col("labels_json", r.labels);
    v.Col("last_heartbeat", r.last_heartbeat);
  }
};

template <>
struct Table<Gpu> {
  static constexpr std::string_view kTable = "gpus";
  static constexpr std::string_view kNoun = "gpu";
  template <typename V>
  static void Fields(V& v, Gpu& r) {
    v.Key("host", r.host);
    v.Key("id", r.id);
    v.Col("board", r.board);
    v.Col("mode", r.mode);
    v.Col("carved_type", r.carved_type);
    v.Col("ecc", r.ecc);
    v.Col("held", r.held);
  }
};

template <>
struct Table<ObservedInstance> {
  static constexpr std::string_view kTable = "observed_instances";
  static constexpr std::string_view kNoun = "observed instance";
  template <typename V>
  static void Fields(V& v, ObservedInstance& r) {
    v.Key("uuid", r.uuid);
    v.Col("host", r.host);
    v.Col("gpu", r.gpu);
    v.Col("vgpu_type", r.type);
    v.Col("vm", r.vm);
    v.Col("active", r.active);
    v.Col("observed_at", r.observed_at);
  }
};

template <>
struct Table<LeftoverInstance> {
  static constexpr std::string_view kTable = "leftover_instances";
  static constexpr std::string_view kNoun = "leftover instance";
  template <typename V>
  static void Fields(V& v, LeftoverInstance& r) {
    v.Key("host", r.host);
    v.Key("uuid", r.uuid);
    v.Col("vm", r.vm);
    v.Col("observed_at", r.observed_at);
  }
};

template <>
struct Table<Vm> {
  static constexpr std::string_view kTable = "vms";
  static constexpr std::string_view kNoun = "vm";
  template <typename V>
  static void Fields(V& v, Vm& r) {
    v.Key("name", r.name);
    v.Col("spec_json", r.spec_json);
    v.Col("phase", r.phase);
    v.Col("license", r.license);
  }
};

template <>
struct Table<DesiredInstance> {
  static constexpr std::string_view kTable = "desired_instances";
  static constexpr std::string_view kNoun = "desired instance";
  template <typename V>
  static void Fields(V& v, DesiredInstance& r) {
    v.Key("uuid", r.uuid);
    v.Col("vm", r.vm);
    v.Col("vgpu_index", r.index);
    v.Col("host", r.host);
    v.Col("gpu", r.gpu);
    v.Col("vgpu_type", r.type);
    v.Col("placement", r.placement);
    v.Col("migrate_from", r.migrate_from);
  }
};

template <>
struct Table<Operation> {
  static constexpr std::string_view kTable = "operations";
  static constexpr std::string_view kNoun = "operation";
  template <typename V>
  static void Fields(V& v, Operation& r) {
    v.Key("id", r.id);
    v.Col("kind", r.kind);
    v.Col("state", r.state);
    v.Col("target", r.target);
    v.Col("params_json", r.params_json);
    v.Col("error", r.error);
    v.Col("actor", r.actor);
    v.Col("cancel_requested", r.cancel_requested);
  }
};

template <>
struct Table<OperationStep> {
  static constexpr std::string_view kTable = "operation_steps";
  static constexpr std::string_view kNoun = "operation step";
  template <typename V>
  static void Fields(V& v, OperationStep& r) {
    v.Key("operation", r.operation);
    v.Key("step_index", r.index);
    v.Col("kind", r.kind);
    v.Col("state", r.state);
    v.Col("detail_json", r.detail_json);
  }
};

template <>
struct Table<LicensePool> {
  static constexpr std::string_view kTable = "license_pools";
  static constexpr std::string_view kNoun = "license pool";
  template <typename V>
  static void Fields(V& v, LicensePool& r) {
    v.Key("name", r.name);
    v.Col("edition", r.edition);
    v.Col("seats", r.seats);
  }
};

template <>
struct Table<LicenseSeat> {
  static constexpr std::string_view kTable = "license_seats";
  static constexpr std::string_view kNoun = "license seat";
  template <typename V>
  static void Fields(V& v, LicenseSeat& r) {
    v.Key("pool", r.pool);
    v.Key("vm", r.vm);
    v.Col("leased_at", r.leased_at);
    v.Col("expires_at", r.expires_at);
  }
};

template <>
struct Table<ApiToken> {
  static constexpr std::string_view kTable = "api_tokens";
  static constexpr std::string_view kNoun = "api token";
  template <typename V>
  static void Fields(V& v, ApiToken& r) {
    v.Key("sha256", r.sha256);
    v.Hash("sha256", r.sha256);
    v.Col("name", r.name);
    v.Col("role", r.role);
    v.Col("expires_at", r.expires_at);
    v.Col("last_used_at", r.last_used_at);
  }
};

template <>
struct Table<AgentCredential> {
  static constexpr std::string_view kTable = "agent_credentials";
  static constexpr std::string_view kNoun = "agent credential";
  template <typename V>
  static void Fields(V& v, AgentCredential& r) {
    v.Key("agent", r.agent);
    v.Col("secret_sha256", r.secret_sha256);
    v.Hash("secret_sha256", r.secret_sha256);
    v.Col("revoked", r.revoked);
    v.Col("last_seen_at", r.last_seen_at);
  }
};

template <>
struct Table<EnrolmentToken> {
  static constexpr std::string_view kTable = "enrolment_tokens";
  static constexpr std::string_view kNoun = "enrolment token";
  template <typename V>
  static void Fields(V& v, EnrolmentToken& r) {
    v.Key("sha256", r.sha256);
    v.Hash("sha256", r.sha256);
    v.Col("name", r.name);
    v.Col("expires_at", r.expires_at);
    v.Col("used_at", r.used_at);
    v.Col("used_by", r.used_by);
  }
};

}  // namespace gpufleet::store::internal

#endif  // GPUFLEET_STORE_TABLES_H_
