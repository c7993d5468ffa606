#include "OpCases.h"

#include "ir/Interpreter.h"
#include "support/Random.h"

#include <fmt/format.h>

namespace nabla {

namespace {
std::string unary(const char *op, const char *attrs = "") {
  return fmt::format("  param %a : f64[2, 3]\n  %y = {} %a{} : f64[2, 3]\n", op, attrs);
}
std::string binary(const char *op) {
  return fmt::format(
      "  param %a : f64[2, 3]\n  param %b : f64[2, 3]\n  %y = {} %a, %b : f64[2, 3]\n", op);
}
} // namespace

std::vector<Case> differentiableCases() {
  using D = Domain;
  std::vector<Case> c = {
      {"neg", unary("neg"), {}},
      {"exp", unary("exp"), {}},
      {"log", unary("log"), {{"a", D::Positive}}},
      {"sqrt", unary("sqrt"), {{"a", D::Positive}}},
      {"abs", unary("abs"), {}},
      {"tanh", unary("tanh"), {}},
      {"sigmoid", unary("sigmoid"), {}},
      {"relu", unary("relu"), {}},
      {"softplus", unary("softplus"), {}},
      {"gelu", unary("gelu"), {}},
      {"erf", unary("erf"), {}},
      {"sin", unary("sin"), {}},
      {"cos", unary("cos"), {}},
      {"log1p", unary("log1p"), {{"a", D::Positive}}},
      {"expm1", unary("expm1"), {}},
      {"leaky_relu", unary("leaky_relu", " {alpha = 0.1}"), {}},
      {"elu", unary("elu", " {alpha = 0.7}"), {}},
      {"add", binary("add"), {}},
      {"sub", binary("sub"), {}},
      {"mul", binary("mul"), {}},
      {"safe_mul", binary("safe_mul"), {}},
      {"div", binary("div"), {{"b", D::Positive}}},
      {"pow", binary("pow"), {{"a", D::Positive}}},
      {"max", binary("max"), {}},
      {"min", binary("min"), {}},
      {"select",
       "  input %m : f64[2, 3]\n  param %a : f64[2, 3]\n  param %b : f64[2, 3]\n"
       "  %y = select %m, %a, %b : f64[2, 3]\n",
       {{"m", D::Mask}}},
      {"broadcast_leading", "  param %a : f64[3]\n  %y = broadcast %a : f64[2, 3]\n", {}},
      {"broadcast_inner", "  param %a : f64[2, 1]\n  %y = broadcast %a : f64[2, 3]\n", {}},
      {"reshape", "  param %a : f64[2, 3]\n  %y = reshape %a : f64[3, 2]\n", {}},
      {"transpose",
       "  param %a : f64[2, 3, 4]\n  %y = transpose %a {perm = [2, 0, 1]} : f64[4, 2, 3]\n",
       {}},
      {"concat",
       "  param %a : f64[2, 3]\n  param %b : f64[2, 2]\n  %y = concat %a, %b, %a {axis = 1} : "
       "f64[2, 8]\n",
       {}},
      {"slice", "  param %a : f64[2, 5]\n  %y = slice %a {axis = 1, start = 1} : f64[2, 3]\n", {}},
      {"slice_from_end",
       "  param %a : f64[4, 3]\n  %y = slice %a {axis = 0, start = 3, from_end = true} : f64[2, "
       "3]\n",
       {}},
      {"pad", "  param %a : f64[2, 3]\n  %y = pad %a {axis = 1, start = 1} : f64[2, 5]\n", {}},
      {"pad_from_end",
       "  param %a : f64[2, 3]\n  %y = pad %a {axis = 0, start = 3, from_end = true} : f64[5, 3]\n",
       {}},
      {"reduce_sum", "  param %a : f64[2, 3]\n  %y = reduce_sum %a {axes = [1]} : f64[2]\n", {}},
      {"reduce_sum_keepdims",
       "  param %a : f64[2, 3, 2]\n  %y = reduce_sum %a {axes = [0, 2], keepdims = true} : f64[1, "
       "3, 1]\n",
       {}},
      {"reduce_max", "  param %a : f64[3, 4]\n  %y = reduce_max %a {axes = [0]} : f64[4]\n", {}},
      {"reduce_min", "  param %a : f64[3, 4]\n  %y = reduce_min %a {axes = [0, 1]} : f64[]\n", {}},
      {"logsumexp", "  param %a : f64[3, 4]\n  %y = logsumexp %a {axes = [1]} : f64[3]\n", {}},
      {"softmax", "  param %a : f64[3, 4]\n  %y = softmax %a {axis = 1} : f64[3, 4]\n", {}},
      {"log_softmax", "  param %a : f64[3, 4]\n  %y = log_softmax %a {axis = 0} : f64[3, 4]\n", {}},
      {"cross_entropy",
       "  param %z : f64[4, 3]\n  input %t : i32[4]\n  %y = cross_entropy %z, %t : f64[]\n",
       {{"t", D::Labels}}},
      {"bce_with_logits",
       "  param %a : f64[2, 3]\n  param %t : f64[2, 3]\n  %y = bce_with_logits %a, %t : f64[]\n",
       {{"t", D::Unit}}},
      {"conv2d",
       "  param %x : f64[2, 2, 5, 5]\n  param %k : f64[3, 2, 3, 3]\n"
       "  %y = conv2d %x, %k {stride = [2, 2], padding = [1, 1]} : f64[2, 3, 3, 3]\n",
       {}},
      {"conv2d_backward_input",
       "  param %g : f64[2, 3, 3, 3]\n  param %k : f64[3, 2, 3, 3]\n"
       "  %y = conv2d_backward_input %g, %k {stride = [2, 2], padding = [1, 1]} : f64[2, 2, 5, "
       "5]\n",
       {}},
      {"conv2d_backward_weight",
       "  param %x : f64[2, 2, 5, 5]\n  param %g : f64[2, 3, 3, 3]\n"
       "  %y = conv2d_backward_weight %x, %g {stride = [2, 2], padding = [1, 1]} : f64[3, 2, 3, "
       "3]\n",
       {}},
      {"max_pool2d",
       "  param %x : f64[1, 2, 4, 4]\n  %y = max_pool2d %x {window = [2, 2], stride = [2, 2]} : "
       "f64[1, 2, 2, 2]\n",
       {}},
      {"max_pool2d_backward",
       "  input %x : f64[1, 2, 4, 4]\n  param %g : f64[1, 2, 3, 3]\n"
       "  %y = max_pool2d_backward %x, %g {window = [2, 2], stride = [1, 1]} : f64[1, 2, 4, 4]\n",
       {}},
      {"max_pool2d_tangent",
       "  input %x : f64[1, 2, 4, 4]\n  param %u : f64[1, 2, 4, 4]\n"
       "  %y = max_pool2d_tangent %x, %u {window = [2, 2], stride = [1, 1]} : f64[1, 2, 3, 3]\n",
       {}},
      {"avg_pool2d",
       "  param %x : f64[1, 2, 4, 4]\n  %y = avg_pool2d %x {window = [2, 2], stride = [1, 1]} : "
       "f64[1, 2, 3, 3]\n",
       {}},
      {"avg_pool2d_backward",
       "  param %g : f64[1, 2, 3, 3]\n"
       "  %y = avg_pool2d_backward %g {window = [2, 2], stride = [1, 1]} : f64[1, 2, 4, 4]\n",
       {}},
  };
  for (auto [ta, tb] : {std::pair{false, false}, {true, false}, {false, true}, {true, true}}) {
    std::string a = ta ? "f64[4, 3]" : "f64[3, 4]", b = tb ? "f64[5, 4]" : "f64[4, 5]";
    c.push_back({fmt::format("matmul_{}{}", ta ? "T" : "N", tb ? "T" : "N"),
                 fmt::format("  param %a : {}\n  param %b : {}\n  %y = matmul %a, %b "
                             "{{transpose_a = {}, transpose_b = {}}} : f64[3, 5]\n",
                             a, b, ta, tb),
                 {}});
  }
  c.push_back({"matmul_batched",
               "  param %a : f64[2, 3, 4]\n  param %b : f64[2, 4, 5]\n"
               "  %y = matmul %a, %b : f64[2, 3, 5]\n",
               {}});
  // Loops: the state's slices copied in and out of the body (axis 1), and
  // taken in place (axis 0, 64-byte slices in f64) visiting backwards.
  c.push_back({"scan",
               "  param %h0 : f64[2, 3]\n  param %x : f64[2, 4, 3]\n  param %u : f64[3, 3]\n"
               "  %y = scan %h0, %x, %u {axis = 1, reverse = false} : f64[2, 4, 3] body {\n"
               "    input %h : f64[2, 3]\n    input %xt : f64[2, 3]\n    input %u : f64[3, 3]\n"
               "    %0 = matmul %h, %u : f64[2, 3]\n    %1 = add %0, %xt : f64[2, 3]\n"
               "    %2 = tanh %1 : f64[2, 3]\n    output h = %2\n  }\n",
               {}});
  c.push_back({"scan_reverse",
               "  param %h0 : f64[2, 4]\n  param %x : f64[3, 2, 4]\n  param %v : f64[4]\n"
               "  %y = scan %h0, %x, %v {axis = 0, reverse = true} : f64[3, 2, 4] body {\n"
               "    input %h : f64[2, 4]\n    input %xt : f64[2, 4]\n    input %v : f64[4]\n"
               "    %0 = broadcast %v : f64[2, 4]\n    %1 = mul %h, %0 : f64[2, 4]\n"
               "    %2 = sin %xt : f64[2, 4]\n    %3 = add %1, %2 : f64[2, 4]\n"
               "    output h = %3\n  }\n",
               {}});
  return c;
}

std::string resultTypeOf(const std::string &body) {
  size_t at = body.rfind("%y = ");
  std::string line = body.substr(at, body.find('\n', at) - at);
  std::string type = line.substr(line.rfind(" : ") + 3);
  return type.substr(0, type.find(" body"));
}

std::vector<Case> gradientFreeCases() {
  using D = Domain;
  std::vector<Case> c = {
      {"constant", "  input %a : f64[2, 3]\n  %y = constant {value = -2.5} : f64[2, 3]\n", {}},
      {"dim_size", "  input %a : f64[2, 3]\n  %y = dim_size {dim = 6} : f64[2]\n", {}},
      {"stop_gradient", unary("stop_gradient"), {}},
      {"argmax", "  input %a : f64[3, 4]\n  %y = argmax %a {axis = 1} : i32[3]\n", {}},
      {"argmax0", "  input %a : f64[3, 4]\n  %y = argmax %a {axis = 0} : i32[4]\n", {}},
      {"one_hot",
       "  input %t : i32[5]\n  %y = one_hot %t {classes = 4} : f64[5, 4]\n",
       {{"t", D::Labels}}},
      {"eq_labels",
       "  input %t : i32[5]\n  input %u : i32[5]\n  %y = eq %t, %u : f64[5]\n",
       {{"t", D::Labels}, {"u", D::Labels}}},
  };
  for (const char *op : {"eq", "ne", "lt", "le", "gt", "ge"})
    c.push_back({op, binary(op), {}});
  c.push_back({"select_labels_mask",
               "  input %m : i32[2, 3]\n  param %a : f64[2, 3]\n  param %b : f64[2, 3]\n"
               "  %y = select %m, %a, %b : f64[2, 3]\n",
               {{"m", D::Labels}}});
  return c;
}

std::vector<Tensor> drawArguments(const ir::Function &fn,
                                  const std::map<std::string, Domain> &domains, uint64_t seed) {
  std::vector<Tensor> args;
  for (const auto &arg : fn.args) {
    std::vector<int64_t> shape = *ir::concreteShape(arg->value.type.shape, {});
    Tensor t(arg->value.type.dtype, shape);
    Random r(seed, arg->value.name);
    auto found = domains.find(arg->value.name);
    Domain d = found != domains.end()                ? found->second
               : arg->value.type.dtype == DType::I32 ? Domain::Labels
                                                     : Domain::Normal;
    for (int64_t i = 0; i < t.numel(); ++i)
      t.set(i, d == Domain::Positive ? r.uniform(0.5, 2.0)
               : d == Domain::Unit   ? r.uniform(0.1, 0.9)
               : d == Domain::Mask   ? double(r.below(2))
               : d == Domain::Labels ? double(r.below(3))
                                     : r.normal());
    args.push_back(std::move(t));
  }
  return args;
}

} // namespace nabla
