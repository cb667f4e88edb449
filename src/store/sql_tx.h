#ifndef GPUFLEET_STORE_SQL_TX_H_
#define GPUFLEET_STORE_SQL_TX_H_

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "os/clock.h"
#include "store/sql.h"
#include "store/store.h"

namespace gpufleet::store::internal {

// ReadTx/WriteTx over any SqlConn, in portable SQL. The caller owns the transaction around it
// (Begin/Commit, savepoints); SqlTx only runs statements. A read-only SqlTx (writable = false)
// refuses every write with FailedPrecondition. Not thread-safe; `conn` and `clock` must outlive it.
class SqlTx final : public WriteTx {
 public:
  SqlTx(SqlConn& conn, const os::Clock& clock, bool writable)
      : conn_(conn), clock_(clock), writable_(writable) {}

  // The largest event seq appended through this object; 0 when none.
  [[nodiscard]] int64_t last_event_seq() const { return last_event_seq_; }

  absl::StatusOr<Host> GetHost(std::string_view name) override;
  absl::StatusOr<std::vector<Host>> ListHosts() override;
  absl::StatusOr<Gpu> GetGpu(std::string_view host, std::string_view id) override;
  absl::StatusOr<std::vector<Gpu>> ListGpus(std::string_view host) override;
  absl::StatusOr<ObservedInstance> GetObservedInstance(const Uuid& uuid) override;
  absl::StatusOr<std::vector<LeftoverInstance>> ListLeftoverInstances(
      std::string_view host, std::optional<Uuid> uuid) override;
  absl::StatusOr<std::vector<ObservedInstance>> ListObservedInstances(
      std::string_view host) override;
  absl::StatusOr<Vm> GetVm(std::string_view name) override;
  absl::StatusOr<std::vector<Vm>> ListVms() override;
  absl::StatusOr<DesiredInstance> GetDesiredInstance(const Uuid& uuid) override;
  absl::StatusOr<std::vector<DesiredInstance>> ListDesiredInstances(
      const InstanceFilter& filter) override;
  absl::StatusOr<Operation> GetOperation(std::string_view id) override;
  absl::StatusOr<std::vector<Operation>> ListOperations(const OperationFilter& filter) override;
  absl::StatusOr<OperationStep> GetStep(std::string_view operation, int index) override;
  absl::StatusOr<std::vector<OperationStep>> ListSteps(std::string_view operation) override;
  absl::StatusOr<std::vector<Event>> ListEvents(const EventQuery& query) override;
  absl::StatusOr<LicensePool> GetLicensePool(std::string_view name) override;
  absl::StatusOr<std::vector<LicensePool>> ListLicensePools() override;
  absl::StatusOr<LicenseSeat> GetLicenseSeat(std::string_view pool, std::string_view vm) override;
  absl::StatusOr<std::vector<LicenseSeat>> ListLicenseSeats(std::string_view pool) override;
  absl::StatusOr<ApiToken> GetApiToken(std::string_view sha256) override;
  absl::StatusOr<std::vector<ApiToken>> ListApiTokens() override;
  absl::StatusOr<AgentCredential> GetAgentCredential(std::string_view agent) override;
  absl::StatusOr<std::vector<AgentCredential>> ListAgentCredentials() override;
  absl::StatusOr<EnrolmentToken> GetEnrolmentToken(std::string_view sha256) override;
  absl::StatusOr<std::vector<EnrolmentToken>> ListEnrolmentTokens() override;

  absl::Status CreateHost(Host& row) override;
  absl::Status UpdateHost(Host& row) override;
  absl::Status DeleteHost(std::string_view name, int64_t expected_version) override;
  absl::Status CreateGpu(Gpu& row) override;
  absl::Status UpdateGpu(Gpu& row) override;
  absl::Status DeleteGpu(std::string_view host, std::string_view id,
                         int64_t expected_version) override;
  absl::Status CreateObservedInstance(ObservedInstance& row) override;
  absl::Status UpdateObservedInstance(ObservedInstance& row) override;
  absl::Status DeleteObservedInstance(const Uuid& uuid, int64_t expected_version) override;
  absl::Status CreateLeftoverInstance(LeftoverInstance& row) override;
  absl::Status UpdateLeftoverInstance(LeftoverInstance& row) override;
  absl::Status DeleteLeftoverInstance(std::string_view host, const Uuid& uuid,
                                      int64_t expected_version) override;
  absl::Status CreateVm(Vm& row) override;
  absl::Status UpdateVm(Vm& row) override;
  absl::Status DeleteVm(std::string_view name, int64_t expected_version) override;
  absl::Status CreateDesiredInstance(DesiredInstance& row) override;
  absl::Status UpdateDesiredInstance(DesiredInstance& row) override;
  absl::Status DeleteDesiredInstance(const Uuid& uuid, int64_t expected_version) override;
  absl::Status CreateOperation(Operation& row) override;
  absl::Status UpdateOperation(Operation& row) override;
  absl::Status DeleteOperation(std::string_view id, int64_t expected_version) override;
  absl::Status CreateStep(OperationStep& row) override;
  absl::Status UpdateStep(OperationStep& row) override;
  absl::Status AppendEvent(Event& event) override;
  absl::Status TouchHostHeartbeat(std::string_view host, absl::Time at) override;
  absl::Status TouchApiTokenUse(std::string_view sha256, absl::Time at) override;
  absl::Status TouchAgentCredentialUse(std::string_view agent, absl::Time at) override;
  absl::Status CreateLicensePool(LicensePool& row) override;
  absl::Status UpdateLicensePool(LicensePool& row) override;
  absl::Status DeleteLicensePool(std::string_view name, int64_t expected_version) override;
  absl::Status CreateLicenseSeat(LicenseSeat& row) override;
  absl::Status UpdateLicenseSeat(LicenseSeat& row) override;
  absl::Status DeleteLicenseSeat(std::string_view pool, std::string_view vm,
                                 int64_t expected_version) override;
  absl::Status CreateApiToken(ApiToken& row) override;
  absl::Status UpdateApiToken(ApiToken& row) override;
  absl::Status DeleteApiToken(std::string_view sha256, int64_t expected_version) override;
  absl::Status CreateAgentCredential(AgentCredential& row) override;
  absl::Status UpdateAgentCredential(AgentCredential& row) override;
  absl::Status DeleteAgentCredential(std::string_view agent, int64_t expected_version) override;
  absl::Status CreateEnrolmentToken(EnrolmentToken& row) override;
  absl::Status UpdateEnrolmentToken(EnrolmentToken& row) override;
  absl::Status DeleteEnrolmentToken(std::string_view sha256, int64_t expected_version) override;

 private:
  using Where = std::vector<std::pair<std::string_view, SqlValue>>;

  template <typename T>
  absl::StatusOr<T> GetRow(std::vector<SqlValue> key);
  template <typename T>
  absl::StatusOr<std::vector<T>> ListRows(const Where& where);
  template <typename T>
  absl::Status CreateRow(T& row);
  template <typename T>
  absl::Status UpdateRow(T& row);
  template <typename T>
  absl::Status DeleteRow(std::vector<SqlValue> key, int64_t expected_version);
  // Fails with a message naming the desired instances when any match `where` (clearer than the
  // foreign-key error that would follow).
  absl::Status CheckNoInstances(const Where& where, std::string_view what);
  absl::Status CheckWritable(std::string_view what) const;
  // UPDATE `table` SET `column` = at WHERE `key` = value, when at is later than the stored time.
  absl::Status TouchTime(std::string_view table, std::string_view column, std::string_view key,
                         std::string_view value, absl::Time at);

  SqlConn& conn_;
  const os::Clock& clock_;
  bool writable_;
  int64_t last_event_seq_ = 0;
};

}  // namespace gpufleet::store::internal

#endif  // GPUFLEET_STORE_SQL_TX_H_
