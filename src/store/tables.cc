#include "store/tables.h"

#include <limits>
#include <utility>

#include "common/json.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"

namespace gpufleet::store::internal {
namespace {

absl::Status Corrupt(std::string_view column, std::string_view why) {
  return absl::DataLossError(StrCat(column, ": ", why));
}

std::string DescribeValue(const SqlValue& v) {
  if (std::holds_alternative<std::monostate>(v)) return "NULL";
  if (const auto* i = std::get_if<int64_t>(&v)) return StrCat("integer ", *i);
  return StrCat("text ", QuoteForMessage(std::get<std::string>(v)));
}

absl::Status Text(const SqlValue& v, std::string_view column, std::string* out) {
  const auto* s = std::get_if<std::string>(&v);
  if (s == nullptr) return Corrupt(column, StrCat("expected text, found ", DescribeValue(v)));
  *out = *s;
  return absl::OkStatus();
}

absl::Status Integer(const SqlValue& v, std::string_view column, int64_t* out) {
  const auto* i = std::get_if<int64_t>(&v);
  if (i == nullptr) return Corrupt(column, StrCat("expected an integer, found ", DescribeValue(v)));
  *out = *i;
  return absl::OkStatus();
}

template <typename E>
absl::Status Enum(const SqlValue& v, std::string_view column,
                  absl::StatusOr<E> (*parse)(std::string_view), E* out) {
  std::string s;
  if (absl::Status st = Text(v, column, &s); !st.ok()) return st;
  absl::StatusOr<E> e = parse(s);
  if (!e.ok()) return Corrupt(column, ToStd(e.status().message()));
  *out = *e;
  return absl::OkStatus();
}

}  // namespace

SqlValue ToSql(const std::string& v) { return v; }
SqlValue ToSql(int v) { return int64_t{v}; }
SqlValue ToSql(int64_t v) { return v; }
SqlValue ToSql(bool v) { return int64_t{v ? 1 : 0}; }
SqlValue ToSql(absl::Time v) { return absl::ToUnixMicros(v); }
SqlValue ToSql(const std::optional<absl::Time>& v) {
  if (!v) return std::monostate{};
  return absl::ToUnixMicros(*v);
}
SqlValue ToSql(const Uuid& v) { return v.ToString(); }
SqlValue ToSql(HostState v) { return std::string(HostStateName(v)); }
SqlValue ToSql(OperationState v) { return std::string(OperationStateName(v)); }
SqlValue ToSql(StepState v) { return std::string(StepStateName(v)); }
SqlValue ToSql(Role v) { return std::string(RoleName(v)); }
SqlValue ToSql(const std::map<std::string, std::string>& v) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, value] : v) j[key] = value;
  // Replace invalid UTF-8 rather than throw: labels come from agents.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::Status FromSql(const SqlValue& v, std::string_view column, std::string* out) {
  return Text(v, column, out);
}

absl::Status FromSql(const SqlValue& v, std::string_view column, int* out) {
  int64_t i = 0;
  if (absl::Status st = Integer(v, column, &i); !st.ok()) return st;
  if (i < std::numeric_limits<int>::min() || i > std::numeric_limits<int>::max()) {
    return Corrupt(column, StrCat("integer ", i, " out of range"));
  }
  *out = static_cast<int>(i);
  return absl::OkStatus();
}

absl::Status FromSql(const SqlValue& v, std::string_view column, int64_t* out) {
  return Integer(v, column, out);
}

absl::Status FromSql(const SqlValue& v, std::string_view column, bool* out) {
  int64_t i = 0;
  if (absl::Status st = Integer(v, column, &i); !st.ok()) return st;
  if (i != 0 && i != 1) return Corrupt(column, StrCat("expected 0 or 1, found ", i));
  *out = i == 1;
  return absl::OkStatus();
}

absl::Status FromSql(const SqlValue& v, std::string_view column, absl::Time* out) {
  int64_t us = 0;
  if (absl::Status st = Integer(v, column, &us); !st.ok()) return st;
  *out = absl::FromUnixMicros(us);
  return absl::OkStatus();
}

absl::Status FromSql(const SqlValue& v, std::string_view column, std::optional<absl::Time>* out) {
  if (std::holds_alternative<std::monostate>(v)) {
    out->reset();
    return absl::OkStatus();
  }
  absl::Time t;
  if (absl::Status st = FromSql(v, column, &t); !st.ok()) return st;
  *out = t;
  return absl::OkStatus();
}

absl::Status FromSql(const SqlValue& v, std::string_view column, Uuid* out) {
  std::string s;
  if (absl::Status st = Text(v, column, &s); !st.ok()) return st;
  absl::StatusOr<Uuid> u = Uuid::Parse(s);
  if (!u.ok()) return Corrupt(column, ToStd(u.status().message()));
  *out = *u;
  return absl::OkStatus();
}

absl::Status FromSql(const SqlValue& v, std::string_view column, HostState* out) {
  return Enum(v, column, &ParseHostState, out);
}
absl::Status FromSql(const SqlValue& v, std::string_view column, OperationState* out) {
  return Enum(v, column, &ParseOperationState, out);
}
absl::Status FromSql(const SqlValue& v, std::string_view column, StepState* out) {
  return Enum(v, column, &ParseStepState, out);
}
absl::Status FromSql(const SqlValue& v, std::string_view column, Role* out) {
  return Enum(v, column, &ParseRole, out);
}

absl::Status FromSql(const SqlValue& v, std::string_view column,
                     std::map<std::string, std::string>* out) {
  std::string s;
  if (absl::Status st = Text(v, column, &s); !st.ok()) return st;
  absl::StatusOr<nlohmann::json> j = ParseJson(s, column);
  if (!j.ok()) return Corrupt(column, ToStd(j.status().message()));
  if (!j->is_object()) return Corrupt(column, "expected a JSON object");
  out->clear();
  for (const auto& [key, value] : j->items()) {
    if (!value.is_string()) return Corrupt(column, StrCat("label ", key, " is not a string"));
    (*out)[key] = value.get<std::string>();
  }
  return absl::OkStatus();
}

}  // namespace gpufleet::store::internal
