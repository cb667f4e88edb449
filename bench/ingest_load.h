#ifndef GPUFLEET_BENCH_INGEST_LOAD_H_
#define GPUFLEET_BENCH_INGEST_LOAD_H_

// The load generator of ingest_bench: keep-alive HTTP/1.1 over raw non-blocking sockets, all
// connections driven by one thread with epoll, so that the generator costs one core and its own
// scheduling never stands between a send time and the send.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gpufleet::bench {

struct LoadOptions {
  std::uint16_t port = 0;  // on 127.0.0.1
  int connections = 16;
  // Complete HTTP/1.1 requests, sent in turn (round robin over the run). Each must be answered
  // with a Content-Length body; a status other than 200 counts as a failure.
  std::vector<std::string> requests;
  // 0: closed loop, every connection sends its next request when the previous is answered.
  // Above 0: open loop, request i is due at start + i / rate whether or not the server keeps up;
  // a due request waits for an idle connection, and its latency runs from the time it was due
  // (no coordinated omission).
  double rate = 0;
  double warmup_seconds = 0;  // requests due (or sent, closed loop) before this are not counted
  double seconds = 1;         // the measured window, after the warm-up
  // Closed loop: stop after this many counted requests (0: no limit).
  std::int64_t max_requests = 0;
  int cpu = -1;  // pins the calling thread to this CPU for the run; -1: no pinning
};

struct LoadResult {
  std::int64_t ok = 0;        // counted requests answered 200
  std::int64_t failed = 0;    // counted requests answered otherwise
  std::int64_t answered = 0;  // every request answered, warm-up included
  // The measured window as it ran; in an open loop, until the last counted answer.
  double seconds = 0;
  double per_second = 0;  // ok / seconds
  // Latencies of the counted requests, milliseconds (from the due time in an open loop, from the
  // send in a closed loop).
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
  double client_cpu_seconds = 0;  // CPU time of the generator thread
  std::string first_failure;      // status line and body of the first failure
};

// Pins the calling thread (and the threads it starts from here on) to `cpu`. InvalidArgument
// naming the CPU and errno when the system refuses it.
absl::Status PinThisThread(int cpu);

// Runs one load on the calling thread. Errors: Unavailable when a connection cannot be made or
// the server closes one, with the reason.
absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options);

}  // namespace gpufleet::bench

#endif  // GPUFLEET_BENCH_INGEST_LOAD_H_
