#include "bench/ingest_load.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <string_view>

#include "common/strings.h"

namespace gpufleet::bench {
namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;
constexpr std::int64_t kNsPerSecond = 1'000'000'000;
// How long the generator waits for the last answers once it has stopped sending.
constexpr std::int64_t kDrainNs = 10 * kNsPerSecond;

std::int64_t ReadClock(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * kNsPerSecond + ts.tv_nsec;
}
std::int64_t NowNs() { return ReadClock(CLOCK_MONOTONIC); }

std::string Errno(std::string_view what) { return StrCat(what, ": ", std::strerror(errno)); }

struct Conn {
  int fd = -1;
  bool busy = false;
  bool counted = false;
  bool want_out = false;
  std::int64_t due = 0;  // open loop: when the request was due; closed loop: when it was sent
  const std::string* request = nullptr;
  std::size_t sent = 0;
  std::string in;
};

// The length of the complete response at the front of `in` (0: not complete yet), with its
// status; -1 when it is not a response this generator understands.
long ParseResponse(std::string_view in, int& status) {
  const std::size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) return in.size() > 65536 ? -1 : 0;
  const std::string_view head = in.substr(0, end);
  if (!head.starts_with("HTTP/1.1 ") || head.size() < 12) return -1;
  std::optional<int> code = ParseNonNegativeInt(head.substr(9, 3));
  if (!code) return -1;
  status = *code;
  std::optional<int> length;
  for (std::string_view line : StrSplit(head, '\n')) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (EqualsIgnoreCase(StripAsciiWhitespace(line.substr(0, colon)), "content-length")) {
      length = ParseNonNegativeInt(StripAsciiWhitespace(line.substr(colon + 1)));
    }
  }
  if (!length) return -1;
  const std::size_t total = end + 4 + static_cast<std::size_t>(*length);
  return in.size() < total ? 0 : static_cast<long>(total);
}

double Percentile(const std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  std::size_t i = static_cast<std::size_t>(q * static_cast<double>(sorted.size()));
  return static_cast<double>(sorted[std::min(i, sorted.size() - 1)]) / kNsPerMs;
}

class Generator {
 public:
  explicit Generator(const LoadOptions& o)
      : o_(o), conns_(static_cast<std::size_t>(o.connections)) {}
  ~Generator() {
    for (Conn& c : conns_) {
      if (c.fd >= 0) ::close(c.fd);
    }
    if (ep_ >= 0) ::close(ep_);
  }

  absl::StatusOr<LoadResult> Run() {
    if (o_.requests.empty() || o_.connections < 1 || o_.seconds <= 0 || o_.rate < 0) {
      return absl::InvalidArgumentError("load: no requests, connections or seconds");
    }
    if (absl::Status s = Open(); !s.ok()) return s;
    const bool open_loop = o_.rate > 0;
    const std::int64_t start = NowNs();
    count_from_ = start + static_cast<std::int64_t>(o_.warmup_seconds * kNsPerSecond);
    end_ = count_from_ + static_cast<std::int64_t>(o_.seconds * kNsPerSecond);
    const std::int64_t cpu_start = ReadClock(CLOCK_THREAD_CPUTIME_ID);
    std::deque<std::int64_t> pending;  // open loop: due times waiting for a connection
    std::vector<std::size_t> idle;
    std::int64_t issued = 0;
    std::int64_t next_due = start;
    std::int64_t stopped_at = 0;
    if (open_loop) {
      for (std::size_t i = 0; i < conns_.size(); ++i) idle.push_back(i);
    } else {
      for (Conn& c : conns_) {
        if (absl::Status s = Send(c, start); !s.ok()) return s;
      }
    }
    epoll_event events[64];
    while (true) {
      std::int64_t now = NowNs();
      if (stopped_at == 0) {
        const bool enough = o_.max_requests > 0 && result_.ok + result_.failed >= o_.max_requests;
        if (open_loop) {
          while (next_due <= now && next_due < end_) {
            pending.push_back(next_due);
            ++issued;
            next_due = start + static_cast<std::int64_t>(static_cast<double>(issued) *
                                                         kNsPerSecond / o_.rate);
          }
          if (next_due >= end_) stopped_at = end_;
        } else if (now >= end_ || enough) {
          stopped_at = std::min(now, end_);
        }
      }
      while (!pending.empty() && !idle.empty()) {
        if (absl::Status s = Send(conns_[idle.back()], pending.front()); !s.ok()) return s;
        idle.pop_back();
        pending.pop_front();
      }
      if (stopped_at != 0 && outstanding_ == 0 && pending.empty()) break;
      if (stopped_at != 0 && now > stopped_at + kDrainNs) {
        return absl::DeadlineExceededError(
            StrCat("load: ", outstanding_ + static_cast<int>(pending.size()),
                   " requests unanswered 10 s after the run"));
      }
      int timeout_ms = 100;
      if (open_loop && stopped_at == 0) {
        // epoll waits in whole milliseconds: sleep to within 1 ms of the next due time, then spin.
        const std::int64_t wait = next_due - now;
        timeout_ms = wait > 2 * kNsPerMs ? static_cast<int>(wait / kNsPerMs) - 1 : 0;
      } else if (!open_loop && stopped_at == 0) {
        timeout_ms = static_cast<int>(std::clamp<std::int64_t>((end_ - now) / kNsPerMs, 0, 100));
      }
      const int n = ::epoll_wait(ep_, events, 64, timeout_ms);
      if (n < 0 && errno != EINTR) return absl::InternalError(Errno("load: epoll_wait"));
      now = NowNs();
      for (int i = 0; i < n; ++i) {
        const std::size_t index = events[i].data.u32;
        Conn& c = conns_[index];
        if ((events[i].events & EPOLLOUT) != 0) {
          if (absl::Status s = Flush(c); !s.ok()) return s;
        }
        if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0) continue;
        if (absl::Status s = Receive(c); !s.ok()) return s;
        int status = 0;
        while (true) {
          const long used = ParseResponse(c.in, status);
          if (used < 0) return absl::DataLossError("load: a response this generator cannot parse");
          if (used == 0) break;
          if (!c.busy) return absl::DataLossError("load: a response to no request");
          Complete(c, status, std::string_view(c.in).substr(0, static_cast<std::size_t>(used)),
                   now);
          c.in.erase(0, static_cast<std::size_t>(used));
          if (open_loop) {
            idle.push_back(index);
          } else if (stopped_at == 0) {
            if (absl::Status s = Send(c, now); !s.ok()) return s;
          }
        }
      }
    }
    result_.client_cpu_seconds =
        static_cast<double>(ReadClock(CLOCK_THREAD_CPUTIME_ID) - cpu_start) / kNsPerSecond;
    // Open loop: the rate at which the counted requests were answered, drain included.
    const std::int64_t until = open_loop ? std::max(stopped_at, last_counted_) : stopped_at;
    result_.seconds = static_cast<double>(until - count_from_) / kNsPerSecond;
    if (result_.seconds > 0) result_.per_second = static_cast<double>(result_.ok) / result_.seconds;
    std::sort(latencies_.begin(), latencies_.end());
    result_.p50_ms = Percentile(latencies_, 0.50);
    result_.p99_ms = Percentile(latencies_, 0.99);
    result_.p999_ms = Percentile(latencies_, 0.999);
    result_.max_ms = latencies_.empty() ? 0 : static_cast<double>(latencies_.back()) / kNsPerMs;
    return result_;
  }

 private:
  absl::Status Open() {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) return absl::InternalError(Errno("load: epoll_create1"));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(o_.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (c.fd < 0) return absl::UnavailableError(Errno("load: socket"));
      if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        return absl::UnavailableError(Errno(StrCat("load: connect to 127.0.0.1:", o_.port)));
      }
      const int one = 1;
      ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      if (::fcntl(c.fd, F_SETFL, O_NONBLOCK) != 0) {
        return absl::InternalError(Errno("load: O_NONBLOCK"));
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = static_cast<std::uint32_t>(i);
      if (::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
        return absl::InternalError(Errno("load: epoll_ctl"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Send(Conn& c, std::int64_t due) {
    c.request = &o_.requests[next_request_++ % o_.requests.size()];
    c.sent = 0;
    c.due = due;
    c.counted = due >= count_from_ && due < end_;
    c.busy = true;
    ++outstanding_;
    return Flush(c);
  }

  // Writes what is left of the connection's request; waits for EPOLLOUT when the socket is full.
  absl::Status Flush(Conn& c) {
    while (c.request != nullptr && c.sent < c.request->size()) {
      const ssize_t n =
          ::send(c.fd, c.request->data() + c.sent, c.request->size() - c.sent, MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Watch(c, true);
      return absl::UnavailableError(Errno("load: send"));
    }
    return c.want_out ? Watch(c, false) : absl::OkStatus();
  }

  absl::Status Watch(Conn& c, bool out) {
    c.want_out = out;
    epoll_event ev{};
    ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
    ev.data.u32 = static_cast<std::uint32_t>(&c - conns_.data());
    if (::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev) != 0) {
      return absl::InternalError(Errno("load: epoll_ctl"));
    }
    return absl::OkStatus();
  }

  absl::Status Receive(Conn& c) {
    char buf[16384];
    while (true) {
      const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
      if (n > 0) {
        c.in.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) return absl::UnavailableError("load: the server closed a connection");
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return absl::OkStatus();
      return absl::UnavailableError(Errno("load: recv"));
    }
  }

  void Complete(Conn& c, int status, std::string_view response, std::int64_t now) {
    c.busy = false;
    --outstanding_;
    ++result_.answered;
    if (!c.counted) return;
    latencies_.push_back(now - c.due);
    last_counted_ = now;
    if (status == 200) {
      ++result_.ok;
      return;
    }
    ++result_.failed;
    if (result_.first_failure.empty()) {
      const std::size_t head = response.find("\r\n\r\n");
      const std::string_view body =
          head == std::string_view::npos ? std::string_view() : response.substr(head + 4);
      result_.first_failure =
          StrCat(response.substr(0, response.find("\r\n")), ": ", body.substr(0, 500));
    }
  }

  const LoadOptions& o_;
  std::vector<Conn> conns_;
  int ep_ = -1;
  std::int64_t count_from_ = 0;
  std::int64_t end_ = 0;
  std::int64_t last_counted_ = 0;  // when the last counted request was answered
  std::size_t next_request_ = 0;
  int outstanding_ = 0;
  std::vector<std::int64_t> latencies_;
  LoadResult result_;
};

}  // namespace

absl::Status PinThisThread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<std::size_t>(cpu), &set);
  const int err = ::pthread_setaffinity_np(::pthread_self(), sizeof(set), &set);
  if (err != 0) {
    return absl::InvalidArgumentError(StrCat("cannot pin to CPU ", cpu, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options) {
  if (options.cpu >= 0) {
    if (absl::Status s = PinThisThread(options.cpu); !s.ok()) return s;
  }
  Generator generator(options);
  return generator.Run();
}

}  // namespace gpufleet::bench
