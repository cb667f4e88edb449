#include "controller/events.h"

#include <algorithm>
#include <utility>

#include "common/json.h"
#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace gpufleet::controller {
namespace {

constexpr int kPumpBatch = 500;

absl::StatusOr<int64_t> ParseSeq(std::string_view text, std::string_view field) {
  int64_t v = 0;
  if (text.empty() || text.size() > 18) {
    return WithField(absl::InvalidArgumentError(StrCat(field, ": expected a sequence number, got ",
                                                       QuoteForMessage(text))),
                     field);
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return WithField(absl::InvalidArgumentError(StrCat(
                           field, ": expected a sequence number, got ", QuoteForMessage(text))),
                       field);
    }
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

nlohmann::json EventJson(const store::Event& e) {
  nlohmann::json data = nullptr;
  if (!e.data_json.empty()) {
    if (absl::StatusOr<nlohmann::json> j = ParseJson(e.data_json, "event"); j.ok()) data = *j;
  }
  return {{"seq", e.seq},     {"time", TimeText(e.time)}, {"kind", e.kind}, {"object", e.object},
          {"actor", e.actor}, {"message", e.message},     {"data", data}};
}

Events::Events(Context context) : context_(context), pump_([this] { Pump(); }) {}

Events::~Events() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (Stream& s : streams_) s.sink->Close();
  }
  cv_.notify_all();
  pump_.join();
}

absl::Status Events::AddRoutes(api::Router& router) {
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/events", api::Access::Viewer(),
                                      [this](const api::Request& r) { return List(r); }));
  return router.Add("GET", "/api/v1/events/stream", api::Access::Viewer(),
                    [this](const api::Request& r) { return Subscribe(r); });
}

api::Response Events::List(const api::Request& request) {
  store::EventQuery query;
  if (auto after = request.Query("after")) {
    absl::StatusOr<int64_t> seq = ParseSeq(*after, "after");
    if (!seq.ok()) return api::Response::Error(seq.status());
    query.after_seq = *seq;
  }
  if (auto limit = request.Query("limit")) {
    std::optional<int> n = ParseNonNegativeInt(*limit);
    if (!n || *n < 1 || *n > api::kMaxPageLimit) {
      return api::Response::Error(
          WithField(absl::InvalidArgumentError(StrCat("limit: expected 1..", api::kMaxPageLimit,
                                                      ", got ", QuoteForMessage(*limit))),
                    "limit"));
    }
    query.limit = *n;
  }
  query.kind = std::string(request.Query("kind").value_or(""));
  query.object = std::string(request.Query("object").value_or(""));
  nlohmann::json items = nlohmann::json::array();
  int64_t last = query.after_seq;
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Event> events, tx.ListEvents(query));
    for (const store::Event& e : events) {
      items.push_back(EventJson(e));
      last = e.seq;
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json({{"items", items}, {"next_after", last}});
}

api::Response Events::Subscribe(const api::Request& request) {
  int64_t cursor = context_.store->LastEventSeq();
  std::optional<std::string_view> resume = request.Header("Last-Event-ID");
  if (!resume) resume = request.Query("after");
  if (resume) {
    absl::StatusOr<int64_t> seq = ParseSeq(*resume, "Last-Event-ID");
    if (!seq.ok()) return api::Response::Error(seq.status());
    cursor = *seq;
  }
  std::string kind(request.Query("kind").value_or(""));
  std::string object(request.Query("object").value_or(""));
  return api::Response::EventStream(
      [this, cursor, kind, object](std::shared_ptr<api::EventSink> sink) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (stopping_) {
            sink->Close();
            return;
          }
          streams_.push_back(Stream{std::move(sink), cursor, kind, object});
          added_ = true;
        }
        cv_.notify_all();
      });
}

void Events::Pump() {
  int64_t seen = context_.store->LastEventSeq();
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) return;
      if (!added_) {
        lock.unlock();
        // Wakes for a new event, else every 200 ms to pick up new streams and notice stop.
        seen = context_.store->WaitForEvents(seen, absl::Milliseconds(200));
        lock.lock();
        if (stopping_) return;
      } else {
        seen = context_.store->LastEventSeq();
      }
      added_ = false;
      std::erase_if(streams_, [](const Stream& s) { return !s.sink->is_open(); });
    }
    // Serve each stream outside the lock (reads may take a while); the streams are copied so
    // that a stream added meanwhile waits for the next round.
    std::vector<Stream> round;
    {
      std::lock_guard<std::mutex> lock(mu_);
      round = streams_;
    }
    for (Stream& s : round) {
      while (s.cursor < seen && s.sink->is_open()) {
        store::EventQuery q{
            .after_seq = s.cursor, .kind = s.kind, .object = s.object, .limit = kPumpBatch};
        std::vector<store::Event> events;
        absl::Status read = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
          GPUFLEET_ASSIGN_OR_RETURN(events, tx.ListEvents(q));
          return absl::OkStatus();
        });
        if (!read.ok()) break;
        for (const store::Event& e : events) {
          s.sink->Send(api::SseEvent{
              .id = std::to_string(e.seq), .event = e.kind, .data = EventJson(e).dump()});
        }
        // Filtered streams skip what does not match: the cursor moves to what was read, or to
        // `seen` when nothing more matches.
        int64_t next = events.empty() ? s.cursor : events.back().seq;
        if (events.size() < static_cast<std::size_t>(kPumpBatch)) next = std::max(next, seen);
        s.cursor = next;
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (Stream& live : streams_) {
      for (const Stream& done : round) {
        if (live.sink == done.sink) live.cursor = done.cursor;
      }
    }
  }
}

}  // namespace gpufleet::controller
