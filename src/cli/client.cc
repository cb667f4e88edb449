// The one adapter between cpp-httplib (transport errors, HTTP answers) and absl::Status for the
// CLI. The token only ever goes into the Authorization header.

#include "cli/client.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/status_field.h"
#include "common/strings.h"
#include "httplib.h"

namespace gpufleet::cli {
namespace {

constexpr std::size_t kMaxQuotedBody = 200;

std::chrono::microseconds Micros(absl::Duration d) {
  return std::chrono::microseconds(absl::ToInt64Microseconds(d));
}

absl::Status BadServer(std::string_view server, std::string_view why) {
  return absl::InvalidArgumentError(
      StrCat("server URL ", QuoteForMessage(server), ": ", why,
             " (expected http://HOST:PORT or https://HOST:PORT, e.g. http://127.0.0.1:8470)"));
}

absl::Status CheckServerUrl(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return BadServer(url, "no http:// or https:// scheme");
  }
  if (rest.find('@') != std::string_view::npos) {
    return BadServer(url, "credentials do not belong in the URL; use --token or token_file");
  }
  if (rest.find('/') != std::string_view::npos) {
    return BadServer(url, "a path is not allowed; the API is always under /api/v1");
  }
  if (rest.empty() || rest.front() == ':') return BadServer(url, "no host");
  for (char c : rest) {
    if (c <= ' ' || c == 0x7f) return BadServer(url, "spaces or control characters");
  }
  if (std::size_t colon = rest.rfind(':');
      colon != std::string_view::npos && rest.find(']') == std::string_view::npos) {
    std::optional<int> port = ParseNonNegativeInt(rest.substr(colon + 1));
    if (!port || *port < 1 || *port > 65535) return BadServer(url, "the port is not 1..65535");
  }
  return absl::OkStatus();
}

std::string ServerCode(const nlohmann::json& body) {
  if (body.is_object() && body.contains("code") && body["code"].is_string()) {
    return body["code"].get<std::string>();
  }
  return "";
}

std::string TransportMessage(httplib::Error error, std::string_view server, std::string_view ca) {
  switch (error) {
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
    case httplib::Error::BindIPAddress:
      return StrCat(
          "cannot connect to the controller at ", server,
          error == httplib::Error::ConnectionTimeout ? " (timed out)" : " (connection refused)",
          ". Is gpufleetd running at ", server,
          "? Start it with 'gpufleetd controller', or point --server or "
          "$GPUFLEET_SERVER at the right address.");
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLServerVerification:
      return StrCat("TLS with ", server, " failed: the server's certificate was not accepted",
                    ca.empty() ? " by the system's CAs; give the CA that signed it with --ca-file "
                                 "or ca_file in the config file"
                               : StrCat(" by the CA in ", ca),
                    ".");
    case httplib::Error::SSLLoadingCerts:
      return StrCat("TLS with ", server, ": the CA certificates could not be loaded.");
    case httplib::Error::Read:
    case httplib::Error::Write:
      return StrCat("the connection to the controller at ", server,
                    " broke before an answer came; retry, and check gpufleetd's log if it "
                    "persists.");
    default:
      return StrCat("no answer from the controller at ", server, " (", httplib::to_string(error),
                    ").");
  }
}

}  // namespace

absl::Status StatusFromHttp(int http_status, std::string_view body, const ApiCall& call,
                            std::string_view server) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string message;
  std::optional<std::string> field;
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    message = j["message"].get<std::string>();
    if (j.contains("field") && j["field"].is_string()) field = j["field"].get<std::string>();
  } else {
    message = body.empty()
                  ? StrCat("HTTP ", http_status)
                  : StrCat("HTTP ", http_status, ": ", QuoteForMessage(body, kMaxQuotedBody));
  }
  absl::Status s;
  switch (http_status) {
    case 400:
    case 413:
    case 431:
      s = absl::InvalidArgumentError(
          StrCat(call.what, ": the controller refused the request: ", message));
      break;
    case 401:
      s = absl::UnauthenticatedError(StrCat(
          "the controller at ", server, " did not accept the token (", message,
          "). Check --token, $GPUFLEET_TOKEN, or token/token_file in the config file; an admin "
          "can create a new one with 'gpufleet tokens create NAME --role viewer'."));
      break;
    case 403:
      s = absl::PermissionDeniedError(
          StrCat(call.what, " is not allowed with this token: ", message,
                 ". Ask an admin for a token with role ", call.needs_role,
                 " ('gpufleet tokens create NAME --role ", call.needs_role, "')."));
      break;
    case 404:
      s = absl::NotFoundError(StrCat(call.what, ": ", message));
      break;
    case 409:
      s = ServerCode(j) == "ALREADY_EXISTS"
              ? absl::AlreadyExistsError(StrCat(call.what, " refused by the controller: ", message))
              : absl::FailedPreconditionError(
                    StrCat(call.what, " refused by the controller: ", message));
      break;
    case 412:
      s = absl::AbortedError(StrCat(call.what, " refused: the object changed since it was read (",
                                    message, "). Read it again and retry."));
      break;
    case 429:
      s = absl::ResourceExhaustedError(
          StrCat(call.what, ": the controller asks to slow down (", message, "); retry later."));
      break;
    case 503:
      s = absl::UnavailableError(StrCat("the controller at ", server, " is not ready (", message,
                                        "); retry in a moment."));
      break;
    default:
      s = absl::InternalError(StrCat(call.what, ": the controller at ", server, " answered HTTP ",
                                     http_status, ": ", message));
  }
  return field.has_value() ? WithField(s, *field) : s;
}

int OnlineExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 0;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 1;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return 2;
    default:
      return 3;
  }
}

void SseParser::Feed(std::string_view chunk) {
  for (char c : chunk) {
    // "\r\n", "\r" and "\n" each end a line.
    if (c == '\n' && last_was_cr_) {
      last_was_cr_ = false;
      continue;
    }
    last_was_cr_ = c == '\r';
    if (c == '\n' || c == '\r') {
      Line(buffer_);
      buffer_.clear();
    } else {
      buffer_.push_back(c);
    }
  }
}

void SseParser::Line(std::string_view line) {
  if (line.empty()) {
    if (has_data_) on_event_(pending_);
    pending_ = Event{};
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // a comment: the server's keep-alive
  std::size_t colon = line.find(':');
  std::string_view name = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
  if (value.starts_with(' ')) value.remove_prefix(1);
  if (name == "id") {
    pending_.id = std::string(value);
  } else if (name == "event") {
    pending_.event = std::string(value);
  } else if (name == "data") {
    if (has_data_) pending_.data += '\n';
    pending_.data += value;
    has_data_ = true;
  }
}

Client::Client(ClientOptions options) : options_(std::move(options)) {}

Client::~Client() = default;

absl::StatusOr<std::unique_ptr<Client>> Client::Create(const ClientOptions& options) {
  ClientOptions o = options;
  while (o.server.ends_with('/')) o.server.pop_back();
  if (absl::Status s = CheckServerUrl(o.server); !s.ok()) return s;
  std::unique_ptr<Client> client(new Client(std::move(o)));
  if (absl::Status s = client->Connect(); !s.ok()) return s;
  return client;
}

absl::Status Client::Connect() {
  const bool https = options_.server.starts_with("https://");
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
  if (https) {
    return absl::InvalidArgumentError(
        StrCat("server ", options_.server,
               ": this gpufleet was built without TLS support (cpp-httplib without OpenSSL)"));
  }
#endif
  http_ = std::make_unique<httplib::Client>(options_.server);
  http_->set_connection_timeout(Micros(options_.connect_timeout));
  http_->set_read_timeout(Micros(options_.read_timeout));
  http_->set_write_timeout(Micros(options_.read_timeout));
  http_->set_keep_alive(true);
  http_->set_tcp_nodelay(true);  // no ~40 ms Nagle/delayed-ACK stall between headers and body
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  if (https) {
    http_->enable_server_certificate_verification(true);
    if (options_.ca_pem.has_value()) {
      // Parsed from memory so that the file is read like every other input, through the CLI's
      // FileSystem, and a bad file is named before any connection is made.
      BIO* bio =
          BIO_new_mem_buf(options_.ca_pem->data(), static_cast<int>(options_.ca_pem->size()));
      STACK_OF(X509_INFO)* infos =
          bio ? PEM_X509_INFO_read_bio(bio, nullptr, nullptr, nullptr) : nullptr;
      X509_STORE* store = X509_STORE_new();
      int added = 0;
      for (int i = 0; infos != nullptr && i < sk_X509_INFO_num(infos); ++i) {
        X509_INFO* info = sk_X509_INFO_value(infos, i);
        if (info->x509 != nullptr && X509_STORE_add_cert(store, info->x509) == 1) ++added;
      }
      if (infos != nullptr) sk_X509_INFO_pop_free(infos, X509_INFO_free);
      if (bio != nullptr) BIO_free(bio);
      if (added == 0) {
        X509_STORE_free(store);
        return absl::InvalidArgumentError(
            StrCat("ca_file ", QuoteForMessage(options_.ca_file),
                   ": no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)"));
      }
      http_->set_ca_cert_store(store);  // the SSL context owns it from here
    }
  }
#endif
  return absl::OkStatus();
}

absl::StatusOr<ApiReply> Client::Do(const ApiCall& call) {
  httplib::Headers headers = {{"Authorization", StrCat("Bearer ", options_.token)},
                              {"Accept", "application/json"}};
  for (const auto& [k, v] : call.headers) headers.emplace(k, v);
  const std::string body =
      call.body.has_value()
          ? call.body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
          : std::string();
  if (call.method != "GET" && call.method != "POST" && call.method != "PUT" &&
      call.method != "DELETE") {
    return absl::InternalError(StrCat("unsupported HTTP method ", call.method));
  }
  httplib::Result r =
      call.method == "GET"    ? http_->Get(call.path, headers)
      : call.method == "POST" ? http_->Post(call.path, headers, body, "application/json")
      : call.method == "PUT"  ? http_->Put(call.path, headers, body, "application/json")
                              : http_->Delete(call.path, headers);
  if (!r) {
    return absl::UnavailableError(TransportMessage(r.error(), options_.server, options_.ca_file));
  }
  if (r->status < 200 || r->status > 299) {
    return StatusFromHttp(r->status, r->body, call, options_.server);
  }
  ApiReply reply;
  reply.status = r->status;
  reply.etag = r->get_header_value("ETag");
  if (!r->body.empty()) {
    reply.body = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    if (reply.body.is_discarded()) {
      return absl::InternalError(StrCat(call.what, ": the controller at ", options_.server,
                                        " answered with something that is not JSON"));
    }
  }
  return reply;
}

absl::Status Client::Stream(const ApiCall& call, const std::string& last_event_id,
                            const std::function<void(std::string_view)>& on_data,
                            const std::atomic<bool>* interrupted) {
  httplib::Headers headers = {{"Authorization", StrCat("Bearer ", options_.token)},
                              {"Accept", "text/event-stream"}};
  if (!last_event_id.empty()) headers.emplace("Last-Event-ID", last_event_id);
  // A stream is idle for as long as nothing happens: keep-alive comments come every few seconds,
  // so the read timeout only has to catch a dead peer.
  http_->set_read_timeout(std::chrono::seconds(120));
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool stopped = false;
  // Ctrl-C must end a stream that waits in recv(): a watcher shuts the socket down.
  std::thread watcher([&] {
    std::unique_lock<std::mutex> lock(mu);
    while (!done) {
      if (interrupted != nullptr && interrupted->load()) {
        stopped = true;
        http_->stop();
        return;
      }
      cv.wait_for(lock, std::chrono::milliseconds(50));
    }
  });
  int status = 0;
  std::string error_body;
  httplib::Result r = http_->Get(
      call.path, headers,
      [&](const httplib::Response& response) {
        status = response.status;
        return true;
      },
      [&](const char* data, std::size_t n) {
        if (status != 200) {
          if (error_body.size() < 65536) error_body.append(data, n);
          return true;
        }
        on_data(std::string_view(data, n));
        return !(interrupted != nullptr && interrupted->load());
      });
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_all();
  watcher.join();
  http_->set_read_timeout(Micros(options_.read_timeout));
  if (stopped || (interrupted != nullptr && interrupted->load())) {
    return absl::CancelledError("interrupted");
  }
  if (status != 0 && status != 200) {
    return StatusFromHttp(status, error_body, call, options_.server);
  }
  if (!r) {
    return absl::UnavailableError(TransportMessage(r.error(), options_.server, options_.ca_file));
  }
  return absl::OkStatus();
}

}  // namespace gpufleet::cli
