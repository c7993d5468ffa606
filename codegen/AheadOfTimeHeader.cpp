#include "codegen/AheadOfTime.h"

#include <fmt/format.h>

#include <cctype>

namespace nabla::codegen {

namespace {

const char *cType(DType dtype) {
  switch (dtype) {
  case DType::F32: return "float";
  case DType::F64: return "double";
  case DType::I32: return "int32_t";
  }
  return "float";
}

/// "[batch][784]": the batch symbol as `batch` (or its fixed size).
std::string cShape(const TensorType &type, const AheadOfTimeModel &model) {
  std::string out;
  for (const Dim &d : type.shape) {
    std::string text = d.str();
    if (!model.batchSymbol.empty() && d == Dim::symbol(model.batchSymbol))
      text = model.fixedBatch ? std::to_string(model.tile) : "batch";
    out += "[" + text + "]";
  }
  return out.empty() ? "[1]" : out;
}

std::string upper(std::string s) {
  for (char &c : s)
    c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

} // namespace

std::string aheadOfTimeHeader(const ir::Function &fn, const AheadOfTimeModel &model,
                              const std::string &script) {
  const std::string &p = model.prefix;
  std::string guard = "NABLA_" + upper(p) + "_H";
  std::string out =
      fmt::format("/* {p}.h: the C API of `{script}`, compiled ahead of time by `nabla compile`.\n"
                  " * Generated; do not edit. Link the object with: cc app.c OBJECT -lm -lpthread\n"
                  " *\n"
                  " *   {p} *m = {p}_create(\"params.safetensors\");   (NULL: see {p}_error())\n"
                  " *   {p}_predict(m, batch, inputs..., outputs...);\n"
                  " *   {p}_destroy(m);\n"
                  " *\n"
                  " * Arrays are row-major. Calls on one model run one at a time; models may be\n"
                  " * used from several threads. */\n"
                  "#ifndef {guard}\n#define {guard}\n\n#include <stdint.h>\n\n"
                  "#ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n",
                  fmt::arg("p", p), fmt::arg("script", script), fmt::arg("guard", guard));
  if (model.fixedBatch)
    out += fmt::format("/** The batch every call of {}_predict takes (--batch). */\n"
                       "#define {}_BATCH {}\n\n",
                       p, upper(p), model.tile);
  out += fmt::format(
      "/** A loaded model: its params and working memory. */\n"
      "typedef struct {p} {p};\n\n"
      "/** Loads the params from the safetensors file `params_path` (as `nabla train\n"
      " * --save` writes it; names, dtypes and shapes are checked). {embedded}\n"
      " * Returns NULL on an error, which {p}_error() describes. */\n"
      "{p} *{p}_create(const char *params_path);\n\n",
      fmt::arg("p", p),
      fmt::arg("embedded", model.embedded.empty()
                               ? "The params were not\n * embedded: the path is required."
                               : "The params given\n * to --params are embedded: NULL uses "
                                 "them, a path wins over them."));
  std::string arguments, docs;
  for (const auto &arg : fn.args)
    if (arg->role == ir::ArgRole::Input) {
      arguments += fmt::format(", const {} *{}", cType(arg->value.type.dtype), arg->value.name);
      docs += fmt::format(" *   {}: const {} {} (input, {})\n", arg->value.name,
                          cType(arg->value.type.dtype), cShape(arg->value.type, model),
                          arg->value.type.str());
    }
  for (const ir::Result &r : fn.results) {
    arguments += fmt::format(", {} *{}", cType(r.value->type.dtype), r.name);
    docs +=
        fmt::format(" *   {}: {} {} (output, written; {})\n", r.name, cType(r.value->type.dtype),
                    cShape(r.value->type, model), r.value->type.str());
  }
  std::string batchRule =
      model.fixedBatch ? fmt::format("`batch` must be {}", model.tile) : "any batch >= 1 works";
  out +=
      fmt::format("/** Runs the network on `batch` examples ({rule}):\n{docs}"
                  " * Returns 0, or non-zero with {p}_error() set. */\n"
                  "int {p}_predict({p} *m, int64_t batch{arguments});\n\n"
                  "/** Frees the model (NULL is ignored). */\n"
                  "void {p}_destroy({p} *m);\n\n"
                  "/** The calling thread's last error message. */\n"
                  "const char *{p}_error(void);\n\n"
                  "/** The threads parallel loops use from now on (0: the cores online, the\n"
                  " * default unless NABLA_THREADS or --threads set it). Returns 0, or non-zero\n"
                  " * for a count outside 0..256. */\n"
                  "int {p}_set_threads(int threads);\n\n"
                  "#ifdef __cplusplus\n}}\n#endif\n\n#endif /* {guard} */\n",
                  fmt::arg("rule", batchRule), fmt::arg("docs", docs), fmt::arg("p", p),
                  fmt::arg("arguments", arguments), fmt::arg("guard", guard));
  return out;
}

} // namespace nabla::codegen
