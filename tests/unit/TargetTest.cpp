//===- TargetTest.cpp - The target description -----------------------------===//
//
// What codegen/Target derives from a CPU name: vector width, registers,
// FMA, masked memory operations, cache sizes; which CPU names it knows; and
// which features a host lacks to run a CPU's code (checked against feature
// sets given here, so the test holds on any host).
//
//===----------------------------------------------------------------------===//
#include "codegen/Target.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace nabla::codegen {
namespace {

Target named(const char *cpu) {
  std::string error;
  std::optional<Target> t = targetFor(cpu, error);
  EXPECT_TRUE(t) << cpu << ": " << error;
  return t ? *t : Target{};
}

bool contains(const std::vector<std::string> &list, const std::string &item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

TEST(Target, VectorWidthAndRegistersFollowTheInstructionSet) {
  struct Row {
    const char *cpu;
    unsigned bits, registers;
  };
  // AVX2 CPUs: 256-bit vectors, 16 registers; AVX-512 CPUs: 512 and 32.
  for (const Row &r :
       {Row{"haswell", 256, 16}, Row{"x86-64-v3", 256, 16}, Row{"znver3", 256, 16},
        Row{"alderlake", 256, 16}, Row{"skylake-avx512", 512, 32}, Row{"x86-64-v4", 512, 32},
        Row{"znver4", 512, 32}, Row{"rocketlake", 512, 32}}) {
    Target t = named(r.cpu);
    EXPECT_EQ(t.cpu, r.cpu);
    EXPECT_EQ(t.vectorBits, r.bits) << r.cpu;
    EXPECT_EQ(t.vectorRegisters, r.registers) << r.cpu;
    EXPECT_TRUE(t.fma) << r.cpu;
    EXPECT_TRUE(t.maskedMemory) << r.cpu;
    EXPECT_EQ(t.lanes(DType::F32), r.bits / 32) << r.cpu;
    EXPECT_EQ(t.lanes(DType::F64), r.bits / 64) << r.cpu;
  }
}

TEST(Target, BaselineX86HasSSEOnly) {
  Target t = named("x86-64");
  EXPECT_EQ(t.vectorBits, 128u);
  EXPECT_EQ(t.vectorRegisters, 16u);
  EXPECT_FALSE(t.fma);
  EXPECT_FALSE(t.maskedMemory);
  EXPECT_EQ(t.lanes(DType::F32), 4u);
}

TEST(Target, NamedCpusTakeTheirFamilysCacheSizes) {
  EXPECT_EQ(named("haswell").caches.l2, 256 << 10);
  EXPECT_EQ(named("skylake-avx512").caches.l2, 1 << 20);
  EXPECT_EQ(named("rocketlake").caches.l1d, 48 << 10);
  EXPECT_EQ(named("znver3").caches.l2, 512 << 10);
  EXPECT_EQ(named("x86-64-v3").caches.l1d, 32 << 10);
  // Unknown families get the conservative default.
  CacheSizes fallback = defaultCaches("some-future-cpu");
  EXPECT_EQ(fallback.l1d, 32 << 10);
  EXPECT_EQ(fallback.l2, 256 << 10);
}

TEST(Target, TheHostIsNative) {
  Target native = named("native");
  EXPECT_EQ(native.name, "native");
  EXPECT_EQ(native.cpu, hostTarget().cpu);
  EXPECT_FALSE(native.cpu.empty());
  EXPECT_GE(native.vectorBits, 128u);
  EXPECT_GT(native.caches.l1d, 0);
  EXPECT_GT(native.caches.l2, 0);
  EXPECT_TRUE(missingFeatures(native).empty());
  EXPECT_EQ(whyHostCannotRun(native), "");
}

TEST(Target, UnknownNamesAreErrors) {
  for (const char *cpu : {"nosuch", "cortex-a72", "skylake2", ""}) {
    std::string error;
    std::optional<Target> t = targetFor(cpu, error);
    if (std::string(cpu).empty()) {
      EXPECT_TRUE(t); // empty means native
      continue;
    }
    EXPECT_FALSE(t) << cpu;
    EXPECT_NE(error.find(std::string("unknown CPU '") + cpu + "'"), std::string::npos) << error;
  }
}

TEST(Target, MissingFeaturesAreTheInstructionSetsTheHostLacks) {
  // With no features at all, a CPU lacks every feature its code may use.
  std::vector<std::string> haswell = missingFeatures(named("haswell"), {});
  EXPECT_TRUE(contains(haswell, "avx2"));
  EXPECT_TRUE(contains(haswell, "fma"));
  EXPECT_TRUE(contains(haswell, "avx")); // implied by avx2
  EXPECT_FALSE(contains(haswell, "avx512f"));
  EXPECT_FALSE(contains(haswell, "x87")); // not an instruction set kernels use
  // An AVX2 host runs Haswell code, not Skylake-AVX512 code.
  std::set<std::string> avx2Host(haswell.begin(), haswell.end());
  EXPECT_TRUE(missingFeatures(named("haswell"), avx2Host).empty());
  EXPECT_TRUE(missingFeatures(named("x86-64-v3"), avx2Host).empty());
  std::vector<std::string> skx = missingFeatures(named("skylake-avx512"), avx2Host);
  EXPECT_TRUE(contains(skx, "avx512f"));
  EXPECT_TRUE(contains(skx, "avx512bw"));
  EXPECT_TRUE(contains(skx, "evex512"));
  EXPECT_FALSE(contains(skx, "avx2"));
  EXPECT_FALSE(contains(skx, "pku")); // a system feature virtual machines hide
  // An AVX-512 host runs AVX2 code.
  std::vector<std::string> v4 = missingFeatures(named("x86-64-v4"), {});
  std::set<std::string> avx512Host(v4.begin(), v4.end());
  EXPECT_TRUE(missingFeatures(named("x86-64-v3"), avx512Host).empty());
}

TEST(Target, TheDescriptionTellsTargetsApart) {
  // Cache keys hold it: code for one CPU is never loaded for another.
  EXPECT_NE(named("haswell").describe(), named("x86-64-v3").describe());
  EXPECT_NE(named("skylake-avx512").describe(), named("cascadelake").describe());
  EXPECT_NE(named("x86-64-v3").describe().find("256-bit vectors"), std::string::npos);
}

} // namespace
} // namespace nabla::codegen
