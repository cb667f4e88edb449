#ifndef GPUFLEET_API_SESSION_H_
#define GPUFLEET_API_SESSION_H_

// Internal to src/api: one HTTP/1.1 connection (plain or TLS) served with Boost.Beast. Included
// only by http_server.cc, so Beast stays out of every other translation unit.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>

#include "absl/time/time.h"
#include "api/beast_adapter.h"
#include "api/dispatcher.h"
#include "api/server_options.h"
#include "api/sse_channel.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "common/strings.h"

namespace gpufleet::api::internal {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

inline std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      absl::ToChronoNanoseconds(d));
}

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Each posts to the session's strand. Shutdown: finish what is in flight, then close.
  virtual void Shutdown() = 0;
  virtual void ForceClose() = 0;
  // After the workers have stopped: end an event stream without touching the I/O objects.
  virtual void Abandon() = 0;
};

// What sessions share with the server: options, the dispatcher and the set of live sessions
// (for Stop()). Outlives every session.
struct ServerCore {
  ServerCore(const ServerOptions& o, Dispatcher* d) : options(o), dispatcher(d) {}

  void Register(SessionBase* s, std::weak_ptr<SessionBase> w) {
    std::lock_guard<std::mutex> lock(mu);
    sessions.emplace(s, std::move(w));
  }
  void Unregister(SessionBase* s) {
    std::lock_guard<std::mutex> lock(mu);
    sessions.erase(s);
    if (sessions.empty()) all_closed.notify_all();
  }
  std::size_t Count() {
    std::lock_guard<std::mutex> lock(mu);
    return sessions.size();
  }

  const ServerOptions& options;
  Dispatcher* dispatcher;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable all_closed;
  std::map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
};

template <typename Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <typename... Args>
  Session(ServerCore* core, std::string peer_address, std::uint16_t peer_port, Args&&... args)
      : core_(core),
        limits_(core->options.limits),
        stream_(std::forward<Args>(args)...),
        keepalive_timer_(stream_.get_executor()),
        peer_address_(std::move(peer_address)),
        peer_port_(peer_port) {}

  ~Session() override {
    if (sse_) sse_->MarkEnded();
    core_->Unregister(this);
  }

  void Run() {
    core_->Register(this, this->weak_from_this());
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Begin(); });
  }

  void Shutdown() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->OnShutdown(); });
  }
  void ForceClose() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->CloseNow(); });
  }
  void Abandon() override {
    if (sse_) sse_->MarkEnded();
  }

 private:
  enum class State { kHandshake, kIdle, kReading, kHandling, kWriting, kStreaming, kClosing };

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void Begin() {
    if constexpr (kTls) {
      state_ = State::kHandshake;
      Lowest().expires_after(ToChrono(limits_.header_timeout));
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->CloseNow();
                                self->ReadRequest();
                              });
    } else {
      ReadRequest();
    }
  }

  void OnShutdown() {
    switch (state_) {
      case State::kHandshake:
      case State::kIdle:
        CloseNow();
        break;
      case State::kReading:
        // Not a request in flight until its first byte came.
        if (buffer_.size() == 0 && parser_.has_value() && !parser_->got_some()) CloseNow();
        break;
      case State::kStreaming:
        EndStream(/*graceful=*/true);
        break;
      default:
        break;  // reading, handling, writing: finishes, then sees `stopping`
    }
  }

  void ReadRequest() {
    if (core_->stopping) return GracefulClose();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser_->body_limit(static_cast<std::uint64_t>(limits_.max_body_bytes));
    if (!first_request_ && buffer_.size() == 0) {
      state_ = State::kIdle;
      Lowest().expires_after(ToChrono(limits_.idle_timeout));
      stream_.async_read_some(buffer_.prepare(4096), [self = this->shared_from_this()](
                                                         beast::error_code ec, std::size_t n) {
        if (ec) return self->CloseNow();
        self->buffer_.commit(n);
        self->ReadHeader();
      });
      return;
    }
    ReadHeader();
  }

  void ReadHeader() {
    state_ = State::kReading;
    Lowest().expires_after(ToChrono(limits_.header_timeout));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(beast::error_code ec) {
    if (ReadFailed(ec)) return;
    if (parser_->is_done()) return Handle();
    auto expect = parser_->get()[http::field::expect];
    if (EqualsIgnoreCase(std::string_view(expect.data(), expect.size()), "100-continue")) {
      // The client waits for this before sending the body (curl does for large bodies).
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      Lowest().expires_after(ToChrono(limits_.write_timeout));
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = this->shared_from_this()](beast::error_code e, std::size_t) {
                         if (e) return self->CloseNow();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    Lowest().expires_after(ToChrono(limits_.body_timeout));
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code e, std::size_t) {
                       if (!self->ReadFailed(e)) self->Handle();
                     });
  }

  // Answers or closes after a failed read; false when `ec` is success.
  bool ReadFailed(beast::error_code ec) {
    switch (ClassifyIo(ec)) {
      case IoOutcome::kOk:
        return false;
      case IoOutcome::kHeaderTooLarge:
        WriteTransportError(431, "HEADERS_TOO_LARGE",
                            StrCat("request header exceeds ", limits_.max_header_bytes, " bytes"));
        return true;
      case IoOutcome::kBodyTooLarge:
        WriteTransportError(413, "PAYLOAD_TOO_LARGE",
                            StrCat("request body exceeds ", limits_.max_body_bytes, " bytes"));
        return true;
      case IoOutcome::kMalformed:
        WriteTransportError(400, "BAD_REQUEST", "malformed HTTP request");
        return true;
      case IoOutcome::kTimeout:
      case IoOutcome::kClosed:
        CloseNow();
        return true;
      case IoOutcome::kOther:
        core_->dispatcher->LogError(
            StrCat("reading a request from ", peer_address_, ": ", Describe(ec)));
        CloseNow();
        return true;
    }
    return true;
  }

  void WriteTransportError(int status, std::string_view code, std::string_view message) {
    std::string method;
    std::string path;
    if (parser_.has_value() && parser_->got_some()) {
      const auto& msg = parser_->get();
      method = std::string(msg.method_string());
      std::string_view target(msg.target().data(), msg.target().size());
      path = std::string(target.substr(0, target.find('?')));
    }
    Response r =
        core_->dispatcher->TransportError(status, code, message, method, path, peer_address_);
    Write(std::move(r), /*keep_alive=*/false, 11);
  }

  void Handle() {
    state_ = State::kHandling;
    http::request<http::string_body> msg = parser_->release();
    parser_.reset();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& field : msg) {
      req.headers.Add(std::string(field.name_string()), std::string(field.value()));
    }
    req.body = std::move(msg.body());
    req.peer_address = peer_address_;
    req.peer_port = peer_port_;
    bool keep_alive = msg.keep_alive() && core_->options.keep_alive;
    Response response = core_->dispatcher->Handle(req);
    if (response.event_stream) return StartStream(std::move(response), msg.version());
    Write(std::move(response), keep_alive, msg.version(), msg.method() == http::verb::head);
  }

  template <typename Message>
  static void CopyHeaders(const Response& response, Message* out) {
    out->set(http::field::server, "gpufleet");
    for (const auto& [name, value] : response.headers.fields()) {
      if (EqualsIgnoreCase(name, "Connection") || EqualsIgnoreCase(name, "Content-Length") ||
          EqualsIgnoreCase(name, "Transfer-Encoding")) {
        continue;  // framing is the server's
      }
      out->insert(name, value);
    }
  }

  // `head_only`: the answer to HEAD, whose Content-Length is the body's that GET would send.
  void Write(Response response, bool keep_alive, unsigned version, bool head_only = false) {
    state_ = State::kWriting;
    keep_alive = keep_alive && !core_->stopping && !response.headers.Has("Connection");
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), version);
    CopyHeaders(response, res.get());
    res->body() = std::move(response.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    if (head_only) {
      const std::size_t length = res->body().size();
      res->body().clear();
      res->content_length(length);
    }
    Lowest().expires_after(ToChrono(limits_.write_timeout));
    http::async_write(
        stream_, *res,
        [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
          if (ec) return self->CloseNow();
          if (!keep_alive) return self->GracefulClose();
          self->first_request_ = false;
          self->ReadRequest();
        });
  }

  // Server-Sent Events: the header, then one chunk per batch of events, until the client goes,
  // the producer closes, the server stops or a write fails.
  void StartStream(Response response, unsigned version) {
    state_ = State::kStreaming;
    auto header = std::make_shared<http::response<http::empty_body>>(http::status::ok, version);
    CopyHeaders(response, header.get());
    header->set(http::field::content_type, "text/event-stream");
    header->set(http::field::cache_control, "no-cache");
    header->keep_alive(false);
    header->chunked(true);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*header);
    std::weak_ptr<Session> weak = this->shared_from_this();
    auto executor = stream_.get_executor();
    sse_ = std::make_shared<SseChannel>(core_->options.sse_max_queued_events, [weak, executor] {
      net::post(executor, [weak] {
        if (auto self = weak.lock()) self->Pump();
      });
    });
    Lowest().expires_after(ToChrono(limits_.write_timeout));
    http::async_write_header(
        stream_, *serializer,
        [self = this->shared_from_this(), header, serializer,
         opener = std::move(response.event_stream)](beast::error_code ec, std::size_t) {
          if (ec) return self->CloseNow();
          self->WatchForDisconnect();
          self->ArmKeepalive();
          try {
            opener(self->sse_);
          } catch (const std::exception& e) {
            self->core_->dispatcher->LogError(StrCat("event stream opener threw: ", e.what()));
            return self->EndStream(/*graceful=*/true);
          } catch (...) {
            self->core_->dispatcher->LogError("event stream opener threw");
            return self->EndStream(/*graceful=*/true);
          }
          self->Pump();
        });
  }

  // A client of an event stream sends nothing more: any completed read means it went away.
  void WatchForDisconnect() {
    Lowest().expires_never();
    watching_ = true;
    stream_.async_read_some(buffer_.prepare(1024),
                            [self = this->shared_from_this()](beast::error_code, std::size_t) {
                              self->watching_ = false;
                              if (self->closing_started_) return self->CloseNow();
                              self->EndStream(/*graceful=*/false);
                            });
  }

  void ArmKeepalive() {
    keepalive_timer_.expires_after(ToChrono(core_->options.sse_keepalive_interval));
    keepalive_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->state_ != State::kStreaming) return;
      self->pending_ += ": keep-alive\n\n";
      self->Pump();
      self->ArmKeepalive();
    });
  }

  void Pump() {
    if (state_ != State::kStreaming || writing_) return;
    bool close_requested = false;
    bool overflowed = false;
    pending_ += sse_->Take(&close_requested, &overflowed);
    if (overflowed) {
      core_->dispatcher->LogError(
          StrCat("event stream to ", peer_address_, " fell too far behind; disconnected"));
      return EndStream(/*graceful=*/false);
    }
    if (pending_.empty()) {
      if (close_requested || ending_) FinishStream();
      return;
    }
    writing_ = true;
    current_.swap(pending_);
    pending_.clear();
    Lowest().expires_after(ToChrono(limits_.write_timeout));
    net::async_write(stream_, http::make_chunk(net::buffer(current_)),
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->writing_ = false;
                       if (ec) return self->EndStream(/*graceful=*/false);
                       self->Pump();
                     });
  }

  // Ends an event stream: gracefully (flush, last chunk, close) or at once.
  void EndStream(bool graceful) {
    if (state_ != State::kStreaming) return;
    if (sse_) sse_->MarkEnded();
    if (!graceful) return CloseNow();
    ending_ = true;
    Pump();
  }

  void FinishStream() {
    if (sse_) sse_->MarkEnded();
    state_ = State::kClosing;
    keepalive_timer_.cancel();
    Lowest().expires_after(ToChrono(limits_.write_timeout));
    net::async_write(stream_, http::make_chunk_last(),
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->CloseNow();
                       self->GracefulClose();
                     });
  }

  // Sends our close (TLS close_notify or a TCP FIN), then reads and discards what the client
  // still sends for a short while, so that an unread request body does not turn our close into
  // a reset that destroys the response before the client reads it.
  void GracefulClose() {
    if (closing_started_) return;
    closing_started_ = true;
    state_ = State::kClosing;
    keepalive_timer_.cancel();
    if (watching_) {
      // An event stream's disconnect watch is still reading, and a stream may have only one
      // read in flight: send our close and let that read see the client's, within a deadline.
      if constexpr (!kTls) {
        beast::error_code ignored;
        Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      } else {
        return CloseNow();
      }
      // A stream client sends nothing, so there is nothing unread to turn the close into a
      // reset: a stopping server need not wait for it.
      if (core_->stopping) return CloseNow();
      keepalive_timer_.expires_after(std::chrono::seconds(2));
      keepalive_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
        if (!ec) self->CloseNow();
      });
      return;
    }
    Lowest().expires_after(std::chrono::seconds(2));
    if constexpr (kTls) {
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->CloseNow(); });
    } else {
      beast::error_code ec;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      if (ec) return CloseNow();
      Drain();
    }
  }

  void Drain() {
    stream_.async_read_some(net::buffer(drain_buffer_),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxDrainBytes) return self->CloseNow();
                              self->Drain();
                            });
  }

  void CloseNow() {
    state_ = State::kClosing;
    if (sse_) sse_->MarkEnded();
    keepalive_timer_.cancel();
    Lowest().close();
  }

  static constexpr std::size_t kMaxDrainBytes = std::size_t{8} << 20;

  ServerCore* core_;
  const ServerLimits& limits_;
  Stream stream_;
  net::steady_timer keepalive_timer_;
  std::string peer_address_;
  std::uint16_t peer_port_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  State state_ = State::kReading;
  bool first_request_ = true;
  bool closing_started_ = false;
  std::shared_ptr<SseChannel> sse_;
  bool writing_ = false;
  bool ending_ = false;
  bool watching_ = false;  // the disconnect watch of an event stream is reading
  std::string pending_;
  std::string current_;
  char drain_buffer_[4096];
  std::size_t drained_ = 0;
};

}  // namespace gpufleet::api::internal

#endif  // GPUFLEET_API_SESSION_H_
