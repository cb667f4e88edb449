#include "harness.h"

#include "common/strings.h"

namespace gpufleet::crash {

void Findings::SetRound(int round) {
  std::lock_guard<std::mutex> lock(mu_);
  round_ = round;
}

void Findings::Fail(std::string_view request, std::string_view expected, std::string_view actual) {
  std::lock_guard<std::mutex> lock(mu_);
  ++count_;
  if (failures_.size() >= kMaxKept) return;
  failures_.push_back(StrCat("round ", round_, ", seed ", seed_, ": ", request, ": expected ",
                             expected, "; got ", actual));
}

bool Findings::ok() const {
  std::lock_guard<std::mutex> lock(mu_);
  return count_ == 0;
}

std::vector<std::string> Findings::failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_;
}

std::size_t Findings::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return count_;
}

void Journal::Line(std::string_view line) {
  std::lock_guard<std::mutex> lock(mu_);
  out_ << line << '\n';
  out_.flush();
}

nlohmann::json Reply::Json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

std::string Reply::Describe() const {
  if (!answered()) return StrCat("no response (", error, ")");
  if (ok()) return StrCat(status);
  return StrCat(status, " ", body.substr(0, 200));
}

HttpClient::HttpClient(std::uint16_t port, std::string token)
    : client_("127.0.0.1", port), token_(std::move(token)) {
  client_.set_keep_alive(false);
  client_.set_connection_timeout(1, 0);
  // Generous for an ASan build on a loaded machine; a killed server answers with a reset at once.
  client_.set_read_timeout(10, 0);
  client_.set_write_timeout(5, 0);
}

Reply HttpClient::Send(std::string_view method, std::string_view path, const nlohmann::json* body,
                       const httplib::Headers& headers) {
  httplib::Request request;
  request.method = std::string(method);
  request.path = std::string(path);
  request.headers = headers;
  request.headers.emplace("Authorization", StrCat("Bearer ", token_));
  if (body != nullptr) {
    request.body = body->dump();
    request.headers.emplace("Content-Type", "application/json");
  }
  httplib::Result result = client_.send(request);
  Reply reply;
  if (!result) {
    reply.error = httplib::to_string(result.error());
    return reply;
  }
  reply.status = result->status;
  reply.body = result->body;
  reply.etag = result->get_header_value("ETag");
  return reply;
}

Reply HttpClient::SendAs(std::string_view token, std::string_view method, std::string_view path) {
  std::string saved = std::exchange(token_, std::string(token));
  Reply reply = Send(method, path);
  token_ = std::move(saved);
  return reply;
}

int Snapshot::EventCount(std::string_view kind, std::string_view object) const {
  if (events == nullptr) return 0;
  auto it = events->find({std::string(kind), std::string(object)});
  return it == events->end() ? 0 : it->second;
}

int Snapshot::EventCountBefore(std::string_view kind, std::string_view object) const {
  if (!events_before.has_value()) return EventCount(kind, object);
  auto it = events_before->find({std::string(kind), std::string(object)});
  return it == events_before->end() ? 0 : it->second;
}

std::string IssueContext::Tag() const { return StrCat("r", round, "-t", thread, "-", serial); }

void IssueContext::Log(std::string_view what, const Reply& reply) {
  journal.Line(StrCat("round ", round, " thread ", thread, ": ", what, " -> ", reply.Describe()));
}

}  // namespace gpufleet::crash
