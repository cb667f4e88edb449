#ifndef GPUFLEET_TESTS_CRASH_WORKLOADS_H_
#define GPUFLEET_TESTS_CRASH_WORKLOADS_H_

// The request kinds of the crash test, by resource family: hosts, VMs, tokens, durable
// operations. Each is a Workload with its rows and its check, listed in crash_harness.cc.

#include <memory>
#include <string>
#include <vector>

#include "core/catalog.h"
#include "harness.h"

namespace gpufleet::crash {

struct HostWorkloadOptions {
  int hosts = 4;
  int initial_gpus = 2;  // Tesla P40s each host registers with in Setup
  int max_gpus = 4;      // host.put grows a host by at most one GPU per request up to this
  int client_threads = 3;
};

// host.put: PUT /api/v1/hosts/{host} (admin) with a generation label and a GPU list that only
// grows. Each host is written by one client thread, so its PUTs are ordered. Checks: the host's
// generation is the last acknowledged one or the one in flight, its GPUs are exactly that
// generation's, and host.registered + host.updated events count the PUTs that were applied.
std::unique_ptr<Workload> NewHostWorkload(HostWorkloadOptions options);

// vm.create: POST /api/v1/vms with a type of `types` and 1 or 2 vGPUs, until the GPUs are full
// (409); vm.delete: GET then DELETE /api/v1/vms/{vm} with the version read as If-Match (a 412
// when an agent's report moved the VM's phase in between leaves it present); vm.delete-stale: with
// a wrong one (412, no effect). Checks: acknowledged VMs exist with their placement, acknowledged
// deletes and refusals are absent, a VM in flight is complete (all its vGPUs and its vm.placed
// event) or absent (no event), no VM unknown to the ledger, and on every GPU one type at most its
// max_instances times (the catalog's), no UUID twice.
std::unique_ptr<Workload> NewVmWorkload(const core::Catalog& catalog,
                                        std::vector<std::string> types);

// token.create: POST /api/v1/tokens with a random role. Checks: acknowledged tokens are listed
// with their role and authenticate (new ones at the next restart, then a rotating sample, all at
// the end), tokens in flight are listed with their token.created event or absent without it.
std::unique_ptr<Workload> NewTokenWorkload();

// op.migrate, op.evacuate, op.exit-maintenance: POST /api/v1/operations on a random VM or host
// (202, or 404/409 when it went away or cannot run now); op.cancel: cancel a random unfinished
// one (202, or 409 once it ended); agent.report: a random host reports its desired instances as
// observed, as its converged agent would (so that the operations' awaits end), and at the end
// every host does while the check waits. Checks over the API: every operation listed was asked for,
// every acknowledged one is still there, unfinished ones resume and end (all within 60 s at the
// end), an ended one has no step running, a failed one its error and one failed step (or only
// failed awaits), no maintenance or hold left done after a failed step or a cancel, cancelled only
// when a cancel was sent; and (every 10th check, and at the end) the moves the operations did equal
// the vm.migrated events.
std::unique_ptr<Workload> NewOperationWorkload();

}  // namespace gpufleet::crash

#endif  // GPUFLEET_TESTS_CRASH_WORKLOADS_H_
