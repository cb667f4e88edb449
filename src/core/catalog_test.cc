#include "core/catalog.h"

#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::core {
namespace {

using ::testing::HasSubstr;

// A small but complete catalog; tests patch one piece at a time to see each error.
std::vector<CatalogDocument> MiniCatalog(std::string board_json = "") {
  if (board_json.empty()) {
    board_json = R"({"name":"Tesla P40","prefix":"P40","pci_device_ids":["0x1b38"],
      "architecture":"Pascal","gpus_per_board":1,"framebuffer_mib":24576,"mixed_size":null,
      "mig":null,"ecc_default":null,
      "vgpu_support":{"first_release":null,"last_branch":16,"source":["S"]},
      "notes":[],"source":["S"],
      "types":[{"name":"P40-8Q","series":"Q","framebuffer_mib":8192,"max_instances":3,
        "mig_backed":false,"mig_slices":null,"mig_profile":null,"mdev_id":51,"display_heads":4,
        "max_resolution":"7680x4320","frame_rate_limit_fps":60,"cuda":true,"notes":[],
        "source":["S"]}]})";
  }
  return {
      {"a.json", R"({"schema_version":1,"sources":[{"id":"S","citation":"a test"}],
        "releases":[{"branch":15,"driver_branch":"R525","lts":null,"end_of_support":null,
          "end_of_support_source":[],"cuda":"12.0","host_guest_policy":["same_release"],
          "host_guest_policy_source":["S"],"hypervisors":[],"features":[],"boards_added":{},
          "licensing":null,"notes":[],"source":["S"],
          "versions":[{"version":"15.2","label":"15.2","vgpu_manager_kvm":"525.105.14",
            "guest_linux":"525.105.17","guest_windows":"528.89","notes":[],"source":["S"]}]}],
        "toolkits":[{"cuda":"12.1","update":0,"label":"12.1 GA","linux_min_driver":"530.30.02",
          "windows_min_driver":"531.14","notes":[],"source":["S"]}],
        "minor_version_compatibility":[{"major":12,"min_driver_linux":"525",
          "min_driver_windows":null,"below_branch":"580","notes":[],"source":["S"]}],
        "vgpu_support":{"supported":["12.1"],"not_supported":["12.3"],"source":["S"]},
        "editions":[{"id":"vWS","name":"W","former_names":[],"primary_series":"Q",
          "licenses_series":["Q"],"gridd_feature_type":2,"cuda":true,"max_displays":4,
          "max_resolution":"7680x4320","frame_rate_limit_fps":null,"notes":[],"source":["S"]}],
        "feature_types":[{"value":1,"meaning":"vGPU"}],
        "unlicensed":{"frame_rate_fps":3,"cuda":false,"summary":"slow","source":["S"]}})"},
      {"b.json", StrCat(R"({"schema_version":1,"boards":[)", board_json, "]}")},
  };
}

std::string Replace(std::string s, std::string_view from, std::string_view to) {
  std::size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  if (p != std::string::npos) s.replace(p, from.size(), to);
  return s;
}

TEST(CatalogTest, LoadsAMinimalCatalogAndResolvesSpellings) {
  auto c = Catalog::Load(MiniCatalog());
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_NE(c->FindBoard("tesla p40"), nullptr);
  EXPECT_EQ(c->FindBoard("P40"), c->FindBoard("Tesla P40"));
  EXPECT_EQ((*c->ResolveType("grid_p40-8q"))->name, "P40-8Q");
  EXPECT_EQ((*c->ResolveType("nvidia-51"))->name, "P40-8Q");
  EXPECT_EQ((*c->ResolveType("num_heads=4, frl_config=60, framebuffer=8192M, "
                             "max_resolution=7680x4320, max_instance=3"))
                ->name,
            "P40-8Q");
  EXPECT_EQ(c->FindByHostDriver(*DriverVersion::Parse("525.105.14")).row->label, "15.2");
  bool windows = false;
  EXPECT_NE(c->FindByGuestDriver(*DriverVersion::Parse("528.89"), &windows).row, nullptr);
  EXPECT_TRUE(windows);
  // A build the catalog does not list still resolves to its branch by number.
  DriverMatch m = c->FindByHostDriver(*DriverVersion::Parse("525.999.1"));
  EXPECT_NE(m.branch, nullptr);
  EXPECT_EQ(m.row, nullptr);
}

TEST(CatalogTest, UnknownNamesGetSuggestions) {
  auto c = *Catalog::Load(MiniCatalog());
  auto t = c.ResolveType("P40-9Q");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(t.status().message(), HasSubstr("P40 has no 9 GB Q-series type; nearest: P40-8Q"));
  EXPECT_THAT(c.ResolveType("P40-8C").status().message(), HasSubstr("P40 has no C-series types"));
  EXPECT_THAT(c.ResolveType("P41-8Q").status().message(), HasSubstr("did you mean P40-8Q?"));
  auto bad = c.ResolveType("P40_8Q");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("did you mean P40-8Q?"));
  EXPECT_THAT(c.ResolveBoard("P4O").status().message(), HasSubstr("did you mean P40?"));
  EXPECT_THAT(c.ResolveType("nvidia-9999").status().message(), HasSubstr("not in the catalog"));
  EXPECT_THAT(c.ResolveType("framebuffer=1024M, max_instance=24").status().message(),
              HasSubstr("no vGPU type matches"));
}

TEST(CatalogTest, ErrorsNameDocumentPathAndReason) {
  struct Case {
    std::string from, to, want;
  } cases[] = {
      {R"("max_instances":3)", R"("max_instances":"3")",
       "b.json: boards[0].types[0].max_instances: expected an integer"},
      {R"("series":"Q")", R"("series":"X")",
       "boards[0].types[0].series: 'X' is not one of Q, C, B, A"},
      {R"("series":"Q")", R"("series":"C")", "types[0].series: the name says Q"},
      {R"("name":"P40-8Q")", R"("name":"A40-8Q")", "prefix A40 differs from the board's P40"},
      {R"("cuda":true,"notes")", R"("cuda":true,"colour":1,"notes")",
       "types[0].colour: unknown field"},
      {R"("source":["S"]}]})", R"("source":["T"]}]})",
       "b.json: boards[0].types[0].source: unknown source id 'T'"},
      {R"("source":["S"]}]})", R"("source":[]}]})", "every row needs at least one source id"},
      {R"("mdev_id":51)", R"("mdev_id":-1)", "mdev_id: expected an integer in 0..1000000"},
  };
  for (const Case& c : cases) {
    std::vector<CatalogDocument> docs = MiniCatalog();
    docs[1].text = Replace(docs[1].text, c.from, c.to);
    auto loaded = Catalog::Load(docs);
    ASSERT_FALSE(loaded.ok()) << c.to;
    EXPECT_THAT(loaded.status().message(), HasSubstr(c.want)) << c.to;
  }
}

TEST(CatalogTest, StructuralErrors) {
  auto docs = MiniCatalog();
  docs[0].text = Replace(docs[0].text, R"("schema_version":1)", R"("schema_version":2)");
  EXPECT_THAT(Catalog::Load(docs).status().message(),
              HasSubstr("schema_version 2 is not supported"));

  docs = MiniCatalog();
  docs.push_back(docs[1]);
  docs.back().name = "c.json";
  EXPECT_THAT(Catalog::Load(docs).status().message(),
              HasSubstr("c.json: section 'boards' is already defined in b.json"));

  docs = MiniCatalog();
  docs.pop_back();
  EXPECT_THAT(Catalog::Load(docs).status().message(),
              HasSubstr("no document defines the section 'boards'"));

  docs = MiniCatalog();
  docs[1].text = "{\"schema_version\":1, \"boards\": [";
  EXPECT_THAT(Catalog::Load(docs).status().message(), HasSubstr("b.json: invalid JSON"));

  docs = MiniCatalog();
  docs[0].text = Replace(docs[0].text, R"("version":"15.2")", R"("version":"16.2")");
  EXPECT_THAT(Catalog::Load(docs).status().message(),
              HasSubstr("16.2 is not a release of branch 15"));

  docs = MiniCatalog();
  docs[0].text =
      Replace(docs[0].text, R"("guest_linux":"525.105.17")", R"("guest_linux":"525.105.x")");
  EXPECT_THAT(Catalog::Load(docs).status().message(),
              HasSubstr("versions[0].guest_linux: driver version"));
}

TEST(CatalogTest, DuplicateTypeNamesAndMdevIdsAreRejected) {
  std::string board = MiniCatalog()[1].text;
  std::size_t start = board.find("{\"name\":\"P40-8Q\"");
  std::size_t end = board.find("}]}]}");
  std::string type = board.substr(start, end - start + 1);
  auto docs = MiniCatalog();
  docs[1].text = Replace(docs[1].text, type, StrCat(type, ",", type));
  EXPECT_THAT(Catalog::Load(docs).status().message(),
              HasSubstr("b.json: vGPU type P40-8Q appears twice"));
}

}  // namespace
}  // namespace gpufleet::core
