#ifndef GPUFLEET_CONTROLLER_OPERATION_RUNNER_H_
#define GPUFLEET_CONTROLLER_OPERATION_RUNNER_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "controller/context.h"
#include "store/entities.h"

namespace gpufleet::controller {

// Drives durable operations to their end on its own thread, several at once.
//
// The store holds all of an operation's state: the runner keeps none. For an operation it loads
// the row and its steps and does the next thing — mark it running, act the next pending step
// (operation_steps.h: effect and `done` in one transaction), undo done steps in reverse after a
// failure or a cancel request, or write the end state — and loads again. So a controller killed
// at any point resumes each unfinished operation exactly where the store says it was: Start()
// queues every pending or running operation it finds.
//
// Operations interleave one move at a time, in turn: a long evacuation does not hold back an HA
// restart. A step that waits (an `await` step: the destination host has not reported the moved
// VM's vGPU yet) parks its operation; parked operations are looked at again every
// `poll_interval` and at once after Wake() (the controller calls it when an agent's report
// changes what is observed). Operations on one target never run together (the API refuses a
// second), and every step re-checks capacity under the placement lock, so interleaving cannot
// double-book a slot.
//
// A step that fails (FailedPrecondition and the like) fails its operation: done steps that can
// be undone (maintenance, hold) are undone, then the operation is `failed` with the step's
// reason. Best-effort steps (an HA restart's per-VM restarts, the awaits) fail alone; the
// operation goes on and ends `failed` naming them. Unavailable errors are retried (5 times,
// backoff from 50 ms) without holding back the other operations.
// Thread-safe.
class OperationRunner {
 public:
  struct Options {
    // How often parked operations are looked at again without a Wake().
    std::chrono::milliseconds poll_interval{250};
  };

  // `on_finish(op)` runs after an operation reaches its end state (metrics); may be empty.
  OperationRunner(Context context, std::function<void(const store::Operation&)> on_finish,
                  Options options);
  OperationRunner(Context context, std::function<void(const store::Operation&)> on_finish)
      : OperationRunner(context, std::move(on_finish), Options{}) {}
  ~OperationRunner();
  OperationRunner(const OperationRunner&) = delete;
  OperationRunner& operator=(const OperationRunner&) = delete;

  // Starts the thread and queues every unfinished operation in the store.
  absl::Status Start();
  // Stops after the current step (an operation in progress stays running in the store and
  // resumes at the next Start).
  void Stop();
  // Queues an operation (written by the caller in state pending), or takes a parked one up again
  // (a cancel request).
  void Enqueue(std::string id);
  // Takes every parked operation up again (something they may wait for has changed).
  void Wake();

 private:
  // What one Advance did.
  enum class Moved { kProgressed, kWaiting, kFinished };
  using SteadyTime = std::chrono::steady_clock::time_point;

  void Loop();
  // One turn of operation `id`; says when it wants its next turn (never: it has ended, or an
  // error left it to the next start).
  std::optional<SteadyTime> Turn(const std::string& id);
  // One move of the operation.
  absl::StatusOr<Moved> Advance(const std::string& id);
  absl::Status Finish(const store::Operation& op, const std::vector<store::OperationStep>& steps);

  Context context_;
  std::function<void(const store::Operation&)> on_finish_;
  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> ready_;             // guarded by mu_: in turn
  std::map<std::string, SteadyTime> parked_;  // guarded by mu_: id -> next look
  std::set<std::string> queued_;              // guarded by mu_: in ready_ or parked_
  std::string current_;                       // guarded by mu_: the one in its turn
  bool poked_ = false;                        // guarded by mu_: Enqueue/Wake during a turn
  std::map<std::string, int> retries_;        // the runner thread's (Stop's once joined)
  bool stop_ = false;                         // guarded by mu_
  std::thread thread_;
};

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_OPERATION_RUNNER_H_
