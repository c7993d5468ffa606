#include "codegen/Target.h"

#include <fmt/format.h>
#include <llvm/ADT/SmallVector.h>
#include <llvm/ADT/StringMap.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/SubtargetFeature.h>
#include <llvm/TargetParser/Triple.h>
#include <llvm/TargetParser/X86TargetParser.h>

#include <unistd.h>

#include <fstream>

namespace nabla::codegen {

namespace {

void initializeLLVM() {
  static const bool done = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    return true;
  }();
  (void)done;
}

bool isX86(const llvm::Triple &t) { return t.getArch() == llvm::Triple::x86_64; }
bool isAArch64(const llvm::Triple &t) { return t.getArch() == llvm::Triple::aarch64; }

/// The instruction-set features a CPU name implies, with the features
/// those imply (avx2 implies avx, ...): x86 from LLVM's CPU table.
std::set<std::string> featuresOfCpu(const llvm::Triple &triple, std::string_view cpu) {
  std::set<std::string> out;
  if (isX86(triple)) {
    llvm::SmallVector<llvm::StringRef, 64> features;
    llvm::X86::getFeaturesForCPU(llvm::StringRef(cpu.data(), cpu.size()), features, false);
    llvm::StringMap<bool> closed;
    for (llvm::StringRef f : features) {
      closed[f] = true;
      llvm::X86::updateImpliedFeatures(f, true, closed);
    }
    for (const auto &f : closed)
      if (f.second)
        out.insert(f.first().str());
  }
  return out;
}

/// Whether LLVM knows `cpu` as a processor of `target` (asked without
/// naming the CPU, which would print a warning for an unknown one).
bool isKnownCpu(const llvm::Target &target, const std::string &triple, const std::string &cpu) {
  std::unique_ptr<llvm::MCSubtargetInfo> info(target.createMCSubtargetInfo(triple, "", ""));
  if (!info)
    return false;
  for (const llvm::SubtargetSubTypeKV &kv : info->getAllProcessorDescriptions())
    if (cpu == kv.Key)
      return true;
  return false;
}

/// Fills in what follows from the features: vector width, registers, FMA, masking.
void describeVectors(Target &t, const llvm::Triple &triple, const std::set<std::string> &features) {
  auto has = [&](const char *f) { return features.count(f) > 0; };
  if (isX86(triple)) {
    bool avx512 = has("avx512f") && has("evex512");
    t.vectorBits = avx512 ? 512 : has("avx") ? 256 : 128;
    t.vectorRegisters = has("avx512f") ? 32 : 16;
    t.fma = has("fma") || has("avx512f");
    t.maskedMemory = has("avx") || has("avx512f");
  } else if (isAArch64(triple)) {
    // NEON: 32 registers of 128 bits, fused multiply-add, no masked memory
    // operations (SVE is not used).
    t.vectorBits = 128;
    t.vectorRegisters = 32;
    t.fma = true;
    t.maskedMemory = false;
  }
}

int64_t parseSize(const std::string &text) {
  // sysfs writes "32K", "1024K", "32768K" (or "16M").
  if (text.empty())
    return 0;
  int64_t n = 0;
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9')
    n = n * 10 + (text[i++] - '0');
  char unit = i < text.size() ? text[i] : ' ';
  return unit == 'K' ? n << 10 : unit == 'M' ? n << 20 : unit == 'G' ? n << 30 : n;
}

std::string readLine(const std::string &path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

/// CPUs listed in a sysfs cpu list such as "0-7,16-23".
int64_t cpusIn(const std::string &list) {
  int64_t count = 0;
  size_t start = 0;
  while (start < list.size()) {
    size_t comma = std::min(list.find(',', start), list.size());
    std::string part = list.substr(start, comma - start);
    size_t dash = part.find('-');
    if (dash == std::string::npos)
      count += 1;
    else
      count += std::max<int64_t>(1, std::atoll(part.c_str() + dash + 1) -
                                        std::atoll(part.substr(0, dash).c_str()) + 1);
    start = comma + 1;
  }
  return std::max<int64_t>(1, count);
}

/// The host's data caches from Linux's sysfs (per core; a shared cache
/// divided among the cores that share it), zero where unknown.
CacheSizes hostCaches() {
  CacheSizes c;
  for (int index = 0; index < 8; ++index) {
    std::string dir = fmt::format("/sys/devices/system/cpu/cpu0/cache/index{}/", index);
    std::string level = readLine(dir + "level"), type = readLine(dir + "type");
    if (level.empty())
      break;
    if (type != "Data" && type != "Unified")
      continue;
    int64_t size = parseSize(readLine(dir + "size"));
    int64_t sharers = cpusIn(readLine(dir + "shared_cpu_list"));
    if (level == "1")
      c.l1d = size;
    else if (level == "2")
      c.l2 = size / sharers;
    else if (level == "3")
      c.l3 = size / sharers;
  }
  if (c.l1d <= 0)
    c.l1d = std::max<long>(0, sysconf(_SC_LEVEL1_DCACHE_SIZE));
  if (c.l2 <= 0)
    c.l2 = std::max<long>(0, sysconf(_SC_LEVEL2_CACHE_SIZE));
  return c;
}

Target makeHost() {
  initializeLLVM();
  Target t;
  t.name = "native";
  t.triple = llvm::sys::getProcessTriple();
  t.cpu = llvm::sys::getHostCPUName().str();
  llvm::SubtargetFeatures features;
  for (const auto &f : llvm::sys::getHostCPUFeatures())
    features.AddFeature(f.first(), f.second);
  t.features = features.getString();
  describeVectors(t, llvm::Triple(t.triple), hostFeatures());
  CacheSizes fallback = defaultCaches(t.cpu), found = hostCaches();
  t.cachesFromHost = found.l1d > 0 && found.l2 > 0;
  t.caches.l1d = found.l1d > 0 ? found.l1d : fallback.l1d;
  t.caches.l2 = found.l2 > 0 ? found.l2 : fallback.l2;
  t.caches.l3 = found.l3 > 0 ? found.l3 : fallback.l3;
  return t;
}

/// Features whose instructions compilers emit for ordinary code: those a
/// host must have to run it. (CPU tables also list system features such as
/// pku or wbnoinvd, which virtual machines often hide and no kernel uses.)
bool isCodeFeature(const std::string &f) {
  static const char *const prefixes[] = {
      "sse",   "ssse3",  "avx",  "fma",  "f16c",    "bmi",   "lzcnt", "popcnt",
      "movbe", "cmov",   "cx16", "sahf", "evex512", "gfni",  "vaes",  "vpclmulqdq",
      "aes",   "pclmul", "sha",  "adx",  "amx",     "crc32", "prfchw"};
  for (const char *p : prefixes)
    if (f.rfind(p, 0) == 0)
      return true;
  return false;
}

} // namespace

std::string Target::describe() const {
  return fmt::format("{} ({}-bit vectors, {} registers, L1 {}K L2 {}K L3 {}K{}) {}", cpu,
                     vectorBits, vectorRegisters, caches.l1d >> 10, caches.l2 >> 10,
                     caches.l3 >> 10, cachesFromHost ? " from the host" : "", features);
}

CacheSizes defaultCaches(std::string_view cpu) {
  // L1 data, L2 per core, a core's share of L3 (a few MB on every recent part).
  struct Row {
    const char *prefix;
    CacheSizes caches;
  };
  constexpr int64_t K = 1024, M = 1024 * 1024;
  static const Row rows[] = {
      {"znver5", {48 * K, 1 * M, 4 * M}},
      {"znver4", {32 * K, 1 * M, 4 * M}},
      {"znver", {32 * K, 512 * K, 4 * M}}, // Zen 1-3
      {"sapphirerapids", {48 * K, 2 * M, 2 * M}},
      {"emeraldrapids", {48 * K, 2 * M, 2 * M}},
      {"graniterapids", {48 * K, 2 * M, 2 * M}},
      {"icelake-server", {48 * K, 1280 * K, 1536 * K}},
      {"icelake-client", {48 * K, 512 * K, 2 * M}},
      {"tigerlake", {48 * K, 1280 * K, 3 * M}},
      {"rocketlake", {48 * K, 512 * K, 2 * M}},
      {"alderlake", {48 * K, 1280 * K, 3 * M}},
      {"raptorlake", {48 * K, 2 * M, 3 * M}},
      {"meteorlake", {48 * K, 2 * M, 3 * M}},
      {"skylake-avx512", {32 * K, 1 * M, 1408 * K}},
      {"cascadelake", {32 * K, 1 * M, 1408 * K}},
      {"cooperlake", {32 * K, 1 * M, 1408 * K}},
      {"x86-64-v4", {32 * K, 1 * M, 2 * M}},
  };
  for (const Row &r : rows)
    if (cpu.rfind(r.prefix, 0) == 0)
      return r.caches;
  // Haswell to Skylake client, x86-64-v2/v3 and anything unknown.
  return {32 * K, 256 * K, 2 * M};
}

const std::set<std::string> &hostFeatures() {
  static const std::set<std::string> features = [] {
    std::set<std::string> out;
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      if (f.second)
        out.insert(f.first().str());
    return out;
  }();
  return features;
}

const Target &hostTarget() {
  static const Target host = makeHost();
  return host;
}

std::optional<Target> targetFor(std::string_view name, std::string &error) {
  if (name == "native" || name.empty())
    return hostTarget();
  initializeLLVM();
  Target t;
  t.name = std::string(name);
  t.triple = hostTarget().triple;
  t.cpu = t.name;
  llvm::Triple triple(t.triple);
  const llvm::Target *llvmTarget = llvm::TargetRegistry::lookupTarget(t.triple, error);
  if (!llvmTarget)
    return std::nullopt;
  bool known = isKnownCpu(*llvmTarget, t.triple, t.cpu) &&
               (!isX86(triple) || llvm::X86::parseArchX86(t.cpu, true) != llvm::X86::CK_None);
  if (!known) {
    error = fmt::format("unknown CPU '{}' for {} (try native, x86-64-v3, haswell, "
                        "skylake-avx512 or znver4)",
                        name, triple.getArchName().str());
    return std::nullopt;
  }
  std::set<std::string> features = featuresOfCpu(triple, t.cpu);
  describeVectors(t, triple, features);
  // The CPU name alone selects its features.
  t.features = "";
  t.caches = defaultCaches(t.cpu);
  if (t.cpu == hostTarget().cpu) {
    t.caches = hostTarget().caches;
    t.cachesFromHost = hostTarget().cachesFromHost;
  }
  return t;
}

std::vector<std::string> missingFeatures(const Target &target, const std::set<std::string> &host) {
  std::vector<std::string> missing;
  if (target.name == "native")
    return missing;
  for (const std::string &f : featuresOfCpu(llvm::Triple(target.triple), target.cpu))
    if (isCodeFeature(f) && !host.count(f))
      missing.push_back(f);
  return missing;
}

std::vector<std::string> missingFeatures(const Target &target) {
  return missingFeatures(target, hostFeatures());
}

std::string whyHostCannotRun(const Target &target) {
  std::vector<std::string> missing = missingFeatures(target);
  if (missing.empty())
    return "";
  std::string list;
  for (const std::string &f : missing)
    list += (list.empty() ? "" : ", ") + f;
  return fmt::format("cannot run code for CPU '{}' on this host ({}), which lacks {}; code for "
                     "it can only be dumped (--emit=llvm or asm)",
                     target.name, hostTarget().cpu, list);
}

std::unique_ptr<llvm::TargetMachine> createTargetMachine(const Target &t, int optLevel,
                                                         std::string &error) {
  initializeLLVM();
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(t.triple, error);
  if (!target)
    return nullptr;
  llvm::TargetOptions options;
  // Contraction into FMA is allowed; NaN and infinity keep their meaning.
  options.AllowFPOpFusion = llvm::FPOpFusion::Fast;
  llvm::CodeGenOptLevel level = optLevel == 0   ? llvm::CodeGenOptLevel::None
                                : optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                : optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                                : llvm::CodeGenOptLevel::Aggressive;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      t.triple, t.cpu, t.features, options, llvm::Reloc::PIC_, std::nullopt, level));
}

} // namespace nabla::codegen
