#include "api/http_server.h"

#include <thread>
#include <vector>

#include "api/beast_adapter.h"
#include "api/dispatcher.h"
#include "api/session.h"
#include "common/strings.h"
#include "openssl/ssl.h"

namespace gpufleet::api {

using internal::ServerCore;
using internal::Session;
namespace beast = internal::beast;
namespace net = internal::net;
using internal::tcp;

class HttpServer::Impl {
 public:
  Impl(ServerOptions options, std::unique_ptr<MetricsRegistry> owned_metrics,
       MetricsRegistry* metrics)
      : options_(std::move(options)),
        owned_metrics_(std::move(owned_metrics)),
        metrics_(metrics),
        ssl_context_(net::ssl::context::tls_server),
        acceptor_(net::make_strand(ioc_)) {}

  ~Impl() { Stop(); }

  absl::Status Init(Router router, ServerDeps deps) {
    absl::StatusOr<std::unique_ptr<Dispatcher>> dispatcher =
        Dispatcher::Create(options_, std::move(router), std::move(deps), metrics_);
    if (!dispatcher.ok()) return dispatcher.status();
    dispatcher_ = *std::move(dispatcher);
    core_ = std::make_unique<ServerCore>(options_, dispatcher_.get());
    if (options_.tls.has_value()) {
      if (absl::Status s = LoadTls(*options_.tls); !s.ok()) return s;
    }
    return Listen();
  }

  void StartWorkers() {
    Accept();
    int n = options_.threads < 1 ? 1 : options_.threads;
    for (int i = 0; i < n; ++i) workers_.emplace_back([this] { Work(); });
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(stop_mu_);
      if (stopped_ || core_ == nullptr) return;
      stopped_ = true;
    }
    core_->stopping = true;
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    ForEachSession([](internal::SessionBase& s) { s.Shutdown(); });
    if (!WaitForSessions(options_.stop_timeout)) {
      ForEachSession([](internal::SessionBase& s) { s.ForceClose(); });
      if (!WaitForSessions(absl::Seconds(2))) ioc_.stop();
    }
    for (std::thread& t : workers_) {
      if (t.joinable()) t.join();
    }
    // Sessions still owned by handlers the stopped io_context never ran: end their streams, so
    // that producers stop posting, before the io_context and its handlers go away.
    ForEachSession([](internal::SessionBase& s) { s.Abandon(); });
  }

  std::uint16_t port() const { return port_; }
  const Router& router() const { return dispatcher_->router(); }
  MetricsRegistry& metrics() { return *metrics_; }

 private:
  absl::Status LoadTls(const TlsOptions& tls) {
    SSL_CTX_set_min_proto_version(ssl_context_.native_handle(), TLS1_2_VERSION);
    ssl_context_.set_options(net::ssl::context::default_workarounds |
                             net::ssl::context::no_compression | net::ssl::context::single_dh_use);
    beast::error_code ec;
    ssl_context_.use_certificate_chain_file(tls.cert_file, ec);
    if (ec) {
      return internal::ToStatus(ec,
                                StrCat("tls: certificate file ", QuoteForMessage(tls.cert_file)));
    }
    ssl_context_.use_private_key_file(tls.key_file, net::ssl::context::pem, ec);
    if (ec) return internal::ToStatus(ec, StrCat("tls: key file ", QuoteForMessage(tls.key_file)));
    if (SSL_CTX_check_private_key(ssl_context_.native_handle()) != 1) {
      return absl::InvalidArgumentError(StrCat("tls: key file ", QuoteForMessage(tls.key_file),
                                               " does not match the certificate"));
    }
    return absl::OkStatus();
  }

  absl::Status Listen() {
    absl::StatusOr<ListenAddress> address = ParseListenAddress(options_.listen);
    if (!address.ok()) return address.status();
    beast::error_code ec;
    net::ip::address ip = net::ip::make_address(address->host, ec);
    if (ec) return internal::ToStatus(ec, StrCat("listen ", options_.listen));
    tcp::endpoint endpoint(ip, address->port);
    std::string what = StrCat("listen on ", options_.listen);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return internal::ToStatus(ec, what);
    port_ = acceptor_.local_endpoint(ec).port();
    if (ec) return internal::ToStatus(ec, what);
    return absl::OkStatus();
  }

  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (core_->stopping) return;
      if (ec) {
        if (internal::ClassifyIo(ec) != internal::IoOutcome::kClosed) {
          dispatcher_->LogError(StrCat("accept: ", internal::Describe(ec)));
        }
      } else {
        OnAccept(std::move(s));
      }
      Accept();
    });
  }

  void OnAccept(tcp::socket socket) {
    if (core_->Count() >= options_.limits.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);
      return;
    }
    beast::error_code ec;
    tcp::endpoint peer = socket.remote_endpoint(ec);
    if (ec) return;
    std::string peer_address = peer.address().to_string();
    if (options_.tls.has_value()) {
      using Tls = beast::ssl_stream<beast::tcp_stream>;
      std::make_shared<Session<Tls>>(core_.get(), std::move(peer_address), peer.port(),
                                     std::move(socket), ssl_context_)
          ->Run();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(core_.get(), std::move(peer_address),
                                                   peer.port(), std::move(socket))
          ->Run();
    }
  }

  void Work() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        // Our handlers do not throw; this is a defect in a completion handler. Keep serving.
        dispatcher_->LogError(StrCat("worker: unexpected exception: ", e.what()));
      } catch (...) {
        dispatcher_->LogError("worker: unexpected exception");
      }
    }
  }

  template <typename F>
  void ForEachSession(F f) {
    std::vector<std::shared_ptr<internal::SessionBase>> live;
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      for (auto& [ptr, weak] : core_->sessions) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) f(*s);
  }

  bool WaitForSessions(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(core_->mu);
    return core_->all_closed.wait_for(lock, internal::ToChrono(timeout),
                                      [this] { return core_->sessions.empty(); });
  }

  const ServerOptions options_;
  std::unique_ptr<MetricsRegistry> owned_metrics_;
  MetricsRegistry* metrics_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<ServerCore> core_;
  net::ssl::context ssl_context_;
  std::uint16_t port_ = 0;
  std::mutex stop_mu_;
  bool stopped_ = false;
  // Destroyed first (members go in reverse order): the io_context's pending handlers own
  // sessions, which refer to core_, dispatcher_ and ssl_context_.
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> workers_;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(Options options, Router router,
                                                              ServerDeps deps) {
  if (absl::Status s = CheckListenPolicy(options, deps.authenticator != nullptr); !s.ok()) {
    return s;
  }
  if (options.threads < 1 || options.threads > 256) {
    return absl::InvalidArgumentError("server: threads must be from 1 to 256");
  }
  std::unique_ptr<MetricsRegistry> owned;
  MetricsRegistry* metrics = deps.metrics;
  if (metrics == nullptr) {
    owned = std::make_unique<MetricsRegistry>();
    metrics = owned.get();
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(owned), metrics);
  if (absl::Status s = impl->Init(std::move(router), std::move(deps)); !s.ok()) return s;
  impl->StartWorkers();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;
void HttpServer::Stop() { impl_->Stop(); }
std::uint16_t HttpServer::port() const { return impl_->port(); }
const Router& HttpServer::router() const { return impl_->router(); }
MetricsRegistry& HttpServer::metrics() { return impl_->metrics(); }

}  // namespace gpufleet::api
