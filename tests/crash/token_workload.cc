// token.create and the checks of API tokens.

#include "common/strings.h"
#include "workloads.h"

namespace gpufleet::crash {
namespace {

constexpr int kProbesPerRound = 3;

enum class TokenState { kPresent, kAbsent, kInFlight };

struct TokenRecord {
  std::string name;
  std::string role;
  std::string secret;  // "" when the creation was never answered
  TokenState state = TokenState::kInFlight;
  bool probed = false;
  bool broken = false;
  std::string history;
};

class TokenWorkload final : public Workload {
 public:
  std::string_view name() const override { return "tokens"; }

  std::vector<RequestKind> Kinds() override {
    return {{"token.create", 6, [this](IssueContext& c) { return Create(c); }}};
  }

  void Check(const Snapshot& s, Findings& f) override;

  std::string Summary() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return StrCat("tokens: ", acked_, " acknowledged, ", in_flight_, " in flight (",
                  settled_present_, " found created); ", probes_, " authentications checked");
  }

 private:
  Sent Create(IssueContext& c);
  // Authenticates with the token's secret; false (recorded) when refused.
  bool Probe(TokenRecord& r, HttpClient& client, Findings& f);

  mutable std::mutex mu_;
  std::map<std::string, TokenRecord> tokens_;  // guarded by mu_
  int acked_ = 0, in_flight_ = 0;              // guarded by mu_
  int settled_present_ = 0, probes_ = 0;       // harness thread
  std::size_t probe_cursor_ = 0;               // harness thread
};

Sent TokenWorkload::Create(IssueContext& c) {
  static constexpr const char* kRoles[] = {"viewer", "operator", "admin"};
  TokenRecord r;
  r.name = StrCat("tok-", c.Tag());
  r.role = kRoles[c.rng() % 3];
  const nlohmann::json body = {{"name", r.name}, {"role", r.role}};
  const std::string what = StrCat("POST /api/v1/tokens ", body.dump());
  {
    std::lock_guard<std::mutex> lock(mu_);
    tokens_[r.name] = r;
  }
  Reply reply = c.client.Send("POST", "/api/v1/tokens", &body);
  c.Log(what, reply);
  std::lock_guard<std::mutex> lock(mu_);
  TokenRecord& rec = tokens_[r.name];
  rec.history = StrCat(what, " answered ", reply.Describe(), " in round ", c.round);
  if (reply.status == 201) {
    ++acked_;
    rec.state = TokenState::kPresent;
    nlohmann::json j = reply.Json();
    if (j.is_object() && j.contains("token") && j["token"].is_string()) {
      rec.secret = j["token"].get<std::string>();
    } else {
      c.findings.Fail(rec.history, "the new token's secret in the answer", reply.body);
      rec.broken = true;
    }
  } else if (reply.answered() && reply.status < 500) {
    rec.state = TokenState::kAbsent;
    c.findings.Fail(rec.history, "201", reply.Describe());
    rec.broken = true;
  } else {
    ++in_flight_;
  }
  return reply.answered() ? Sent::kAnswered : Sent::kNoAnswer;
}

bool TokenWorkload::Probe(TokenRecord& r, HttpClient& client, Findings& f) {
  ++probes_;
  r.probed = true;
  Reply reply = client.SendAs(r.secret, "GET", "/api/v1/hosts");
  if (reply.status == 200) return true;
  f.Fail(StrCat("token ", r.name, " [", r.history, "]"),
         "GET /api/v1/hosts with it answers 200 (it authenticates)", reply.Describe());
  r.broken = true;
  return false;
}

void TokenWorkload::Check(const Snapshot& s, Findings& f) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<TokenRecord*> probe_later;
  for (auto& [name, r] : tokens_) {
    if (r.broken) continue;
    const std::string request = StrCat("token ", name, " [", r.history, "]");
    auto view = s.tokens.find(name);
    const bool present = view != s.tokens.end();
    const int events = s.EventCount("token.created", StrCat("token/", name));
    auto fail = [&](std::string_view expected, std::string_view actual) {
      f.Fail(request, StrCat(expected, " in ", s.source), actual);
      r.broken = true;
    };
    if (events != (present ? 1 : 0)) {
      fail(present ? "1 token.created event for a listed token" : "no event for an absent token",
           StrCat(events, " events"));
      continue;
    }
    if (present && view->second.role != r.role) {
      fail(StrCat("role ", r.role), view->second.role);
      continue;
    }
    switch (r.state) {
      case TokenState::kPresent:
        if (!present) {
          fail("the token, acknowledged", "not listed");
          continue;
        }
        break;
      case TokenState::kAbsent:
        if (present) fail("no token: it was refused", "listed");
        continue;
      case TokenState::kInFlight:
        r.state = present ? TokenState::kPresent : TokenState::kAbsent;
        settled_present_ += present ? 1 : 0;
        r.history = StrCat(r.history, "; found ", present ? "created" : "absent", " in ", s.source);
        continue;  // its secret was never seen: nothing to authenticate with
    }
    if (s.client == nullptr || r.secret.empty()) continue;
    if (!r.probed || s.final) {
      Probe(r, *s.client, f);
    } else {
      probe_later.push_back(&r);
    }
  }
  // A rotating sample of the tokens checked before: an acknowledged write must survive every
  // later kill, not only the first.
  for (int i = 0; i < kProbesPerRound && !probe_later.empty() && s.client != nullptr; ++i) {
    Probe(*probe_later[probe_cursor_++ % probe_later.size()], *s.client, f);
  }
  for (const auto& [name, v] : s.tokens) {
    if (name != "admin" && !tokens_.contains(name)) {
      f.Fail(StrCat("token ", name, " in ", s.source), "only tokens the harness asked for",
             StrCat("an unknown token with role ", v.role));
    }
  }
}

}  // namespace

std::unique_ptr<Workload> NewTokenWorkload() { return std::make_unique<TokenWorkload>(); }

}  // namespace gpufleet::crash
