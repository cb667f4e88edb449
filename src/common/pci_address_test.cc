#include "common/pci_address.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet {
namespace {

using ::testing::HasSubstr;

TEST(PciAddressTest, ParsesSysfsForm) {
  auto a = PciAddress::Parse("0000:3b:00.0");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->bus(), 0x3b);
  EXPECT_EQ(a->ToString(), "0000:3b:00.0");
}

TEST(PciAddressTest, ParsesShortAndUpperCaseForms) {
  EXPECT_EQ(PciAddress::Parse("3B:1F.7")->ToString(), "0000:3b:1f.7");
  EXPECT_EQ(PciAddress::Parse("00000001:af:00.1")->ToString(), "0001:af:00.1");
}

TEST(PciAddressTest, RejectsMalformedWithReason) {
  EXPECT_THAT(PciAddress::Parse("0000:3b:20.0").status().message(), HasSubstr("device exceeds"));
  EXPECT_THAT(PciAddress::Parse("0000:3b:00.8").status().message(), HasSubstr("function exceeds"));
  EXPECT_THAT(PciAddress::Parse("0000:3b:00").status().message(), HasSubstr("missing '.function'"));
  EXPECT_THAT(PciAddress::Parse("zz:00.0").status().message(), HasSubstr("bus is not"));
  EXPECT_FALSE(PciAddress::Parse("").ok());
}

TEST(PciAddressTest, OrdersByDomainBusDeviceFunction) {
  EXPECT_LT(*PciAddress::Parse("0000:3b:00.0"), *PciAddress::Parse("0000:af:00.0"));
}

}  // namespace
}  // namespace gpufleet
