//===- SemaTrain.cpp - Declared types, initializers, the train block ------===//
#include "frontend/SemaImpl.h"

#include <llvm/Support/Casting.h>

#include <cmath>

namespace nabla {

using llvm::dyn_cast;

namespace sema {

namespace {

/// A table row with the signature Sema binds call arguments to.
template <typename Row> struct Spec {
  const Row *row;
  Signature signature;
};

/// How a setting's type reads as a signature parameter.
ArgKind argKind(SettingType type) {
  switch (type) {
  case SettingType::Number: return ArgKind::Float;
  case SettingType::Flag: return ArgKind::Bool;
  case SettingType::Path: return ArgKind::String;
  case SettingType::Columns: return ArgKind::List;
  }
  return ArgKind::Float;
}

/// The signatures of a vocabulary table, built once from its rows.
template <typename Row> std::vector<Spec<Row>> specsOf(const std::vector<Row> &table) {
  std::vector<Spec<Row>> specs;
  for (const Row &row : table) {
    Signature sig{row.name, {}};
    for (const auto &s : row.settings)
      sig.params.push_back({s.name, argKind(s.type), s.defaultText, s.defaultValue});
    specs.push_back({&row, std::move(sig)});
  }
  return specs;
}

const std::vector<Spec<InitializerRow>> &initializers() {
  static const std::vector<Spec<InitializerRow>> specs = specsOf(initializerTable());
  return specs;
}
const std::vector<Spec<OptimizerRow>> &optimizers() {
  static const std::vector<Spec<OptimizerRow>> specs = specsOf(optimizerTable());
  return specs;
}
const std::vector<Spec<DataSourceRow>> &sources() {
  static const std::vector<Spec<DataSourceRow>> specs = specsOf(dataSourceTable());
  return specs;
}

template <typename Row>
const Spec<Row> *findSpec(const std::vector<Spec<Row>> &specs, std::string_view name) {
  for (const Spec<Row> &s : specs)
    if (s.signature.name == name)
      return &s;
  return nullptr;
}

template <typename Row>
std::vector<std::string_view> specNames(const std::vector<Spec<Row>> &specs) {
  std::vector<std::string_view> names;
  for (const Spec<Row> &s : specs)
    names.push_back(s.signature.name);
  return names;
}

/// "zeros, constant(value), uniform(lo, hi) and he_normal": the rows as a
/// message lists them, the last joined by `last` ("and", "or").
template <typename Row>
std::string listed(const std::vector<Spec<Row>> &specs, std::string_view last = "and") {
  std::string text;
  for (size_t i = 0; i < specs.size(); ++i) {
    std::string item(specs[i].signature.name);
    std::string params;
    for (const ParamSpec &p : specs[i].signature.params)
      params += (params.empty() ? "" : ", ") + std::string(p.name);
    if (!params.empty())
      item += "(" + params + ")";
    text += (i == 0 ? "" : i + 1 == specs.size() ? fmt::format(" {} ", last) : ", ") + item;
  }
  return text;
}

/// Splits `NAME` or `NAME(args)` (the forms of initializers and optimizers).
bool nameOrCall(const ast::Expr &e, std::string &name, const ast::CallExpr *&call) {
  if (const auto *n = dyn_cast<ast::NameExpr>(&e)) {
    name = n->name;
    call = nullptr;
    return true;
  }
  if (const auto *c = dyn_cast<ast::CallExpr>(&e)) {
    name = c->callee;
    call = c;
    return true;
  }
  return false;
}

} // namespace

bool isInitializerName(std::string_view name) { return findSpec(initializers(), name); }
bool isOptimizerName(std::string_view name) { return findSpec(optimizers(), name); }
bool isDataSourceName(std::string_view name) { return findSpec(sources(), name); }

//===----------------------------------------------------------------------===//
// Declared types
//===----------------------------------------------------------------------===//

std::optional<TensorType> Sema::resolveType(const ast::TypeExpr &type, const std::string &declName,
                                            bool isParam) {
  DType dtype = DType::F32;
  if (!type.dtype.empty()) {
    std::optional<DType> parsed = parseDType(type.dtype);
    if (!parsed) {
      error(type.dtypeLoc, "unknown element type '{}'; the element types are f32, f64 and i32",
            type.dtype);
      return std::nullopt;
    }
    dtype = *parsed;
  }
  if (dtype == DType::F32 && options_.forceF64)
    dtype = DType::F64;
  if (isParam && dtype == DType::I32) {
    error(type.dtypeLoc,
          "param '{}' must be f32 or f64: i32 values hold labels and cannot be "
          "trained",
          declName);
    return std::nullopt;
  }
  if (type.dims.size() > kMaxRank) {
    error(type.loc, "'{}' has {} dimensions; the most a tensor may have is {}", declName,
          type.dims.size(), kMaxRank);
    return std::nullopt;
  }
  TensorType result{dtype, {}};
  bool ok = true;
  for (const ast::ExprPtr &e : type.dims) {
    Dim d;
    if (resolveDim(*e, declName, isParam, d))
      result.shape.push_back(d);
    else
      ok = false;
  }
  if (!ok)
    return std::nullopt;
  std::optional<Dim> count = numElements(result.shape);
  if (!count || count->coefficient() > kMaxDimSize) {
    error(type.loc, "'{}' is too large: {} has more than 2^40 elements", declName, result.str());
    return std::nullopt;
  }
  return result;
}

bool Sema::resolveDim(const ast::Expr &e, const std::string &declName, bool isParam, Dim &out) {
  auto positive = [&](double v, SourceLoc loc) {
    if (v >= 1 && v <= double(kMaxDimSize) && v == std::floor(v)) {
      out = Dim(static_cast<int64_t>(v));
      return true;
    }
    error(loc, "a dimension must be a positive integer, but this is {}", v);
    return false;
  };
  if (const auto *n = dyn_cast<ast::NameExpr>(&e)) {
    const std::string &name = n->name;
    if (auto it = globals_.names.find(name); it != globals_.names.end()) {
      const Binding &b = it->second;
      if (b.kind != BindingKind::Const) {
        error(e.loc(),
              "'{}' is {}, not a size: a dimension is an integer, a const or a symbolic "
              "size",
              name, describe(b.kind));
        note(b.loc, "'{}' is defined here", name);
        return false;
      }
      return !b.value.isPoison() && positive(b.value.number, e.loc());
    }
    if (globals_.failed.count(name))
      return false;
    if (lookupBuiltin(name) || name == "true" || name == "false") {
      error(e.loc(), "'{}' is a builtin, not a size", name);
      return false;
    }
    if (auto later = globals_.later.find(name);
        later != globals_.later.end() && laterConsts_.count(name)) {
      error(e.loc(), "'{}' is used before its definition", name);
      note(later->second, "'{}' is defined here", name);
      return false;
    }
    if (isParam) {
      if (symbols_.count(name))
        error(e.loc(), "param '{}' must have a fixed shape, but '{}' is a symbolic size", declName,
              name);
      else
        error(e.loc(), "unknown size '{}': a param's dimensions are integers or consts", name);
      return false;
    }
    symbols_.emplace(name, e.loc());
    out = Dim::symbol(name);
    return true;
  }
  Value v = eval(e, globals_);
  if (v.kind == Value::Kind::Number)
    return positive(v.number, ast::beginLoc(e));
  if (!v.isPoison())
    error(ast::beginLoc(e),
          "a dimension must be an integer, a const or a symbolic size, but this "
          "is {}",
          v.describe());
  return false;
}

//===----------------------------------------------------------------------===//
// Initializers
//===----------------------------------------------------------------------===//

std::optional<Initializer> Sema::resolveInitializer(const ast::ParamStmt &param,
                                                    const TensorType &type) {
  using K = Initializer::Kind;
  Initializer init;
  if (!param.init) {
    // Rank 0 and 1 (biases) start at zero, matrices and filters at Glorot.
    init.kind = type.rank() <= 1 ? K::Zeros : K::GlorotUniform;
    init.loc = param.nameLoc;
    init.isDefault = true;
    return init;
  }
  const ast::Expr &e = *param.init;
  init.loc = e.loc();
  std::string name;
  const ast::CallExpr *call;
  if (!nameOrCall(e, name, call)) {
    error(ast::beginLoc(e), "expected an initializer such as he_normal, zeros or uniform(-1, 1) "
                            "after '='");
    return std::nullopt;
  }
  const Spec<InitializerRow> *spec = findSpec(initializers(), name);
  if (!spec) {
    std::string suggestion = closestName(name, specNames(initializers()));
    error(e.loc(), "unknown initializer '{}'{}; the initializers are {}", name,
          suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)",
          listed(initializers()));
    return std::nullopt;
  }
  init.kind = spec->row->kind;
  auto args = bindArguments(spec->signature, call, e.loc(), globals_);
  if (!args)
    return std::nullopt;
  const auto &settings = spec->row->settings;
  for (size_t i = 0; i < settings.size(); ++i) {
    std::optional<double> v = argNumber((*args)[i], fmt::format("'{}'", settings[i].name));
    if (!v)
      return std::nullopt;
    init.*settings[i].number = *v;
  }
  if (init.kind == K::Uniform && !(init.a < init.b)) {
    error(e.loc(), "uniform(lo, hi) needs lo < hi, but it is uniform({}, {})", init.a, init.b);
    return std::nullopt;
  }
  if (init.kind == K::Normal && !(init.b >= 0)) {
    error(e.loc(), "normal(mean, std) needs std >= 0, but it is {}", init.b);
    return std::nullopt;
  }
  if (spec->row->usesFans && type.rank() == 0) {
    error(e.loc(), "{} needs a param of rank 1 or more to compute its fan, but '{}' is a scalar",
          name, param.name);
    return std::nullopt;
  }
  return init;
}

//===----------------------------------------------------------------------===//
// The train block
//===----------------------------------------------------------------------===//

std::optional<int64_t> Sema::checkCount(const ast::Expr &e, std::string_view key, int64_t minimum) {
  std::optional<double> v = evalNumber(e, globals_, fmt::format("'{}'", key));
  if (!v)
    return std::nullopt;
  if (*v != std::floor(*v) || *v < double(minimum) || *v > 9.0e15) {
    error(ast::beginLoc(e), "'{}' must be an integer of at least {}, but it is {}", key, minimum,
          *v);
    return std::nullopt;
  }
  return static_cast<int64_t>(*v);
}

void Sema::checkTrain(const ast::TrainStmt &train) {
  TrainConfig config;
  config.loc = train.loc();
  std::unordered_map<std::string, SourceLoc> seen;
  for (const ast::TrainEntry &entry : train.entries) {
    const std::string &key = entry.key;
    if (auto [it, inserted] = seen.emplace(key, entry.keyLoc); !inserted) {
      error(entry.keyLoc, "duplicate train setting '{}'", key);
      note(it->second, "'{}' is first set here", key);
      continue;
    }
    const ast::Expr &value = *entry.value;
    if (key == "data") {
      config.data = checkSources(value, key);
    } else if (key == "test") {
      config.test = checkSources(value, key);
    } else if (key == "optimizer") {
      config.optimizer = checkOptimizer(value);
    } else if (key == "batch") {
      config.batch = checkCount(value, key, 1);
    } else if (key == "epochs") {
      config.epochs = checkCount(value, key, 1);
    } else if (key == "seed") {
      config.seed = checkCount(value, key, 0).value_or(0);
    } else if (key == "shuffle") {
      Value v = eval(value, globals_);
      if (v.kind == Value::Kind::Bool)
        config.shuffle = v.boolean;
      else if (!v.isPoison())
        error(ast::beginLoc(value), "'shuffle' must be true or false, but this is {}",
              v.describe());
    } else {
      static const std::vector<std::string_view> keys = {"data",   "test", "optimizer", "batch",
                                                         "epochs", "seed", "shuffle"};
      std::string suggestion = closestName(key, keys);
      error(entry.keyLoc,
            "unknown train setting '{}'{}; the settings are data, test, optimizer, "
            "batch, epochs, seed and shuffle",
            key, suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)");
    }
  }
  program_->train = std::move(config);
}

std::vector<std::pair<std::string, DataSource>> Sema::checkSources(const ast::Expr &e,
                                                                   std::string_view key) {
  std::vector<std::pair<std::string, DataSource>> result;
  const auto *record = dyn_cast<ast::RecordExpr>(&e);
  if (!record) {
    error(ast::beginLoc(e),
          "'{}' must be a record that maps inputs to data sources, such as "
          "{{x: idx(\"images.gz\"), y: idx(\"labels.gz\")}}",
          key);
    return result;
  }
  std::vector<std::string_view> inputNames;
  for (const InputDecl &in : program_->inputs)
    inputNames.push_back(in.name);
  std::unordered_map<std::string, SourceLoc> seen;
  for (const ast::RecordField &field : record->fields) {
    if (auto [it, inserted] = seen.emplace(field.name, field.nameLoc); !inserted) {
      error(field.nameLoc, "input '{}' is given two sources", field.name);
      note(it->second, "the first source of '{}' is here", field.name);
      continue;
    }
    auto binding = globals_.names.find(field.name);
    if (binding == globals_.names.end() || binding->second.kind != BindingKind::Input) {
      std::string suggestion = closestName(field.name, inputNames);
      error(field.nameLoc, "'{}' is not an input of the script{}", field.name,
            suggestion.empty() ? "" : "; did you mean '" + suggestion + "'?");
      continue;
    }
    if (std::optional<DataSource> source = checkSource(*field.value))
      result.emplace_back(field.name, std::move(*source));
  }
  return result;
}

std::optional<DataSource> Sema::checkSource(const ast::Expr &e) {
  const auto *call = dyn_cast<ast::CallExpr>(&e);
  const Spec<DataSourceRow> *spec = call ? findSpec(sources(), call->callee) : nullptr;
  if (!spec) {
    error(e.loc(), "expected a data source: {}", listed(sources(), "or"));
    return std::nullopt;
  }
  auto args = bindArguments(spec->signature, call, e.loc(), globals_);
  if (!args)
    return std::nullopt;
  DataSource source;
  source.kind = spec->row->kind;
  source.loc = e.loc();
  std::optional<std::string> path = argString((*args)[0], "the path");
  std::optional<double> scale = argNumber((*args)[spec->signature.find("scale")], "'scale'");
  if (!path || !scale)
    return std::nullopt;
  if (path->empty()) {
    error((*args)[0].loc, "the path is empty");
    return std::nullopt;
  }
  if (!std::isfinite(*scale)) {
    error((*args)[1].loc, "'scale' must be a finite number");
    return std::nullopt;
  }
  source.path = (path->front() == '/' || options_.scriptDir.empty())
                    ? *path
                    : options_.scriptDir + "/" + *path;
  source.scale = *scale;
  if (source.kind == DataSource::Kind::Csv) {
    std::optional<bool> header = argBool((*args)[2], "'header'");
    if (!header)
      return std::nullopt;
    source.header = *header;
    const BoundArg &columns = (*args)[1];
    if (columns.given()) {
      if (columns.value.kind != Value::Kind::List || columns.value.items.empty()) {
        error(columns.loc, "'columns' must be a non-empty list of column indices or names");
        return std::nullopt;
      }
      for (const Value &item : columns.value.items) {
        if (item.kind == Value::Kind::String && source.header) {
          source.columnNames.push_back(item.text);
        } else if (item.kind == Value::Kind::Number && item.number >= 0 &&
                   item.number == std::floor(item.number) && item.number < 1e9) {
          source.columns.push_back(static_cast<int64_t>(item.number));
        } else {
          error(item.loc, "a column is a non-negative index{}, but this is {}",
                source.header ? " or a header name" : "", item.describe());
          return std::nullopt;
        }
      }
      if (!source.columns.empty() && !source.columnNames.empty()) {
        error(columns.loc, "'columns' must list either indices or names, not both");
        return std::nullopt;
      }
    }
  }
  return source;
}

std::optional<OptimizerConfig> Sema::checkOptimizer(const ast::Expr &e) {
  std::string name;
  const ast::CallExpr *call;
  const Spec<OptimizerRow> *spec =
      nameOrCall(e, name, call) ? findSpec(optimizers(), name) : nullptr;
  if (!spec) {
    std::string suggestion = name.empty() ? "" : closestName(name, specNames(optimizers()));
    error(e.loc(), "unknown optimizer{}{}; the optimizers are {}",
          name.empty() ? "" : " '" + name + "'",
          suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)", listed(optimizers()));
    return std::nullopt;
  }
  auto args = bindArguments(spec->signature, call, e.loc(), globals_);
  if (!args)
    return std::nullopt;
  OptimizerConfig config;
  config.kind = spec->row->kind;
  config.loc = e.loc();
  bool ok = true;
  const auto &settings = spec->row->settings;
  for (size_t i = 0; i < settings.size(); ++i) {
    const Setting<OptimizerConfig> &s = settings[i];
    const BoundArg &arg = (*args)[i];
    if (s.type == SettingType::Flag) {
      std::optional<bool> flag = argBool(arg, fmt::format("'{}'", s.name));
      if (flag)
        config.*s.flag = *flag;
      ok = ok && flag;
      continue;
    }
    std::optional<double> v = argNumber(arg, fmt::format("'{}'", s.name));
    if (!v) {
      ok = false;
    } else if (!std::isfinite(*v) || *v < s.min || (s.minOpen && *v == s.min) || *v >= s.max) {
      error(arg.loc, "{}'s '{}' must be {}, but it is {}", name, s.name, s.rule, *v);
      ok = false;
    } else {
      config.*s.number = *v;
    }
  }
  if (ok && config.nesterov && config.momentum <= 0) {
    error((*args)[spec->signature.find("nesterov")].loc,
          "sgd with nesterov=true needs momentum > 0");
    return std::nullopt;
  }
  if (!ok)
    return std::nullopt;
  return config;
}

void Sema::checkLevenbergMarquardt() {
  const auto &train = program_->train;
  if (!train || !train->optimizer || train->optimizer->kind != OptimizerConfig::Kind::Lm)
    return;
  SourceLoc at = train->optimizer->loc;
  const Node *loss = program_->loss;
  if (loss && !(loss->kind == Node::Kind::Op && loss->op == Builtin::Mse)) {
    std::string what = loss->kind == Node::Kind::Op
                           ? fmt::format("'{}'", builtinInfo(loss->op).name)
                           : std::string("not a computation");
    error(at,
          "lm (Levenberg-Marquardt) minimizes a sum of squares: the loss must be "
          "mse(pred, target), but it is {}",
          what);
    note(program_->lossLoc, "the loss is defined here");
  }
  int64_t elements = 0;
  for (const ParamDecl &p : program_->params) {
    std::optional<Dim> n = numElements(p.node->type.shape);
    if (n && n->isConcrete())
      elements += n->coefficient();
  }
  if (elements > kMaxLmParams)
    error(at,
          "lm solves a system as large as the params every step: it takes at most {} param "
          "elements, but the script has {}; use adam or sgd",
          kMaxLmParams, elements);
}

} // namespace sema
} // namespace nabla
