// The online commands end to end: a real controller over HTTP on port 0 (temp store, FakeClock),
// and the CLI run through RunCli exactly as main() runs it. Table/JSON/YAML output is compared
// with golden files in tests/testdata/golden/online_*.txt (GPUFLEET_REGENERATE_GOLDEN=1 rewrites
// them); every run also checks that no token used for the call appears in any output.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <streambuf>
#include <thread>

#include "absl/time/clock.h"
#include "cli/app.h"
#include "common/strings.h"
#include "controller/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "os/file_system.h"

namespace gpufleet::cli {
namespace {

using controller::testing::Bearer;
using controller::testing::P40Host;
using controller::testing::TempDir;
using controller::testing::TestController;
using ::testing::HasSubstr;
using ::testing::Not;

// An ostream buffer that a follower thread writes while the test reads.
class SyncBuf : public std::streambuf {
 public:
  std::string str() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 protected:
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) {
      std::lock_guard<std::mutex> lock(mu_);
      text_.push_back(static_cast<char>(c));
    }
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard<std::mutex> lock(mu_);
    text_.append(s, static_cast<std::size_t>(n));
    return n;
  }

 private:
  std::mutex mu_;
  std::string text_;
};

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 1000; ++i) {  // up to 20 s; a condition, not a timing assertion
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

class OnlineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tc_.Start().ok());
    server_ = StrCat("http://127.0.0.1:", tc_.port());
    vars_["HOME"] = "/home/u";
  }

  Environment Env() {
    Environment env{.fs = &fs_, .clock = &clock_};
    env.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = vars_.find(name);
      if (it == vars_.end()) return std::nullopt;
      return it->second;
    };
    env.interrupted = &interrupted_;
    env.sleep = [](absl::Duration) { absl::SleepFor(absl::Milliseconds(1)); };
    return env;
  }

  // Runs `gpufleet ARGS` with no connection flags added.
  Outcome Raw(std::vector<std::string> args, std::ostream* out_stream = nullptr) {
    std::vector<const char*> argv = {"gpufleet"};
    for (const std::string& a : args) argv.push_back(a.c_str());
    std::ostringstream out, err;
    Outcome r;
    r.code = RunCli(static_cast<int>(argv.size()), argv.data(), Env(),
                    out_stream != nullptr ? *out_stream : out, err);
    r.out = out.str();  // empty when the caller gave its own stream
    r.err = err.str();
    for (const std::string* secret :
         std::vector<const std::string*>{&tc_.admin_token(), &last_token_}) {
      if (secret->empty()) continue;
      EXPECT_THAT(r.out, Not(HasSubstr(*secret))) << "a token in stdout";
      EXPECT_THAT(r.err, Not(HasSubstr(*secret))) << "a token in stderr";
    }
    return r;
  }

  // Runs `gpufleet --server URL --token TOKEN ARGS`.
  Outcome As(const std::string& token, std::vector<std::string> args) {
    last_token_ = token;
    std::vector<std::string> full = {"--server", server_, "--token", token};
    full.insert(full.end(), args.begin(), args.end());
    return Raw(full);
  }
  Outcome Admin(std::vector<std::string> args) { return As(tc_.admin_token(), std::move(args)); }

  void PutHost(std::string_view name, int gpus) {
    auto r = tc_.Client().Put(StrCat("/api/v1/hosts/", name), Bearer(tc_.admin_token()),
                              P40Host(gpus).dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->status == 200 || r->status == 201) << r->body;
  }

  // Compares with tests/testdata/golden/online_NAME.txt; the port is written as PORT.
  void ExpectGolden(const std::string& name, const Outcome& r) {
    std::string actual = StrCat("exit: ", r.code, "\n--- stdout\n", r.out, "--- stderr\n", r.err);
    for (std::size_t at; (at = actual.find(server_)) != std::string::npos;) {
      actual.replace(at, server_.size(), "http://127.0.0.1:PORT");
    }
    const std::string path =
        StrCat(GPUFLEET_SOURCE_DIR, "/tests/testdata/golden/online_", name, ".txt");
    if (std::getenv("GPUFLEET_REGENERATE_GOLDEN") != nullptr) {
      std::ofstream(path, std::ios::binary) << actual;
      return;
    }
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in) << "missing golden file " << path << "; run with GPUFLEET_REGENERATE_GOLDEN=1";
    std::stringstream expected;
    expected << in.rdbuf();
    EXPECT_EQ(actual, expected.str()) << "golden file " << path << " differs";
  }

  TempDir dir_;
  os::FakeClock clock_{controller::testing::TestEpoch()};
  TestController tc_{dir_.path(), &clock_};
  os::MemoryFileSystem fs_;
  std::map<std::string, std::string> vars_;
  std::atomic<bool> interrupted_{false};
  std::string server_;
  std::string last_token_;
};

TEST_F(OnlineTest, HostsGpusAndVmsAsTableJsonAndYaml) {
  PutHost("r730-1", 2);
  PutHost("r730-2", 1);
  const std::string op = tc_.TokenFor("olga", "operator");
  Outcome web = As(op, {"vm", "create", "web-1", "--type", "P40-8Q"});
  ASSERT_EQ(web.code, 0) << web.err;
  ExpectGolden("vm_create", web);
  Outcome train =
      As(op, {"vm", "create", "train-1", "--min-framebuffer", "24G", "--cuda", "--license", "vCS"});
  ASSERT_EQ(train.code, 0) << train.err;

  const std::string viewer = tc_.TokenFor("vera", "viewer");
  ExpectGolden("hosts", As(viewer, {"hosts"}));
  ExpectGolden("hosts_json", As(viewer, {"hosts", "-o", "json"}));
  ExpectGolden("hosts_yaml", As(viewer, {"-o", "yaml", "hosts"}));
  ExpectGolden("gpus_host", As(viewer, {"gpus", "--host", "r730-1"}));
  ExpectGolden("vms", As(viewer, {"vms"}));
  ExpectGolden("vms_json", As(viewer, {"vms", "-o", "json"}));
  ExpectGolden("vms_yaml", As(viewer, {"vms", "-o", "yaml"}));
  Outcome board = As(viewer, {"gpus", "--board", "Tesla P40", "-o", "json"});
  EXPECT_EQ(board.code, 0);
  EXPECT_THAT(board.out, HasSubstr("r730-2"));
}

// `host instances`: a host's report with what waits on it. web-2 moved to r730-1 but still runs
// on r730-2: held on r730-1 and a leftover on r730-2; web-3 is not created yet.
TEST_F(OnlineTest, HostInstancesShowsWhatTheAgentReportsAndWhatWaits) {
  PutHost("r730-1", 2);
  PutHost("r730-2", 1);
  const std::string op = tc_.TokenFor("olga", "operator");
  for (const char* name : {"web-1", "web-2", "web-3"}) {
    ASSERT_EQ(As(op, {"vm", "create", name, "--type", "P40-8Q"}).code, 0);
  }
  auto vgpu = [&](const char* vm) {
    auto r = tc_.Client().Get(StrCat("/api/v1/vms/", vm), Bearer(tc_.admin_token()));
    nlohmann::json v = nlohmann::json::parse(r->body)["vgpus"][0];
    EXPECT_EQ(v["host"], "r730-1") << vm;
    return nlohmann::json{{"uuid", v["uuid"]}, {"gpu", v["gpu"]}, {"type", "P40-8Q"}, {"vm", vm}};
  };
  nlohmann::json web1 = vgpu("web-1"), web2 = vgpu("web-2");
  auto report = [&](const char* host, const nlohmann::json& body) {
    auto r = tc_.Client().Put(StrCat("/api/v1/hosts/", host, "/instances"),
                              Bearer(tc_.AgentFor(host)), body.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  };
  nlohmann::json there = web2;
  there["active"] = true;
  report("r730-2", {{"instances", {there}}});
  web1["active"] = true;
  report("r730-1",
         {{"instances", {web1, web2}},
          {"errors", {{{"message", "create 217ff73b-...: Device busy"}, {"count", 2}}}},
          {"creatable",
           {{{"gpu", web1["gpu"]}, {"types", {{{"type", "P40-8Q"}, {"available", 0}}}}}}}});
  const std::string viewer = tc_.TokenFor("vera", "viewer");
  ExpectGolden("host_instances", As(viewer, {"host", "instances", "r730-1"}));
  Outcome json = As(viewer, {"host", "instances", "r730-1", "-o", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  const nlohmann::json doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["holds"], nlohmann::json({{{"vm", "web-2"}, {"reason", "still on r730-2"}}}));
  ASSERT_EQ(doc["missing"].size(), 1u);
  EXPECT_EQ(doc["missing"][0]["vm"], "web-3");
  EXPECT_EQ(doc["creatable"][0]["types"][0]["available"], 0);
  EXPECT_TRUE(doc["departures"].empty());
  Outcome other = As(viewer, {"host", "instances", "r730-2"});
  ASSERT_EQ(other.code, 0) << other.err;
  EXPECT_THAT(other.out, HasSubstr("Copies of VMs that moved away"));
  EXPECT_THAT(other.out, HasSubstr("web-2"));
  Outcome unknown = As(viewer, {"host", "instances", "nope"});
  EXPECT_NE(unknown.code, 0);
  EXPECT_THAT(unknown.err, HasSubstr("nope"));
}

TEST_F(OnlineTest, FullFleetRefusesWithTheControllersReasonAndExit1) {
  PutHost("r730-1", 1);
  const std::string op = tc_.TokenFor("olga", "operator");
  for (const char* name : {"web-1", "web-2", "web-3"}) {
    ASSERT_EQ(As(op, {"vm", "create", name, "--type", "P40-8Q"}).code, 0);
  }
  Outcome full = As(op, {"vm", "create", "web-4", "--type", "P40-8Q"});
  EXPECT_EQ(full.code, 1);
  EXPECT_THAT(full.err, HasSubstr("no place for P40-8Q"));
  ExpectGolden("vm_create_full", full);
  Outcome taken = As(op, {"vm", "create", "web-1", "--type", "P40-8Q"});
  EXPECT_EQ(taken.code, 1);
  EXPECT_THAT(taken.err, HasSubstr("exists already"));
}

TEST_F(OnlineTest, BadTokenIs401WithAHintAndExit2) {
  Outcome r = As("gft_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", {"hosts"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("did not accept the token"));
  EXPECT_THAT(r.err, HasSubstr("$GPUFLEET_TOKEN"));
}

TEST_F(OnlineTest, ViewerCreatingAVmIs403NamingTheRoleAndExit2) {
  PutHost("r730-1", 1);
  Outcome r = As(tc_.TokenFor("vera", "viewer"), {"vm", "create", "web-1", "--type", "P40-8Q"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("needs operator"));
  EXPECT_THAT(r.err, HasSubstr("--role operator"));
}

TEST_F(OnlineTest, StaleDeleteIs412AndExit1ThenDeleteWithTheCurrentEtag) {
  PutHost("r730-1", 1);
  const std::string op = tc_.TokenFor("olga", "operator");
  ASSERT_EQ(As(op, {"vm", "create", "web-1", "--type", "P40-8Q"}).code, 0);
  Outcome stale = As(op, {"vm", "delete", "web-1", "--if-version", "7"});
  EXPECT_EQ(stale.code, 1);
  EXPECT_THAT(stale.err, HasSubstr("changed since it was read"));
  Outcome del = As(op, {"vm", "delete", "web-1"});
  EXPECT_EQ(del.code, 0) << del.err;
  EXPECT_THAT(del.out, HasSubstr("Deleted vm web-1"));
  Outcome gone = As(op, {"vm", "delete", "web-1"});
  EXPECT_EQ(gone.code, 2);
  EXPECT_THAT(gone.err, HasSubstr("not found"));
  EXPECT_THAT(As(op, {"vms"}).out, HasSubstr("No VMs yet"));
}

TEST_F(OnlineTest, UnreachableServerAsksWhetherGpufleetdRunsAndExit3) {
  // A port that is bound but not listening: connections to it are refused.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  const std::string url = StrCat("http://127.0.0.1:", port);
  Outcome r = Raw({"--server", url, "--token", "gft_x", "hosts"});
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(r.err, HasSubstr(StrCat("Is gpufleetd running at ", url)));
  ::close(fd);
}

TEST_F(OnlineTest, NoServerConfiguredSaysHowAndExit2) {
  Outcome r = Raw({"hosts"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("no controller configured: pass --server URL"));
  Outcome no_token = Raw({"--server", server_, "vms"});
  EXPECT_EQ(no_token.code, 2);
  EXPECT_THAT(no_token.err, HasSubstr("no token configured"));
  Outcome bad_url = Raw({"--server", "127.0.0.1:8470", "--token", "gft_x", "vms"});
  EXPECT_EQ(bad_url.code, 2);
  EXPECT_THAT(bad_url.err, HasSubstr("http://"));
}

TEST_F(OnlineTest, FlagsWinOverEnvironmentWhichWinsOverTheConfigFile) {
  PutHost("r730-1", 1);
  const std::string viewer = tc_.TokenFor("vera", "viewer");
  last_token_ = viewer;
  fs_.AddFile("/home/u/.config/gpufleet/config.yaml",
              StrCat("server: ", server_, "\ntoken_file: ~/.gpufleet-token\n"));
  fs_.AddFile("/home/u/.gpufleet-token", StrCat(viewer, "\n"));
  Outcome file = Raw({"hosts"});
  EXPECT_EQ(file.code, 0) << file.err;
  EXPECT_THAT(file.out, HasSubstr("r730-1"));

  vars_["GPUFLEET_SERVER"] = "http://127.0.0.1:1";  // env beats the file: unreachable
  EXPECT_EQ(Raw({"hosts"}).code, 3);
  vars_["GPUFLEET_TOKEN"] = "gft_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
  Outcome flag_server = Raw({"--server", server_, "hosts"});  // flag beats env; env token is bad
  EXPECT_EQ(flag_server.code, 2);
  EXPECT_THAT(flag_server.err, HasSubstr("did not accept the token"));
  EXPECT_EQ(Raw({"--server", server_, "--token", viewer, "hosts"}).code, 0);
  vars_.erase("GPUFLEET_TOKEN");
  vars_["GPUFLEET_CONFIG"] = "/elsewhere.yaml";
  Outcome missing = Raw({"--server", server_, "hosts"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("/elsewhere.yaml"));
}

TEST_F(OnlineTest, HostMaintenanceDryRunThenForReal) {
  tc_.StartAgentReports();  // the moved VMs' new hosts report them; the evacuation ends
  PutHost("r730-1", 1);
  PutHost("r730-2", 1);
  ASSERT_EQ(Admin({"vm", "create", "web-1", "--type", "P40-8Q"}).code, 0);
  const std::string viewer = tc_.TokenFor("vera", "viewer");
  Outcome plan = As(viewer, {"host", "maintenance", "r730-1", "--dry-run"});
  Outcome plan2 = As(viewer, {"host", "maintenance", "r730-2", "--dry-run"});
  EXPECT_EQ(plan.code, 0) << plan.err;
  EXPECT_EQ(plan2.code, 0) << plan2.err;
  EXPECT_THAT(plan.out + plan2.out, HasSubstr("1 live migration"));
  Outcome unknown = As(viewer, {"host", "maintenance", "r730-9", "--dry-run"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("not found"));
  Outcome ha = As(viewer, {"ha", "check"});
  EXPECT_EQ(ha.code, 0) << ha.err;
  EXPECT_THAT(ha.out, HasSubstr("N+1 holds"));
  EXPECT_EQ(As(viewer, {"ha", "check", "-o", "json"}).code, 0);

  Outcome refused = As(viewer, {"host", "maintenance", "r730-1"});
  EXPECT_EQ(refused.code, 2);
  EXPECT_THAT(refused.err, HasSubstr("operator"));
  const std::string host =
      plan.out.find("1 live migration") != std::string::npos ? "r730-1" : "r730-2";
  Outcome done = Admin({"host", "maintenance", host});
  EXPECT_EQ(done.code, 0) << done.err;
  EXPECT_THAT(done.out, HasSubstr("maintenance host " + host + " takes no new VMs: done"));
  EXPECT_THAT(done.out, HasSubstr("move vm web-1: " + host + " -> "));
  EXPECT_THAT(done.out, HasSubstr(" succeeded"));
  Outcome hosts = Admin({"hosts"});
  EXPECT_THAT(hosts.out, HasSubstr("maintenance"));
  Outcome back = Admin({"host", "maintenance", host, "--exit"});
  EXPECT_EQ(back.code, 0) << back.err;
  EXPECT_THAT(back.out, HasSubstr("exit-maintenance"));
  EXPECT_THAT(Admin({"hosts"}).out, Not(HasSubstr("maintenance")));
}

TEST_F(OnlineTest, VmMigrateAndOperationsListShowCancel) {
  tc_.StartAgentReports();
  PutHost("r730-1", 1);
  PutHost("r730-2", 1);
  ASSERT_EQ(Admin({"vm", "create", "web-1", "--type", "P40-8Q"}).code, 0);
  Outcome dry = Admin({"vm", "migrate", "web-1", "--dry-run"});
  EXPECT_EQ(dry.code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("it can run now"));
  EXPECT_THAT(dry.out, HasSubstr("STUN (s)"));
  Outcome moved = Admin({"vm", "migrate", "web-1", "-o", "json"});
  ASSERT_EQ(moved.code, 0) << moved.err;
  nlohmann::json op = nlohmann::json::parse(moved.out);
  EXPECT_EQ(op["state"], "succeeded");
  const std::string id = op["id"];
  Outcome list = Admin({"operations"});
  EXPECT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr(id));
  EXPECT_THAT(list.out, HasSubstr("2/2"));  // the move and its await
  Outcome show = Admin({"operations", "show", id});
  EXPECT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("migrate vm/web-1, succeeded"));
  EXPECT_THAT(show.out, HasSubstr("vm web-1: reported by "));
  Outcome late = Admin({"operations", "cancel", id});
  EXPECT_EQ(late.code, 1);
  EXPECT_THAT(late.err, HasSubstr("nothing to cancel"));
  Outcome watch = Admin({"operations", "--watch"});
  EXPECT_EQ(watch.code, 0) << watch.err;
  EXPECT_THAT(watch.out, HasSubstr("No operation is pending or running"));
  Outcome nowhere = Admin({"vm", "migrate", "web-1", "--to", "r730-9"});
  EXPECT_EQ(nowhere.code, 2);
  Outcome defrag = Admin({"defrag", "--type", "P40-24Q", "--dry-run"});
  EXPECT_EQ(defrag.code, 1) << defrag.out;
  EXPECT_THAT(defrag.out, HasSubstr("cannot run now"));
}

TEST_F(OnlineTest, LicensesShowAndPools) {
  PutHost("r730-1", 1);
  Outcome none = Admin({"licenses"});
  EXPECT_EQ(none.code, 0) << none.err;
  EXPECT_THAT(none.out, HasSubstr("No license pools"));
  Outcome set = Admin({"licenses", "pool", "set", "vws-main", "--edition", "vWS", "--seats", "2"});
  EXPECT_EQ(set.code, 0) << set.err;
  EXPECT_THAT(set.out, HasSubstr("Pool vws-main created: 2 vWS seats"));
  ASSERT_EQ(Admin({"vm", "create", "web-1", "--type", "P40-8Q"}).code, 0);
  Outcome shown = Admin({"licenses"});
  EXPECT_THAT(shown.out, HasSubstr("vws-main"));
  EXPECT_THAT(shown.out, HasSubstr("web-1"));
  EXPECT_THAT(shown.out, HasSubstr("unknown"));
  const std::string viewer = tc_.TokenFor("vera", "viewer");
  EXPECT_EQ(As(viewer, {"licenses"}).code, 0);
  Outcome denied = As(viewer, {"licenses", "pool", "delete", "vws-main"});
  EXPECT_EQ(denied.code, 2);
  EXPECT_THAT(denied.err, HasSubstr("admin"));
  Outcome busy = Admin({"licenses", "pool", "delete", "vws-main"});
  EXPECT_EQ(busy.code, 1);
  EXPECT_THAT(busy.err, HasSubstr("web-1"));
}

TEST_F(OnlineTest, TokensCreateListDelete) {
  Outcome made = Admin({"tokens", "create", "ci", "--role", "viewer"});
  ASSERT_EQ(made.code, 0) << made.err;
  EXPECT_THAT(made.out, HasSubstr("shown this once"));
  EXPECT_THAT(made.out, HasSubstr("gft_"));
  Outcome list = Admin({"tokens", "list"});
  EXPECT_THAT(list.out, HasSubstr("ci"));
  EXPECT_THAT(list.out, HasSubstr("viewer"));
  EXPECT_EQ(Admin({"tokens", "create", "x", "--role", "root"}).code, 2);
  EXPECT_EQ(Admin({"tokens", "delete", "ci"}).code, 0);
  Outcome last = Admin({"tokens", "delete", "admin"});
  EXPECT_EQ(last.code, 1);
  EXPECT_THAT(last.err, HasSubstr("last admin token"));
  Outcome viewer = As(tc_.TokenFor("vera", "viewer"), {"tokens", "list"});
  EXPECT_EQ(viewer.code, 2);
  EXPECT_THAT(viewer.err, HasSubstr("--role admin"));
}

TEST_F(OnlineTest, TokensEnrolIssuesASingleUseAgentToken) {
  Outcome made = Admin({"tokens", "enrol", "r730-9", "--expires-in", "600"});
  ASSERT_EQ(made.code, 0) << made.err;
  EXPECT_THAT(made.out, HasSubstr("gfe_"));
  EXPECT_THAT(made.out, HasSubstr("gpufleetd agent --server"));
  Outcome json = Admin({"tokens", "enrol", "r730-9", "-o", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"host\": \"r730-9\""));
  EXPECT_EQ(Admin({"tokens", "enrol", "r730-9", "--expires-in", "0"}).code, 2);
  Outcome viewer = As(tc_.TokenFor("vera", "viewer"), {"tokens", "enrol", "r730-9"});
  EXPECT_EQ(viewer.code, 2);
  EXPECT_THAT(viewer.err, HasSubstr("--role admin"));
}

TEST_F(OnlineTest, HostDeleteRefusesARunningHostThenRevokesItsAgent) {
  const std::string agent = tc_.AgentFor("r730-1");
  auto put = tc_.Client().Put("/api/v1/hosts/r730-1", Bearer(agent), P40Host(1).dump(),
                              "application/json");
  ASSERT_TRUE(put && put->status == 201);
  const std::string op = tc_.TokenFor("olga", "operator");
  ASSERT_EQ(As(op, {"vm", "create", "web-1", "--type", "P40-8Q"}).code, 0);

  Outcome refused = Admin({"host", "delete", "r730-1"});
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.err, HasSubstr("web-1"));
  EXPECT_EQ(As(op, {"host", "delete", "r730-1"}).code, 2);  // admin only

  Outcome agents = Admin({"tokens", "agents"});
  ASSERT_EQ(agents.code, 0) << agents.err;
  EXPECT_THAT(agents.out, HasSubstr("r730-1"));
  EXPECT_THAT(agents.out, HasSubstr("active"));

  ASSERT_EQ(As(op, {"vm", "delete", "web-1"}).code, 0);
  Outcome deleted = Admin({"host", "delete", "r730-1"});
  ASSERT_EQ(deleted.code, 0) << deleted.err;
  EXPECT_THAT(deleted.out, HasSubstr("gpufleet tokens enrol r730-1"));
  EXPECT_THAT(Admin({"hosts"}).out, Not(HasSubstr("r730-1")));
  EXPECT_THAT(Admin({"tokens", "agents"}).out, Not(HasSubstr("r730-1")));
  EXPECT_EQ(Admin({"host", "delete", "r730-1"}).code, 2);  // 404: gone

  // An agent revoked without deleting its host: listed as revoked, refused at once.
  const std::string agent2 = tc_.AgentFor("r730-2");
  Outcome revoked = Admin({"tokens", "revoke-agent", "r730-2"});
  ASSERT_EQ(revoked.code, 0) << revoked.err;
  EXPECT_THAT(revoked.out, HasSubstr("refused from now on"));
  EXPECT_THAT(Admin({"tokens", "agents", "-o", "json"}).out, HasSubstr("\"revoked\": true"));
  auto after = tc_.Client().Put("/api/v1/hosts/r730-2", Bearer(agent2), P40Host(1).dump(),
                                "application/json");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401);
  EXPECT_EQ(Admin({"tokens", "revoke-agent", "nobody"}).code, 2);  // 404
}

TEST_F(OnlineTest, EventsListAndFollowUntilInterrupted) {
  PutHost("r730-1", 1);
  ASSERT_EQ(Admin({"vm", "create", "web-1", "--type", "P40-8Q"}).code, 0);
  Outcome list = Admin({"events", "--object", "vm/web-1"});
  EXPECT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("vm.placed"));

  // Follow from the current end of the log, so that what the stream shows does not depend on
  // when it attaches.
  auto page = tc_.Client().Get("/api/v1/events?limit=1000", Bearer(tc_.admin_token()));
  ASSERT_TRUE(page);
  const std::string after = controller::testing::JsonOf(page)["next_after"].dump();
  SyncBuf buf;
  std::ostream follow_out(&buf);
  Outcome follow;
  std::thread t([&] {
    follow = Raw({"--server", server_, "--token", tc_.admin_token(), "events", "--follow", "--kind",
                  "vm.placed", "--after", after},
                 &follow_out);
  });
  ASSERT_EQ(Admin({"vm", "create", "web-2", "--type", "P40-8Q"}).code, 0);
  ASSERT_EQ(Admin({"vm", "create", "web-3", "--type", "P40-8Q"}).code, 0);
  EXPECT_TRUE(WaitFor([&] { return buf.str().find("vm/web-3") != std::string::npos; }));
  interrupted_.store(true);
  t.join();
  EXPECT_EQ(follow.code, 0) << follow.err;
  const std::string streamed = buf.str();
  EXPECT_THAT(streamed, HasSubstr("vm.placed  vm/web-2  by admin"));
  EXPECT_THAT(streamed, Not(HasSubstr("vm/web-1")));  // before --after
  EXPECT_THAT(streamed, Not(HasSubstr(tc_.admin_token())));
}

// A fake SSE server that drops the first connection after event 5 and checks that the CLI resumes
// with Last-Event-ID: 5.
TEST_F(OnlineTest, FollowResumesAfterADroppedConnection) {
  httplib::Server fake;
  std::mutex mu;
  std::vector<std::string> resumed_from;
  fake.Get("/api/v1/events/stream", [&](const httplib::Request& req, httplib::Response& res) {
    std::string last = req.get_header_value("Last-Event-ID");
    int n = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      resumed_from.push_back(last);
      n = static_cast<int>(resumed_from.size());
    }
    const std::string seq = n == 1 ? "5" : "6";
    const std::string body =
        StrCat("id: ", seq, "\nevent: vm.placed\ndata: {\"seq\":", seq,
               ",\"time\":\"2026-11-29T00:00:00Z\",\"kind\":\"vm.placed\",\"object\":\"vm/w-", seq,
               "\",\"actor\":\"olga\",\"message\":\"placed\"}\n\n");
    res.set_content(body, "text/event-stream");  // then the connection ends
  });
  const int port = fake.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { fake.listen_after_bind(); });
  const std::string url = StrCat("http://127.0.0.1:", port);
  Outcome follow;
  std::thread t([&] { follow = Raw({"--server", url, "--token", "gft_x", "events", "-f"}); });
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return resumed_from.size() >= 3;
  }));
  interrupted_.store(true);
  t.join();
  fake.stop();
  serving.join();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(resumed_from[0], "");
  EXPECT_EQ(resumed_from[1], "5");
  EXPECT_EQ(resumed_from[2], "6");
  EXPECT_EQ(follow.code, 0) << follow.err;
  EXPECT_THAT(follow.out, HasSubstr("#5  vm.placed  vm/w-5  by olga: placed"));
  EXPECT_THAT(follow.out, HasSubstr("#6  vm.placed  vm/w-6"));
  EXPECT_THAT(follow.err, HasSubstr("reconnecting after event 5"));
}

}  // namespace
}  // namespace gpufleet::cli
