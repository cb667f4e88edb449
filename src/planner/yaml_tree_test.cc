#include "planner/yaml_tree.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "planner/yaml_reader.h"

namespace gpufleet::planner {
namespace {

using ::testing::HasSubstr;

TEST(YamlTreeTest, KeepsPositionsKeysAndOrder) {
  absl::StatusOr<YamlNode> root = ParseYaml("a: 1\nb:\n  - x\n  - {c: ~}\n", "f.yaml");
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_EQ(root->kind, YamlNode::Kind::kMap);
  ASSERT_EQ(root->children.size(), 2u);
  const YamlNode& a = root->children[0];
  EXPECT_EQ(a.key, "a");
  EXPECT_EQ(a.scalar, "1");
  EXPECT_EQ(a.line, 1);
  EXPECT_EQ(a.column, 4);
  const YamlNode& b = root->children[1];
  EXPECT_EQ(b.key, "b");
  EXPECT_EQ(b.key_line, 2);
  ASSERT_EQ(b.kind, YamlNode::Kind::kSequence);
  EXPECT_EQ(b.children[0].scalar, "x");
  EXPECT_EQ(b.children[0].line, 3);
  EXPECT_EQ(b.children[0].column, 5);
  ASSERT_EQ(b.children[1].kind, YamlNode::Kind::kMap);
  EXPECT_EQ(b.children[1].children[0].kind, YamlNode::Kind::kNull);
}

TEST(YamlTreeTest, QuotedNullIsAString) {
  absl::StatusOr<YamlNode> root = ParseYaml("a: 'null'\nb: null\nc:\n", "f.yaml");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->children[0].kind, YamlNode::Kind::kScalar);
  EXPECT_EQ(root->children[1].kind, YamlNode::Kind::kNull);
  EXPECT_EQ(root->children[2].kind, YamlNode::Kind::kNull);
}

TEST(YamlTreeTest, EmptyDocumentIsNull) {
  absl::StatusOr<YamlNode> root = ParseYaml("# nothing\n", "f.yaml");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->kind, YamlNode::Kind::kNull);
}

TEST(YamlTreeTest, MalformedYamlNamesFileLineColumn) {
  absl::StatusOr<YamlNode> root = ParseYaml("a: 1\nb: [1, 2\n", "f.yaml");
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(root.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(root.status().message(), HasSubstr("f.yaml:"));
  EXPECT_THAT(root.status().message(), HasSubstr("invalid YAML"));
}

TEST(YamlTreeTest, RejectsDuplicateKeys) {
  absl::StatusOr<YamlNode> root = ParseYaml("a: 1\nb: 2\na: 3\n", "f.yaml");
  ASSERT_FALSE(root.ok());
  EXPECT_THAT(root.status().message(), HasSubstr("f.yaml:3:1: duplicate key 'a'"));
}

TEST(YamlTreeTest, RejectsAliases) {
  absl::StatusOr<YamlNode> root = ParseYaml("a: &x [1, 2]\nb: *x\n", "f.yaml");
  ASSERT_FALSE(root.ok());
  EXPECT_THAT(root.status().message(), HasSubstr("f.yaml:2:4: aliases"));
}

TEST(YamlTreeTest, RejectsComplexKeys) {
  absl::StatusOr<YamlNode> root = ParseYaml("? [1, 2]\n: x\n", "f.yaml");
  ASSERT_FALSE(root.ok());
  EXPECT_THAT(root.status().message(), HasSubstr("map keys must be plain strings"));
}

TEST(YamlTreeTest, RejectsSecondDocument) {
  absl::StatusOr<YamlNode> root = ParseYaml("a: 1\n---\nb: 2\n", "f.yaml");
  ASSERT_FALSE(root.ok());
  EXPECT_THAT(root.status().message(), HasSubstr("second YAML document"));
}

TEST(YamlTreeTest, BoundsTheNodeCount) {
  absl::StatusOr<YamlNode> root = ParseYaml("[1, 2, 3, 4, 5]", "f.yaml", YamlLimits{4});
  ASSERT_FALSE(root.ok());
  EXPECT_THAT(root.status().message(), HasSubstr("more than 4 YAML nodes"));
}

TEST(YamlTreeTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep(10000, '[');
  absl::StatusOr<YamlNode> root = ParseYaml(deep, "f.yaml");
  EXPECT_FALSE(root.ok());
}

TEST(YamlReaderTest, Sizes) {
  EXPECT_EQ(ParseSizeMib("8G", 1 << 20), 8192);
  EXPECT_EQ(ParseSizeMib("8GiB", 1 << 20), 8192);
  EXPECT_EQ(ParseSizeMib("8 GB", 1 << 20), 8192);
  EXPECT_EQ(ParseSizeMib("512M", 1 << 20), 512);
  EXPECT_EQ(ParseSizeMib("8192", 1 << 20), 8192);
  EXPECT_EQ(ParseSizeMib("8192mib", 1 << 20), 8192);
  EXPECT_EQ(ParseSizeMib("-8G", 1 << 20), std::nullopt);
  EXPECT_EQ(ParseSizeMib("8T", 1 << 20), std::nullopt);
  EXPECT_EQ(ParseSizeMib("1.5G", 1 << 20), std::nullopt);
  EXPECT_EQ(ParseSizeMib("2048G", 1 << 20), std::nullopt);
  EXPECT_EQ(ParseSizeMib("", 1 << 20), std::nullopt);
}

TEST(YamlReaderTest, UnknownKeySuggestsTheKnownOne) {
  absl::StatusOr<YamlNode> root = ParseYaml("naem: x\n", "f.yaml");
  ASSERT_TRUE(root.ok());
  YamlErrors errors("f.yaml");
  YamlMap m(errors, *root, "vms[0]");
  (void)m.OptString("name");
  m.Finish();
  EXPECT_EQ(errors.status().message(),
            "f.yaml:1:1: vms[0].naem: unknown field; did you mean name?");
}

TEST(YamlReaderTest, IntegersAndBooleans) {
  absl::StatusOr<YamlNode> root = ParseYaml("a: -3\nb: yes\nc: maybe\n", "f.yaml");
  ASSERT_TRUE(root.ok());
  YamlErrors errors("f.yaml");
  YamlMap m(errors, *root, "");
  EXPECT_EQ(m.OptBool("b"), true);
  EXPECT_EQ(m.OptInt("a", 0, 10), std::nullopt);
  EXPECT_EQ(errors.status().message(), "f.yaml:1:4: a: expected an integer from 0 to 10, got -3");
  YamlErrors errors2("f.yaml");
  YamlMap m2(errors2, *root, "");
  EXPECT_EQ(m2.OptBool("c"), std::nullopt);
  EXPECT_EQ(errors2.status().message(), "f.yaml:3:4: c: expected true or false, got 'maybe'");
}

}  // namespace
}  // namespace gpufleet::planner
