#ifndef GPUFLEET_CLI_ONLINE_APP_H_
#define GPUFLEET_CLI_ONLINE_APP_H_

// CLI11 wiring of the online commands (those that talk to a running controller): the global
// connection flags and hosts, gpus, vms, vm, host, ha, defrag, operations, events, tokens.

#include <functional>
#include <ostream>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "cli/context.h"
#include "cli/online_config.h"
#include "cli/online_events.h"
#include "cli/online_inventory.h"
#include "cli/online_licenses.h"
#include "cli/online_operations.h"
#include "cli/online_plans.h"
#include "cli/online_tokens.h"
#include "cli/online_vms.h"

namespace gpufleet::cli {

// The flag values of every online command; must outlive the parse and the run.
struct OnlineCommands {
  ConnectionFlags connection;
  GpusOptions gpus;
  VmCreateOptions vm_create;
  VmDeleteOptions vm_delete;
  HostMaintenanceOptions maintenance;
  EventsOptions events;
  TokensOptions tokens;
  LicensesOptions licenses;
  // Durable operations: what to start (vm migrate, host maintenance/recarve, ha restart, defrag)
  // and the operations command.
  struct {
    OperationStartOptions start;
    std::string vm, to, host, gpu, mode, type, id;
    int count = 1;
    int stun_budget_seconds = 0;  // 0 = none
    bool wait = false;
    bool exit_maintenance = false;
    OperationsListOptions list;
  } operation;
  bool chosen = false;  // an online command was parsed: its errors use OnlineExitCodeFor
};

// Adds the global flags --server, --token, --token-file, --ca-file, --config and the online
// commands to `app`. The chosen command sets `run` to a function that connects (ResolveConnection
// on ctx.env, Client::Create), sets ctx.client and runs the command.
void AddOnlineCommands(CLI::App& app, OnlineCommands& state,
                       std::function<absl::Status(Context&)>& run, std::ostream& out);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_ONLINE_APP_H_
