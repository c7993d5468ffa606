//===- DataSourcesTest.cpp - IDX, CSV and gzip readers, datasets -----------===//
//
// IDX files are built byte by byte from the format's description; gzip data
// comes from zlib's compress2-independent gzip writer (gzopen), so the
// reader is checked against another implementation.
//
//===----------------------------------------------------------------------===//
#include "data/DataSources.h"
#include "data/Dataset.h"
#include "data/Gzip.h"

#include <gtest/gtest.h>
#include <llvm/Support/raw_ostream.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>

namespace nabla {
namespace {

std::string be32(uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xFF), char((v >> 8) & 0xFF), char(v & 0xFF)};
}

/// An IDX file of unsigned bytes with the given shape and data.
std::string idxU8(const std::vector<uint32_t> &shape, const std::string &data) {
  std::string out = {0, 0, 0x08, char(shape.size())};
  for (uint32_t d : shape)
    out += be32(d);
  return out + data;
}

/// A scratch folder, removed at the end of the test.
class TempDir {
public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("nabla-data-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string &name, const std::string &bytes) const {
    std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  /// Writes `bytes` gzip-compressed by zlib's file interface.
  std::string writeGzip(const std::string &name, const std::string &bytes) const {
    std::string p = (path_ / name).string();
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
    return p;
  }

private:
  std::filesystem::path path_;
  static inline int counter_ = 0;
};

TEST(Idx, ReadsBytesScaledAndLabels) {
  std::string error;
  std::string file = idxU8({2, 3}, std::string("\x00\x01\x02\x03\xFE\xFF", 6));
  auto t = parseIdx(file, DType::F32, 0.5, error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t->get(1), 0.5);
  EXPECT_EQ(t->get(5), 127.5);
  auto labels = parseIdx(file, DType::I32, 0.5, error); // labels are never scaled
  ASSERT_TRUE(labels) << error;
  EXPECT_EQ(labels->data<int32_t>()[4], 254);
}

TEST(Idx, ReadsWiderTypesBigEndian) {
  std::string error;
  std::string i16 = {0, 0, 0x0B, 1};
  i16 += be32(2) + std::string("\xFF\xFE\x01\x00", 4); // -2, 256
  auto a = parseIdx(i16, DType::F64, 1, error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->get(0), -2);
  EXPECT_EQ(a->get(1), 256);
  std::string f32 = {0, 0, 0x0D, 1};
  f32 += be32(1) + std::string("\x3F\xC0\x00\x00", 4); // 1.5
  auto b = parseIdx(f32, DType::F32, 2, error);
  ASSERT_TRUE(b) << error;
  EXPECT_EQ(b->get(0), 3.0);
  EXPECT_FALSE(parseIdx(f32, DType::I32, 1, error));
  EXPECT_NE(error.find("floating-point values"), std::string::npos) << error;
}

TEST(Idx, RejectsMalformedFilesWithTheOffset) {
  std::string error;
  EXPECT_FALSE(parseIdx("\x00\x00", DType::F32, 1, error));
  EXPECT_NE(error.find("header is missing"), std::string::npos) << error;
  EXPECT_FALSE(parseIdx(std::string("\x01\x00\x08\x01", 4), DType::F32, 1, error));
  EXPECT_NE(error.find("not an IDX file"), std::string::npos) << error;
  EXPECT_FALSE(parseIdx(std::string("\x00\x00\x07\x01", 4), DType::F32, 1, error));
  EXPECT_NE(error.find("unknown IDX element type 0x07 at offset 2"), std::string::npos) << error;
  EXPECT_FALSE(parseIdx(idxU8({2, 3}, "abc"), DType::F32, 1, error));
  EXPECT_NE(error.find("truncated: the header announces 2 x 3 elements of 1 byte, but 3 bytes"),
            std::string::npos)
      << error;
  EXPECT_FALSE(parseIdx(idxU8({2}, "abc"), DType::F32, 1, error));
  EXPECT_NE(error.find("2 elements end at offset 10, but the file goes on to 11 bytes"),
            std::string::npos)
      << error;
  // A forged header asking for 2^32^3 elements ends in an error, not an allocation.
  EXPECT_FALSE(parseIdx(idxU8({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, "x"), DType::F32, 1, error));
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
}

TEST(Idx, ReadsGzipFilesLikePlainOnes) {
  TempDir dir;
  std::string data = idxU8({3}, "\x07\x08\x09");
  std::string error;
  for (const std::string &path : {dir.write("plain", data), dir.writeGzip("packed.gz", data)}) {
    auto t = readIdx(path, DType::F32, 1, error);
    ASSERT_TRUE(t) << path << ": " << error;
    EXPECT_EQ(t->get(2), 9);
  }
  EXPECT_FALSE(readIdx(dir.writeGzip("short.gz", idxU8({4}, "ab")), DType::F32, 1, error));
  EXPECT_NE(error.find("(decompressed) truncated"), std::string::npos) << error;
  EXPECT_FALSE(readIdx(dir.write("missing-dir/none", "") + "x", DType::F32, 1, error));
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
}

TEST(Gzip, RejectsTruncatedCorruptAndOversizedData) {
  TempDir dir;
  std::string path = dir.writeGzip("a.gz", std::string(100000, 'z'));
  std::ifstream in(path, std::ios::binary);
  std::string packed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string error;
  auto whole = gunzip(packed, 1 << 20, error);
  ASSERT_TRUE(whole) << error;
  EXPECT_EQ(*whole, std::string(100000, 'z'));
  EXPECT_FALSE(gunzip(packed.substr(0, packed.size() - 10), 1 << 20, error));
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  std::string corrupt = packed;
  corrupt[12] ^= 0x55;
  EXPECT_FALSE(gunzip(corrupt, 1 << 20, error));
  // A small file that inflates past the limit stops at the limit.
  EXPECT_FALSE(gunzip(packed, 1000, error));
  EXPECT_NE(error.find("more than 1000 bytes"), std::string::npos) << error;
  // Two members concatenated read as one stream, as gzip -d does.
  auto twice = gunzip(packed + packed, 1 << 20, error);
  ASSERT_TRUE(twice) << error;
  EXPECT_EQ(twice->size(), 200000u);
}

DataSource csvSource() {
  DataSource s;
  s.kind = DataSource::Kind::Csv;
  return s;
}

TEST(Csv, SelectsColumnsByIndexAndName) {
  std::string error;
  std::string text = "a, b ,c\r\n1,2,3\r\n\n4.5,-5,6e2\n";
  DataSource s = csvSource();
  s.columns = {2, 0};
  auto t = parseCsv(text, s, DType::F64, error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(t->get(0), 3);
  EXPECT_EQ(t->get(2), 600);
  EXPECT_EQ(t->get(3), 4.5);
  DataSource named = csvSource();
  named.columnNames = {"b"};
  named.scale = 2;
  auto b = parseCsv(text, named, DType::F32, error);
  ASSERT_TRUE(b) << error;
  EXPECT_EQ(b->get(1), -10);
  DataSource noHeader = csvSource();
  noHeader.header = false;
  auto all = parseCsv("1,2\n3,4\n", noHeader, DType::I32, error);
  ASSERT_TRUE(all) << error;
  EXPECT_EQ(all->data<int32_t>()[3], 4);
}

TEST(Csv, ErrorsNameTheLineAndColumn) {
  std::string error;
  DataSource s = csvSource();
  EXPECT_FALSE(parseCsv("a,b\n1,2\n3,x\n", s, DType::F32, error));
  EXPECT_EQ(error, "line 3, column 2: 'x' is not a number");
  EXPECT_FALSE(parseCsv("a,b\n1,2\n3\n", s, DType::F32, error));
  EXPECT_EQ(error, "line 3: expected 2 fields, found 1");
  EXPECT_FALSE(parseCsv("a,b\n1,2.5\n", s, DType::I32, error));
  EXPECT_NE(error.find("line 2, column 2: the input holds i32 labels, but '2.5' is not an integer"),
            std::string::npos)
      << error;
  EXPECT_FALSE(parseCsv("", s, DType::F32, error));
  EXPECT_NE(error.find("empty"), std::string::npos) << error;
  EXPECT_FALSE(parseCsv("a,b\n", s, DType::F32, error));
  EXPECT_NE(error.find("no data rows"), std::string::npos) << error;
  s.columns = {5};
  EXPECT_FALSE(parseCsv("a,b\n1,2\n", s, DType::F32, error));
  EXPECT_NE(error.find("column 5 does not exist"), std::string::npos) << error;
  DataSource named = csvSource();
  named.columnNames = {"z"};
  EXPECT_FALSE(parseCsv("a,b\n1,2\n", named, DType::F32, error));
  EXPECT_EQ(error, "no column named 'z' in the header (a, b)");
}

TEST(Dataset, ShuffledOrderIsASeededPermutationPerEpoch) {
  // A dataset of 1000 examples; only its size matters for the order.
  ir::Module module;
  ir::Function *fn = module.addFunction("f");
  TensorType type{DType::F32, {Dim::symbol("B"), Dim(1)}};
  fn->addArgument(ir::ArgRole::Input, "x", type, {});
  TempDir dir;
  std::string csv = "v\n";
  for (int i = 0; i < 1000; ++i)
    csv += std::to_string(i) + "\n";
  DataSource source = csvSource();
  source.path = dir.write("v.csv", csv);
  SourceManager sources;
  DiagnosticEngine diags(sources);
  auto data = Dataset::load(*fn, {{"x", source}}, true, "training", diags);
  ASSERT_TRUE(data);
  std::vector<int64_t> a = data->order(true, 5, 0), b = data->order(true, 5, 1);
  EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), 1000u);
  EXPECT_EQ(a, data->order(true, 5, 0));
  EXPECT_NE(a, b);
  EXPECT_NE(a, data->order(true, 6, 0));
  std::vector<int64_t> identity = data->order(false, 5, 0);
  EXPECT_TRUE(std::is_sorted(identity.begin(), identity.end()));
  // Batches gather the examples in that order; the last one is partial.
  std::vector<Tensor> batch;
  data->prepareBatch(3, batch);
  data->gather(a, 997, 3, batch);
  EXPECT_EQ(batch[0].shape(), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(batch[0].get(2), double(a[999]));
}

TEST(Dataset, BatchesOfBytesAreEachByteTimesTheScaleRoundedOnce) {
  // 256 examples of 2000 bytes: example e holds bytes e, e + 1, ... (mod
  // 256), so every byte value falls in every lane of a vector. Each element
  // of a batch must be float(double(byte) * scale): rounding the product in
  // float, or the byte to float first, gives another float for many of the
  // 256 values at these scales.
  constexpr int kExamples = 256, kEach = 2000;
  std::string bytes;
  for (int e = 0; e < kExamples; ++e)
    for (int i = 0; i < kEach; ++i)
      bytes += char((e + i) % 256);
  TempDir dir;
  DataSource source; // an IDX file of unsigned bytes
  source.path = dir.write("x.idx", idxU8({kExamples, kEach}, bytes));
  for (DType dtype : {DType::F32, DType::F64})
    for (double scale : {1.0 / 255, 0.1, 3.0, 1e-40}) {
      source.scale = scale;
      ir::Module module;
      ir::Function *fn = module.addFunction("f");
      fn->addArgument(ir::ArgRole::Input, "x", {dtype, {Dim::symbol("B"), Dim(kEach)}}, {});
      SourceManager sources;
      DiagnosticEngine diags(sources);
      auto data = Dataset::load(*fn, {{"x", source}}, true, "training", diags);
      ASSERT_TRUE(data);
      std::vector<int64_t> order = data->order(true, 3, 0);
      // 200 examples are converted on the thread pool (many times, so that
      // its workers wake up and take shares), 5 on this thread. At 1e-40
      // the products are subnormal floats: the pool's threads, which flush
      // them, must leave those to this one.
      std::vector<int64_t> sizes(10, 200);
      sizes.push_back(5);
      for (int64_t n : sizes) {
        std::vector<Tensor> batch;
        data->prepareBatch(n, batch);
        data->gather(order, 7, n, batch);
        int64_t wrong = 0;
        for (int64_t k = 0; k < n; ++k)
          for (int i = 0; i < kEach; ++i) {
            double exact = double(uint8_t(bytes[size_t(order[size_t(7 + k)] * kEach + i)])) * scale;
            double want = dtype == DType::F32 ? double(float(exact)) : exact;
            wrong += batch[0].get(k * kEach + i) != want;
          }
        EXPECT_EQ(wrong, 0) << dtypeName(dtype) << ", scale " << scale << ", " << n << " examples";
      }
    }
}

TEST(Dataset, ExampleCountsMustAgree) {
  ir::Module module;
  ir::Function *fn = module.addFunction("f");
  fn->addArgument(ir::ArgRole::Input, "x", {DType::F32, {Dim::symbol("B"), Dim(2)}}, {});
  fn->addArgument(ir::ArgRole::Input, "y", {DType::I32, {Dim::symbol("B")}}, {});
  TempDir dir;
  DataSource x = csvSource(), y = csvSource();
  x.path = dir.write("x.csv", "a,b\n1,2\n3,4\n5,6\n");
  y.path = dir.write("y.csv", "label\n0\n1\n");
  SourceManager sources;
  DiagnosticEngine diags(sources);
  EXPECT_FALSE(Dataset::load(*fn, {{"x", x}, {"y", y}}, true, "training", diags));
  std::string text;
  llvm::raw_string_ostream os(text);
  diags.flush(os);
  EXPECT_NE(text.find("y.csv: error: holds 2 examples for input 'y', but "), std::string::npos)
      << text;
  EXPECT_NE(text.find("x.csv holds 3"), std::string::npos) << text;
}

} // namespace
} // namespace nabla
