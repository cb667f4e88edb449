#include "store/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/status_macros.h"
#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/schema.h"
#include "store/store_testing.h"

namespace gpufleet::store {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::TestEpoch;
using testing::TestOptions;

Uuid MakeUuid(int n) {
  std::array<uint8_t, 16> b{};
  b[0] = 0xc0;
  b[15] = static_cast<uint8_t>(n);
  return Uuid(b);
}

std::string Hash(char c) { return std::string(64, c); }

// Rows every entity can hang off: host h1 with gpu0, vm web-1, pool vws, operation op-1.
absl::Status CreateParents(WriteTx& tx) {
  Host h{.name = "h1", .hypervisor = "kvm"};
  GPUFLEET_RETURN_IF_ERROR(tx.CreateHost(h));
  Gpu g{.host = "h1", .id = "gpu0", .board = "P40", .mode = "equal-size"};
  GPUFLEET_RETURN_IF_ERROR(tx.CreateGpu(g));
  Vm vm{.name = "web-1", .spec_json = "{}", .phase = "pending"};
  GPUFLEET_RETURN_IF_ERROR(tx.CreateVm(vm));
  LicensePool pool{.name = "vws", .edition = "vWS", .seats = 16};
  GPUFLEET_RETURN_IF_ERROR(tx.CreateLicensePool(pool));
  Operation op{.id = "op-1", .kind = "evacuate", .target = "host/h1", .params_json = "{}"};
  return tx.CreateOperation(op);
}

// One entity's CRUD calls, so one typed test covers them all.
template <typename T>
struct Crud;

template <>
struct Crud<Host> {
  static Host Make() {
    return {.name = "h2",
            .hypervisor = "kvm",
            .agent = "agent-h2",
            .manager_version = "550.54.16",
            .labels = {{"rack", "a1"}, {"zone", "eu \"west\""}},
            .last_heartbeat = TestEpoch() - absl::Seconds(3)};
  }
  static void Mutate(Host& r) {
    r.state = HostState::kMaintenance;
    r.labels.erase("rack");
  }
  static absl::Status Create(WriteTx& tx, Host& r) { return tx.CreateHost(r); }
  static absl::StatusOr<Host> Get(ReadTx& tx, const Host& r) { return tx.GetHost(r.name); }
  static absl::Status Update(WriteTx& tx, Host& r) { return tx.UpdateHost(r); }
  static absl::Status Delete(WriteTx& tx, const Host& r, int64_t v) {
    return tx.DeleteHost(r.name, v);
  }
  static absl::StatusOr<std::size_t> Count(ReadTx& tx) {
    GPUFLEET_ASSIGN_OR_RETURN(auto rows, tx.ListHosts());
    return rows.size();
  }
};

template <>
struct Crud<Gpu> {
  static Gpu Make() {
    return {.host = "h1", .id = "0000:3b:00.0", .board = "P40", .mode = "unconfigured"};
  }
  static void Mutate(Gpu& r) {
    r.mode = "equal-size";
    r.carved_type = "P40-8Q";
    r.ecc = true;
    r.held = true;
  }
  static absl::Status Create(WriteTx& tx, Gpu& r) { return tx.CreateGpu(r); }
  static absl::StatusOr<Gpu> Get(ReadTx& tx, const Gpu& r) { return tx.GetGpu(r.host, r.id); }
  static absl::Status Update(WriteTx& tx, Gpu& r) { return tx.UpdateGpu(r); }
  static absl::Status Delete(WriteTx& tx, const Gpu& r, int64_t v) {
    return tx.DeleteGpu(r.host, r.id, v);
  }
  static absl::StatusOr<std::size_t> Count(ReadTx& tx) {
    GPUFLEET_ASSIGN_OR_RETURN(auto rows, tx.ListGpus("h1"));
    return rows.size();
  }
};

template <>
struct Crud<ObservedInstance> {
  static ObservedInstance Make() {
    return {.uuid = MakeUuid(7),
            .host = "h1",
            .gpu = "gpu0",
            .type = "P40-8Q",
            .observed_at = TestEpoch()};
  }
  static void Mutate(ObservedInstance& r) {
    r.vm = "web-1";
    r.active = true;
  }
  static absl::Status Create(WriteTx& tx, ObservedInstance& r) {
    return tx.CreateObservedInstance(r);
  }
  static absl::StatusOr<ObservedInstance> Get(ReadTx& tx, const ObservedInstance& r) {
    return tx.GetObservedInstance(r.uuid);
  }
  static absl::Status Update(WriteTx& tx, ObservedInstance& r) {
    return tx.UpdateObservedInstance(r);
  }
  static absl::Status Delete(WriteTx& tx, const ObservedInstance& r, int64_t v) {
    return tx.DeleteObservedInstance(r.uuid, v);
  }
  static absl::StatusOr<std::size_t> Count(ReadTx& tx) {
    GPUFLEET_ASSIGN_OR_RETURN(auto rows, tx.ListObservedInstances("h1"));
    return rows.size();
  }
};

template <>
struct Crud<LeftoverInstance> {
  static LeftoverInstance Make() {
    return {.host = "h1", .uuid = MakeUuid(9), .vm = "web-1", .observed_at = TestEpoch()};
  }
  static void Mutate(LeftoverInstance& r) { r.observed_at = TestEpoch() + absl::Seconds(5); }
  static absl::Status Create(WriteTx& tx, LeftoverInstance& r) {
    return tx.CreateLeftoverInstance(r);
  }
  static absl::StatusOr<LeftoverInstance> Get(ReadTx& tx, const LeftoverInstance& r) {
    GPUFLEET_ASSIGN_OR_RETURN(auto rows, tx.ListLeftoverInstances(r.host, r.uuid));
    if (rows.empty()) return absl::NotFoundError("leftover instance not found");
    return rows.front();
  }
  static absl::Status Update(WriteTx& tx, LeftoverInstance& r) {
    return tx.UpdateLeftoverInstance(r);
  }
  static absl::Status Delete(WriteTx& tx, const LeftoverInstance& r, int64_t v) {
    return tx.DeleteLeftoverInstance(r.host, r.uuid, v);
  }
  static absl::StatusOr<std::size_t> Count(ReadTx& tx) {
    GPUFLEET_ASSIGN_OR_RETURN(auto rows, tx.ListLeftoverInstances("h1"));
    return rows.size();
  }
};

template <>
struct Crud<Vm> {
  static Vm Make() {
    return {.name = "db-1", .spec_json = R"({"type":"P40-8Q"})", .phase = "pending"};
  }
  static void Mutate(Vm& r) {
    r.phase = "placed";
    r.license = "vWS";
  }
  static absl::Status Create(WriteTx& tx, Vm& r) { return tx.CreateVm(r); }
  static absl::StatusOr<Vm> Get(ReadTx& tx, const Vm& r) { return tx.GetVm(r.name); }
  static absl::Status Update(WriteTx& tx, Vm& r) { return tx.UpdateVm(r); }
  static absl::Status Delete(WriteTx& tx, const Vm& r, int64_t v) { return tx.DeleteVm(r.name, v); }
  static absl::StatusOr<std::size_t> Count(ReadTx& tx) {
    GPUFLEET_ASSIGN_OR_RETURN(auto rows, tx.ListVms());
    return rows.size();
  }
};

template <>
struct Crud<DesiredInstance> {
  static DesiredInstance Make() {
    return {.uuid = MakeUuid(9),
            .vm = "web-1",
            .index = 0,
            .host = "h1",
            .gpu = "gpu0",
            .type = "P40-8Q"};
  }
  static void Mutate(DesiredInstance& r) {
    r.placement = 8;
    r.migrate_from = "h0";
  }
  static absl::Status Create(WriteTx& tx, DesiredInstance& r) {
    return tx.CreateDesiredInstance(r);
  }
  static absl::StatusOr<DesiredInstance> Get(ReadTx& tx, const DesiredInstance& r) {
    return tx.GetDesiredInstance(r.uuid);
  }
  static absl::Status Update(WriteTx& tx, DesiredInstance& r) {
    return tx.UpdateDesiredInstance(r);
  }
  static absl::Status Delete(WriteTx& tx, const DesiredInstance& r, int64_t v) {
    return tx.DeleteDesiredInstance(r.uuid, v);
  }
  static absl::StatusOr<std::size_t> Count(ReadTx& tx) {
    GPUFLEET_ASSIGN_OR_RETURN(auto rows, tx.ListDesiredInstances({.host = "h1", .gpu = "gpu0"}));
    return rows.size();
  }
};

template <>
struct Crud<Operation> {
  static Operation Make() {
    return {.id = "op-2", .kind = "migrate", .target = "vm/web-1", .params_json = R"({"to":"h2"})"};
  }
  static void Mutate(Operation& r) {
    r.state = OperationState::kFailed;
    r.error = "host h2 is down";
  }
  static absl::Status Create(WriteTx& tx, Operation& r) { return tx.CreateOperation(r); }
  static absl::StatusOr<Operation> Get(ReadTx& tx, const Operation& r) {
    return tx.GetOperation(r.id);
  }
  static absl::Status Update(WriteTx& tx, Operation& r) { return tx.UpdateOperation(r); }
  static absl::Status Delete(WriteTx& tx, const Operation& r, int64_t v) {
    return tx.DeleteOperation(r.id, v);
  }
  static absl::StatusOr<std::size_t> Count(ReadTx& tx) {
    GPUFLEET_ASSIGN_OR_RETURN(auto rows, tx.ListOperations({.kind = "migrate"}));
    return rows.size();
  }
};

template <>
struct Crud<OperationStep> {
  static OperationStep Make() {
    return {.operation = "op-1", .index = 0, .kind = "stop-vm", .detail_json = "{}"};
  }
  static void Mutate(OperationStep& r) {
    r.state = StepState::kDone;
    r.detail_json = R"({"stopped":true})";
  }
  static absl::Status Create(WriteTx& tx, OperationStep& r) { return tx.CreateStep(r); }
  static absl::StatusOr<OperationStep> Get(ReadTx& tx, const OperationStep& r) {
    return tx.GetStep(r.operation, r.index);
  }
  static absl::Status Update(WriteTx& tx, OperationStep& r) { return tx.UpdateStep(r); }
  // Steps go with their operation; there is no DeleteStep. Deleting the operation stands in.
  static absl::Status Delete(WriteTx& tx, const OperationStep&, int64_t) {
    return tx.DeleteOperation("op-1", kAnyVersion);
  }
  static absl::StatusOr<std::size_t> Count(ReadTx& tx) {
    GPUFLEET_ASSIGN_OR_RETURN(auto rows, tx.ListSteps("op-1"));
    return rows.size();
  }
  static constexpr bool kVersionedDelete = false;
};

template <>
struct Crud<LicensePool> {
  static LicensePool Make() { return {.name = "vapps", .edition = "vApps", .seats = 16}; }
  static void Mutate(LicensePool& r) { r.seats = 32; }
  static absl::Status Create(WriteTx& tx, LicensePool& r) { return tx.CreateLicensePool(r); }
  static absl::StatusOr<LicensePool> Get(ReadTx& tx, const LicensePool& r) {
    return tx.GetLicensePool(r.name);
  }
  static absl::Status Update(WriteTx& tx, LicensePool& r) { return tx.UpdateLicensePool(r); }
  static absl::Status Delete(WriteTx& tx, const LicensePool& r, int64_t v) {
    return tx.DeleteLicensePool(r.name, v);
  }
  static absl::StatusOr<std::size_t> Count(ReadTx& tx) {
    GPUFLEET_ASSIGN_OR_RETURN(auto rows, tx.ListLicensePools());
    return rows.size();
  }
};

template <>
struct Crud<LicenseSeat> {
  static LicenseSeat Make() { return {.pool = "vws", .vm = "web-1", .leased_at = TestEpoch()}; }
  static void Mutate(LicenseSeat& r) { r.expires_at = TestEpoch() + absl::Hours(24); }
  static absl::Status Create(WriteTx& tx, LicenseSeat& r) { return tx.CreateLicenseSeat(r); }
  static absl::StatusOr<LicenseSeat> Get(ReadTx& tx, const LicenseSeat& r) {
    return tx.GetLicenseSeat(r.pool, r.vm);
  }
  static absl::Status Update(WriteTx& tx, LicenseSeat& r) { return tx.UpdateLicenseSeat(r); }
  static absl::Status Delete(WriteTx& tx, const LicenseSeat& r, int64_t v) {
    return tx.DeleteLicenseSeat(r.pool, r.vm, v);
  }
  static absl::StatusOr<std::size_t> Count(ReadTx& tx) {
    GPUFLEET_ASSIGN_OR_RETURN(auto rows, tx.ListLicenseSeats("vws"));
    return rows.size();
  }
};

template <>
struct Crud<ApiToken> {
  static ApiToken Make() {
    return {.sha256 = Hash('a'), .name = "ci", .expires_at = TestEpoch() + absl::Hours(48)};
  }
  static void Mutate(ApiToken& r) {
    r.role = Role::kAdmin;
    r.last_used_at = TestEpoch() + absl::Minutes(5);
  }
  static absl::Status Create(WriteTx& tx, ApiToken& r) { return tx.CreateApiToken(r); }
  static absl::StatusOr<ApiToken> Get(ReadTx& tx, const ApiToken& r) {
    return tx.GetApiToken(r.sha256);
  }
  static absl::Status Update(WriteTx& tx, ApiToken& r) { return tx.UpdateApiToken(r); }
  static absl::Status Delete(WriteTx& tx, const ApiToken& r, int64_t v) {
    return tx.DeleteApiToken(r.sha256, v);
  }
  static absl::StatusOr<std::size_t> Count(ReadTx& tx) {
    GPUFLEET_ASSIGN_OR_RETURN(auto rows, tx.ListApiTokens());
    return rows.size();
  }
};

template <>
struct Crud<AgentCredential> {
  static AgentCredential Make() { return {.agent = "agent-h1", .secret_sha256 = Hash('b')}; }
  static void Mutate(AgentCredential& r) {
    r.revoked = true;
    r.last_seen_at = TestEpoch();
  }
  static absl::Status Create(WriteTx& tx, AgentCredential& r) {
    return tx.CreateAgentCredential(r);
  }
  static absl::StatusOr<AgentCredential> Get(ReadTx& tx, const AgentCredential& r) {
    return tx.GetAgentCredential(r.agent);
  }
  static absl::Status Update(WriteTx& tx, AgentCredential& r) {
    return tx.UpdateAgentCredential(r);
  }
  static absl::Status Delete(WriteTx& tx, const AgentCredential& r, int64_t v) {
    return tx.DeleteAgentCredential(r.agent, v);
  }
  static absl::StatusOr<std::size_t> Count(ReadTx& tx) {
    GPUFLEET_ASSIGN_OR_RETURN(auto rows, tx.ListAgentCredentials());
    return rows.size();
  }
};

template <>
struct Crud<EnrolmentToken> {
  static EnrolmentToken Make() {
    return {.sha256 = Hash('c'), .name = "for h3", .expires_at = TestEpoch() + absl::Hours(1)};
  }
  static void Mutate(EnrolmentToken& r) {
    r.used_at = TestEpoch();
    r.used_by = "agent-h3";
  }
  static absl::Status Create(WriteTx& tx, EnrolmentToken& r) { return tx.CreateEnrolmentToken(r); }
  static absl::StatusOr<EnrolmentToken> Get(ReadTx& tx, const EnrolmentToken& r) {
    return tx.GetEnrolmentToken(r.sha256);
  }
  static absl::Status Update(WriteTx& tx, EnrolmentToken& r) { return tx.UpdateEnrolmentToken(r); }
  static absl::Status Delete(WriteTx& tx, const EnrolmentToken& r, int64_t v) {
    return tx.DeleteEnrolmentToken(r.sha256, v);
  }
  static absl::StatusOr<std::size_t> Count(ReadTx& tx) {
    GPUFLEET_ASSIGN_OR_RETURN(auto rows, tx.ListEnrolmentTokens());
    return rows.size();
  }
};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void TearDown() override {
    if (store_ != nullptr) {
      EXPECT_TRUE(store_->CheckIntegrity().ok());
    }
  }
  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<SqliteStore>> s = SqliteStore::Open(dir_.path(), options());
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }
  SqliteStoreOptions options() { return TestOptions(clock_); }

  TempDir dir_;
  os::FakeClock clock_{TestEpoch()};
  std::unique_ptr<SqliteStore> store_;
};

template <typename T>
class CrudTest : public StoreTest {};

using Entities = ::testing::Types<Host, Gpu, ObservedInstance, LeftoverInstance, Vm,
                                  DesiredInstance, Operation, OperationStep, LicensePool,
                                  LicenseSeat, ApiToken, AgentCredential, EnrolmentToken>;
TYPED_TEST_SUITE(CrudTest, Entities);

TYPED_TEST(CrudTest, CreateGetUpdateDelete) {
  using C = Crud<TypeParam>;
  SqliteStore& store = *this->store_;
  ASSERT_TRUE(store.Write(CreateParents).ok());
  std::size_t before = 0;
  ASSERT_TRUE(store
                  .Read([&](ReadTx& tx) -> absl::Status {
                    GPUFLEET_ASSIGN_OR_RETURN(before, C::Count(tx));
                    return absl::OkStatus();
                  })
                  .ok());

  TypeParam row = C::Make();
  ASSERT_TRUE(store.Write([&](WriteTx& tx) { return C::Create(tx, row); }).ok());
  EXPECT_EQ(row.version, 1);
  EXPECT_EQ(row.created_at, TestEpoch());
  EXPECT_EQ(row.updated_at, TestEpoch());

  TypeParam got;
  auto get = [&](ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(got, C::Get(tx, row));
    return absl::OkStatus();
  };
  ASSERT_TRUE(store.Read(get).ok());
  EXPECT_EQ(got, row);
  std::size_t after = 0;
  ASSERT_TRUE(store
                  .Read([&](ReadTx& tx) -> absl::Status {
                    GPUFLEET_ASSIGN_OR_RETURN(after, C::Count(tx));
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(after, before + 1);

  TypeParam again = C::Make();
  absl::Status dup = store.Write([&](WriteTx& tx) { return C::Create(tx, again); });
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists) << dup;
  EXPECT_THAT(std::string(dup.message()), HasSubstr("store: insert "));

  this->clock_.Advance(absl::Minutes(1));
  TypeParam stale = row;
  C::Mutate(row);
  ASSERT_TRUE(store.Write([&](WriteTx& tx) { return C::Update(tx, row); }).ok());
  EXPECT_EQ(row.version, 2);
  EXPECT_EQ(row.created_at, TestEpoch());
  EXPECT_EQ(row.updated_at, TestEpoch() + absl::Minutes(1));
  ASSERT_TRUE(store.Read(get).ok());
  EXPECT_EQ(got, row);

  absl::Status conflict = store.Write([&](WriteTx& tx) { return C::Update(tx, stale); });
  EXPECT_EQ(conflict.code(), absl::StatusCode::kFailedPrecondition) << conflict;
  EXPECT_THAT(std::string(conflict.message()), HasSubstr("version conflict: expected 1, actual 2"));
  EXPECT_EQ(stale.version, 1);  // untouched by the failed update

  if constexpr (!requires { C::kVersionedDelete; }) {
    absl::Status stale_delete = store.Write([&](WriteTx& tx) { return C::Delete(tx, row, 1); });
    EXPECT_EQ(stale_delete.code(), absl::StatusCode::kFailedPrecondition) << stale_delete;
  } else {
    SUCCEED() << "no versioned delete";
  }
  ASSERT_TRUE(store.Write([&](WriteTx& tx) { return C::Delete(tx, row, row.version); }).ok());
  absl::Status missing = store.Read(get);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound) << missing;
  EXPECT_THAT(std::string(missing.message()), HasSubstr("not found"));
  absl::Status update_missing = store.Write([&](WriteTx& tx) { return C::Update(tx, row); });
  EXPECT_EQ(update_missing.code(), absl::StatusCode::kNotFound) << update_missing;
}

TEST_F(StoreTest, OptionsAreChecked) {
  SqliteStoreOptions bad;
  EXPECT_EQ(SqliteStore::Open(dir_.path(), bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad = options();
  bad.max_batch = 0;
  EXPECT_EQ(SqliteStore::Open(dir_.path(), bad).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, ErrorMessagesSayWhatFailedOnWhatAndWhy) {
  Vm vm{.name = "web-1", .spec_json = "{}"};
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.CreateVm(vm); }).ok());
  Vm dup{.name = "web-1", .spec_json = "{}"};
  absl::Status s = store_->Write([&](WriteTx& tx) { return tx.CreateVm(dup); });
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(std::string(s.message()),
            "store: insert vm 'web-1': UNIQUE constraint failed: vms.name");

  ApiToken a{.sha256 = Hash('1'), .name = "ci"};
  ApiToken b{.sha256 = Hash('2'), .name = "ci"};
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.CreateApiToken(a); }).ok());
  s = store_->Write([&](WriteTx& tx) { return tx.CreateApiToken(b); });
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  // Digests are shortened in messages.
  EXPECT_EQ(std::string(s.message()),
            "store: insert api token '222222222222...': UNIQUE constraint failed: "
            "api_tokens.name");

  Gpu orphan{.host = "nowhere", .id = "gpu0"};
  s = store_->Write([&](WriteTx& tx) { return tx.CreateGpu(orphan); });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("store: insert gpu 'nowhere/gpu0': FOREIGN KEY constraint failed"));
}

TEST_F(StoreTest, MalformedRowsAreRejectedNamingTheField) {
  Host empty;
  absl::Status s = store_->Write([&](WriteTx& tx) { return tx.CreateHost(empty); });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "store: host.name: must not be empty");

  Host control{.name = "a\nb"};
  s = store_->Write([&](WriteTx& tx) { return tx.CreateHost(control); });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);

  ApiToken plain{.sha256 = "my-secret-token", .name = "oops"};
  s = store_->Write([&](WriteTx& tx) { return tx.CreateApiToken(plain); });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("api token.sha256: must be a SHA-256 digest"));

  AgentCredential cred{.agent = "a", .secret_sha256 = "x"};
  s = store_->Write([&](WriteTx& tx) { return tx.CreateAgentCredential(cred); });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);

  Vm never{.name = "v"};
  s = store_->Write([&](WriteTx& tx) { return tx.UpdateVm(never); });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);  // version 0 was never handed out
}

TEST_F(StoreTest, FailingFunctionRollsBackItsWrites) {
  absl::Status s = store_->Write([&](WriteTx& tx) -> absl::Status {
    Host h{.name = "h9"};
    GPUFLEET_RETURN_IF_ERROR(tx.CreateHost(h));
    Event e{.kind = "host.added", .object = "host/h9"};
    GPUFLEET_RETURN_IF_ERROR(tx.AppendEvent(e));
    return absl::AbortedError("changed my mind");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(std::string(s.message()), "changed my mind");
  absl::Status get = store_->Read([](ReadTx& tx) { return tx.GetHost("h9").status(); });
  EXPECT_EQ(get.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->LastEventSeq(), 0);
}

TEST_F(StoreTest, ReadsInsideAWriteSeeItsOwnWrites) {
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    Host h{.name = "h1"};
                    GPUFLEET_RETURN_IF_ERROR(tx.CreateHost(h));
                    GPUFLEET_ASSIGN_OR_RETURN(Host got, tx.GetHost("h1"));
                    EXPECT_EQ(got.version, 1);
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_F(StoreTest, NestedWriteIsRefused) {
  absl::Status inner;
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx&) {
                    inner = store_->Write([](WriteTx&) { return absl::OkStatus(); });
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(inner.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, ReadersDoNotWaitForAWriter) {
  ASSERT_TRUE(store_->Write(CreateParents).ok());
  std::promise<void> writer_inside;
  std::promise<void> release_writer;
  std::thread writer([&] {
    absl::Status s = store_->Write([&](WriteTx& tx) -> absl::Status {
      Host h{.name = "h2"};
      GPUFLEET_RETURN_IF_ERROR(tx.CreateHost(h));
      writer_inside.set_value();
      release_writer.get_future().wait();
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
  });
  writer_inside.get_future().wait();
  // The write transaction is open and holds the write lock; a snapshot read still completes, and
  // sees the state before the write.
  std::size_t hosts = 0;
  ASSERT_TRUE(store_
                  ->Read([&](ReadTx& tx) -> absl::Status {
                    GPUFLEET_ASSIGN_OR_RETURN(auto rows, tx.ListHosts());
                    hosts = rows.size();
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(hosts, 1u);
  release_writer.set_value();
  writer.join();
  ASSERT_TRUE(store_->Read([](ReadTx& tx) { return tx.GetHost("h2").status(); }).ok());
}

TEST_F(StoreTest, ReadTransactionsCannotWrite) {
  absl::Status s = store_->Read([](ReadTx& tx) {
    Host h{.name = "h1"};
    return dynamic_cast<WriteTx&>(tx).CreateHost(h);
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
}

// Write-behind of heartbeats and credential use: only later times land, versions stay.
TEST_F(StoreTest, TouchesMoveSoftTimesForwardOnlyAndKeepTheVersion) {
  Host host = Crud<Host>::Make();  // last heartbeat 3 s before the epoch
  ApiToken token = Crud<ApiToken>::Make();
  AgentCredential agent = Crud<AgentCredential>::Make();
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    GPUFLEET_RETURN_IF_ERROR(tx.CreateHost(host));
                    GPUFLEET_RETURN_IF_ERROR(tx.CreateApiToken(token));
                    return tx.CreateAgentCredential(agent);
                  })
                  .ok());
  const absl::Time later = TestEpoch() + absl::Seconds(10);
  const absl::Time earlier = TestEpoch() - absl::Minutes(1);
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    GPUFLEET_RETURN_IF_ERROR(tx.TouchHostHeartbeat(host.name, later));
                    GPUFLEET_RETURN_IF_ERROR(tx.TouchHostHeartbeat(host.name, earlier));
                    GPUFLEET_RETURN_IF_ERROR(tx.TouchApiTokenUse(token.sha256, later));
                    GPUFLEET_RETURN_IF_ERROR(tx.TouchApiTokenUse(token.sha256, earlier));
                    GPUFLEET_RETURN_IF_ERROR(tx.TouchAgentCredentialUse(agent.agent, earlier));
                    // Rows that are gone are skipped.
                    GPUFLEET_RETURN_IF_ERROR(tx.TouchHostHeartbeat("gone", later));
                    GPUFLEET_RETURN_IF_ERROR(tx.TouchApiTokenUse(Hash('z'), later));
                    return tx.TouchAgentCredentialUse("agent-gone", later);
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->Read([&](ReadTx& tx) -> absl::Status {
                    GPUFLEET_ASSIGN_OR_RETURN(Host h, tx.GetHost(host.name));
                    EXPECT_EQ(h.last_heartbeat, later);
                    EXPECT_EQ(h.version, host.version);
                    EXPECT_EQ(h.updated_at, host.updated_at);
                    GPUFLEET_ASSIGN_OR_RETURN(ApiToken t, tx.GetApiToken(token.sha256));
                    EXPECT_EQ(t.last_used_at, later);
                    EXPECT_EQ(t.version, token.version);
                    GPUFLEET_ASSIGN_OR_RETURN(AgentCredential a,
                                              tx.GetAgentCredential(agent.agent));
                    EXPECT_EQ(a.last_seen_at, earlier);  // was unset: any time is later
                    EXPECT_EQ(a.version, agent.version);
                    return absl::OkStatus();
                  })
                  .ok());
  // An If-Match taken before the touches still holds.
  Crud<Host>::Mutate(host);
  EXPECT_TRUE(store_->Write([&](WriteTx& tx) { return tx.UpdateHost(host); }).ok());
  absl::Status s = store_->Read(
      [&](ReadTx& tx) { return dynamic_cast<WriteTx&>(tx).TouchHostHeartbeat(host.name, later); });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
}

// ---- Foreign keys: what cascades and what is refused (entities.h) ----

TEST_F(StoreTest, DeletingAHostCascadesItsInventory) {
  ASSERT_TRUE(store_->Write(CreateParents).ok());
  ObservedInstance seen = Crud<ObservedInstance>::Make();
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.CreateObservedInstance(seen); }).ok());
  LeftoverInstance left = Crud<LeftoverInstance>::Make();
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.CreateLeftoverInstance(left); }).ok());
  ASSERT_TRUE(store_->Write([](WriteTx& tx) { return tx.DeleteHost("h1", kAnyVersion); }).ok());
  ASSERT_TRUE(store_
                  ->Read([&](ReadTx& tx) -> absl::Status {
                    GPUFLEET_ASSIGN_OR_RETURN(auto gpus, tx.ListGpus());
                    GPUFLEET_ASSIGN_OR_RETURN(auto seen_rows, tx.ListObservedInstances());
                    GPUFLEET_ASSIGN_OR_RETURN(auto left_rows, tx.ListLeftoverInstances());
                    EXPECT_TRUE(gpus.empty());
                    EXPECT_TRUE(seen_rows.empty());
                    EXPECT_TRUE(left_rows.empty());
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_F(StoreTest, DeletingAHostOrGpuWithPlacedInstancesFails) {
  ASSERT_TRUE(store_->Write(CreateParents).ok());
  DesiredInstance d = Crud<DesiredInstance>::Make();
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.CreateDesiredInstance(d); }).ok());
  absl::Status s = store_->Write([](WriteTx& tx) { return tx.DeleteHost("h1", kAnyVersion); });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(s.message()),
            "store: delete host 'h1': 1 desired vGPU instance(s) are placed on it (vm 'web-1'); "
            "unplace or evacuate them first");
  s = store_->Write([](WriteTx& tx) { return tx.DeleteGpu("h1", "gpu0", kAnyVersion); });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->Read([](ReadTx& tx) { return tx.GetGpu("h1", "gpu0").status(); }).ok());
}

TEST_F(StoreTest, DeletingAVmCascadesItsInstancesAndSeats) {
  ASSERT_TRUE(store_->Write(CreateParents).ok());
  DesiredInstance d = Crud<DesiredInstance>::Make();
  LicenseSeat seat = Crud<LicenseSeat>::Make();
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    GPUFLEET_RETURN_IF_ERROR(tx.CreateDesiredInstance(d));
                    return tx.CreateLicenseSeat(seat);
                  })
                  .ok());
  // With the seat leased, the pool cannot go.
  absl::Status s = store_->Write([](WriteTx& tx) { return tx.DeleteLicensePool("vws", 1); });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("1 seat(s) are leased from it"));

  ASSERT_TRUE(store_->Write([](WriteTx& tx) { return tx.DeleteVm("web-1", 1); }).ok());
  ASSERT_TRUE(store_
                  ->Read([&](ReadTx& tx) -> absl::Status {
                    GPUFLEET_ASSIGN_OR_RETURN(auto instances, tx.ListDesiredInstances());
                    GPUFLEET_ASSIGN_OR_RETURN(auto seats, tx.ListLicenseSeats());
                    EXPECT_TRUE(instances.empty());
                    EXPECT_TRUE(seats.empty());
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_TRUE(store_->Write([](WriteTx& tx) { return tx.DeleteLicensePool("vws", 1); }).ok());
}

TEST_F(StoreTest, DeletingAnOperationCascadesItsSteps) {
  ASSERT_TRUE(store_->Write(CreateParents).ok());
  ASSERT_TRUE(store_
                  ->Write([](WriteTx& tx) -> absl::Status {
                    for (int i = 0; i < 3; ++i) {
                      OperationStep step{.operation = "op-1", .index = i, .kind = "move"};
                      GPUFLEET_RETURN_IF_ERROR(tx.CreateStep(step));
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  std::vector<OperationStep> steps;
  ASSERT_TRUE(store_
                  ->Read([&](ReadTx& tx) -> absl::Status {
                    GPUFLEET_ASSIGN_OR_RETURN(steps, tx.ListSteps("op-1"));
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[2].index, 2);
  ASSERT_TRUE(store_->Write([](WriteTx& tx) { return tx.DeleteOperation("op-1", 1); }).ok());
  ASSERT_TRUE(store_
                  ->Read([&](ReadTx& tx) -> absl::Status {
                    GPUFLEET_ASSIGN_OR_RETURN(steps, tx.ListSteps("op-1"));
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_TRUE(steps.empty());
}

TEST_F(StoreTest, OperationsFilterByState) {
  ASSERT_TRUE(store_->Write(CreateParents).ok());
  Operation running{.id = "op-2", .kind = "migrate", .state = OperationState::kRunning};
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.CreateOperation(running); }).ok());
  std::vector<Operation> ops;
  ASSERT_TRUE(store_
                  ->Read([&](ReadTx& tx) -> absl::Status {
                    GPUFLEET_ASSIGN_OR_RETURN(
                        ops, tx.ListOperations({.state = OperationState::kRunning}));
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].id, "op-2");
}

// ---- Events ----

TEST_F(StoreTest, EventsResumeFromACursorInSeqOrder) {
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Seconds(1));
    ASSERT_TRUE(store_
                    ->Write([&](WriteTx& tx) {
                      Event e{.kind = i % 2 == 0 ? "vm.placed" : "host.down",
                              .object = StrCat("vm/web-", i % 2),
                              .message = StrCat("event ", i)};
                      return tx.AppendEvent(e);
                    })
                    .ok());
  }
  EXPECT_EQ(store_->LastEventSeq(), 5);
  auto list = [&](EventQuery q) {
    std::vector<Event> out;
    absl::Status s = store_->Read([&](ReadTx& tx) -> absl::Status {
      GPUFLEET_ASSIGN_OR_RETURN(out, tx.ListEvents(q));
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    std::vector<int64_t> seqs;
    for (const Event& e : out) seqs.push_back(e.seq);
    return seqs;
  };
  EXPECT_EQ(list({.after_seq = 0, .limit = 3}), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(list({.after_seq = 3, .limit = 3}), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(list({.after_seq = 5}), (std::vector<int64_t>{}));
  EXPECT_EQ(list({.kind = "host.down"}), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(list({.after_seq = 1, .object = "vm/web-0"}), (std::vector<int64_t>{3, 5}));

  std::vector<Event> first;
  ASSERT_TRUE(store_
                  ->Read([&](ReadTx& tx) -> absl::Status {
                    GPUFLEET_ASSIGN_OR_RETURN(first, tx.ListEvents({.limit = 1}));
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].time, TestEpoch() + absl::Seconds(1));
  EXPECT_EQ(first[0].message, "event 0");

  absl::Status bad = store_->Read([](ReadTx& tx) { return tx.ListEvents({.limit = 0}).status(); });
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);

  // Seq keeps counting after a reopen.
  Reopen();
  EXPECT_EQ(store_->LastEventSeq(), 5);
  Event next{.kind = "vm.placed"};
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.AppendEvent(next); }).ok());
  EXPECT_EQ(next.seq, 6);
}

TEST_F(StoreTest, WaitForEventsWakesOnCommit) {
  EXPECT_EQ(store_->WaitForEvents(0, absl::Milliseconds(1)), 0);  // times out
  std::thread writer([&] {
    Event e{.kind = "vm.placed"};
    EXPECT_TRUE(store_->Write([&](WriteTx& tx) { return tx.AppendEvent(e); }).ok());
  });
  // Long enough never to time out on a loaded machine; returns as soon as the event commits.
  EXPECT_EQ(store_->WaitForEvents(0, absl::Seconds(60)), 1);
  writer.join();
}

// ---- Enrolment tokens ----

TEST_F(StoreTest, EnrolmentTokenIsSingleUseAndExpires) {
  EnrolmentToken t{.sha256 = Hash('e'), .name = "h3", .expires_at = TestEpoch() + absl::Hours(1)};
  EnrolmentToken old{.sha256 = Hash('f'), .name = "h4", .expires_at = TestEpoch()};
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    GPUFLEET_RETURN_IF_ERROR(tx.CreateEnrolmentToken(t));
                    return tx.CreateEnrolmentToken(old);
                  })
                  .ok());
  auto consume = [&](std::string hash, std::string agent) {
    return store_->Write(
        [&](WriteTx& tx) { return ConsumeEnrolmentToken(tx, hash, agent, TestEpoch()).status(); });
  };
  EXPECT_TRUE(consume(Hash('e'), "agent-h3").ok());
  absl::Status again = consume(Hash('e'), "agent-x");
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(again.message()), HasSubstr("already used by 'agent-h3'"));
  absl::Status expired = consume(Hash('f'), "agent-h4");
  EXPECT_EQ(expired.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(expired.message()), HasSubstr("expired at 2026-11-29T00:00:00"));
  EXPECT_EQ(consume(Hash('0'), "a").code(), absl::StatusCode::kNotFound);
}

// ---- Files, schema and migrations ----

TEST_F(StoreTest, FilesArePrivate) {
  ASSERT_TRUE(store_->Write(CreateParents).ok());
  struct stat st {};
  ASSERT_EQ(::stat(dir_.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (std::string suffix : {"", "-wal", "-shm"}) {
    ASSERT_EQ(::stat((store_->path() + suffix).c_str(), &st), 0) << suffix;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << suffix;
  }
}

TEST(StoreFilesTest, CreatesTheDataDirectoryAndNarrowsAnOpenOne) {
  TempDir parent;
  os::FakeClock clock(TestEpoch());
  std::string dir = parent.path() + "/data";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  ASSERT_TRUE(SqliteStore::Open(dir, TestOptions(clock)).ok());
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_TRUE(SqliteStore::Open(parent.path() + "/fresh/", TestOptions(clock)).ok());

  std::ofstream(parent.path() + "/file") << "x";
  absl::Status s = SqliteStore::Open(parent.path() + "/file", TestOptions(clock)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
}

TEST(StoreFilesTest, OpensAnEmptyFileAndMigratesIt) {
  TempDir dir;
  os::FakeClock clock(TestEpoch());
  std::ofstream(dir.path() + "/gpufleet.db").flush();
  auto store = SqliteStore::Open(dir.path(), TestOptions(clock));
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->schema_version(), internal::LatestSchemaVersion());
  EXPECT_TRUE((*store)->CheckIntegrity().ok());
}

TEST(StoreFilesTest, RefusesAFileThatIsNotADatabase) {
  TempDir dir;
  os::FakeClock clock(TestEpoch());
  std::ofstream(dir.path() + "/gpufleet.db") << std::string(8192, 'z');
  absl::Status s = SqliteStore::Open(dir.path(), TestOptions(clock)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("gpufleet.db"));
}

TEST(StoreFilesTest, MigratesStepByStepAndKeepsData) {
  TempDir dir;
  os::FakeClock clock(TestEpoch());
  SqliteStoreOptions options = TestOptions(clock);
  options.schema_version = 1;
  {
    auto store = SqliteStore::Open(dir.path(), options);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ((*store)->schema_version(), 1);
    Host h{.name = "h1"};
    ASSERT_TRUE((*store)->Write([&](WriteTx& tx) { return tx.CreateHost(h); }).ok());
    // Events arrive with schema 2.
    absl::Status s = (*store)->Write([](WriteTx& tx) {
      Event e{.kind = "x"};
      return tx.AppendEvent(e);
    });
    EXPECT_FALSE(s.ok());
  }
  options.schema_version = 0;
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto store = SqliteStore::Open(dir.path(), options);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ((*store)->schema_version(), internal::LatestSchemaVersion());
    EXPECT_TRUE((*store)->Read([](ReadTx& tx) { return tx.GetHost("h1").status(); }).ok());
    EXPECT_TRUE((*store)->CheckIntegrity().ok());
  }
}

TEST(StoreFilesTest, RefusesADatabaseFromANewerSchema) {
  TempDir dir;
  os::FakeClock clock(TestEpoch());
  std::string path;
  {
    auto store = SqliteStore::Open(dir.path(), TestOptions(clock));
    ASSERT_TRUE(store.ok()) << store.status();
    path = (*store)->path();
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  absl::Status s = SqliteStore::Open(dir.path(), TestOptions(clock)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(StrCat("has schema version 99, newer than the latest this build knows (",
                               internal::LatestSchemaVersion(), ")")));
}

TEST(StoreFilesTest, DatabaseIsInWalModeWithForeignKeys) {
  TempDir dir;
  os::FakeClock clock(TestEpoch());
  auto store = SqliteStore::Open(dir.path(), TestOptions(clock));
  ASSERT_TRUE(store.ok()) << store.status();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((*store)->path().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

}  // namespace
}  // namespace gpufleet::store
