#ifndef GPUFLEET_API_ROUTER_H_
#define GPUFLEET_API_ROUTER_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "api/auth.h"
#include "api/request.h"
#include "api/response.h"

namespace gpufleet::api {

// Handles one request. Runs on a server worker thread, concurrently with other handlers (also
// of the same route): handlers must be thread-safe. They may block (a store query), which holds
// that worker. They report errors through the Response (Response::Error); an exception that
// escapes anyway is caught, logged and answered with 500 "internal error".
using Handler = std::function<Response(const Request&)>;

struct Route {
  std::string method;         // "GET", "POST", "PUT", "PATCH", "DELETE", ...
  std::string path_template;  // "/api/v1/hosts/{host}/gpus/{pci}"
  Access access;
  Handler handler;
};

// The result of looking up a request path.
struct RouteMatch {
  const Route* route = nullptr;  // the route to run; null when none matches method and path
  PathParams params;             // decoded path parameters of `route`
  // When `route` is null: the methods the path does accept, sorted (for 405 and Allow); empty
  // when no route has this path (404).
  std::vector<std::string> allowed_methods;
};

// The route table: method + path template -> access requirement + handler. Built once before
// the server starts and read-only afterwards; const methods are then safe from any thread.
//
// Templates: '/'-separated segments, each a literal or a whole-segment parameter "{name}"
// (name: lower-case letters, digits, '_'). A request path matches segment by segment after
// percent-decoding each segment (so "%2F" inside a parameter does not split it). When several
// templates match, literal segments win over parameters from left to right:
// "/hosts/summary" beats "/hosts/{host}".
class Router {
 public:
  // InvalidArgument for a malformed method or template; AlreadyExists when `method` already
  // has a template of the same shape (equal up to parameter names).
  absl::Status Add(std::string_view method, std::string_view path_template, Access access,
                   Handler handler);

  // Looks up a raw (still percent-encoded) path, without query.
  [[nodiscard]] RouteMatch Match(std::string_view method, std::string_view raw_path) const;

  // Every route, in the order added (the OpenAPI and auth-matrix tests walk this).
  [[nodiscard]] const std::vector<Route>& routes() const { return routes_; }

 private:
  struct Segment {
    bool is_param = false;
    std::string text;  // the literal, or the parameter name
  };
  struct Compiled {
    std::vector<Segment> segments;
  };
  // Fills `params` and `score` (one bit per segment, literal = 1, first segment most
  // significant) when `path` matches `compiled`.
  static bool MatchOne(const Compiled& compiled, const std::vector<std::string>& path,
                       PathParams* params, std::vector<bool>* score);

  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
};

}  // namespace gpufleet::api

#endif  // GPUFLEET_API_ROUTER_H_
