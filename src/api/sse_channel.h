#ifndef GPUFLEET_API_SSE_CHANNEL_H_
#define GPUFLEET_API_SSE_CHANNEL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "api/response.h"

namespace gpufleet::api::internal {

// The EventSink a streaming response's producer holds. The producer side (Send, Close) may run
// on any thread; the session side (Take, MarkEnded) runs on the connection's strand. `wake` is
// called with the lock held whenever there is something for the session to do; it only posts
// to the session, and is dropped when the stream ends, so that nothing is posted to a server
// that has gone.
class SseChannel final : public EventSink {
 public:
  SseChannel(std::size_t max_queued, std::function<void()> wake)
      : max_queued_(max_queued), wake_(std::move(wake)) {}

  bool Send(SseEvent event) override;
  void Close() override;
  bool is_open() const override;
  void OnClose(std::function<void()> fn) override;

  // Session side. Moves the queued wire text out; `*close_requested` tells whether the producer
  // asked to end the stream, `*overflowed` whether the client fell too far behind.
  std::string Take(bool* close_requested, bool* overflowed);
  // The stream ended: later Sends fail, OnClose callbacks run (once, on this thread).
  void MarkEnded();

 private:
  const std::size_t max_queued_;
  mutable std::mutex mu_;
  std::function<void()> wake_;
  std::deque<std::string> queue_;
  bool close_requested_ = false;
  bool overflowed_ = false;
  bool ended_ = false;
  std::vector<std::function<void()>> on_close_;
};

}  // namespace gpufleet::api::internal

#endif  // GPUFLEET_API_SSE_CHANNEL_H_
