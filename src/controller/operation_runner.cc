#include "controller/operation_runner.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/operation_steps.h"

namespace gpufleet::controller {
namespace {

using store::Operation;
using store::OperationState;
using store::OperationStep;
using store::StepState;

bool Terminal(OperationState s) {
  return s == OperationState::kSucceeded || s == OperationState::kFailed ||
         s == OperationState::kCancelled;
}

std::string Describe(const Operation& op) {
  return StrCat("operation ", op.id, " (", op.kind, " ", op.target, ")");
}

std::string StepError(const OperationStep& step) {
  absl::StatusOr<nlohmann::json> d = ParseJson(step.detail_json, "step");
  if (!d.ok() || !d->is_object()) return "";
  auto it = d->find("error");
  return it != d->end() && it->is_string() ? it->get<std::string>() : "";
}

std::string StepVm(const OperationStep& step) {
  absl::StatusOr<nlohmann::json> d = ParseJson(step.detail_json, "step");
  if (!d.ok() || !d->is_object()) return "";
  auto it = d->find("vm");
  return it != d->end() && it->is_string() ? it->get<std::string>() : "";
}

constexpr int kMaxRetries = 5;

}  // namespace

OperationRunner::OperationRunner(Context context,
                                 std::function<void(const store::Operation&)> on_finish)
    : context_(context), on_finish_(std::move(on_finish)) {}

OperationRunner::~OperationRunner() { Stop(); }

absl::Status OperationRunner::Start() {
  std::vector<Operation> unfinished;
  absl::Status read = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    for (OperationState s : {OperationState::kRunning, OperationState::kPending}) {
      GPUFLEET_ASSIGN_OR_RETURN(std::vector<Operation> ops,
                                tx.ListOperations({.state = s, .kind = "", .target = ""}));
      unfinished.insert(unfinished.end(), ops.begin(), ops.end());
    }
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  // Ids begin with their creation time: oldest first, running before pending within a second.
  std::stable_sort(unfinished.begin(), unfinished.end(),
                   [](const Operation& a, const Operation& b) { return a.id < b.id; });
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
    for (const Operation& op : unfinished) queue_.push_back(op.id);
  }
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  cv_.notify_all();
  return absl::OkStatus();
}

void OperationRunner::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OperationRunner::Enqueue(std::string id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(id));
  }
  cv_.notify_all();
}

bool OperationRunner::stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

void OperationRunner::Loop() {
  for (;;) {
    std::string id;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      id = std::move(queue_.front());
      queue_.pop_front();
    }
    // An error here is the store's; the operation stays as the store has it and resumes at the
    // next start (or the next Enqueue).
    (void)Run(id);
  }
}

absl::Status OperationRunner::Run(const std::string& id) {
  int retries = 0;
  auto backoff = std::chrono::milliseconds(50);
  for (;;) {
    if (stopping()) return absl::OkStatus();
    bool finished = false;
    absl::Status s = Advance(id, &finished);
    if (finished) return s;
    if (s.ok()) {
      retries = 0;
      continue;
    }
    if (absl::IsUnavailable(s) && retries < kMaxRetries) {
      std::this_thread::sleep_for(backoff);
      backoff *= 2;
      ++retries;
      continue;
    }
    return s;
  }
}

absl::Status OperationRunner::Advance(const std::string& id, bool* finished) {
  Operation op;
  std::vector<OperationStep> steps;
  absl::Status read = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(op, tx.GetOperation(id));
    GPUFLEET_ASSIGN_OR_RETURN(steps, tx.ListSteps(id));
    return absl::OkStatus();
  });
  if (absl::IsNotFound(read) || (read.ok() && Terminal(op.state))) {
    *finished = true;
    return absl::OkStatus();
  }
  GPUFLEET_RETURN_IF_ERROR(read);

  if (op.state == OperationState::kPending) {
    return context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
      GPUFLEET_ASSIGN_OR_RETURN(Operation o, tx.GetOperation(id));
      if (o.state != OperationState::kPending) return absl::OkStatus();
      o.state = OperationState::kRunning;
      GPUFLEET_RETURN_IF_ERROR(tx.UpdateOperation(o));
      return AppendEvent(tx, "operation.started", StrCat("operation/", id), o.actor,
                         StrCat(Describe(o), " started"));
    });
  }

  const bool unwinding =
      op.cancel_requested || std::any_of(steps.begin(), steps.end(), [](const OperationStep& s) {
        return s.state == StepState::kFailed && !StepBestEffort(s.kind);
      });
  if (unwinding) {
    for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
      if (it->state == StepState::kDone && StepUndoable(it->kind)) {
        return UndoStep(context_, id, *it);
      }
    }
    *finished = true;
    return Finish(op, steps);
  }

  auto next = std::find_if(steps.begin(), steps.end(), [](const OperationStep& s) {
    return s.state == StepState::kPending || s.state == StepState::kRunning;
  });
  if (next == steps.end()) {
    *finished = true;
    return Finish(op, steps);
  }
  if (next->state == StepState::kPending) {
    // Written before the step acts: a runner that dies after this finds the step running.
    return context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
      GPUFLEET_ASSIGN_OR_RETURN(Operation o, tx.GetOperation(id));
      if (o.cancel_requested) return absl::OkStatus();
      GPUFLEET_ASSIGN_OR_RETURN(OperationStep s, tx.GetStep(id, next->index));
      if (s.state != StepState::kPending) return absl::OkStatus();
      s.state = StepState::kRunning;
      return tx.UpdateStep(s);
    });
  }
  absl::Status acted = ActStep(context_, id, *next);
  if (acted.ok() || absl::IsCancelled(acted) || absl::IsUnavailable(acted)) {
    return absl::IsUnavailable(acted) ? acted : absl::OkStatus();
  }
  // The step cannot be done: record why, on the step and (unless best effort) the operation.
  const std::string why(ToStd(acted.message()));
  return context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(OperationStep s, tx.GetStep(id, next->index));
    if (s.state != StepState::kRunning) return absl::OkStatus();
    GPUFLEET_ASSIGN_OR_RETURN(nlohmann::json d, ParseJson(s.detail_json, "step"));
    if (!d.is_object()) d = nlohmann::json::object();
    d["error"] = why;
    s.state = StepState::kFailed;
    s.detail_json = d.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    GPUFLEET_RETURN_IF_ERROR(tx.UpdateStep(s));
    GPUFLEET_ASSIGN_OR_RETURN(Operation o, tx.GetOperation(id));
    if (!StepBestEffort(s.kind)) {
      o.error = StrCat("step ", s.index, " (", s.kind, "): ", why);
      GPUFLEET_RETURN_IF_ERROR(tx.UpdateOperation(o));
    }
    return AppendEvent(tx, "operation.step-failed", StrCat("operation/", id), o.actor,
                       StrCat(Describe(o), ": step ", s.index, " (", s.kind, ") failed: ", why));
  });
}

absl::Status OperationRunner::Finish(const Operation& op, const std::vector<OperationStep>& steps) {
  OperationState state = OperationState::kSucceeded;
  std::string error = op.error;
  std::vector<std::string> best_effort_failures;
  int best_effort_total = 0;
  for (const OperationStep& s : steps) {
    if (StepBestEffort(s.kind)) ++best_effort_total;
    if (s.state != StepState::kFailed) continue;
    if (!StepBestEffort(s.kind)) {
      state = OperationState::kFailed;
    } else {
      best_effort_failures.push_back(StrCat(StepVm(s), ": ", StepError(s)));
    }
  }
  if (op.cancel_requested) {
    state = OperationState::kCancelled;
  } else if (state == OperationState::kSucceeded && !best_effort_failures.empty()) {
    state = OperationState::kFailed;
    error = StrCat(best_effort_failures.size(), " of ", best_effort_total,
                   " VMs could not restart: ", StrJoin(best_effort_failures, "; "));
  }
  Operation saved;
  absl::Status written = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(saved, tx.GetOperation(op.id));
    if (Terminal(saved.state)) return absl::OkStatus();
    saved.state = state;
    saved.error = error;
    GPUFLEET_RETURN_IF_ERROR(tx.UpdateOperation(saved));
    const std::string word(store::OperationStateName(state));
    return AppendEvent(
        tx, StrCat("operation.", word), StrCat("operation/", op.id), saved.actor,
        StrCat(Describe(saved), " ", word, error.empty() ? std::string() : StrCat(": ", error)));
  });
  if (!written.ok()) return written;
  if (on_finish_) on_finish_(saved);
  return absl::OkStatus();
}

}  // namespace gpufleet::controller
