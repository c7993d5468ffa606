//===- KernelCacheTest.cpp - Compiled steps on disk ------------------------===//
#include "Networks.h"

#include "codegen/KernelCache.h"
#include "ir/Parser.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace nabla {
namespace {

using codegen::KernelCache;

/// Sets NABLA_CACHE_DIR for a test and puts the old value back.
class CacheFolderVariable {
public:
  explicit CacheFolderVariable(const std::string &value) {
    if (const char *old = std::getenv("NABLA_CACHE_DIR"))
      old_ = old;
    setenv("NABLA_CACHE_DIR", value.c_str(), 1);
  }
  ~CacheFolderVariable() {
    if (old_)
      setenv("NABLA_CACHE_DIR", old_->c_str(), 1);
    else
      unsetenv("NABLA_CACHE_DIR");
  }

private:
  std::optional<std::string> old_;
};

/// A fresh folder for one test.
std::string freshFolder(const char *name) {
  auto dir = std::filesystem::temp_directory_path() /
             (std::string("nabla-cache-test-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

std::string onlyFile(const std::string &folder) {
  std::vector<std::string> files;
  for (const auto &e : std::filesystem::directory_iterator(folder))
    files.push_back(e.path().string());
  EXPECT_EQ(files.size(), 1u);
  return files.empty() ? "" : files[0];
}

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeAll(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(KernelCache, StoresAndLoadsObjectsUnderTheirKey) {
  KernelCache cache(freshFolder("roundtrip"));
  std::vector<std::string> objects = {"first object", std::string("\0\1\2", 3), ""};
  ASSERT_TRUE(cache.store("key one", objects));
  EXPECT_EQ(cache.load("key one"), objects);
  EXPECT_FALSE(cache.load("key two"));
  std::filesystem::remove_all(cache.folder());
}

TEST(KernelCache, ADamagedOrForeignFileIsAMiss) {
  KernelCache cache(freshFolder("damaged"));
  ASSERT_TRUE(cache.store("the key", {"some machine code"}));
  std::string path = onlyFile(cache.folder());
  std::string good = readAll(path);
  // Every truncation, and a flipped byte anywhere, is rejected.
  for (size_t length = 0; length < good.size(); length += 3) {
    writeAll(path, good.substr(0, length));
    EXPECT_FALSE(cache.load("the key")) << "truncated to " << length;
  }
  for (size_t at = 0; at < good.size(); ++at) {
    std::string bad = good;
    bad[at] ^= 0x20;
    writeAll(path, bad);
    EXPECT_FALSE(cache.load("the key")) << "byte " << at;
  }
  // A file with another key under this key's name (a hash collision).
  KernelCache other(freshFolder("other"));
  ASSERT_TRUE(other.store("a different key", {"code"}));
  writeAll(path, readAll(onlyFile(other.folder())));
  EXPECT_FALSE(cache.load("the key"));
  std::filesystem::remove_all(cache.folder());
  std::filesystem::remove_all(other.folder());
}

TEST(KernelCache, TwoWritersAtOnceLeaveOneWholeFile) {
  KernelCache cache(freshFolder("writers"));
  std::string big(1 << 20, 'x');
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 5; ++i)
        cache.store("shared key", {big, std::string(1, char('a' + w))});
    });
  for (std::thread &t : writers)
    t.join();
  auto loaded = cache.load("shared key");
  ASSERT_TRUE(loaded);
  EXPECT_EQ((*loaded)[0], big);
  onlyFile(cache.folder()); // no temporary files left behind
  std::filesystem::remove_all(cache.folder());
}

TEST(KernelCache, OffDisablesIt) {
  {
    CacheFolderVariable off("off");
    EXPECT_FALSE(KernelCache::fromEnvironment().enabled());
  }
  CacheFolderVariable somewhere("/some/where");
  EXPECT_EQ(KernelCache::fromEnvironment().folder(), "/some/where");
}

TEST(KernelCache, ACompilerLoadsItsStepsAndRecompilesACorruptEntry) {
  std::string folder = freshFolder("compiler");
  CacheFolderVariable variable(folder);
  SourceManager sources;
  DiagnosticEngine diags(sources);
  auto module = ir::parseIR(sources, sources.addBuffer("t.nnir", R"(func @forward {
  input %x : f32[4]
  %y = tanh %x : f32[4]
  output y = %y
})"),
                            diags);
  ASSERT_TRUE(module);
  const ir::Function &fn = *module->lookup("forward");
  Tensor x(DType::F32, {4});
  for (int i = 0; i < 4; ++i)
    x.set(i, i - 1.5);
  auto runWithNewCompiler = [&](unsigned expectFromDisk) {
    std::string error;
    auto compiler = codegen::Compiler::create({}, error);
    ASSERT_TRUE(compiler) << error;
    codegen::CompiledStep *step = compiler->compile(fn, {}, sources, diags);
    ASSERT_TRUE(step);
    EXPECT_EQ(compiler->times().fromDisk, expectFromDisk);
    auto y = step->run({&x}, diags);
    ASSERT_TRUE(y);
    EXPECT_NEAR((*y)[0].get(3), std::tanh(1.5), 1e-6);
  };
  runWithNewCompiler(0); // compiles and stores
  runWithNewCompiler(1); // loads
  std::string path = onlyFile(folder);
  std::string bytes = readAll(path);
  bytes[bytes.size() / 2] ^= 0x55;
  writeAll(path, bytes);
  runWithNewCompiler(0); // the damaged entry is recompiled and replaced
  runWithNewCompiler(1);
  std::filesystem::remove_all(folder);
}

} // namespace
} // namespace nabla
