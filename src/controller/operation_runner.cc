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
                                 std::function<void(const store::Operation&)> on_finish,
                                 Options options)
    : context_(context), on_finish_(std::move(on_finish)), options_(options) {}

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
    for (const Operation& op : unfinished) {
      if (queued_.insert(op.id).second) ready_.push_back(op.id);
    }
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
  std::lock_guard<std::mutex> lock(mu_);
  ready_.clear();
  parked_.clear();
  queued_.clear();
  retries_.clear();
}

void OperationRunner::Enqueue(std::string id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (id == current_) {
      poked_ = true;  // its turn is on: it comes back in turn, parked or not
    } else if (parked_.erase(id) > 0) {
      ready_.push_back(std::move(id));
    } else if (queued_.insert(id).second) {
      ready_.push_back(std::move(id));
    }
  }
  cv_.notify_all();
}

void OperationRunner::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!current_.empty()) poked_ = true;
    if (parked_.empty()) return;
    for (const auto& [id, when] : parked_) ready_.push_back(id);
    parked_.clear();
  }
  cv_.notify_all();
}

void OperationRunner::Loop() {
  for (;;) {
    std::string id;
    {
      std::unique_lock<std::mutex> lock(mu_);
      for (;;) {
        if (stop_) return;
        // Parked operations whose time has come join the turn.
        const SteadyTime now = std::chrono::steady_clock::now();
        std::optional<SteadyTime> next;
        for (auto it = parked_.begin(); it != parked_.end();) {
          if (it->second <= now) {
            ready_.push_back(it->first);
            it = parked_.erase(it);
          } else {
            next = next ? std::min(*next, it->second) : it->second;
            ++it;
          }
        }
        if (!ready_.empty()) break;
        if (next) {
          cv_.wait_until(lock, *next);
        } else {
          cv_.wait(lock);
        }
      }
      id = std::move(ready_.front());
      ready_.pop_front();
      current_ = id;
    }
    const std::optional<SteadyTime> again = Turn(id);
    std::lock_guard<std::mutex> lock(mu_);
    const bool poked = poked_;
    current_.clear();
    poked_ = false;
    if (!again) {
      queued_.erase(id);
      retries_.erase(id);
    } else if (poked || *again <= std::chrono::steady_clock::now()) {
      ready_.push_back(id);
    } else {
      parked_[id] = *again;
    }
  }
}

std::optional<OperationRunner::SteadyTime> OperationRunner::Turn(const std::string& id) {
  const SteadyTime now = std::chrono::steady_clock::now();
  absl::StatusOr<Moved> moved = Advance(id);
  if (moved.ok()) {
    retries_.erase(id);
    switch (*moved) {
      case Moved::kFinished:
        return std::nullopt;
      case Moved::kWaiting:
        return now + options_.poll_interval;
      case Moved::kProgressed:
        return now;
    }
  }
  int& retries = retries_[id];
  if (absl::IsUnavailable(moved.status()) && retries < kMaxRetries) {
    const auto backoff = std::chrono::milliseconds(50) * (1 << retries);
    ++retries;
    return now + backoff;
  }
  // An error here is the store's; the operation stays as the store has it and resumes at the
  // next start (or the next Enqueue).
  return std::nullopt;
}

absl::StatusOr<OperationRunner::Moved> OperationRunner::Advance(const std::string& id) {
  Operation op;
  std::vector<OperationStep> steps;
  absl::Status read = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(op, tx.GetOperation(id));
    GPUFLEET_ASSIGN_OR_RETURN(steps, tx.ListSteps(id));
    return absl::OkStatus();
  });
  if (absl::IsNotFound(read) || (read.ok() && Terminal(op.state))) return Moved::kFinished;
  GPUFLEET_RETURN_IF_ERROR(read);

  if (op.state == OperationState::kPending) {
    absl::Status started = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
      GPUFLEET_ASSIGN_OR_RETURN(Operation o, tx.GetOperation(id));
      if (o.state != OperationState::kPending) return absl::OkStatus();
      o.state = OperationState::kRunning;
      GPUFLEET_RETURN_IF_ERROR(tx.UpdateOperation(o));
      return AppendEvent(tx, "operation.started", StrCat("operation/", id), o.actor,
                         StrCat(Describe(o), " started"));
    });
    if (!started.ok()) return started;
    return Moved::kProgressed;
  }

  const bool unwinding =
      op.cancel_requested || std::any_of(steps.begin(), steps.end(), [](const OperationStep& s) {
        return s.state == StepState::kFailed && !StepBestEffort(s.kind);
      });
  if (unwinding) {
    for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
      if (it->state == StepState::kDone && StepUndoable(it->kind)) {
        GPUFLEET_RETURN_IF_ERROR(UndoStep(context_, id, *it));
        return Moved::kProgressed;
      }
    }
    GPUFLEET_RETURN_IF_ERROR(Finish(op, steps));
    return Moved::kFinished;
  }

  auto next = std::find_if(steps.begin(), steps.end(), [](const OperationStep& s) {
    return s.state == StepState::kPending || s.state == StepState::kRunning;
  });
  if (next == steps.end()) {
    GPUFLEET_RETURN_IF_ERROR(Finish(op, steps));
    return Moved::kFinished;
  }
  if (next->state == StepState::kPending) {
    // Written before the step acts: a runner that dies after this finds the step running.
    absl::Status marked = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
      GPUFLEET_ASSIGN_OR_RETURN(Operation o, tx.GetOperation(id));
      if (o.cancel_requested) return absl::OkStatus();
      GPUFLEET_ASSIGN_OR_RETURN(OperationStep s, tx.GetStep(id, next->index));
      if (s.state != StepState::kPending) return absl::OkStatus();
      s.state = StepState::kRunning;
      return tx.UpdateStep(s);
    });
    if (!marked.ok()) return marked;
    return Moved::kProgressed;
  }
  absl::StatusOr<StepOutcome> acted = ActStep(context_, id, *next);
  if (acted.ok()) return *acted == StepOutcome::kWaiting ? Moved::kWaiting : Moved::kProgressed;
  if (absl::IsCancelled(acted.status())) return Moved::kProgressed;
  if (absl::IsUnavailable(acted.status())) return acted.status();
  // The step cannot be done: record why, on the step and (unless best effort) the operation.
  const std::string why(ToStd(acted.status().message()));
  absl::Status recorded = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
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
  if (!recorded.ok()) return recorded;
  return Moved::kProgressed;
}

absl::Status OperationRunner::Finish(const Operation& op, const std::vector<OperationStep>& steps) {
  OperationState state = OperationState::kSucceeded;
  std::string error = op.error;
  // Best-effort steps that failed, by kind: restarts, then awaits.
  std::map<std::string, std::vector<std::string>> best_effort_failures;
  std::map<std::string, int> best_effort_total;
  for (const OperationStep& s : steps) {
    if (StepBestEffort(s.kind)) ++best_effort_total[s.kind];
    if (s.state != StepState::kFailed) continue;
    if (!StepBestEffort(s.kind)) {
      state = OperationState::kFailed;
    } else {
      best_effort_failures[s.kind].push_back(StrCat(StepVm(s), ": ", StepError(s)));
    }
  }
  if (op.cancel_requested) {
    state = OperationState::kCancelled;
  } else if (state == OperationState::kSucceeded && !best_effort_failures.empty()) {
    state = OperationState::kFailed;
    std::vector<std::string> parts;
    for (const auto& [kind, failures] : best_effort_failures) {
      parts.push_back(StrCat(failures.size(), " of ", best_effort_total[kind],
                             kind == "await" ? " moved VMs were not confirmed by their hosts: "
                                             : " VMs could not restart: ",
                             StrJoin(failures, "; ")));
    }
    // "restart" before "await": the map orders them the other way.
    std::reverse(parts.begin(), parts.end());
    error = StrJoin(parts, "; ");
  }
  Operation saved;
  absl::Status written = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(saved, tx.GetOperation(op.id));
    if (Terminal(saved.state)) return absl::OkStatus();
    // A step marked running whose transaction then refused (a cancel came between) never
    // acted: it ends as it was before, pending.
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<OperationStep> now, tx.ListSteps(op.id));
    for (OperationStep& s : now) {
      if (s.state != StepState::kRunning) continue;
      s.state = StepState::kPending;
      GPUFLEET_RETURN_IF_ERROR(tx.UpdateStep(s));
    }
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
