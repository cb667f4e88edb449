#include "cli/online_vms.h"

#include "cli/online_common.h"
#include "common/strings.h"

namespace gpufleet::cli {
namespace {

using nlohmann::json;

constexpr int kPageSize = 1000;

void AddVmRows(const json& vm, Table& t) {
  const json& vgpus = vm.value("vgpus", json::array());
  const std::string name = StrOr(vm, "name");
  if (!vgpus.is_array() || vgpus.empty()) {
    t.AddRow({name, "-", "-", "-", "-", StrOr(vm, "phase"), StrOr(vm, "license")});
    return;
  }
  bool first = true;
  for (const json& v : vgpus) {
    t.AddRow({first ? name : "", StrOr(v, "type"), StrOr(v, "host"), StrOr(v, "gpu"),
              StrOr(v, "uuid"), first ? StrOr(vm, "phase") : "",
              first ? StrOr(vm, "license") : ""});
    first = false;
  }
}

Table VmTable() { return Table({"VM", "TYPE", "HOST", "GPU", "MDEV UUID", "PHASE", "LICENSE"}); }

absl::Status CheckName(std::string_view flag, std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError(StrCat(flag, ": required"));
  for (char c : name) {
    if (c <= ' ' || c == 0x7f || c == '/') {
      return absl::InvalidArgumentError(
          StrCat(flag, " ", QuoteForMessage(name), ": no spaces, slashes or control characters"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int> ParseFramebufferGb(std::string_view text) {
  std::string t = AsciiUpper(StripAsciiWhitespace(text));
  int scale_mib = 1024;
  for (std::string_view suffix : {"GIB", "GB", "G"}) {
    if (t.ends_with(suffix)) {
      t.resize(t.size() - suffix.size());
      break;
    }
  }
  for (std::string_view suffix : {"MIB", "MB", "M"}) {
    if (t.ends_with(suffix)) {
      t.resize(t.size() - suffix.size());
      scale_mib = 1;
      break;
    }
  }
  std::optional<int> n = ParseNonNegativeInt(StripAsciiWhitespace(t));
  if (!n || *n == 0) {
    return absl::InvalidArgumentError(StrCat("--min-framebuffer ", QuoteForMessage(text),
                                             ": expected a size like 8G, 16GB or 8192M"));
  }
  if (scale_mib == 1) {
    if (*n % 1024 != 0) {
      return absl::InvalidArgumentError(StrCat("--min-framebuffer ", QuoteForMessage(text),
                                               ": the controller takes whole GB (1024 MB)"));
    }
    return *n / 1024;
  }
  return *n;
}

absl::Status RunVms(Context& ctx, std::ostream& out) {
  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  json items = json::array();
  std::string cursor;
  do {
    std::string path = StrCat("/api/v1/vms?limit=", kPageSize);
    if (!cursor.empty()) path += StrCat("&cursor=", UrlEscape(cursor));
    absl::StatusOr<ApiReply> r = (*client)->Do({.method = "GET", .path = path, .what = "vms"});
    if (!r.ok()) return r.status();
    for (const json& vm : r->body.value("items", json::array())) items.push_back(vm);
    cursor = StrOr(r->body, "next_cursor", "");
  } while (!cursor.empty());
  const json doc = {{"items", items}};
  if (WriteStructured(ctx.format, doc, out)) return absl::OkStatus();
  if (items.empty()) {
    out << "No VMs yet. Create one with 'gpufleet vm create NAME --type P40-8Q'.\n";
    return absl::OkStatus();
  }
  Table t = VmTable();
  for (const json& vm : items) AddVmRows(vm, t);
  t.Print(out);
  return absl::OkStatus();
}

absl::Status RunVmCreate(Context& ctx, const VmCreateOptions& o, std::ostream& out) {
  if (absl::Status s = CheckName("NAME", o.name); !s.ok()) return s;
  if (o.type.has_value() == o.min_framebuffer.has_value()) {
    return absl::InvalidArgumentError(
        "give exactly one of --type (a vGPU type: --type P40-8Q) and --min-framebuffer (a "
        "requirement the controller picks a type for: --min-framebuffer 8G)");
  }
  if (o.type.has_value() && (o.cuda || o.series || !o.boards.empty())) {
    return absl::InvalidArgumentError(
        "--cuda, --series and --board refine --min-framebuffer; with --type the type says it all");
  }
  json body = {{"name", o.name}};
  if (o.type) {
    body["type"] = *o.type;
  } else {
    absl::StatusOr<int> gb = ParseFramebufferGb(*o.min_framebuffer);
    if (!gb.ok()) return gb.status();
    json req = {{"min_framebuffer_gb", *gb}};
    if (o.cuda) req["cuda"] = true;
    if (o.series) req["series"] = AsciiUpper(*o.series);
    if (!o.boards.empty()) req["boards"] = o.boards;
    body["requirement"] = req;
  }
  if (o.vgpus) {
    if (*o.vgpus < 1 || *o.vgpus > 16) {
      return absl::InvalidArgumentError(StrCat("--vgpus ", *o.vgpus, ": expected 1..16"));
    }
    body["vgpus"] = *o.vgpus;
  }
  if (o.anti_affinity) body["anti_affinity"] = *o.anti_affinity;
  if (o.license) body["license"] = *o.license;

  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  absl::StatusOr<ApiReply> r = (*client)->Do({.method = "POST",
                                              .path = "/api/v1/vms",
                                              .body = body,
                                              .what = StrCat("vm create ", o.name),
                                              .needs_role = "operator"});
  if (!r.ok()) return r.status();
  if (WriteStructured(ctx.format, r->body, out)) return absl::OkStatus();
  const json& vgpus = r->body.value("vgpus", json::array());
  out << "Created vm " << StrOr(r->body, "name") << " with " << vgpus.size() << " vGPU"
      << (vgpus.size() == 1 ? "" : "s") << ":\n\n";
  Table t = VmTable();
  AddVmRows(r->body, t);
  t.Print(out);
  out << "\nThe agent on the host creates the mdev devices; 'gpufleet events --object vm/"
      << StrOr(r->body, "name") << "' shows the progress.\n";
  return absl::OkStatus();
}

absl::Status RunVmDelete(Context& ctx, const VmDeleteOptions& o, std::ostream& out) {
  if (absl::Status s = CheckName("NAME", o.name); !s.ok()) return s;
  absl::StatusOr<Client*> client = ClientOf(ctx);
  if (!client.ok()) return client.status();
  const std::string path = StrCat("/api/v1/vms/", UrlEscape(o.name));
  const std::string what = StrCat("vm delete ", o.name);
  std::string etag;
  if (o.if_version) {
    etag = StrCat("\"v", *o.if_version, "\"");
  } else {
    absl::StatusOr<ApiReply> got = (*client)->Do({.method = "GET", .path = path, .what = what});
    if (!got.ok()) return got.status();
    etag = got->etag;
    if (etag.empty()) {
      return absl::InternalError(StrCat(what, ": the controller sent no ETag for the VM"));
    }
  }
  absl::StatusOr<ApiReply> r = (*client)->Do({.method = "DELETE",
                                              .path = path,
                                              .headers = {{"If-Match", etag}},
                                              .what = what,
                                              .needs_role = "operator"});
  if (!r.ok()) return r.status();
  const json doc = {{"deleted", o.name}};
  if (WriteStructured(ctx.format, doc, out)) return absl::OkStatus();
  out << "Deleted vm " << o.name << "; its vGPUs are released.\n";
  return absl::OkStatus();
}

}  // namespace gpufleet::cli
