#include "api/status_http.h"

#include "api/request.h"
#include "api/response.h"
#include "common/status_field.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace gpufleet::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(StatusHttpTest, MapsCodes) {
  EXPECT_EQ(HttpStatusFor(absl::InvalidArgumentError("x")), 400);
  EXPECT_EQ(HttpStatusFor(absl::UnauthenticatedError("x")), 401);
  EXPECT_EQ(HttpStatusFor(absl::PermissionDeniedError("x")), 403);
  EXPECT_EQ(HttpStatusFor(absl::NotFoundError("x")), 404);
  EXPECT_EQ(HttpStatusFor(absl::AlreadyExistsError("x")), 409);
  EXPECT_EQ(HttpStatusFor(absl::AbortedError("x")), 409);
  EXPECT_EQ(HttpStatusFor(absl::FailedPreconditionError("host has VMs")), 409);
  EXPECT_EQ(HttpStatusFor(VersionMismatchError(3, 4)), 412);
  EXPECT_EQ(HttpStatusFor(WithField(absl::FailedPreconditionError("x"), "name")), 409);
  EXPECT_EQ(HttpStatusFor(absl::ResourceExhaustedError("x")), 429);
  EXPECT_EQ(HttpStatusFor(absl::UnavailableError("x")), 503);
  EXPECT_EQ(HttpStatusFor(absl::InternalError("x")), 500);
  EXPECT_EQ(HttpStatusFor(absl::UnknownError("x")), 500);
  EXPECT_EQ(HttpStatusFor(absl::DataLossError("x")), 500);
  EXPECT_EQ(HttpStatusFor(absl::OkStatus()), 500);
}

TEST(StatusHttpTest, ErrorBodyShape) {
  Response r = Response::Error(
      WithField(absl::InvalidArgumentError("spec.count: expected >= 1"), "spec.count"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/json");
  nlohmann::json body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body, nlohmann::json({{"code", "INVALID_ARGUMENT"},
                                  {"message", "spec.count: expected >= 1"},
                                  {"field", "spec.count"}}));
  EXPECT_EQ(Response::Error(absl::NotFoundError("host h9")).body,
            R"({"code":"NOT_FOUND","message":"host h9"})");
}

TEST(StatusHttpTest, InternalErrorsAreScrubbed) {
  Response r = Response::Error(
      WithField(absl::InternalError("sqlite: /var/lib/gpufleet/db locked"), "secret_field"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, R"({"code":"INTERNAL","message":"internal error"})");
  EXPECT_THAT(r.internal_detail, HasSubstr("/var/lib/gpufleet/db"));
  EXPECT_THAT(r.body, Not(HasSubstr("sqlite")));
}

TEST(StatusHttpTest, InvalidUtf8IsReplaced) {
  std::string body = ErrorBodyJson("X", "bad \xff byte", std::nullopt);
  EXPECT_TRUE(nlohmann::json::accept(body));
}

TEST(ResponseTest, Helpers) {
  Response ok = Response::FromStatusOr(nlohmann::json{{"a", 1}}, 201);
  EXPECT_EQ(ok.status, 201);
  EXPECT_EQ(ok.body, R"({"a":1})");
  Response err = Response::FromStatusOr(absl::StatusOr<nlohmann::json>(absl::NotFoundError("x")));
  EXPECT_EQ(err.status, 404);
  EXPECT_EQ(Response::NoContent().status, 204);
  Response tagged = Response::Json(nlohmann::json::object());
  tagged.SetETag(12);
  EXPECT_EQ(tagged.headers.Get("ETag"), "\"v12\"");
}

TEST(SseFormatTest, FormatsEvents) {
  EXPECT_EQ(FormatSseEvent({.id = "7", .event = "vm", .data = "{}"}),
            "id: 7\nevent: vm\ndata: {}\n\n");
  EXPECT_EQ(FormatSseEvent({.id = "", .event = "", .data = "a\nb\r\nc"}),
            "data: a\ndata: b\ndata: c\n\n");
  EXPECT_EQ(FormatSseEvent({.id = "1\n2", .event = "x\ry", .data = ""}),
            "id: 12\nevent: xy\ndata: \n\n");
}

}  // namespace
}  // namespace gpufleet::api
