#include "cli/online_events.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "cli/online_common.h"
#include "common/strings.h"

namespace gpufleet::cli {
namespace {

using nlohmann::json;

constexpr int kMaxPage = 1000;
constexpr absl::Duration kFirstRetry = absl::Seconds(1);
constexpr absl::Duration kMaxRetry = absl::Seconds(30);

std::atomic<bool> g_sigint{false};

extern "C" void OnSigint(int) { g_sigint.store(true); }

// Installs OnSigint for the lifetime of the object, when the caller gave no interrupt flag of its
// own (the real binary); restores the previous handler after.
class SigintScope {
 public:
  explicit SigintScope(bool install) : installed_(install) {
    if (!installed_) return;
    g_sigint.store(false);
    struct sigaction sa {};
    sa.sa_handler = OnSigint;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &previous_);
  }
  ~SigintScope() {
    if (installed_) ::sigaction(SIGINT, &previous_, nullptr);
  }
  SigintScope(const SigintScope&) = delete;
  SigintScope& operator=(const SigintScope&) = delete;

 private:
  bool installed_;
  struct sigaction previous_ {};
};

std::string FilterQuery(const EventsOptions& o) {
  std::vector<std::string> q;
  if (o.kind) q.push_back(StrCat("kind=", UrlEscape(*o.kind)));
  if (o.object) q.push_back(StrCat("object=", UrlEscape(*o.object)));
  return StrJoin(q, "&");
}

std::string EventLine(const json& e) {
  std::string seq = e.contains("seq") ? e["seq"].dump() : "?";
  return StrCat(StrOr(e, "time"), "  #", seq, "  ", StrOr(e, "kind"), "  ", StrOr(e, "object"),
                "  by ", StrOr(e, "actor"), ": ", StrOr(e, "message", ""));
}

void PrintStreamed(OutputFormat format, const SseParser::Event& ev, std::ostream& out) {
  json e = json::parse(ev.data, nullptr, /*allow_exceptions=*/false);
  if (e.is_discarded()) e = {{"seq", ev.id}, {"kind", ev.event}, {"message", ev.data}};
  switch (format) {
    case OutputFormat::kJson:
      out << e.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
      break;
    case OutputFormat::kYaml:
      out << "---\n";
      WriteYaml(e, out);
      break;
    case OutputFormat::kTable:
      out << EventLine(e) << '\n';
      break;
  }
  out.flush();
}

bool IsFinal(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kNotFound:
      return true;
    default:
      return false;
  }
}

absl::Status Follow(Context& ctx, Client& client, const EventsOptions& o, std::ostream& out) {
  const Environment* env = ctx.env;
  SigintScope sigint(env == nullptr || env->interrupted == nullptr);
  const std::atomic<bool>* interrupted =
      env != nullptr && env->interrupted != nullptr ? env->interrupted : &g_sigint;
  auto sleep = [&](absl::Duration d) {
    // In slices, so that Ctrl-C during a back-off ends at once.
    while (d > absl::ZeroDuration() && !interrupted->load()) {
      const absl::Duration slice = std::min(d, absl::Milliseconds(100));
      if (env != nullptr && env->sleep) {
        env->sleep(slice);
      } else {
        absl::SleepFor(slice);
      }
      d -= slice;
    }
  };
  const std::string query = FilterQuery(o);
  const ApiCall call{.method = "GET",
                     .path = StrCat("/api/v1/events/stream", query.empty() ? "" : "?", query),
                     .what = "events --follow"};
  std::string last_id = o.after ? StrCat(*o.after) : "";
  absl::Duration retry = kFirstRetry;
  while (true) {
    bool received = false;
    // A fresh parser per connection: a half-received event of a dropped one is sent again.
    SseParser parser([&](const SseParser::Event& ev) {
      PrintStreamed(ctx.format, ev, out);
      if (!ev.id.empty()) last_id = ev.id;
    });
    absl::Status s = client.Stream(
        call, last_id,
        [&](std::string_view chunk) {
          received = true;
          parser.Feed(chunk);
        },
        interrupted);
    if (interrupted->load() || absl::IsCancelled(s)) return absl::OkStatus();
    if (IsFinal(s)) return s;
    if (received) retry = kFirstRetry;
    if (ctx.err != nullptr) {
      *ctx.err << "gpufleet: the event stream from " << client.server() << " ended ("
               << (s.ok() ? "closed by the server" : ToStd(s.message())) << "); reconnecting"
               << (last_id.empty() ? "" : StrCat(" after event ", last_id)) << " in "
               << absl::FormatDuration(retry) << "\n";
    }
    sleep(retry);
    if (interrupted->load()) return absl::OkStatus();
    retry = std::min(retry * 2, kMaxRetry);
  }
}

}  // namespace

absl::Status RunEvents(Context& ctx, const EventsOptions& o, std::ostream& out) {
  if (o.limit < 1) return absl::InvalidArgumentError("--limit: expected a number >= 1");
  if (o.after && *o.after < 0) return absl::InvalidArgumentError("--after: expected >= 0");
  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  if (o.follow) return Follow(ctx, **client, o, out);

  const std::string filter = FilterQuery(o);
  json items = json::array();
  std::int64_t after = o.after.value_or(0);
  while (static_cast<int>(items.size()) < o.limit) {
    const int page = std::min(kMaxPage, o.limit - static_cast<int>(items.size()));
    std::string path = StrCat("/api/v1/events?after=", after, "&limit=", page);
    if (!filter.empty()) path += StrCat("&", filter);
    absl::StatusOr<ApiReply> r = (*client)->Do({.method = "GET", .path = path, .what = "events"});
    if (!r.ok()) return r.status();
    const json got = r->body.value("items", json::array());
    for (const json& e : got) items.push_back(e);
    after = r->body.value("next_after", after);
    if (static_cast<int>(got.size()) < page) break;
  }
  const json doc = {{"items", items}, {"next_after", after}};
  if (WriteStructured(ctx.format, doc, out)) return absl::OkStatus();
  if (items.empty()) {
    out << "No events" << (o.after ? StrCat(" after #", *o.after) : "") << ".\n";
    return absl::OkStatus();
  }
  Table t({"SEQ", "TIME", "KIND", "OBJECT", "ACTOR", "MESSAGE"});
  for (const json& e : items) {
    t.AddRow({e.contains("seq") ? e["seq"].dump() : "-", StrOr(e, "time"), StrOr(e, "kind"),
              StrOr(e, "object"), StrOr(e, "actor"), StrOr(e, "message", "")});
  }
  t.Print(out);
  if (static_cast<int>(items.size()) == o.limit) {
    out << "\nMore may follow: gpufleet events --after " << after << "\n";
  }
  return absl::OkStatus();
}

}  // namespace gpufleet::cli
