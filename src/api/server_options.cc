#include "api/server_options.h"

#include <arpa/inet.h>

#include "common/status_field.h"
#include "common/strings.h"

namespace gpufleet::api {
namespace {

absl::Status ListenError(std::string_view listen, std::string_view why) {
  return WithField(
      absl::InvalidArgumentError(StrCat("listen: ", QuoteForMessage(listen), " ", why,
                                        "; expected host:port like 127.0.0.1:8470 or [::1]:8470")),
      "listen");
}

}  // namespace

absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view listen) {
  std::size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) return ListenError(listen, "has no port");
  std::string_view host = listen.substr(0, colon);
  std::string_view port_text = listen.substr(colon + 1);
  std::optional<int> port = ParseNonNegativeInt(port_text);
  if (!port.has_value() || *port > 65535) return ListenError(listen, "has a bad port");
  ListenAddress out;
  out.port = static_cast<std::uint16_t>(*port);
  if (host == "localhost") {
    out.host = "127.0.0.1";
    out.is_loopback = true;
    return out;
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    std::string v6(host.substr(1, host.size() - 2));
    in6_addr addr{};
    if (inet_pton(AF_INET6, v6.c_str(), &addr) != 1) {
      return ListenError(listen, "has a bad IPv6 address");
    }
    out.host = v6;
    out.is_loopback = IN6_IS_ADDR_LOOPBACK(&addr);
    return out;
  }
  std::string v4(host);
  in_addr addr{};
  if (inet_pton(AF_INET, v4.c_str(), &addr) != 1) {
    return ListenError(listen, "is not an IPv4 address, [IPv6] address or localhost");
  }
  out.host = v4;
  out.is_loopback = v4.starts_with("127.");
  return out;
}

absl::Status CheckListenPolicy(const ServerOptions& options, bool auth_configured) {
  absl::StatusOr<ListenAddress> address = ParseListenAddress(options.listen);
  if (!address.ok()) return address.status();
  if (options.tls.has_value() &&
      (options.tls->cert_file.empty() || options.tls->key_file.empty())) {
    return WithField(absl::InvalidArgumentError(
                         "tls: both a certificate file and a private key file are required"),
                     "tls");
  }
  if (address->is_loopback) return absl::OkStatus();
  bool tls = options.tls.has_value();
  if (tls && auth_configured) return absl::OkStatus();
  std::string missing = !tls && !auth_configured ? "TLS (a certificate and key file) and "
                                                   "authentication (API tokens)"
                        : !tls                   ? "TLS (a certificate and key file)"
                                                 : "authentication (API tokens)";
  return WithField(
      absl::FailedPreconditionError(
          StrCat("listen: ", options.listen, " is reachable from other machines, which needs ",
                 missing, " to be configured; configure them, or listen on 127.0.0.1")),
      "listen");
}

}  // namespace gpufleet::api
