//===- TypesTest.cpp ------------------------------------------------------===//
#include "support/Types.h"
#include "runtime/Tensor.h"

#include <gtest/gtest.h>

namespace nabla {
namespace {

Dim sym(const char *s) { return Dim::symbol(s); }

TEST(Dim, ConcreteAndSymbolicPrint) {
  EXPECT_EQ(Dim(784).str(), "784");
  EXPECT_EQ(sym("B").str(), "B");
  EXPECT_EQ(Dim::product(Dim(784), sym("B"))->str(), "784*B");
  EXPECT_EQ(Dim::product(sym("T"), sym("B"))->str(), "B*T");
  EXPECT_TRUE(Dim().isOne());
}

TEST(Dim, ProductsAreCommutativeAndCompareStructurally) {
  Dim a = *Dim::product(*Dim::product(sym("B"), Dim(3)), sym("T"));
  Dim b = *Dim::product(sym("T"), *Dim::product(Dim(3), sym("B")));
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == *Dim::product(sym("B"), sym("T")));
}

TEST(Dim, ExactDivisionOnly) {
  Dim whole = *Dim::product(Dim(784), sym("B"));
  EXPECT_TRUE(*whole.dividedBy(Dim(28)) == *Dim::product(Dim(28), sym("B")));
  EXPECT_TRUE(*whole.dividedBy(*Dim::product(Dim(784), sym("B"))) == Dim(1));
  EXPECT_FALSE(whole.dividedBy(Dim(5)).has_value());
  EXPECT_FALSE(whole.dividedBy(sym("T")).has_value());
  EXPECT_FALSE(Dim(4).dividedBy(Dim(0)).has_value());
}

TEST(Dim, OverflowIsReportedNotWrapped) {
  Dim big(int64_t(1) << 40);
  EXPECT_TRUE(Dim::product(big, Dim(1 << 20)).has_value());
  EXPECT_FALSE(Dim::product(big, big).has_value());
}

TEST(Dim, EvaluateBindsSymbols) {
  Dim d = *Dim::product(Dim(3), *Dim::product(sym("B"), sym("T")));
  auto lookup = [](const std::string &s) -> std::optional<int64_t> {
    if (s == "B")
      return 4;
    if (s == "T")
      return 5;
    return std::nullopt;
  };
  EXPECT_EQ(d.evaluate(lookup), 60);
  EXPECT_FALSE(sym("N").evaluate(lookup).has_value());
}

TEST(Broadcast, NumPyRules) {
  auto shape = [](std::initializer_list<Dim> dims) { return Shape(dims); };
  auto str = [](const std::optional<Shape> &s) { return s ? shapeStr(*s) : "none"; };
  EXPECT_EQ(str(broadcastShapes(shape({sym("B"), Dim(256)}), shape({Dim(256)}))), "[B, 256]");
  EXPECT_EQ(str(broadcastShapes(shape({Dim(3), Dim(1)}), shape({Dim(1), Dim(4)}))), "[3, 4]");
  EXPECT_EQ(str(broadcastShapes(shape({}), shape({Dim(2), Dim(5)}))), "[2, 5]");
  EXPECT_EQ(str(broadcastShapes(shape({sym("B"), Dim(1)}), shape({Dim(1), sym("B")}))), "[B, B]");
  EXPECT_EQ(str(broadcastShapes(shape({Dim(3)}), shape({Dim(4)}))), "none");
  EXPECT_EQ(str(broadcastShapes(shape({sym("B")}), shape({Dim(4)}))), "none");
  EXPECT_EQ(str(broadcastShapes(shape({sym("B")}), shape({sym("N")}))), "none");
}

TEST(TensorType, Prints) {
  EXPECT_EQ((TensorType{DType::I32, {sym("B")}}).str(), "i32[B]");
  EXPECT_EQ((TensorType{DType::F64, {}}).str(), "f64[]");
  EXPECT_EQ(parseDType("f32"), DType::F32);
  EXPECT_FALSE(parseDType("float").has_value());
}

} // namespace
} // namespace nabla

namespace nabla {
TEST(Tensor, BorrowedMemoryIsReadInPlaceAndNotFreed) {
  alignas(64) float data[6] = {1, 2, 3, 4, 5, 6};
  {
    Tensor t = Tensor::borrow(DType::F32, {2, 3}, data);
    EXPECT_EQ(t.raw(), static_cast<void *>(data));
    EXPECT_EQ(t.numel(), 6);
    EXPECT_EQ(t.get(4), 5.0);
    t.set(0, 9);
    Tensor owned = t.clone(); // a copy owns its memory
    EXPECT_NE(owned.raw(), t.raw());
    EXPECT_EQ(owned.get(0), 9.0);
  } // destroying the borrowed tensor must not free the stack array
  EXPECT_EQ(data[0], 9.0f);
}
} // namespace nabla
