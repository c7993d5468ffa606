//===- TensorFilesTest.cpp - .npy and safetensors readers and writers -----===//
//
// Files are built byte by byte from the format descriptions, independently
// of the writers, then read; the writers' files are read back too.
//
//===----------------------------------------------------------------------===//
#include "data/TensorFiles.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace nabla {
namespace {

std::string le16(uint16_t v) { return std::string{char(v & 0xFF), char(v >> 8)}; }
std::string le32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i)
    s[i] = char((v >> (8 * i)) & 0xFF);
  return s;
}
std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i)
    s[i] = char((v >> (8 * i)) & 0xFF);
  return s;
}
template <typename T> std::string bytesOf(std::initializer_list<T> values) {
  std::string s;
  for (T v : values)
    s.append(reinterpret_cast<const char *>(&v), sizeof(T));
  return s;
}

/// A .npy file of the given version with `dict` as header.
std::string npy(int major, const std::string &dict, const std::string &data) {
  std::string header = dict + "\n";
  std::string out = "\x93NUMPY";
  out += char(major);
  out += '\0';
  out += major == 1 ? le16(uint16_t(header.size())) : le32(uint32_t(header.size()));
  return out + header + data;
}

TEST(Npy, ReadsEveryVersionAndDtype) {
  std::string error;
  for (int major : {1, 2, 3}) {
    auto t = parseNpy(npy(major, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                          bytesOf<float>({1, 2, 3, 4, 5, 6.5f})),
                      error);
    ASSERT_TRUE(t) << error;
    EXPECT_EQ(t->dtype(), DType::F32);
    EXPECT_EQ(t->shape(), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(t->data<float>()[5], 6.5f);
  }
  auto d = parseNpy(
      npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", bytesOf<double>({0.1})),
      error);
  ASSERT_TRUE(d) << error;
  EXPECT_EQ(d->rank(), 0u);
  EXPECT_EQ(d->data<double>()[0], 0.1);
  auto i = parseNpy(npy(1, "{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (3,)}",
                        bytesOf<int32_t>({7, -1, 9})),
                    error);
  ASSERT_TRUE(i) << error;
  EXPECT_EQ(i->data<int32_t>()[1], -1);
}

TEST(Npy, Int64LabelsNarrowToI32WhenTheyFit) {
  std::string error;
  auto t = parseNpy(
      npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", bytesOf<int64_t>({3, 9})),
      error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->dtype(), DType::I32);
  EXPECT_EQ(t->data<int32_t>()[1], 9);
  EXPECT_FALSE(parseNpy(npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
                            bytesOf<int64_t>({3, int64_t(1) << 40})),
                        error));
  EXPECT_EQ(error, "int64 value 1099511627776 at element 1 does not fit in i32");
}

TEST(Npy, BigEndianIsSwapped) {
  std::string error;
  std::string data = bytesOf<float>({1.5f});
  std::reverse(data.begin(), data.end());
  auto t =
      parseNpy(npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", data), error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->data<float>()[0], 1.5f);
}

TEST(Npy, MalformedFilesGetPreciseErrors) {
  const std::string f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  struct Case {
    std::string bytes, message;
  } cases[] = {
      {"", "not a .npy file"},
      {"PK\x03\x04 zip", "not a .npy file"},
      {npy(1, f4, bytesOf<float>({1})), "truncated: the data should be 8 bytes but 4 are present"},
      {npy(1, f4, bytesOf<float>({1, 2, 3})), "4 bytes follow the 8 bytes of data"},
      {npy(4, f4, ""), "unsupported .npy format version 4.0"},
      {npy(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", "abcd"),
       "unsupported dtype '<f2'"},
      {npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", bytesOf<float>({1, 2})),
       "Fortran-order"},
      {npy(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", ""),
       "structured dtypes are not supported"},
      {npy(1, "{'descr': '<f4', 'shape': (2,), }", ""), "lacks"},
      {npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", ""), "'shape'"},
      {npy(1, "not a dict", ""), "the header is not a dict"},
      // A forged shape must not allocate: 2^50 * 2^50 elements.
      {npy(1,
           "{'descr': '<f4', 'fortran_order': False, 'shape': (1125899906842624, "
           "1125899906842624), }",
           ""),
       "overflows"},
      {npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }", ""),
       "needs more memory than"},
      {std::string("\x93NUMPY\x01\x00\xff\xff", 10), "the header length 65535 exceeds the file"},
  };
  for (const Case &c : cases) {
    std::string error;
    EXPECT_FALSE(parseNpy(c.bytes, error)) << c.message;
    EXPECT_NE(error.find(c.message), std::string::npos) << "got: " << error;
  }
}

/// A safetensors file from a JSON header and data.
std::string safetensors(const std::string &json, const std::string &data) {
  return le64(json.size()) + json + data;
}

TEST(Safetensors, ReadsTensorsInDataOrder) {
  std::string json = R"({"__metadata__": {"format": "pt"},
    "b": {"dtype": "I64", "shape": [2], "data_offsets": [8, 24]},
    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})";
  std::string error;
  auto ts =
      parseSafetensors(safetensors(json, bytesOf<float>({1, 2}) + bytesOf<int64_t>({5, 6})), error);
  ASSERT_TRUE(ts) << error;
  ASSERT_EQ(ts->size(), 2u);
  EXPECT_EQ((*ts)[0].first, "a");
  EXPECT_EQ((*ts)[0].second.data<float>()[1], 2.0f);
  EXPECT_EQ((*ts)[1].second.dtype(), DType::I32);
  EXPECT_EQ((*ts)[1].second.data<int32_t>()[0], 5);
}

TEST(Safetensors, MalformedFilesGetPreciseErrors) {
  std::string f32x2 = bytesOf<float>({1, 2});
  struct Case {
    std::string bytes, message;
  } cases[] = {
      {"abc", "the 8-byte header length is missing"},
      {le64(1000) + "{}", "the header length 1000 exceeds the file"},
      {le64(uint64_t(1) << 62) + "{}", "exceeds the file"},
      {safetensors("[1, 2]", ""), "not a JSON object"},
      {safetensors("{\"a\": ", ""), "not valid JSON"},
      {safetensors(std::string(100000, '[') + std::string(100000, ']'), ""), "nested too deeply"},
      {safetensors(R"({"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}})", "abcd"),
       "unsupported dtype BF16"},
      {safetensors(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 80]}})", f32x2),
       "data_offsets [0, 80] do not lie within the 8 bytes of data"},
      {safetensors(R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", f32x2),
       "truncated"},
      {safetensors(R"({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 8]}})", f32x2),
       "non-negative integers"},
      {safetensors(R"({"a": {"dtype": "F32", "shape": [2]}})", f32x2), "no valid data_offsets"},
      {safetensors(
           R"({"a": {"dtype": "F32", "shape": [1099511627776, 1099511627776], "data_offsets": [0, 8]}})",
           f32x2),
       "overflows"},
      {safetensors(R"({"a": 3})", ""), "is not an object"},
  };
  for (const Case &c : cases) {
    std::string error;
    EXPECT_FALSE(parseSafetensors(c.bytes, error)) << c.message;
    EXPECT_NE(error.find(c.message), std::string::npos) << "got: " << error;
  }
}

class FileRoundTrip : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("nabla-io-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string &name) { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(FileRoundTrip, NpyOfEveryDtypeAndRank) {
  for (DType dtype : {DType::F32, DType::F64, DType::I32}) {
    for (std::vector<int64_t> shape : {std::vector<int64_t>{}, {5}, {2, 3}, {2, 1, 4}}) {
      Tensor t(dtype, shape);
      for (int64_t i = 0; i < t.numel(); ++i)
        t.set(i, double(i) * 1.25 - 3);
      std::string error, file = path("t.npy");
      ASSERT_TRUE(writeNpy(file, t, error)) << error;
      auto back = readNpy(file, error);
      ASSERT_TRUE(back) << error;
      EXPECT_EQ(back->dtype(), dtype);
      EXPECT_EQ(back->shape(), shape);
      for (int64_t i = 0; i < t.numel(); ++i)
        EXPECT_EQ(back->get(i), t.get(i));
    }
  }
}

TEST_F(FileRoundTrip, SafetensorsKeepsNamesShapesAndValues) {
  Tensor a(DType::F32, {2, 2}), b(DType::F64, {}), c(DType::I32, {3});
  a.set(3, 0.5);
  b.set(0, -1e300);
  c.set(2, 42);
  std::string error, file = path("p.safetensors");
  ASSERT_TRUE(writeSafetensors(file, {{"W \"1\"", &a}, {"b", &b}, {"c", &c}}, error)) << error;
  auto back = readSafetensors(file, error);
  ASSERT_TRUE(back) << error;
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].first, "W \"1\"");
  EXPECT_EQ((*back)[0].second.data<float>()[3], 0.5f);
  EXPECT_EQ((*back)[1].second.data<double>()[0], -1e300);
  EXPECT_EQ((*back)[2].second.data<int32_t>()[2], 42);
  // The header is padded so that the data starts at a multiple of 8.
  std::ifstream in(file, std::ios::binary);
  char length[8];
  in.read(length, 8);
  uint64_t n;
  std::memcpy(&n, length, 8);
  EXPECT_EQ(n % 8, 0u);
}

TEST_F(FileRoundTrip, WritesReplaceAtomicallyAndLeaveNoTemporaries) {
  Tensor t(DType::F32, {1000});
  std::string error, file = path("w.npy");
  ASSERT_TRUE(writeNpy(file, t, error));
  t.set(0, 7);
  ASSERT_TRUE(writeNpy(file, t, error));
  EXPECT_EQ(readNpy(file, error)->get(0), 7);
  int entries = 0;
  for ([[maybe_unused]] const auto &e : std::filesystem::directory_iterator(dir_))
    ++entries;
  EXPECT_EQ(entries, 1);
  EXPECT_FALSE(writeNpy(path("missing-folder/w.npy"), t, error));
  EXPECT_NE(error.find("cannot create a temporary file"), std::string::npos);
}

TEST_F(FileRoundTrip, ReadTensorFileByExtension) {
  Tensor t(DType::F64, {2});
  std::string error;
  ASSERT_TRUE(writeSafetensors(path("one.safetensors"), {{"x", &t}}, error));
  EXPECT_TRUE(readTensorFile(path("one.safetensors"), error));
  ASSERT_TRUE(writeSafetensors(path("two.safetensors"), {{"x", &t}, {"y", &t}}, error));
  EXPECT_FALSE(readTensorFile(path("two.safetensors"), error));
  EXPECT_NE(error.find("must hold one tensor, not 2"), std::string::npos);
  EXPECT_FALSE(readTensorFile(path("absent.npy"), error));
  EXPECT_NE(error.find("cannot open"), std::string::npos);
}

} // namespace
} // namespace nabla
