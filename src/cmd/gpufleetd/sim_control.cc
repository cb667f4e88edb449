#include "cmd/gpufleetd/sim_control.h"

#include <string>

#include "common/json.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace gpufleet::gpufleetd {
namespace {

using api::Request;
using api::Response;
using backends::sim::SimCluster;

// Decodes the request's JSON object body with `read` and finishes the reader; an empty body
// reads as {}.
template <typename F>
absl::Status ReadBody(const Request& request, F&& read) {
  absl::StatusOr<nlohmann::json> body =
      request.body.empty() ? nlohmann::json::object() : request.JsonBody();
  if (!body.ok()) return body.status();
  if (!body->is_object()) return absl::InvalidArgumentError("body: expected a JSON object");
  JsonReader reader(*body, "");
  read(reader);
  return reader.Finish();
}

Response Done(const absl::Status& status) {
  return status.ok() ? Response::NoContent() : Response::Error(status);
}

}  // namespace

absl::Status AddSimControlRoutes(api::Router& router, SimCluster& cluster) {
  const api::Access admin = api::Access::Admin();
  SimCluster* c = &cluster;
  GPUFLEET_RETURN_IF_ERROR(
      router.Add("POST", "/api/v1/sim/hosts/{host}/crash", admin,
                 [c](const Request& r) { return Done(c->CrashHost(r.PathParam("host"))); }));
  GPUFLEET_RETURN_IF_ERROR(
      router.Add("POST", "/api/v1/sim/hosts/{host}/restart", admin, [c](const Request& r) {
        backends::sim::RestartOptions options;
        absl::Status s = ReadBody(r, [&](JsonReader& j) {
          options.keep_instances = j.OptBool("keep_instances").value_or(true);
        });
        return Done(s.ok() ? c->RestartHost(r.PathParam("host"), options) : s);
      }));
  GPUFLEET_RETURN_IF_ERROR(router.Add(
      "POST", "/api/v1/sim/hosts/{host}/gpus/{gpu}/lose", admin,
      [c](const Request& r) { return Done(c->LoseGpu(r.PathParam("host"), r.PathParam("gpu"))); }));
  GPUFLEET_RETURN_IF_ERROR(
      router.Add("PUT", "/api/v1/sim/hosts/{host}/bmc", admin, [c](const Request& r) {
        bool reachable = true;
        absl::Status s = ReadBody(r, [&](JsonReader& j) { reachable = j.Bool("reachable"); });
        return Done(s.ok() ? c->SetBmcReachable(r.PathParam("host"), reachable) : s);
      }));
  GPUFLEET_RETURN_IF_ERROR(
      router.Add("PUT", "/api/v1/sim/license-server", admin, [c](const Request& r) {
        bool up = true;
        absl::Status s = ReadBody(r, [&](JsonReader& j) { up = j.Bool("up"); });
        if (s.ok()) c->SetLicenseServerUp(up);
        return Done(s);
      }));
  GPUFLEET_RETURN_IF_ERROR(
      router.Add("PUT", "/api/v1/sim/vms/{vm}/load", admin, [c](const Request& r) {
        int load = 0;
        absl::Status s = ReadBody(r, [&](JsonReader& j) { load = j.Int("load_pct", 0, 100); });
        return Done(s.ok() ? c->SetVmLoad(r.PathParam("vm"), load) : s);
      }));
  return router.Add("GET", "/api/v1/sim/guests/{vm}", admin, [c](const Request& r) {
    absl::StatusOr<backends::sim::GuestCapabilities> g = c->Guest(r.PathParam("vm"));
    if (!g.ok()) return Response::Error(g.status());
    nlohmann::json body = {{"vm", r.PathParam("vm")},
                           {"licensed", g->licensed},
                           {"edition", g->edition},
                           {"cuda", g->cuda}};
    body["frame_rate_limit_fps"] = g->frame_rate_limit_fps.has_value()
                                       ? nlohmann::json(*g->frame_rate_limit_fps)
                                       : nlohmann::json();
    return Response::Json(body);
  });
}

}  // namespace gpufleet::gpufleetd
