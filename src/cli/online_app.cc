#include "cli/online_app.h"

#include <memory>
#include <string>

#include "cli/client.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"

namespace gpufleet::cli {
namespace {

constexpr char kConnectionHelp[] = R"(
Connection: --server URL and --token (or --token-file), else $GPUFLEET_SERVER and
$GPUFLEET_TOKEN, else ~/.config/gpufleet/config.yaml (server, token or token_file, ca_file).
Exit codes: 0 ok, 1 refused by the controller, 2 bad input or token/role, 3 unreachable or
internal. More: docs/cli-online.md.)";

std::string Footer(std::string_view examples) {
  return std::string("\nExamples:\n") + std::string(examples) + "\n" + kConnectionHelp;
}

// Wraps an online command: connects first, so that every command fails the same way when the
// controller is not configured or the URL is wrong.
std::function<absl::Status(Context&)> Online(OnlineCommands& state,
                                             std::function<absl::Status(Context&)> command) {
  state.chosen = true;
  return [&state, command = std::move(command)](Context& ctx) -> absl::Status {
    if (ctx.env == nullptr) return absl::InternalError("no environment in the CLI context");
    absl::StatusOr<ClientOptions> options = ResolveConnection(state.connection, *ctx.env);
    if (!options.ok()) return options.status();
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(*options);
    if (!client.ok()) return client.status();
    ctx.client = client->get();
    absl::Status s = command(ctx);
    ctx.client = nullptr;
    return s;
  };
}

}  // namespace

void AddOnlineCommands(CLI::App& app, OnlineCommands& state,
                       std::function<absl::Status(Context&)>& run, std::ostream& out) {
  ConnectionFlags& c = state.connection;
  const std::string group = "Controller connection (online commands)";
  app.add_option("--server", c.server,
                 "Controller URL, e.g. http://127.0.0.1:8470 (also $GPUFLEET_SERVER)")
      ->type_name("URL")
      ->group(group);
  app.add_option("--token", c.token,
                 "API token (also $GPUFLEET_TOKEN); prefer --token-file, as arguments are "
                 "visible to other users of the machine")
      ->type_name("TOKEN")
      ->group(group);
  app.add_option("--token-file", c.token_file,
                 "File holding the API token (also $GPUFLEET_TOKEN_FILE)")
      ->type_name("PATH")
      ->group(group);
  app.add_option("--ca-file", c.ca_file,
                 "PEM CA certificates to verify an https:// controller (also $GPUFLEET_CA_FILE)")
      ->type_name("PATH")
      ->group(group);
  app.add_option("--config", c.config,
                 "Config file (default ~/.config/gpufleet/config.yaml; also $GPUFLEET_CONFIG)")
      ->type_name("PATH")
      ->group(group);

  CLI::App* hosts =
      app.add_subcommand("hosts", "List the controller's hosts: state, GPUs, manager");
  hosts->footer(
      Footer("  gpufleet --server http://127.0.0.1:8470 --token-file ~/.gpufleet-token hosts\n"
             "  gpufleet hosts -o json"));
  hosts->callback([&] { run = Online(state, [&](Context& ctx) { return RunHosts(ctx, out); }); });

  CLI::App* gpus = app.add_subcommand("gpus", "List the GPUs the controller knows");
  gpus->add_option("--host", state.gpus.host, "Only the GPUs of this host")->type_name("HOST");
  gpus->add_option("--board", state.gpus.board, "Only GPUs of this board (P40, 'Tesla T4', ...)")
      ->type_name("BOARD");
  gpus->footer(
      Footer("  gpufleet gpus\n  gpufleet gpus --host r730-1 -o yaml\n"
             "  gpufleet gpus --board 'Tesla P40'"));
  gpus->callback(
      [&] { run = Online(state, [&](Context& ctx) { return RunGpus(ctx, state.gpus, out); }); });

  CLI::App* vms =
      app.add_subcommand("vms", "List VMs with their vGPUs: type, host, GPU, mdev UUID");
  vms->footer(Footer("  gpufleet vms\n  gpufleet vms -o json | jq '.items[].vgpus[].uuid'"));
  vms->callback([&] { run = Online(state, [&](Context& ctx) { return RunVms(ctx, out); }); });

  CLI::App* vm =
      app.add_subcommand("vm", "Create, delete or migrate a VM's vGPUs on the controller");
  vm->require_subcommand(1);
  VmCreateOptions& vc = state.vm_create;
  CLI::App* create = vm->add_subcommand(
      "create", "Place a VM's vGPUs: the controller picks host and GPU (role operator)");
  create->add_option("name", vc.name, "VM name")->required()->type_name("NAME");
  create->add_option("--type", vc.type, "vGPU type, any spelling (P40-8Q, grid_p40-8q, nvidia-51)")
      ->type_name("TYPE");
  create
      ->add_option("--min-framebuffer", vc.min_framebuffer,
                   "Instead of --type: the smallest framebuffer per vGPU (8G, 16GB, 8192M)")
      ->type_name("SIZE");
  create->add_flag("--cuda", vc.cuda, "With --min-framebuffer: the type must run CUDA");
  create->add_option("--series", vc.series, "With --min-framebuffer: Q, C, B or A")
      ->type_name("Q|C|B|A");
  create
      ->add_option("--board", vc.boards,
                   "With --min-framebuffer: only these boards (repeat for several)")
      ->type_name("BOARD");
  create->add_option("--vgpus", vc.vgpus, "vGPUs for the VM, 1..16 (default 1)")->type_name("N");
  create
      ->add_option("--anti-affinity", vc.anti_affinity,
                   "VMs of one group are kept on different hosts")
      ->type_name("GROUP");
  create->add_option("--license", vc.license, "License edition: vWS, vCS, vPC or vApps")
      ->type_name("EDITION");
  create->footer(Footer(
      "  gpufleet vm create web-1 --type P40-8Q\n"
      "  gpufleet vm create train-1 --min-framebuffer 16G --cuda --series C --vgpus 2\n"
      "  gpufleet vm create db-1 --type A40-8Q --anti-affinity db --license vWS\n\n"
      "When no GPU has room the controller refuses (exit 1) and says which constraint binds;\n"
      "'gpufleet gpus' and 'gpufleet vms' show what is in use."));
  create->callback([&] {
    run = Online(state, [&](Context& ctx) { return RunVmCreate(ctx, state.vm_create, out); });
  });
  CLI::App* del = vm->add_subcommand("delete", "Delete a VM and release its vGPUs (role operator)");
  del->add_option("name", state.vm_delete.name, "VM name")->required()->type_name("NAME");
  del->add_option("--if-version", state.vm_delete.if_version,
                  "Delete only if the VM is still at this version ('version' in 'gpufleet vms -o "
                  "json'); default: the version read just before")
      ->type_name("N");
  del->footer(
      Footer("  gpufleet vm delete web-1\n  gpufleet vm delete web-1 --if-version 3\n\n"
             "Exit code 1 when the VM changed in between (HTTP 412): read it and retry."));
  del->callback([&] {
    run = Online(state, [&](Context& ctx) { return RunVmDelete(ctx, state.vm_delete, out); });
  });

  auto& op = state.operation;
  // The flags every command that starts an operation takes.
  auto start_flags = [&op](CLI::App* cmd) {
    cmd->add_flag("--dry-run", op.start.dry_run, "Only show the plan; change nothing");
    cmd->add_flag("--no-wait", op.start.no_wait,
                  "Print the operation's id and return; follow it with 'gpufleet operations "
                  "show ID --wait'");
  };
  auto start = [&](nlohmann::json request, std::string what) {
    if (op.stun_budget_seconds > 0) request["stun_budget_seconds"] = op.stun_budget_seconds;
    run = Online(state, [&, request, what](Context& ctx) {
      return RunOperationStart(ctx, request, op.start, what, out);
    });
  };
  CLI::App* migrate = vm->add_subcommand(
      "migrate", "Live-migrate a VM's vGPUs to another host, as a durable operation (operator)");
  migrate->add_option("name", op.vm, "VM name")->required()->type_name("NAME");
  migrate->add_option("--to", op.to, "Destination host (default: the planner chooses)")
      ->type_name("HOST");
  migrate
      ->add_option("--stun-budget", op.stun_budget_seconds,
                   "Refuse a move whose estimated stun time exceeds this many seconds")
      ->type_name("SECONDS");
  start_flags(migrate);
  migrate->footer(Footer(
      "  gpufleet vm migrate web-1 --to r730-2 --dry-run\n"
      "  gpufleet vm migrate web-1 --stun-budget 15\n\n"
      "Every destination is checked by the compatibility engine (same type, manager and guest\n"
      "drivers, ECC, hotmigrate). Progress is shown until the operation ends; exit code 1 when\n"
      "it cannot run (dry run), fails or is cancelled. More: docs/operations.md."));
  migrate->callback([&, start] {
    nlohmann::json r = {{"kind", "migrate"}, {"vm", op.vm}};
    if (!op.to.empty()) r["to"] = op.to;
    start(r, StrCat("vm migrate ", op.vm));
  });

  CLI::App* host = app.add_subcommand("host", "Host operations");
  host->require_subcommand(1);
  CLI::App* maint = host->add_subcommand(
      "maintenance", "Empty a host for maintenance: it takes no new VMs and its VMs move away");
  maint->add_option("host", op.host, "Host name")->required()->type_name("HOST");
  maint
      ->add_option("--stun-budget", op.stun_budget_seconds,
                   "Refuse moves whose estimated stun time exceeds this many seconds")
      ->type_name("SECONDS");
  maint->add_flag("--exit", op.exit_maintenance, "Leave maintenance: the host takes new VMs again");
  start_flags(maint);
  maint->footer(Footer(
      "  gpufleet host maintenance r730-1 --dry-run\n"
      "  gpufleet host maintenance r730-1\n\n"
      "The dry run lists each live migration with its estimated stun time and every VM that\n"
      "cannot move, with the reason (exit code 1 then). Without --dry-run a durable evacuate\n"
      "operation runs: the host enters maintenance, then each VM moves; if a VM cannot move the\n"
      "host leaves maintenance again and the command exits 1. --exit puts the host back in\n"
      "service. More: docs/operations.md."));
  maint->callback([&, start] {
    if (op.exit_maintenance) {
      start({{"kind", "exit-maintenance"}, {"host", op.host}},
            StrCat("host maintenance ", op.host, " --exit"));
      return;
    }
    if (op.start.dry_run && op.stun_budget_seconds == 0) {
      state.maintenance.host = op.host;
      state.maintenance.dry_run = true;
      run = Online(state,
                   [&](Context& ctx) { return RunHostMaintenance(ctx, state.maintenance, out); });
      return;
    }
    start({{"kind", "evacuate"}, {"host", op.host}}, StrCat("host maintenance ", op.host));
  });
  CLI::App* instances = host->add_subcommand(
      "instances", "What a host's agent reports: its vGPUs, leftovers, holds, creatable types");
  instances->add_option("host", op.host, "Host name")->required()->type_name("HOST");
  instances->footer(Footer(
      "  gpufleet host instances r730-1\n  gpufleet host instances r730-1 -o json\n\n"
      "Each vGPU the agent reported, 'desired' (wanted there, on that GPU) or 'foreign', in use\n"
      "or idle; the desired ones it has not reported; copies of VMs that moved away that it\n"
      "still holds (a move is done only once they are gone); VMs it must not start yet because\n"
      "another host may still run them; VMs it is to live-migrate; what each GPU's driver can\n"
      "still create; and the problems its agent reported in the last hour. More: docs/agents.md."));
  instances->callback([&] {
    run = Online(state, [&](Context& ctx) { return RunHostInstances(ctx, op.host, out); });
  });
  CLI::App* hdelete = host->add_subcommand(
      "delete", "Remove a host that runs no VM, with its GPUs and its agent's credential (admin)");
  hdelete->add_option("host", op.host, "Host name")->required()->type_name("HOST");
  hdelete->footer(
      Footer("  gpufleet host maintenance r730-3   # move its VMs away first\n"
             "  gpufleet host delete r730-3\n\n"
             "Refused while any VM runs there (the message names them). The agent of the host is\n"
             "revoked with it, so it cannot register the host again; 'gpufleet tokens enrol HOST'\n"
             "brings a host back."));
  hdelete->callback(
      [&] { run = Online(state, [&](Context& ctx) { return RunHostDelete(ctx, op.host, out); }); });
  CLI::App* recarve = host->add_subcommand(
      "recarve", "Change an empty GPU's mode or vGPU type, as a durable operation (operator)");
  recarve->add_option("host", op.host, "Host name")->required()->type_name("HOST");
  recarve->add_option("gpu", op.gpu, "The GPU's PCI address")->required()->type_name("PCI");
  recarve->add_option("--mode", op.mode, "unconfigured, equal-size, mixed-size, mig or passthrough")
      ->required()
      ->type_name("MODE");
  recarve->add_option("--type", op.type, "With --mode equal-size: the vGPU type")
      ->type_name("TYPE");
  start_flags(recarve);
  recarve->footer(Footer(
      "  gpufleet host recarve r730-1 0000:03:00.0 --mode equal-size --type P40-3Q\n"
      "  gpufleet host recarve a100-1 0000:41:00.0 --mode mig\n\n"
      "Refused while any VM's vGPU is on the GPU: migrate them first, or use 'gpufleet defrag'."));
  recarve->callback([&, start] {
    nlohmann::json r = {{"kind", "recarve"}, {"host", op.host}, {"gpu", op.gpu}, {"mode", op.mode}};
    if (!op.type.empty()) r["type"] = op.type;
    start(r, StrCat("host recarve ", op.host, " ", op.gpu));
  });

  CLI::App* defrag = app.add_subcommand(
      "defrag", "Migrate and re-carve to make room for a vGPU type, as a durable operation");
  defrag->add_option("--type", op.type, "The vGPU type to make room for")
      ->required()
      ->type_name("TYPE");
  defrag->add_option("--count", op.count, "Instances of it, 1..64")
      ->type_name("N")
      ->capture_default_str();
  start_flags(defrag);
  defrag->footer(Footer(
      "  gpufleet defrag --type P40-24Q --dry-run\n  gpufleet defrag --type A40-48Q --count 2\n\n"
      "The dry run lists the migrations and re-carvings; exit code 1 when no plan makes room."));
  defrag->callback([&, start] {
    start({{"kind", "defrag"}, {"type", op.type}, {"count", op.count}}, StrCat("defrag ", op.type));
  });

  CLI::App* ha = app.add_subcommand("ha", "High availability checks");
  ha->require_subcommand(1);
  CLI::App* check =
      ha->add_subcommand("check", "N+1: could every host fail and its VMs restart on the others?");
  check->footer(
      Footer("  gpufleet ha check\n  gpufleet ha check -o yaml\n\n"
             "Exit code 1 when N+1 does not hold; the report says which spare instances "
             "are missing."));
  check->callback([&] { run = Online(state, [&](Context& ctx) { return RunHaCheck(ctx, out); }); });
  CLI::App* restart = ha->add_subcommand(
      "restart", "Restart a down host's VMs on other hosts, as a durable operation (operator)");
  restart->add_option("host", op.host, "The down host")->required()->type_name("HOST");
  start_flags(restart);
  restart->footer(
      Footer("  gpufleet ha restart r730-2 --dry-run\n  gpufleet ha restart r730-2\n\n"
             "The controller starts this by itself when a host misses 3 heartbeats. Every VM is\n"
             "tried; exit code 1 names those that could not restart."));
  restart->callback([&, start] {
    start({{"kind", "ha-restart"}, {"host", op.host}}, StrCat("ha restart ", op.host));
  });

  CLI::App* ops =
      app.add_subcommand("operations", "Durable operations: list, follow, show, cancel");
  OperationsListOptions& ol = op.list;
  ops->add_option("--state", ol.state, "pending, running, succeeded, failed or cancelled")
      ->type_name("STATE");
  ops->add_option("--kind", ol.kind, "migrate, evacuate, ha-restart, recarve or defrag")
      ->type_name("KIND");
  ops->add_option("--limit", ol.limit, "At most this many, newest first")
      ->type_name("N")
      ->capture_default_str();
  ops->add_flag("-w,--watch", ol.watch,
                "Then follow every pending or running operation, step by step, until none is left");
  CLI::App* show = ops->add_subcommand("show", "One operation with its steps");
  show->add_option("id", op.id, "Operation id (op-...)")->required()->type_name("ID");
  show->add_flag("--wait", op.wait, "Follow it until it ends; exit code 1 unless it succeeded");
  CLI::App* cancel = ops->add_subcommand(
      "cancel", "Stop an operation before its next step and undo what can be (operator)");
  cancel->add_option("id", op.id, "Operation id (op-...)")->required()->type_name("ID");
  ops->footer(
      Footer("  gpufleet operations\n  gpufleet operations --state running --watch\n"
             "  gpufleet operations show op-20261129-044512-3f9a1c --wait\n"
             "  gpufleet operations cancel op-20261129-044512-3f9a1c"));
  show->callback([&] {
    run = Online(state, [&](Context& ctx) { return RunOperationShow(ctx, op.id, op.wait, out); });
  });
  cancel->callback([&] {
    run = Online(state, [&](Context& ctx) { return RunOperationCancel(ctx, op.id, out); });
  });
  ops->callback([&, ops, show, cancel] {
    if (ops->got_subcommand(show) || ops->got_subcommand(cancel)) return;
    run = Online(state, [&](Context& ctx) { return RunOperationsList(ctx, op.list, out); });
  });

  EventsOptions& ev = state.events;
  CLI::App* events =
      app.add_subcommand("events", "The controller's audit log; --follow streams it");
  events->add_flag("-f,--follow", ev.follow,
                   "Stream new events until Ctrl-C, resuming after a dropped connection");
  events->add_option("--kind", ev.kind, "Only events of this kind (vm.placed, token.created, ...)")
      ->type_name("KIND");
  events->add_option("--object", ev.object, "Only events about this object (vm/web-1, host/r1)")
      ->type_name("OBJECT");
  events->add_option("--after", ev.after, "Only events after this sequence number")
      ->type_name("SEQ");
  events->add_option("--limit", ev.limit, "Without --follow: at most this many events")
      ->type_name("N")
      ->capture_default_str();
  events->footer(
      Footer("  gpufleet events --object vm/web-1\n"
             "  gpufleet events --follow --kind vm.placed\n"
             "  gpufleet events --follow -o json   # one JSON object per line"));
  events->callback([&] {
    run = Online(state, [&](Context& ctx) { return RunEvents(ctx, state.events, out); });
  });

  LicensesOptions& lo = state.licenses;
  CLI::App* licenses = app.add_subcommand(
      "licenses", "License seats per edition, pools, and every guest's lease (expiring first)");
  CLI::App* pool = licenses->add_subcommand("pool", "License pools (role admin)");
  CLI::App* pset = pool->add_subcommand("set", "Create or resize a pool of seats");
  pset->add_option("name", lo.pool, "Pool name")->required()->type_name("NAME");
  pset->add_option("--edition", lo.edition, "vWS, vCS, vPC or vApps")
      ->required()
      ->type_name("EDITION");
  pset->add_option("--seats", lo.seats, "Seats in the pool")->required()->type_name("N");
  CLI::App* pdel = pool->add_subcommand("delete", "Delete a pool no VM holds a seat of");
  pdel->add_option("name", lo.pool, "Pool name")->required()->type_name("NAME");
  pool->require_subcommand(1);
  licenses->footer(Footer(
      "  gpufleet licenses\n"
      "  gpufleet licenses pool set vws-main --edition vWS --seats 16\n"
      "  gpufleet licenses pool delete old-pool\n\n"
      "A placement takes a seat of its edition (vWS for Q, vCS for C, vPC for B, vApps for A\n"
      "profiles) when a pool serves it, and is refused when the edition has none left."));
  pset->callback([&] {
    lo.what = LicensesOptions::What::kPoolSet;
    run = Online(state, [&](Context& ctx) { return RunLicenses(ctx, state.licenses, out); });
  });
  pdel->callback([&] {
    lo.what = LicensesOptions::What::kPoolDelete;
    run = Online(state, [&](Context& ctx) { return RunLicenses(ctx, state.licenses, out); });
  });
  licenses->callback([&, licenses, pool] {
    if (licenses->got_subcommand(pool)) return;
    lo.what = LicensesOptions::What::kShow;
    run = Online(state, [&](Context& ctx) { return RunLicenses(ctx, state.licenses, out); });
  });

  TokensOptions& tk = state.tokens;
  CLI::App* tokens = app.add_subcommand("tokens", "API tokens (role admin)");
  tokens->require_subcommand(1);
  auto tokens_run = [&](TokensOptions::What what) {
    tk.what = what;
    run = Online(state, [&](Context& ctx) { return RunTokens(ctx, state.tokens, out); });
  };
  CLI::App* tcreate = tokens->add_subcommand("create", "Create a token; its secret is shown once");
  tcreate->add_option("name", tk.name, "Token name (who or what uses it)")
      ->required()
      ->type_name("NAME");
  tcreate->add_option("--role", tk.role, "viewer (read), operator (VMs) or admin (tokens, hosts)")
      ->required()
      ->type_name("ROLE");
  tcreate->add_option("--expires-in", tk.expires_in_seconds, "Expire after this many seconds")
      ->type_name("SECONDS");
  tcreate->footer(
      Footer("  gpufleet tokens create ci --role viewer\n"
             "  gpufleet tokens create olga --role operator --expires-in 86400"));
  tcreate->callback([&, tokens_run] { tokens_run(TokensOptions::What::kCreate); });
  CLI::App* tlist = tokens->add_subcommand("list", "List tokens (never their secrets)");
  tlist->footer(Footer("  gpufleet tokens list -o yaml"));
  tlist->callback([&, tokens_run] { tokens_run(TokensOptions::What::kList); });
  CLI::App* tdel = tokens->add_subcommand("delete", "Delete a token");
  tdel->add_option("name", tk.name, "Token name")->required()->type_name("NAME");
  tdel->footer(Footer("  gpufleet tokens delete ci\n\nThe last admin token cannot be deleted."));
  tdel->callback([&, tokens_run] { tokens_run(TokensOptions::What::kDelete); });
  CLI::App* tenrol =
      tokens->add_subcommand("enrol", "Issue a single-use enrolment token for a host's agent");
  tenrol->add_option("host", tk.name, "The host the agent runs on")->required()->type_name("HOST");
  tenrol->add_option("--expires-in", tk.expires_in_seconds, "Expire after this many seconds")
      ->type_name("SECONDS");
  tenrol->footer(
      Footer("  gpufleet tokens enrol r730-1\n"
             "  gpufleet tokens enrol r730-1 --expires-in 600 -o json\n\n"
             "The agent exchanges it once for a credential that may only write its own host."));
  tenrol->callback([&, tokens_run] { tokens_run(TokensOptions::What::kEnrol); });
  CLI::App* tagents = tokens->add_subcommand(
      "agents", "List the agents' credentials: active or revoked, last seen");
  tagents->footer(Footer("  gpufleet tokens agents -o json"));
  tagents->callback([&, tokens_run] { tokens_run(TokensOptions::What::kAgents); });
  CLI::App* trevoke = tokens->add_subcommand(
      "revoke-agent", "Revoke an agent's credential at once (it must enrol again to come back)");
  trevoke->add_option("agent", tk.name, "The agent (its host's name)")
      ->required()
      ->type_name("AGENT");
  trevoke->footer(Footer(
      "  gpufleet tokens revoke-agent r730-2\n\n"
      "For a stolen credential or a retired host. The host stays in the inventory; 'gpufleet\n"
      "host delete HOST' removes a host and revokes its agent in one step."));
  trevoke->callback([&, tokens_run] { tokens_run(TokensOptions::What::kRevokeAgent); });
}

}  // namespace gpufleet::cli
