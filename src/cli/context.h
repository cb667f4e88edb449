#ifndef GPUFLEET_CLI_CONTEXT_H_
#define GPUFLEET_CLI_CONTEXT_H_

#include <ostream>

#include "cli/app.h"
#include "cli/output.h"
#include "core/catalog.h"
#include "core/version.h"
#include "os/file_system.h"

namespace gpufleet::cli {

class Client;

// What every command may use. Built by RunCli from the global flags; commands never reach the
// machine except through it.
struct Context {
  const core::Catalog* catalog = nullptr;
  core::CivilDate today;
  OutputFormat format = OutputFormat::kTable;
  // Input files named by a command's flags (plan --cluster) are read through this, with a bound.
  const os::FileSystem* fs = nullptr;
  // A command sets 1 when its answer is "no" (compat found a failing rule); errors use Status.
  int exit_code = 0;
  // Online commands only: the controller, connected from --server/--token, env or config file.
  Client* client = nullptr;
  const Environment* env = nullptr;
  // Notes that are not the command's output (reconnects of events --follow).
  std::ostream* err = nullptr;
};

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_CONTEXT_H_
