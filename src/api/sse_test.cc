// Server-Sent Events over a real connection: events in order, Last-Event-ID, keep-alive
// comments, and the end of a stream on client disconnect, producer Close() and server Stop().

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "api/http_server.h"
#include "api/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::api {
namespace {

using ::testing::HasSubstr;
using testing::RawClient;
using testing::StatusOf;
using testing::TestServer;

// The controller's side in miniature: remembers the sink of the latest stream.
class Hub {
 public:
  void Open(std::shared_ptr<EventSink> sink, std::string last_event_id) {
    sink->OnClose([this] {
      std::lock_guard<std::mutex> l(mu_);
      ++closed_;
      cv_.notify_all();
    });
    std::lock_guard<std::mutex> lock(mu_);
    sink_ = std::move(sink);
    last_event_id_ = std::move(last_event_id);
    cv_.notify_all();
  }
  std::shared_ptr<EventSink> WaitForSink() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [this] { return sink_ != nullptr; });
    return sink_;
  }
  bool WaitForClosed() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [this] { return closed_ > 0; });
  }
  std::string last_event_id() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_event_id_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<EventSink> sink_;
  std::string last_event_id_;
  int closed_ = 0;
};

class SseTest : public ::testing::Test {
 protected:
  void Start(ServerOptions o = testing::TestOptions()) {
    Router r;
    ASSERT_TRUE(r.Add("GET", "/api/v1/events", Access::Viewer(), [this](const Request& req) {
                   std::string last(req.Header("Last-Event-ID").value_or(""));
                   return Response::EventStream([this, last](std::shared_ptr<EventSink> sink) {
                     hub_.Open(std::move(sink), last);
                   });
                 }).ok());
    ASSERT_TRUE(ts_.Start(std::move(r), o).ok());
  }
  std::unique_ptr<RawClient> Subscribe(std::string_view last_event_id = "") {
    auto c = std::make_unique<RawClient>(ts_.port());
    std::string req =
        "GET /api/v1/events HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer viewer-token\r\n";
    if (!last_event_id.empty()) req += "Last-Event-ID: " + std::string(last_event_id) + "\r\n";
    EXPECT_TRUE(c->Send(req + "\r\n"));
    return c;
  }
  Hub hub_;
  TestServer ts_;
};

TEST_F(SseTest, StreamsEventsAndPassesLastEventId) {
  Start();
  auto c = Subscribe("41");
  std::string head = c->ReadUntil("\r\n\r\n");
  EXPECT_EQ(StatusOf(head), 200);
  EXPECT_THAT(head, HasSubstr("Content-Type: text/event-stream"));
  EXPECT_THAT(head, HasSubstr("Transfer-Encoding: chunked"));
  std::shared_ptr<EventSink> sink = hub_.WaitForSink();
  ASSERT_NE(sink, nullptr);
  EXPECT_EQ(hub_.last_event_id(), "41");
  EXPECT_TRUE(sink->Send({.id = "42", .event = "vm", .data = "{\"a\":1}"}));
  EXPECT_TRUE(sink->Send({.id = "43", .event = "", .data = "two\nlines"}));
  std::string got = c->ReadUntil("data: lines\n\n");
  EXPECT_THAT(got, HasSubstr("id: 42\nevent: vm\ndata: {\"a\":1}\n\n"));
  EXPECT_THAT(got, HasSubstr("id: 43\ndata: two\ndata: lines\n\n"));
  EXPECT_LT(got.find("id: 42"), got.find("id: 43"));
}

TEST_F(SseTest, SendsKeepAliveComments) {
  ServerOptions o = testing::TestOptions();
  o.sse_keepalive_interval = absl::Milliseconds(50);
  Start(o);
  auto c = Subscribe();
  EXPECT_THAT(c->ReadUntil(": keep-alive\n\n"), HasSubstr(": keep-alive\n\n"));
}

TEST_F(SseTest, ClientDisconnectEndsTheStream) {
  Start();
  auto c = Subscribe();
  c->ReadUntil("\r\n\r\n");
  std::shared_ptr<EventSink> sink = hub_.WaitForSink();
  ASSERT_NE(sink, nullptr);
  c->Close();
  EXPECT_TRUE(hub_.WaitForClosed());
  EXPECT_FALSE(sink->is_open());
  EXPECT_FALSE(sink->Send({.id = "1", .event = "", .data = "late"}));
}

TEST_F(SseTest, ProducerCloseFlushesAndEnds) {
  Start();
  auto c = Subscribe();
  c->ReadUntil("\r\n\r\n");
  std::shared_ptr<EventSink> sink = hub_.WaitForSink();
  ASSERT_NE(sink, nullptr);
  EXPECT_TRUE(sink->Send({.id = "9", .event = "", .data = "last"}));
  sink->Close();
  std::string rest = c->ReadUntil("\r\n0\r\n\r\n");
  EXPECT_THAT(rest, HasSubstr("id: 9\ndata: last\n\n"));
  EXPECT_THAT(rest, HasSubstr("\r\n0\r\n\r\n"));
  EXPECT_TRUE(c->WaitForClose());
  EXPECT_TRUE(hub_.WaitForClosed());
}

TEST_F(SseTest, ServerStopEndsStreams) {
  Start();
  auto c = Subscribe();
  c->ReadUntil("\r\n\r\n");
  std::shared_ptr<EventSink> sink = hub_.WaitForSink();
  ASSERT_NE(sink, nullptr);
  ts_.server().Stop();
  EXPECT_THAT(c->ReadUntil("\r\n0\r\n\r\n"), HasSubstr("\r\n0\r\n\r\n"));
  EXPECT_TRUE(hub_.WaitForClosed());
  EXPECT_FALSE(sink->Send({.id = "2", .event = "", .data = "after stop"}));
}

TEST_F(SseTest, StreamsNeedAuthentication) {
  Start();
  RawClient c(ts_.port());
  ASSERT_TRUE(c.Send("GET /api/v1/events HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(StatusOf(c.ReadResponse()), 401);
}

}  // namespace
}  // namespace gpufleet::api
