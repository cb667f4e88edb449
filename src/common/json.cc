#include "common/json.h"

#include <limits>

#include "common/status_field.h"
#include "common/strings.h"

namespace gpufleet {

absl::StatusOr<nlohmann::json> ParseJson(std::string_view text, std::string_view what) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() carries "[json.exception.parse_error.101] parse error at line 3, column 5: ...".
    std::string msg = e.what();
    if (std::size_t p = msg.find("] "); p != std::string::npos) msg = msg.substr(p + 2);
    return absl::InvalidArgumentError(StrCat(what, ": invalid JSON: ", msg));
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(StrCat(what, ": invalid JSON: ", e.what()));
  }
}

std::string DescribeJson(const nlohmann::json& value) {
  std::string dumped = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (dumped.size() > 60) dumped = dumped.substr(0, 57) + "...";
  return StrCat(value.type_name(), " ", dumped);
}

JsonReader::JsonReader(const nlohmann::json& object, std::string path)
    : object_(object), path_(std::move(path)) {
  if (!object_.is_object()) {
    const std::string where = path_.empty() ? "body" : path_;
    error_ = WithField(
        absl::InvalidArgumentError(StrCat(path_.empty() ? "document" : path_,
                                          ": expected an object, got ", DescribeJson(object_))),
        where);
  }
}

std::string JsonReader::PathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : StrCat(path_, ".", key);
}

void JsonReader::Fail(std::string_view key, std::string_view why) {
  if (error_.ok()) {
    error_ = WithField(absl::InvalidArgumentError(StrCat(PathOf(key), ": ", why)), PathOf(key));
  }
}

void JsonReader::Ignore(std::string_view key) { read_.emplace(key); }

const nlohmann::json* JsonReader::Get(std::string_view key, bool required) {
  read_.emplace(key);
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) {
    if (required) Fail(key, "required field is missing");
    return nullptr;
  }
  return &*it;
}

bool JsonReader::IsMissing(std::string_view key) const {
  if (!object_.is_object()) return false;
  auto it = object_.find(key);
  return it == object_.end() || it->is_null();
}

std::string JsonReader::String(std::string_view key) {
  std::optional<std::string> v = OptString(key);
  if (!v && IsMissing(key)) Fail(key, "required field is missing");
  return v.value_or(std::string());
}

std::optional<std::string> JsonReader::OptString(std::string_view key) {
  const nlohmann::json* v = Get(key, false);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    Fail(key, StrCat("expected a string, got ", DescribeJson(*v)));
    return std::nullopt;
  }
  return v->get<std::string>();
}

int JsonReader::Int(std::string_view key, int min, int max) {
  std::optional<int> v = OptInt(key, min, max);
  if (!v && IsMissing(key)) Fail(key, "required field is missing");
  return v.value_or(min);
}

std::optional<int> JsonReader::OptInt(std::string_view key, int min, int max) {
  const nlohmann::json* v = Get(key, false);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number_integer()) {
    Fail(key, StrCat("expected an integer, got ", DescribeJson(*v)));
    return std::nullopt;
  }
  auto n = v->get<long long>();
  if (n < min || n > max) {
    Fail(key, StrCat("expected an integer in ", min, "..", max, ", got ", n));
    return std::nullopt;
  }
  return static_cast<int>(n);
}

bool JsonReader::Bool(std::string_view key) {
  std::optional<bool> v = OptBool(key);
  if (!v && IsMissing(key)) Fail(key, "required field is missing");
  return v.value_or(false);
}

std::optional<bool> JsonReader::OptBool(std::string_view key) {
  const nlohmann::json* v = Get(key, false);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) {
    Fail(key, StrCat("expected true or false, got ", DescribeJson(*v)));
    return std::nullopt;
  }
  return v->get<bool>();
}

std::vector<std::string> JsonReader::StringList(std::string_view key) {
  std::vector<std::string> out;
  const nlohmann::json* v = Get(key, false);
  if (v == nullptr) return out;
  if (!v->is_array()) {
    Fail(key, StrCat("expected a list of strings, got ", DescribeJson(*v)));
    return out;
  }
  for (std::size_t i = 0; i < v->size(); ++i) {
    const nlohmann::json& e = (*v)[i];
    if (!e.is_string()) {
      Fail(StrCat(key, "[", i, "]"), StrCat("expected a string, got ", DescribeJson(e)));
      return {};
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

const nlohmann::json* JsonReader::Array(std::string_view key, bool required) {
  const nlohmann::json* v = Get(key, required);
  if (v != nullptr && !v->is_array()) {
    Fail(key, StrCat("expected a list, got ", DescribeJson(*v)));
    return nullptr;
  }
  return v;
}

const nlohmann::json* JsonReader::Object(std::string_view key, bool required) {
  const nlohmann::json* v = Get(key, required);
  if (v != nullptr && !v->is_object()) {
    Fail(key, StrCat("expected an object, got ", DescribeJson(*v)));
    return nullptr;
  }
  return v;
}

absl::Status JsonReader::Finish() {
  if (!error_.ok()) return error_;
  if (!object_.is_object()) return error_;
  for (const auto& [key, value] : object_.items()) {
    if (!read_.contains(key)) {
      std::vector<std::string> known(read_.begin(), read_.end());
      return WithField(
          absl::InvalidArgumentError(StrCat(
              PathOf(key), ": unknown field (known fields here: ", StrJoin(known, ", "), ")")),
          PathOf(key));
    }
  }
  return absl::OkStatus();
}

}  // namespace gpufleet
