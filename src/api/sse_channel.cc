#include "api/sse_channel.h"

namespace gpufleet::api::internal {

bool SseChannel::Send(SseEvent event) {
  std::string wire = FormatSseEvent(event);
  std::lock_guard<std::mutex> lock(mu_);
  if (ended_ || close_requested_ || overflowed_) return false;
  if (queue_.size() >= max_queued_) {
    overflowed_ = true;
    queue_.clear();
  } else {
    queue_.push_back(std::move(wire));
  }
  if (wake_) wake_();
  return !overflowed_;
}

void SseChannel::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (ended_ || close_requested_) return;
  close_requested_ = true;
  if (wake_) wake_();
}

bool SseChannel::is_open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !ended_ && !close_requested_ && !overflowed_;
}

void SseChannel::OnClose(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ended_) {
      on_close_.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

std::string SseChannel::Take(bool* close_requested, bool* overflowed) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (std::string& s : queue_) out += s;
  queue_.clear();
  *close_requested = close_requested_;
  *overflowed = overflowed_;
  return out;
}

void SseChannel::MarkEnded() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ended_) return;
    ended_ = true;
    wake_ = nullptr;
    callbacks.swap(on_close_);
  }
  for (auto& fn : callbacks) fn();
}

}  // namespace gpufleet::api::internal
