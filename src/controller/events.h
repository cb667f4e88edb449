#ifndef GPUFLEET_CONTROLLER_EVENTS_H_
#define GPUFLEET_CONTROLLER_EVENTS_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "api/response.h"
#include "api/router.h"
#include "controller/context.h"
#include "nlohmann/json.hpp"
#include "store/entities.h"

namespace gpufleet::controller {

// The event log, queried and streamed.
//
// Routes (viewer):
//   GET /api/v1/events?after=&kind=&object=&limit=   events with seq > after, oldest first;
//                                                    next_after is the cursor to ask next
//   GET /api/v1/events/stream?kind=&object=          Server-Sent Events, id = seq; resumes after
//                                                    Last-Event-ID (or ?after=)
//
// Streams are fed by one pump thread, started by the constructor and joined by the destructor:
// it waits on the store for new events and sends each open stream what follows its cursor.
// Thread-safe.
class Events {
 public:
  explicit Events(Context context);
  ~Events();
  Events(const Events&) = delete;
  Events& operator=(const Events&) = delete;

  absl::Status AddRoutes(api::Router& router);

 private:
  struct Stream {
    std::shared_ptr<api::EventSink> sink;
    int64_t cursor = 0;
    std::string kind;
    std::string object;
  };

  api::Response List(const api::Request& request);
  api::Response Subscribe(const api::Request& request);
  void Pump();

  Context context_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Stream> streams_;  // guarded by mu_
  bool stopping_ = false;        // guarded by mu_
  bool added_ = false;           // guarded by mu_: a stream arrived since the last round
  std::thread pump_;
};

[[nodiscard]] nlohmann::json EventJson(const store::Event& event);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_EVENTS_H_
