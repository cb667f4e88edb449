// Decoding of data/catalog/*.json into the typed model. Strict on purpose: the catalog is the
// source of every verdict gpufleet prints, so a typo in a newer file must stop the load with a
// message naming the file, the JSON path and the reason, never be silently skipped.

#include <set>

#include "common/json.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "core/catalog_data.h"
#include "core/type_name.h"

namespace gpufleet::core::internal {
namespace {

constexpr int kSchemaVersion = 1;
constexpr int kMaxMib = 1 << 22;  // 4 TiB: a bound, not a fact

using nlohmann::json;

// Collects the source ids each row cites so they can be checked once all documents are read.
struct SourceRefs {
  std::string document;  // the document being decoded, so errors can name it
  std::vector<std::pair<std::string, std::string>> refs;  // ("doc: path", id)
  void Add(const std::string& path, const std::vector<std::string>& ids) {
    for (const std::string& id : ids) refs.emplace_back(StrCat(document, ": ", path), id);
  }
};

Provenance ReadProvenance(JsonReader& r, SourceRefs& refs) {
  Provenance p;
  p.sources = r.StringList("source");
  if (r.ok() && p.sources.empty()) r.Fail("source", "every row needs at least one source id");
  refs.Add(r.PathOf("source"), p.sources);
  std::optional<bool> inferred = r.OptBool("inferred");
  p.inferred_fields = r.StringList("inferred_fields");
  if (r.ok() && inferred.value_or(false) != !p.inferred_fields.empty()) {
    r.Fail("inferred", "must be true exactly when inferred_fields lists at least one field");
  }
  p.notes = r.StringList("notes");
  return p;
}

template <typename T, typename Parser>
std::optional<T> ReadParsed(JsonReader& r, std::string_view key, Parser parse, bool required) {
  std::optional<std::string> text = r.OptString(key);
  if (!text) {
    if (required) r.Fail(key, "required field is missing");
    return std::nullopt;
  }
  absl::StatusOr<T> v = parse(*text);
  if (!v.ok()) {
    r.Fail(key, ToStd(v.status().message()));
    return std::nullopt;
  }
  return *std::move(v);
}

std::optional<DriverVersion> ReadDriver(JsonReader& r, std::string_view key, bool required) {
  return ReadParsed<DriverVersion>(r, key, DriverVersion::Parse, required);
}

std::optional<Series> ReadSeries(JsonReader& r, std::string_view key) {
  std::string s = r.String(key);
  if (!r.ok()) return std::nullopt;
  if (s.size() != 1 || !SeriesFromLetter(s[0])) {
    r.Fail(key, StrCat(QuoteForMessage(s), " is not one of Q, C, B, A"));
    return std::nullopt;
  }
  return SeriesFromLetter(s[0]);
}

// Iterates over a JSON array, giving each element its path "key[i]".
template <typename Fn>
void ForEach(JsonReader& parent, const json* array, std::string_view key, Fn fn) {
  if (array == nullptr) return;
  for (std::size_t i = 0; i < array->size() && parent.ok(); ++i) {
    fn((*array)[i], StrCat(parent.PathOf(key), "[", i, "]"));
  }
}

absl::Status DecodeType(const json& j, const std::string& path, const Board& board,
                        SourceRefs& refs, VgpuType& t) {
  JsonReader r(j, path);
  t.name = r.String("name");
  t.board_prefix = board.prefix;
  t.series = ReadSeries(r, "series").value_or(Series::kQ);
  t.framebuffer_mib = r.Int("framebuffer_mib", 1, kMaxMib);
  t.max_instances = r.Int("max_instances", 1, 4096);
  t.mig_backed = r.Bool("mig_backed");
  t.mig_slices = r.OptInt("mig_slices", 1, 8);
  t.mig_profile = r.OptString("mig_profile");
  t.mdev_id = r.OptInt("mdev_id", 0, 1000000);
  t.display_heads = r.OptInt("display_heads", 0, 16);
  t.max_resolution = r.OptString("max_resolution");
  t.frame_rate_limit_fps = r.OptInt("frame_rate_limit_fps", 1, 1000);
  t.cuda = r.Bool("cuda");
  t.provenance = ReadProvenance(r, refs);
  if (!r.ok()) return r.Finish();

  // The name must agree with the row: a mismatch is a transcription error.
  absl::StatusOr<TypeName> parsed = ParseTypeName(t.name);
  if (!parsed.ok()) {
    r.Fail("name", ToStd(parsed.status().message()));
  } else if (!EqualsIgnoreCase(parsed->board_prefix, board.prefix)) {
    r.Fail("name",
           StrCat("prefix ", parsed->board_prefix, " differs from the board's ", board.prefix));
  } else if (parsed->series != t.series) {
    r.Fail("series", StrCat("the name says ", std::string(1, SeriesLetter(parsed->series))));
  } else if (parsed->mig_backed() != t.mig_backed || parsed->gpu_instance_slices != t.mig_slices) {
    r.Fail("mig_slices", "mig_backed / mig_slices disagree with the name");
  } else if (parsed->ToString() != t.name) {
    r.Fail("name", StrCat("not in canonical form; expected ", parsed->ToString()));
  }
  return r.Finish();
}

absl::Status DecodeBoard(const json& j, const std::string& path, SourceRefs& refs, Board& b) {
  JsonReader r(j, path);
  b.name = r.String("name");
  b.prefix = r.String("prefix");
  b.pci_device_ids = r.StringList("pci_device_ids");
  b.architecture = r.String("architecture");
  b.gpus_per_board = r.Int("gpus_per_board", 1, 16);
  b.framebuffer_mib = r.Int("framebuffer_mib", 1, kMaxMib);
  b.mixed_size = r.OptBool("mixed_size");
  b.ecc_default = r.OptBool("ecc_default");
  if (const json* mig = r.Object("mig", false)) {
    JsonReader m(*mig, r.PathOf("mig"));
    MigGeometry g;
    g.compute_slices = m.Int("compute_slices", 1, 16);
    g.memory_slices = m.Int("memory_slices", 1, 16);
    GPUFLEET_RETURN_IF_ERROR(m.Finish());
    b.mig = g;
  }
  if (const json* support = r.Object("vgpu_support")) {
    JsonReader s(*support, r.PathOf("vgpu_support"));
    b.support.first_release =
        ReadParsed<ReleaseVersion>(s, "first_release", ReleaseVersion::Parse, false);
    b.support.last_branch = s.OptInt("last_branch", 1, 999);
    b.support.inferred = s.OptBool("inferred").value_or(false);
    b.support.sources = s.StringList("source");
    if (s.ok() && b.support.sources.empty() && (b.support.first_release || b.support.last_branch)) {
      s.Fail("source", "a support range needs at least one source id");
    }
    refs.Add(s.PathOf("source"), b.support.sources);
    GPUFLEET_RETURN_IF_ERROR(s.Finish());
  }
  b.provenance = ReadProvenance(r, refs);
  const json* types = r.Array("types");
  if (types != nullptr && types->empty()) r.Fail("types", "a board needs at least one type");
  ForEach(r, types, "types", [&](const json& tj, const std::string& tpath) {
    VgpuType t;
    absl::Status s = DecodeType(tj, tpath, b, refs, t);
    if (!s.ok()) {
      r.Propagate(s);
      return;
    }
    b.types.push_back(std::move(t));
  });
  return r.Finish();
}

std::optional<HostGuestAllowance> ParseAllowance(std::string_view s) {
  if (s == "same_release") return HostGuestAllowance::kSameRelease;
  if (s == "same_branch") return HostGuestAllowance::kSameBranch;
  if (s == "previous_branch") return HostGuestAllowance::kPreviousBranch;
  if (s == "previous_lts_branch") return HostGuestAllowance::kPreviousLtsBranch;
  return std::nullopt;
}

absl::Status DecodeVersionRow(const json& j, const std::string& path, const ReleaseBranch& branch,
                              SourceRefs& refs, ReleaseVersionRow& v) {
  JsonReader r(j, path);
  v.version = ReadParsed<ReleaseVersion>(r, "version", ReleaseVersion::Parse, false);
  v.label = r.String("label");
  v.vgpu_manager_kvm = ReadDriver(r, "vgpu_manager_kvm", false);
  v.guest_linux = ReadDriver(r, "guest_linux", false);
  v.guest_windows = ReadDriver(r, "guest_windows", false);
  v.provenance = ReadProvenance(r, refs);
  if (r.ok() && v.version && (v.version->major() != branch.branch || v.version->is_branch_only())) {
    r.Fail("version", StrCat(v.version->ToString(), " is not a release of branch ", branch.branch));
  }
  return r.Finish();
}

absl::Status DecodeBranch(const json& j, const std::string& path, SourceRefs& refs,
                          ReleaseBranch& b) {
  JsonReader r(j, path);
  b.branch = r.Int("branch", 1, 999);
  b.driver_branch = r.String("driver_branch");
  b.lts = r.OptBool("lts");
  b.end_of_support = ReadParsed<YearMonth>(r, "end_of_support", YearMonth::Parse, false);
  b.end_of_support_sources = r.StringList("end_of_support_source");
  refs.Add(r.PathOf("end_of_support_source"), b.end_of_support_sources);
  if (r.ok() && b.end_of_support && b.end_of_support_sources.empty()) {
    r.Fail("end_of_support_source", "an end-of-support date needs a source");
  }
  b.cuda = ReadParsed<CudaVersion>(r, "cuda", CudaVersion::Parse, false);
  if (const json* policy = r.Array("host_guest_policy", false)) {
    std::vector<HostGuestAllowance> allowances;
    for (const json& a : *policy) {
      std::optional<HostGuestAllowance> parsed =
          a.is_string() ? ParseAllowance(a.get<std::string>()) : std::nullopt;
      if (!parsed) {
        r.Fail("host_guest_policy", StrCat(DescribeJson(a),
                                           " is not one of same_release, same_branch, "
                                           "previous_branch, previous_lts_branch"));
        break;
      }
      allowances.push_back(*parsed);
    }
    b.host_guest_policy = std::move(allowances);
  }
  b.host_guest_policy_sources = r.StringList("host_guest_policy_source");
  refs.Add(r.PathOf("host_guest_policy_source"), b.host_guest_policy_sources);
  b.hypervisors = r.StringList("hypervisors");
  b.features = r.StringList("features");
  if (const json* added = r.Object("boards_added", false)) {
    for (const auto& [release, boards] : added->items()) {
      const json holder = json::object({{release, boards}});
      JsonReader wrapper(holder, r.PathOf("boards_added"));
      b.boards_added[release] = wrapper.StringList(release);
      r.Propagate(wrapper.Finish());
    }
  }
  b.licensing = r.OptString("licensing");
  b.provenance = ReadProvenance(r, refs);
  ForEach(r, r.Array("versions"), "versions", [&](const json& vj, const std::string& vpath) {
    ReleaseVersionRow row;
    r.Propagate(DecodeVersionRow(vj, vpath, b, refs, row));
    b.versions.push_back(std::move(row));
  });
  return r.Finish();
}

absl::Status DecodeToolkit(const json& j, const std::string& path, SourceRefs& refs,
                           CudaToolkit& t) {
  JsonReader r(j, path);
  std::optional<CudaVersion> base = ReadParsed<CudaVersion>(r, "cuda", CudaVersion::Parse, true);
  int update = r.Int("update", 0, 99);
  if (base) t.version = CudaVersion(base->major(), base->minor(), update);
  if (r.ok() && base && base->update() != 0)
    r.Fail("cuda", "give major.minor; the update goes in 'update'");
  t.label = r.String("label");
  t.linux_min_driver = ReadDriver(r, "linux_min_driver", false);
  t.windows_min_driver = ReadDriver(r, "windows_min_driver", false);
  t.provenance = ReadProvenance(r, refs);
  return r.Finish();
}

absl::Status DecodeMinorCompat(const json& j, const std::string& path, SourceRefs& refs,
                               MinorVersionCompat& m) {
  JsonReader r(j, path);
  m.major = r.Int("major", 1, 99);
  if (auto d = ReadDriver(r, "min_driver_linux", true)) m.min_driver_linux = *d;
  m.min_driver_windows = ReadDriver(r, "min_driver_windows", false);
  std::optional<std::string> below = r.OptString("below_branch");
  if (below) {
    std::optional<int> n = ParseNonNegativeInt(*below);
    if (!n) r.Fail("below_branch", "expected a driver branch number like \"580\"");
    m.below_branch = n;
  }
  m.provenance = ReadProvenance(r, refs);
  return r.Finish();
}

absl::Status DecodeCudaVgpuSupport(const json& j, const std::string& path, SourceRefs& refs,
                                   CudaVgpuSupport& out) {
  JsonReader r(j, path);
  for (auto [key, list] :
       {std::pair{"supported", &out.supported}, std::pair{"not_supported", &out.not_supported}}) {
    for (const std::string& s : r.StringList(key)) {
      absl::StatusOr<CudaVersion> v = CudaVersion::Parse(s);
      if (!v.ok()) {
        r.Fail(key, ToStd(v.status().message()));
        break;
      }
      list->push_back(*v);
    }
  }
  out.sources = r.StringList("source");
  refs.Add(r.PathOf("source"), out.sources);
  return r.Finish();
}

absl::Status DecodeEdition(const json& j, const std::string& path, SourceRefs& refs, Edition& e) {
  JsonReader r(j, path);
  e.id = r.String("id");
  e.name = r.String("name");
  e.former_names = r.StringList("former_names");
  e.primary_series = ReadSeries(r, "primary_series").value_or(Series::kQ);
  for (const std::string& s : r.StringList("licenses_series")) {
    std::optional<Series> series = s.size() == 1 ? SeriesFromLetter(s[0]) : std::nullopt;
    if (!series) {
      r.Fail("licenses_series", StrCat(QuoteForMessage(s), " is not one of Q, C, B, A"));
      break;
    }
    e.licenses_series.push_back(*series);
  }
  e.gridd_feature_type = r.Int("gridd_feature_type", 0, 255);
  e.cuda = r.Bool("cuda");
  e.max_displays = r.Int("max_displays", 0, 16);
  e.max_resolution = r.String("max_resolution");
  e.frame_rate_limit_fps = r.OptInt("frame_rate_limit_fps", 1, 1000);
  e.provenance = ReadProvenance(r, refs);
  return r.Finish();
}

// One top-level section of one document.
absl::Status DecodeSection(const std::string& doc, const std::string& key, const json& value,
                           SourceRefs& refs, CatalogData& out) {
  // A wrapper reader gives array elements paths like "boards[3]" and type errors for the section.
  json wrapper = json::object({{key, value}});
  JsonReader r(wrapper, "");
  auto each = [&](auto& vec, auto decode) {
    ForEach(r, r.Array(key), key, [&](const json& e, const std::string& path) {
      typename std::remove_reference_t<decltype(vec)>::value_type row;
      r.Propagate(decode(e, path, refs, row));
      vec.push_back(std::move(row));
    });
  };
  if (key == "sources") {
    ForEach(r, r.Array(key), key, [&](const json& e, const std::string& path) {
      JsonReader s(e, path);
      Source src{s.String("id"), s.String("citation")};
      if (s.ok() && (src.id.empty() || src.citation.empty()))
        s.Fail("id", "id and citation must not be empty");
      r.Propagate(s.Finish());
      out.sources.push_back(std::move(src));
    });
  } else if (key == "boards") {
    each(out.boards, DecodeBoard);
  } else if (key == "releases") {
    each(out.releases, DecodeBranch);
  } else if (key == "toolkits") {
    each(out.toolkits, DecodeToolkit);
  } else if (key == "minor_version_compatibility") {
    each(out.minor_version_compatibility, DecodeMinorCompat);
  } else if (key == "vgpu_support") {
    if (const json* o = r.Object(key)) {
      r.Propagate(DecodeCudaVgpuSupport(*o, key, refs, out.cuda_vgpu_support));
    }
  } else if (key == "editions") {
    each(out.editions, DecodeEdition);
  } else if (key == "feature_types") {
    ForEach(r, r.Array(key), key, [&](const json& e, const std::string& path) {
      JsonReader f(e, path);
      FeatureTypeMeaning m{f.Int("value", 0, 255), f.String("meaning")};
      r.Propagate(f.Finish());
      out.feature_types.push_back(std::move(m));
    });
  } else if (key == "unlicensed") {
    if (const json* o = r.Object(key)) {
      JsonReader u(*o, key);
      out.unlicensed.frame_rate_fps = u.Int("frame_rate_fps", 0, 1000);
      out.unlicensed.cuda = u.Bool("cuda");
      out.unlicensed.summary = u.String("summary");
      out.unlicensed.sources = u.StringList("source");
      refs.Add(u.PathOf("source"), out.unlicensed.sources);
      r.Propagate(u.Finish());
    }
  }
  absl::Status s = r.Finish();
  if (!s.ok()) return absl::InvalidArgumentError(StrCat(doc, ": ", s.message()));
  return absl::OkStatus();
}

absl::Status CheckUnique(const std::string& what, const std::vector<std::string>& names) {
  std::set<std::string> seen;
  for (const std::string& n : names) {
    if (!seen.insert(AsciiLower(n)).second) {
      return absl::InvalidArgumentError(StrCat(what, " ", n, " appears twice"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DecodeCatalog(const std::vector<CatalogDocument>& documents, CatalogData& out) {
  static const std::vector<std::string> kSections = {
      "sources",      "boards",   "releases",      "toolkits",  "minor_version_compatibility",
      "vgpu_support", "editions", "feature_types", "unlicensed"};
  std::map<std::string, std::string> section_doc;  // section -> document that defined it
  SourceRefs refs;
  for (const CatalogDocument& doc : documents) {
    GPUFLEET_ASSIGN_OR_RETURN(json j, ParseJson(doc.text, doc.name));
    if (!j.is_object()) {
      return absl::InvalidArgumentError(StrCat(doc.name, ": expected a JSON object"));
    }
    JsonReader top(j, "");
    int version = top.Int("schema_version", 0, 1000);
    if (top.ok() && version != kSchemaVersion) {
      return absl::InvalidArgumentError(StrCat(doc.name, ": schema_version ", version,
                                               " is not supported (this build reads ",
                                               kSchemaVersion, ")"));
    }
    for (const std::string& section : kSections) {
      if (!j.contains(section)) continue;
      top.Ignore(section);
      if (auto [it, inserted] = section_doc.emplace(section, doc.name); !inserted) {
        return absl::InvalidArgumentError(
            StrCat(doc.name, ": section '", section, "' is already defined in ", it->second));
      }
      refs.document = doc.name;
      GPUFLEET_RETURN_IF_ERROR(DecodeSection(doc.name, section, j[section], refs, out));
    }
    if (absl::Status s = top.Finish(); !s.ok()) {
      return absl::InvalidArgumentError(StrCat(doc.name, ": ", s.message()));
    }
  }
  for (const std::string& section : kSections) {
    if (!section_doc.contains(section)) {
      return absl::InvalidArgumentError(
          StrCat("catalog: no document defines the section '", section, "'"));
    }
  }
  std::set<std::string, std::less<>> ids;
  for (const Source& s : out.sources) {
    if (!ids.insert(s.id).second) {
      return absl::InvalidArgumentError(
          StrCat(section_doc["sources"], ": source id ", s.id, " appears twice"));
    }
  }
  for (const auto& [path, id] : refs.refs) {
    if (!ids.contains(id)) {
      return absl::InvalidArgumentError(StrCat(path, ": unknown source id ", QuoteForMessage(id),
                                               " (ids are defined in the 'sources' section)"));
    }
  }
  std::vector<std::string> board_names, prefixes, type_names, editions;
  for (const Board& b : out.boards) {
    board_names.push_back(b.name);
    prefixes.push_back(b.prefix);
    for (const VgpuType& t : b.types) type_names.push_back(t.name);
  }
  for (const Edition& e : out.editions) editions.push_back(e.id);
  const std::string& boards_doc = section_doc["boards"];
  GPUFLEET_RETURN_IF_ERROR(CheckUnique(StrCat(boards_doc, ": board"), board_names));
  GPUFLEET_RETURN_IF_ERROR(CheckUnique(StrCat(boards_doc, ": board prefix"), prefixes));
  GPUFLEET_RETURN_IF_ERROR(CheckUnique(StrCat(boards_doc, ": vGPU type"), type_names));
  GPUFLEET_RETURN_IF_ERROR(CheckUnique(StrCat(section_doc["editions"], ": edition"), editions));
  return absl::OkStatus();
}

}  // namespace gpufleet::core::internal
