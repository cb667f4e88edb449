#include "cli/online_common.h"

#include "common/strings.h"

namespace gpufleet::cli {

std::string UrlEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

std::string StrOr(const nlohmann::json& j, std::string_view key, std::string_view absent) {
  if (!j.is_object()) return std::string(absent);
  auto it = j.find(key);
  if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return std::string(absent);
  }
  return it->get<std::string>();
}

absl::StatusOr<Client*> ClientOf(const Context& ctx) {
  if (ctx.client == nullptr) return absl::InternalError("online command without a client");
  return ctx.client;
}

}  // namespace gpufleet::cli
