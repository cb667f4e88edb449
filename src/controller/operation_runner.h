#ifndef GPUFLEET_CONTROLLER_OPERATION_RUNNER_H_
#define GPUFLEET_CONTROLLER_OPERATION_RUNNER_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "controller/context.h"
#include "store/entities.h"

namespace gpufleet::controller {

// Drives durable operations to their end, one at a time, on its own thread.
//
// The store holds all of an operation's state: the runner keeps none. For an operation it loads
// the row and its steps and does the next thing — mark it running, act the next pending step
// (operation_steps.h: effect and `done` in one transaction), undo done steps in reverse after a
// failure or a cancel request, or write the end state — and loads again. So a controller killed
// at any point resumes each unfinished operation exactly where the store says it was: Start()
// queues every pending or running operation it finds.
//
// A step that fails (FailedPrecondition and the like) fails its operation: done steps that can
// be undone (maintenance, hold) are undone, then the operation is `failed` with the step's
// reason. Best-effort steps (an HA restart's per-VM restarts) fail alone; the operation goes on
// and ends `failed` naming them. Unavailable errors are retried (5 times, backoff from 50 ms).
// Thread-safe.
class OperationRunner {
 public:
  // `on_finish(op)` runs after an operation reaches its end state (metrics); may be empty.
  OperationRunner(Context context, std::function<void(const store::Operation&)> on_finish);
  ~OperationRunner();
  OperationRunner(const OperationRunner&) = delete;
  OperationRunner& operator=(const OperationRunner&) = delete;

  // Starts the thread and queues every unfinished operation in the store.
  absl::Status Start();
  // Stops after the current step (an operation in progress stays running in the store and
  // resumes at the next Start).
  void Stop();
  // Queues an operation (written by the caller in state pending).
  void Enqueue(std::string id);

  // Runs operation `id` until it ends (or Stop is called), on the calling thread. For the
  // thread, and for tests that drive operations without it.
  absl::Status Run(const std::string& id);

 private:
  void Loop();
  // One move of the operation; sets *finished when it has ended.
  absl::Status Advance(const std::string& id, bool* finished);
  absl::Status Finish(const store::Operation& op, const std::vector<store::OperationStep>& steps);
  bool stopping();

  Context context_;
  std::function<void(const store::Operation&)> on_finish_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // guarded by mu_
  bool stop_ = false;              // guarded by mu_
  std::thread thread_;
};

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_OPERATION_RUNNER_H_
