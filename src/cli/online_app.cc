#include "cli/online_app.h"

#include <memory>
#include <string>

#include "cli/client.h"

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

  CLI::App* vm = app.add_subcommand("vm", "Create or delete a VM's vGPUs on the controller");
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

  CLI::App* host = app.add_subcommand("host", "Host operations");
  host->require_subcommand(1);
  CLI::App* maint = host->add_subcommand(
      "maintenance", "The live migrations that would empty a host for maintenance (--dry-run)");
  maint->add_option("host", state.maintenance.host, "Host name")->required()->type_name("HOST");
  maint->add_flag("--dry-run", state.maintenance.dry_run,
                  "Only show the plan (required in this release)");
  maint->footer(Footer(
      "  gpufleet host maintenance r730-1 --dry-run\n\n"
      "Exit code 1 when some VM cannot move (the reason is shown). Without --dry-run the command\n"
      "is refused: maintenance operations come with durable operations in a later release."));
  maint->callback([&] {
    run = Online(state,
                 [&](Context& ctx) { return RunHostMaintenance(ctx, state.maintenance, out); });
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
}

}  // namespace gpufleet::cli
