#include "controller/operations.h"

#include <algorithm>
#include <map>
#include <utility>

#include "common/json.h"
#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/operation_plan.h"
#include "controller/operation_request.h"
#include "controller/placement.h"
#include "controller/secrets.h"

namespace gpufleet::controller {
namespace {

using store::Operation;
using store::OperationState;
using store::OperationStep;

bool Active(OperationState s) {
  return s == OperationState::kPending || s == OperationState::kRunning;
}

// "op-20261129-044512-3f9a1c": sorts by creation time; 24 random bits tell apart operations
// created in the same second.
absl::StatusOr<std::string> NewOperationId(absl::Time now) {
  GPUFLEET_ASSIGN_OR_RETURN(std::string secret, NewSecret(""));
  return StrCat("op-", absl::FormatTime("%Y%m%d-%H%M%S", now, absl::UTCTimeZone()), "-",
                Sha256Hex(secret).substr(0, 6));
}

nlohmann::json JsonOrText(const std::string& text) {
  absl::StatusOr<nlohmann::json> j = ParseJson(text, "stored JSON");
  return j.ok() ? *j : nlohmann::json(text);
}

}  // namespace

nlohmann::json OperationJson(const Operation& op, const std::vector<OperationStep>& steps,
                             bool with_steps) {
  int done = 0;
  for (const OperationStep& s : steps) {
    if (s.state != store::StepState::kPending && s.state != store::StepState::kRunning) ++done;
  }
  nlohmann::json j = {{"id", op.id},
                      {"kind", op.kind},
                      {"state", store::OperationStateName(op.state)},
                      {"target", op.target},
                      {"params", JsonOrText(op.params_json)},
                      {"actor", op.actor},
                      {"error", op.error},
                      {"cancel_requested", op.cancel_requested},
                      {"version", op.version},
                      {"created_at", TimeText(op.created_at)},
                      {"updated_at", TimeText(op.updated_at)},
                      {"progress", {{"done", done}, {"total", steps.size()}}}};
  if (with_steps) {
    nlohmann::json out = nlohmann::json::array();
    for (const OperationStep& s : steps) {
      out.push_back({{"index", s.index},
                     {"kind", s.kind},
                     {"state", store::StepStateName(s.state)},
                     {"detail", JsonOrText(s.detail_json)},
                     {"updated_at", TimeText(s.updated_at)}});
    }
    j["steps"] = out;
  }
  return j;
}

Operations::Operations(Context context)
    : context_(context),
      runner_(std::make_unique<OperationRunner>(context,
                                                [this](const Operation& op) { Finished(op); })) {}

Operations::~Operations() { Stop(); }

absl::Status Operations::Start() { return runner_->Start(); }

void Operations::Stop() { runner_->Stop(); }

absl::Status Operations::AddRoutes(api::Router& router) {
  using api::Access;
  GPUFLEET_RETURN_IF_ERROR(router.Add("POST", "/api/v1/operations", Access::Operator(),
                                      [this](const api::Request& r) { return Create(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/operations", Access::Viewer(),
                                      [this](const api::Request& r) { return List(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/operations/{id}", Access::Viewer(),
                                      [this](const api::Request& r) { return Get(r); }));
  return router.Add("POST", "/api/v1/operations/{id}/cancel", Access::Operator(),
                    [this](const api::Request& r) { return Cancel(r); });
}

absl::Status Operations::RegisterMetrics(api::MetricsRegistry& metrics) {
  GPUFLEET_ASSIGN_OR_RETURN(by_state_, metrics.AddGauge("gpufleet_operations",
                                                        "Durable operations by kind and state "
                                                        "(as the store has them)",
                                                        {"kind", "state"}));
  GPUFLEET_ASSIGN_OR_RETURN(
      durations_, metrics.AddHistogram("gpufleet_operation_duration_seconds",
                                       "Time from an operation's creation to its end, by kind",
                                       {"kind"}, {0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600}));
  metrics.AddCollector([this] { CollectMetrics(); });
  return absl::OkStatus();
}

void Operations::CollectMetrics() {
  std::map<std::pair<std::string, std::string>, int> counts;
  (void)context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<Operation> ops, tx.ListOperations());
    for (const Operation& op : ops) {
      ++counts[{op.kind, std::string(store::OperationStateName(op.state))}];
    }
    return absl::OkStatus();
  });
  std::vector<std::pair<api::LabelValues, double>> series;
  for (const auto& [key, n] : counts) {
    series.push_back({{key.first, key.second}, static_cast<double>(n)});
  }
  if (by_state_ != nullptr) by_state_->ReplaceAll(series);
}

void Operations::Finished(const Operation& op) {
  if (durations_ == nullptr) return;
  durations_->Observe({op.kind}, absl::ToDoubleSeconds(op.updated_at - op.created_at));
}

absl::StatusOr<Operation> Operations::Submit(const nlohmann::json& body, const std::string& actor) {
  GPUFLEET_ASSIGN_OR_RETURN(OperationRequest request,
                            DecodeOperationRequest(body, *context_.catalog));
  request.dry_run = false;
  GPUFLEET_ASSIGN_OR_RETURN(
      PlannedOperation planned,
      context_.placement->Locked([&](FleetState& state) -> absl::StatusOr<PlannedOperation> {
        return PlanOperation(request, state, *context_.catalog);
      }));
  if (!planned.blocked.empty()) return absl::FailedPreconditionError(planned.blocked);
  GPUFLEET_ASSIGN_OR_RETURN(std::string id, NewOperationId(context_.clock->Now()));
  Operation op;
  absl::Status written = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(
        std::vector<Operation> same,
        tx.ListOperations({.state = std::nullopt, .kind = "", .target = planned.target}));
    for (const Operation& o : same) {
      if (Active(o.state)) {
        return absl::FailedPreconditionError(StrCat("operation ", o.id, " (", o.kind,
                                                    ") is already working on ", o.target,
                                                    ": wait for it to end, or cancel it"));
      }
    }
    op = Operation{};
    op.id = id;
    op.kind = std::string(OperationKindName(request.kind));
    op.state = OperationState::kPending;
    op.target = planned.target;
    op.params_json = request.ToJson().dump();
    op.actor = actor;
    GPUFLEET_RETURN_IF_ERROR(tx.CreateOperation(op));
    for (std::size_t i = 0; i < planned.steps.size(); ++i) {
      OperationStep step;
      step.operation = id;
      step.index = static_cast<int>(i);
      step.kind = planned.steps[i].kind;
      step.detail_json = planned.steps[i].detail.dump();
      GPUFLEET_RETURN_IF_ERROR(tx.CreateStep(step));
    }
    return AppendEvent(tx, "operation.created", StrCat("operation/", id), actor,
                       StrCat("operation ", id, " (", op.kind, " ", op.target, ") created"),
                       planned.preview);
  });
  if (!written.ok()) return written;
  runner_->Enqueue(id);
  return op;
}

api::Response Operations::Create(const api::Request& request) {
  absl::StatusOr<nlohmann::json> body = JsonObjectBody(request);
  if (!body.ok()) return api::Response::Error(body.status());
  absl::StatusOr<OperationRequest> decoded = DecodeOperationRequest(*body, *context_.catalog);
  if (!decoded.ok()) return api::Response::Error(decoded.status());
  if (decoded->dry_run) {
    absl::StatusOr<nlohmann::json> out =
        context_.placement->Locked([&](FleetState& state) -> absl::StatusOr<nlohmann::json> {
          GPUFLEET_ASSIGN_OR_RETURN(PlannedOperation p,
                                    PlanOperation(*decoded, state, *context_.catalog));
          nlohmann::json steps = nlohmann::json::array();
          for (const StepSpec& s : p.steps)
            steps.push_back({{"kind", s.kind}, {"detail", s.detail}});
          return nlohmann::json{{"kind", OperationKindName(decoded->kind)},
                                {"target", p.target},
                                {"dry_run", true},
                                {"can_run", p.blocked.empty()},
                                {"blocked", p.blocked},
                                {"plan", p.preview},
                                {"steps", steps}};
        });
    return api::Response::FromStatusOr(out);
  }
  absl::StatusOr<Operation> op = Submit(*body, ActorOf(request));
  if (!op.ok()) return api::Response::Error(op.status());
  return api::Response::Json(OperationJson(*op, {}, false), 202)
      .SetHeader("Location", StrCat("/api/v1/operations/", op->id))
      .SetETag(op->version);
}

api::Response Operations::List(const api::Request& request) {
  store::OperationFilter filter;
  if (std::optional<std::string_view> s = request.Query("state")) {
    absl::StatusOr<OperationState> state = store::ParseOperationState(*s);
    if (!state.ok()) return api::Response::Error(WithField(state.status(), "state"));
    filter.state = *state;
  }
  if (std::optional<std::string_view> k = request.Query("kind")) {
    absl::StatusOr<OperationKind> kind = ParseOperationKind(*k);
    if (!kind.ok()) return api::Response::Error(kind.status());
    filter.kind = std::string(*k);
  }
  if (std::optional<std::string_view> t = request.Query("target")) filter.target = std::string(*t);
  absl::StatusOr<api::PageRequest> page = api::ParsePageRequest(request);
  if (!page.ok()) return api::Response::Error(page.status());
  if (!page->cursor.empty()) {
    return api::Response::Error(WithField(
        absl::InvalidArgumentError("cursor: operations are listed newest first, use limit"),
        "cursor"));
  }
  nlohmann::json items = nlohmann::json::array();
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<Operation> ops, tx.ListOperations(filter));
    std::sort(ops.begin(), ops.end(),
              [](const Operation& a, const Operation& b) { return a.id > b.id; });
    for (const Operation& op : ops) {
      if (static_cast<int>(items.size()) == page->limit) break;
      GPUFLEET_ASSIGN_OR_RETURN(std::vector<OperationStep> steps, tx.ListSteps(op.id));
      items.push_back(OperationJson(op, steps, false));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json({{"items", items}});
}

api::Response Operations::Get(const api::Request& request) {
  const std::string id(request.PathParam("id"));
  Operation op;
  std::vector<OperationStep> steps;
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(op, tx.GetOperation(id));
    GPUFLEET_ASSIGN_OR_RETURN(steps, tx.ListSteps(id));
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json(OperationJson(op, steps, true)).SetETag(op.version);
}

api::Response Operations::Cancel(const api::Request& request) {
  const std::string id(request.PathParam("id"));
  const std::string actor = ActorOf(request);
  Operation op;
  absl::Status s = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(op, tx.GetOperation(id));
    GPUFLEET_RETURN_IF_ERROR(api::CheckIfMatch(request, op.version));
    if (!Active(op.state)) {
      return absl::FailedPreconditionError(StrCat("operation ", id, " has ended (",
                                                  store::OperationStateName(op.state),
                                                  "): there is nothing to cancel"));
    }
    if (op.cancel_requested) return absl::OkStatus();
    op.cancel_requested = true;
    GPUFLEET_RETURN_IF_ERROR(tx.UpdateOperation(op));
    return AppendEvent(tx, "operation.cancel-requested", StrCat("operation/", id), actor,
                       StrCat("operation ", id, " (", op.kind, " ", op.target,
                              "): cancel requested; it stops before its next step"));
  });
  if (!s.ok()) return api::Response::Error(s);
  runner_->Enqueue(id);
  return api::Response::Json(OperationJson(op, {}, false), 202).SetETag(op.version);
}

}  // namespace gpufleet::controller
