// The command-line front end: CLI11 wiring, global flags, and the translation of CLI11's
// exceptions and absl::Status into exit codes. Commands themselves live in *_command.cc.

#include "cli/app.h"

#include <memory>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "cli/catalog_command.h"
#include "cli/client.h"
#include "cli/compat_command.h"
#include "cli/context.h"
#include "cli/online_app.h"
#include "cli/plan_command.h"
#include "cli/plan_ops_command.h"
#include "cli/version_command.h"
#include "common/strings.h"

namespace gpufleet::cli {
namespace {

constexpr std::size_t kMaxCatalogFileBytes = 16 << 20;

constexpr char kRootHelp[] = R"(
Examples:
  gpufleet catalog boards
  gpufleet catalog types --board P40 --series Q
  gpufleet compat --board P40 --host-driver 525.105.14 --guest-driver 525.105.17 --cuda 12.1 \
                  --profile P40-3Q --profile P40-8Q
  gpufleet compat migration --src-host-driver 535.161.05 --dst-host-driver 535.183.04 \
                  --src-profile A40-8Q --dst-profile A40-8Q
  gpufleet catalog releases -o json
  gpufleet plan --cluster examples/seed/cluster.yaml --demand examples/seed/demand.yaml

Against a running controller (gpufleetd controller):
  export GPUFLEET_SERVER=http://127.0.0.1:8470 GPUFLEET_TOKEN_FILE=~/.gpufleet-token
  gpufleet hosts
  gpufleet vm create web-1 --type P40-8Q
  gpufleet events --follow

Exit codes: 0 ok, 1 a compatibility rule failed, a VM could not be placed or the controller
refused, 2 bad input (or a rejected token or role), 3 internal error or controller unreachable.
Docs: docs/catalog.md (where the facts come from), docs/cli-online.md, docs/architecture.md.)";

constexpr char kCompatHelp[] = R"(
Give any subset of the flags; each rule whose inputs are all present is checked, a rule with
only some of its inputs is reported as unknown, and nothing is guessed. Every verdict carries its
reason and the sources it rests on (ids from 'gpufleet catalog sources').

Rules: release (driver <-> release), host-guest (manager <-> guest driver), guest-cuda (guest
driver <-> toolkit, incl. minor-version compatibility), cuda-vgpu and release-cuda (toolkit <->
vGPU), board-release (board support added/dropped), profile-board, profile-cuda, profile-license,
profile-mix (can these types share one GPU?), feature-type (gridd.conf), support (end of support
against today's date).

Examples:
  gpufleet compat --board P40 --release 15.2 --host-driver 525.105.14 --guest-driver 525.105.17 \
                  --cuda 12.1 --profile P40-3Q --profile P40-8Q
  gpufleet compat --guest-driver 535.104.06 --cuda 12.4
  gpufleet compat --profile grid_a40-8q --license vPC
  gpufleet compat --profile "num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, max_instance=3" --board P40

Exit code 1 when a rule fails, 0 otherwise (warnings and unknowns included), 2 on bad input.)";

constexpr char kPlanHelp[] = R"(
Reads a cluster file (hosts, GPUs, the vGPU instances on them, VMs, license seats) and a demand
file (VMs to place), carves the GPUs and places the demand, minimising GPUs used, then hosts.
Prints every GPU with its carving and VMs, the VMs that could not be placed and why, the lower
bound of GPUs per board with the plan's gap to it, and the capacity left stranded by carving
(on most boards a GPU holds instances of one vGPU type only). Formats: docs/planning.md.

Examples:
  gpufleet plan --cluster examples/seed/cluster.yaml --demand examples/seed/demand.yaml
  gpufleet plan --cluster cluster.yaml --demand demand.yaml --policy spread -o json
  gpufleet plan --cluster cluster.yaml --from-scratch

Exit code 1 when a VM could not be placed, 0 otherwise, 2 on bad input (the message names the
file, line, column and field).)";

absl::StatusOr<core::Catalog> LoadCatalogFrom(const os::FileSystem& fs, const std::string& path) {
  std::vector<core::CatalogDocument> docs;
  if (fs.IsDirectory(path)) {
    absl::StatusOr<std::vector<std::string>> names = fs.ListDirectory(path);
    if (!names.ok()) return names.status();
    for (const std::string& name : *names) {
      if (!name.ends_with(".json")) continue;
      absl::StatusOr<std::string> text = fs.ReadFile(StrCat(path, "/", name), kMaxCatalogFileBytes);
      if (!text.ok()) return text.status();
      docs.push_back({StrCat(path, "/", name), *std::move(text)});
    }
    if (docs.empty()) {
      return absl::InvalidArgumentError(StrCat("directory ", path, " holds no *.json files"));
    }
  } else {
    absl::StatusOr<std::string> text = fs.ReadFile(path, kMaxCatalogFileBytes);
    if (!text.ok()) return text.status();
    docs.push_back({path, *std::move(text)});
  }
  return core::Catalog::Load(docs);
}

int ExitCodeFor(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kPermissionDenied:
      return kExitBadInput;
    default:
      return kExitInternal;
  }
}

}  // namespace

int RunCli(int argc, const char* const* argv, const Environment& env, std::ostream& out,
           std::ostream& err) {
  CLI::App app{
      "gpufleet: vGPU catalog, compatibility checks and capacity planning for NVIDIA vGPU on KVM "
      "and vSphere, and the client of a gpufleet controller.",
      "gpufleet"};
  app.footer(kRootHelp);
  app.fallthrough();
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::simple);

  std::string output = "table";
  std::optional<std::string> catalog_path, today_text;
  app.add_option("-o,--output", output, "Output format: table, json or yaml")
      ->type_name("FORMAT")
      ->capture_default_str();
  app.add_option("--catalog", catalog_path,
                 "Load the catalog from this JSON file or directory instead of the built-in one "
                 "(also $GPUFLEET_CATALOG)")
      ->type_name("PATH")
      ->envname("GPUFLEET_CATALOG");
  app.add_option("--today", today_text, "Judge support dates as of this day (default: today, UTC)")
      ->type_name("YYYY-MM-DD");

  // A parsed command to run after CLI11 is done, so that errors come back as Status.
  std::function<absl::Status(Context&)> run;

  CatalogOptions cat;
  CLI::App* catalog =
      app.add_subcommand("catalog", "List the vGPU facts gpufleet knows, with sources");
  catalog->require_subcommand(1);
  catalog->footer(
      "\nExamples:\n  gpufleet catalog types --board A100D --mig\n  gpufleet catalog releases "
      "--branch 16\n  gpufleet catalog cuda -o yaml");
  auto add_catalog = [&](const char* name, const char* help, CatalogOptions::What what) {
    CLI::App* sub = catalog->add_subcommand(name, help);
    sub->callback([&, what] {
      cat.what = what;
      run = [&](Context& ctx) { return RunCatalog(ctx, cat, out); };
    });
    return sub;
  };
  add_catalog("boards", "Boards: architecture, GPUs, framebuffer, MIG, supported releases",
              CatalogOptions::What::kBoards)
      ->add_option("--board", cat.board, "Only this board")
      ->type_name("BOARD");
  CLI::App* types = add_catalog("types", "vGPU types: size, max per GPU, mdev id, license",
                                CatalogOptions::What::kTypes);
  types->add_option("--board", cat.board, "Only types of this board (P40, A100D, 'Tesla T4', ...)")
      ->type_name("BOARD");
  types->add_option("--series", cat.series, "Only this series: Q, C, B or A")->type_name("Q|C|B|A");
  types->add_flag("--mig", cat.mig_only, "Only MIG-backed types");
  add_catalog("releases", "vGPU software releases: drivers per release, branches, end of support",
              CatalogOptions::What::kReleases)
      ->add_option("--branch", cat.branch, "Only this branch (15 or 15.x)")
      ->type_name("BRANCH");
  add_catalog("cuda", "CUDA toolkits: minimum drivers, minor-version compatibility, vGPU support",
              CatalogOptions::What::kCuda);
  add_catalog("editions", "License editions: vWS, vCS, vPC, vApps",
              CatalogOptions::What::kEditions);
  add_catalog("sources", "Every source the catalog cites", CatalogOptions::What::kSources);

  CompatOptions compat_opts;
  CLI::App* compat = app.add_subcommand(
      "compat", "Check that manager, guest driver, CUDA, board, profiles and license fit together");
  compat->footer(kCompatHelp);
  compat->add_option("--board", compat_opts.board, "Board (P40, 'Tesla P40', A100D, ...)")
      ->type_name("BOARD");
  compat
      ->add_option("--host-driver", compat_opts.host_driver,
                   "vGPU manager version on the host (525.105.14)")
      ->type_name("VERSION");
  compat
      ->add_option("--guest-driver", compat_opts.guest_driver,
                   "NVIDIA driver version in the guest (525.105.17)")
      ->type_name("VERSION");
  compat
      ->add_option("--guest-os", compat_opts.guest_os,
                   "linux or windows (default: from the guest driver)")
      ->type_name("OS");
  compat
      ->add_option("--cuda", compat_opts.cuda,
                   "CUDA toolkit in the guest (12.1, 12.1.1, '12.1 Update 1')")
      ->type_name("VERSION");
  compat
      ->add_option("--profile", compat_opts.profiles,
                   "vGPU type, any spelling (P40-8Q, grid_p40-8q, 'GRID P40-8Q', nvidia-51, a "
                   "sysfs description); repeat for several")
      ->type_name("TYPE");
  compat
      ->add_option("--release", compat_opts.release, "vGPU software release (15.2) or branch (15)")
      ->type_name("RELEASE");
  compat
      ->add_option("--license", compat_opts.license, "License edition held: vWS, vCS, vPC or vApps")
      ->type_name("EDITION");
  compat
      ->add_option("--feature-type", compat_opts.feature_type,
                   "FeatureType set in the guest's gridd.conf")
      ->type_name("N");
  compat->callback([&] {
    if (compat->get_subcommands().empty())
      run = [&](Context& ctx) { return RunCompat(ctx, compat_opts, out); };
  });

  MigrationOptions mig;
  CLI::App* migration =
      compat->add_subcommand("migration", "Can a vGPU VM live-migrate between two hosts?");
  migration->footer(
      "\nExamples:\n  gpufleet compat migration --src-host-driver 535.161.05 --dst-host-driver "
      "535.161.05 \\\n"
      "      --guest-driver 535.161.07 --src-profile A40-8Q --dst-profile A40-8Q --src-ecc on "
      "--dst-ecc on\n"
      "  gpufleet compat migration --hypervisor vsphere --hotmigrate false\n");
  migration->add_option("--hypervisor", mig.hypervisor, "kvm or vsphere")
      ->capture_default_str()
      ->type_name("KIND");
  migration->add_option("--src-host-driver", mig.src_host_driver, "vGPU manager on the source host")
      ->type_name("VERSION");
  migration
      ->add_option("--dst-host-driver", mig.dst_host_driver, "vGPU manager on the destination host")
      ->type_name("VERSION");
  migration->add_option("--guest-driver", mig.guest_driver, "NVIDIA driver in the VM")
      ->type_name("VERSION");
  migration->add_option("--src-profile", mig.src_profile, "vGPU type of the VM now")
      ->type_name("TYPE");
  migration->add_option("--dst-profile", mig.dst_profile, "vGPU type offered at the destination")
      ->type_name("TYPE");
  migration->add_option("--src-ecc", mig.src_ecc, "ECC on the source GPU: on or off")
      ->type_name("on|off");
  migration->add_option("--dst-ecc", mig.dst_ecc, "ECC on the destination GPU: on or off")
      ->type_name("on|off");
  migration
      ->add_option("--hotmigrate", mig.hotmigrate, "vSphere: vgpu.hotmigrate.enabled (true/false)")
      ->type_name("true|false");
  migration->callback(
      [&] { run = [&](Context& ctx) { return RunCompatMigration(ctx, mig, out); }; });

  PlanCommandOptions plan_opts;
  CLI::App* plan = app.add_subcommand(
      "plan", "Carve GPUs and place a demand of vGPU VMs on a cluster, with lower bounds");
  plan->footer(kPlanHelp);
  plan->add_option("--cluster", plan_opts.cluster, "Cluster file (YAML, see docs/planning.md)")
      ->type_name("FILE");
  plan->add_option("--demand", plan_opts.demand, "Demand file: the VMs to place (YAML)")
      ->type_name("FILE");
  plan->add_option("--policy", plan_opts.policy,
                   "fragmentation (keep whole GPUs free), spread or consolidate")
      ->type_name("POLICY")
      ->capture_default_str();
  plan->add_flag("--from-scratch", plan_opts.from_scratch,
                 "Plan every VM again on empty GPUs, ignoring the current instances and carvings");
  plan->callback([&] {
    if (plan->get_subcommands().empty())
      run = [&](Context& ctx) { return RunPlan(ctx, plan_opts, out); };
  });
  // The operations on an existing cluster; --cluster and --policy are the plan command's own and
  // may be given before or after the subcommand.
  PlanOpsOptions ops;
  auto with_plan_flags = [&](absl::Status (*fn)(Context&, const PlanOpsOptions&, std::ostream&)) {
    run = [&, fn](Context& ctx) {
      ops.cluster = plan_opts.cluster;
      ops.policy = plan_opts.policy;
      return fn(ctx, ops, out);
    };
  };
  CLI::App* evacuate = plan->add_subcommand(
      "evacuate", "Live migrations that empty a host for maintenance, each compatibility-checked");
  evacuate->add_option("--host", ops.host, "The host to empty")->type_name("HOST");
  evacuate
      ->add_option("--stun-budget", ops.stun_budget, "Refuse moves estimated to stun a VM longer")
      ->type_name("SECONDS");
  evacuate->footer(
      "\nExample:\n  gpufleet plan evacuate --cluster examples/seed/running.yaml --host r730-1\n\n"
      "Stun times are interpolated on VMware's published vSphere 7.0 figures (about 2 s for 1 GB "
      "up to 39 s\nfor 32 GB of used framebuffer on 10 GbE), scaled by the hosts' link_gbps; the "
      "whole profile is\nassumed in use. "
      "Exit code 1 when a VM cannot move.");
  evacuate->callback([&] { with_plan_flags(RunEvacuate); });
  CLI::App* ha = plan->add_subcommand(
      "ha", "N+1 check: can every single host fail and its vGPU VMs restart elsewhere?");
  ha->footer(
      "\nExample:\n  gpufleet plan ha --cluster examples/seed/cluster.yaml\n\n"
      "Exit code 1 when some failure leaves VMs without a GPU; the report says how many "
      "instances of\neach type to keep spare, and on which hosts.");
  ha->callback([&] { with_plan_flags(RunHa); });
  CLI::App* defrag = plan->add_subcommand(
      "defrag", "Few migrations and re-carvings (greedy) that make room for N instances of a type");
  defrag->add_option("--type", ops.target, "The vGPU type to make room for (any spelling)")
      ->type_name("TYPE");
  defrag->add_option("--count", ops.count, "How many instances")
      ->type_name("N")
      ->capture_default_str();
  defrag->add_option("--stun-budget", ops.stun_budget, "Refuse moves estimated to stun a VM longer")
      ->type_name("SECONDS");
  defrag->footer(
      "\nExample:\n  gpufleet plan defrag --cluster cluster.yaml --type P40-24Q --count 1\n\n"
      "Exit code 1 when the room cannot be made.");
  defrag->callback([&] { with_plan_flags(RunDefrag); });

  app.add_subcommand("version", "Print gpufleet's version and the catalog it uses")->callback([&] {
    run = [&](Context& ctx) { return RunVersion(ctx, catalog_path.has_value(), out); };
  });

  OnlineCommands online;
  AddOnlineCommands(app, online, run, out);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    err << "gpufleet: error: " << e.what()
        << "\nRun 'gpufleet --help' (or 'gpufleet <command> --help') for usage.\n";
    return kExitBadInput;
  }

  int exit_code_holder = kExitOk;
  absl::Status status = [&]() -> absl::Status {
    Context ctx;
    ctx.fs = env.fs;
    ctx.env = &env;
    ctx.err = &err;
    absl::StatusOr<OutputFormat> format = ParseOutputFormat(output);
    if (!format.ok()) return format.status();
    ctx.format = *format;
    if (today_text) {
      absl::StatusOr<core::CivilDate> d = core::CivilDate::Parse(*today_text);
      if (!d.ok())
        return absl::InvalidArgumentError(StrCat("--today: ", ToStd(d.status().message())));
      ctx.today = *d;
    } else {
      absl::CivilDay day = absl::ToCivilDay(env.clock->Now(), absl::UTCTimeZone());
      ctx.today = {static_cast<int>(day.year()), day.month(), day.day()};
    }
    std::optional<core::Catalog> loaded;
    if (catalog_path) {
      absl::StatusOr<core::Catalog> c = LoadCatalogFrom(*env.fs, *catalog_path);
      if (!c.ok()) {
        return absl::Status(c.status().code(), StrCat("--catalog: ", ToStd(c.status().message())));
      }
      loaded = *std::move(c);
      ctx.catalog = &*loaded;
    } else {
      ctx.catalog = &core::Catalog::Embedded();
    }
    if (!run) return absl::InternalError("no command selected");
    absl::Status s = run(ctx);
    exit_code_holder = ctx.exit_code;
    return s;
  }();
  if (!status.ok()) {
    err << "gpufleet: error: " << status.message() << '\n';
    return online.chosen ? OnlineExitCodeFor(status) : ExitCodeFor(status);
  }
  return exit_code_holder;
}

}  // namespace gpufleet::cli
