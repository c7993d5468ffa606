#include "ir/Parser.h"
#include "ir/Verifier.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <unordered_map>

namespace nabla::ir {

namespace {

enum class Tok { Eof, Error, Ident, Percent, At, Number, String, Punct };

struct Token {
  Tok kind = Tok::Eof;
  std::string text; ///< identifier or name (without % or @), string value, punctuation
  double number = 0;
  bool isInteger = false;
  SourceLoc loc;
};

/// Splits IR text into tokens. '#' starts a comment to the end of the line.
class IRLexer {
public:
  IRLexer(std::string_view text, uint32_t file) : text_(text), file_(file) {}

  Token next() {
    skipSpace();
    Token t;
    t.loc = {file_, line_, col_};
    if (pos_ >= text_.size())
      return t;
    char c = text_[pos_];
    auto isIdentStart = [](char ch) { return std::isalpha((unsigned char)ch) || ch == '_'; };
    auto isIdentChar = [](char ch) {
      return std::isalnum((unsigned char)ch) || ch == '_' || ch == '.';
    };
    if (c == '%' || c == '@') {
      advance();
      t.kind = c == '%' ? Tok::Percent : Tok::At;
      while (pos_ < text_.size() && isIdentChar(text_[pos_]))
        t.text += take();
      if (t.text.empty())
        t.kind = Tok::Error;
      return t;
    }
    if (isIdentStart(c)) {
      t.kind = Tok::Ident;
      while (pos_ < text_.size() && isIdentChar(text_[pos_]))
        t.text += take();
      return t;
    }
    bool signedNumber = c == '-' && pos_ + 1 < text_.size() &&
                        (std::isdigit((unsigned char)text_[pos_ + 1]) || text_[pos_ + 1] == '.');
    if (std::isdigit((unsigned char)c) || signedNumber ||
        (c == '.' && pos_ + 1 < text_.size() && std::isdigit((unsigned char)text_[pos_ + 1]))) {
      std::string s;
      s += take();
      while (pos_ < text_.size() &&
             (std::isalnum((unsigned char)text_[pos_]) || text_[pos_] == '.' ||
              ((text_[pos_] == '-' || text_[pos_] == '+') && (s.back() == 'e' || s.back() == 'E'))))
        s += take();
      t.text = s;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), t.number);
      t.kind = (ec == std::errc() && ptr == s.data() + s.size()) ? Tok::Number : Tok::Error;
      t.isInteger = s.find_first_of(".eE") == std::string::npos;
      return t;
    }
    if (c == '"') {
      advance();
      t.kind = Tok::String;
      while (pos_ < text_.size() && text_[pos_] != '"' && text_[pos_] != '\n') {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size())
          advance();
        t.text += take();
      }
      if (pos_ >= text_.size() || text_[pos_] != '"')
        t.kind = Tok::Error;
      else
        advance();
      return t;
    }
    if (std::string_view("=:,()[]{}*-").find(c) != std::string_view::npos) {
      t.kind = Tok::Punct;
      t.text = std::string(1, take());
      return t;
    }
    t.kind = Tok::Error;
    t.text = std::string(1, take());
    return t;
  }

private:
  void advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++pos_;
  }
  char take() {
    char c = text_[pos_];
    advance();
    return c;
  }
  void skipSpace() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n')
          advance();
      } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        advance();
      } else {
        break;
      }
    }
  }

  std::string_view text_;
  uint32_t file_;
  size_t pos_ = 0;
  uint32_t line_ = 1, col_ = 1;
};

class IRParser {
public:
  IRParser(SourceManager &sources, uint32_t file, DiagnosticEngine &diags)
      : sources_(sources), diags_(diags), lexer_(sources.text(file), file) {
    tok_ = lexer_.next();
  }

  std::unique_ptr<Module> run();

private:
  void advance() {
    if (ahead_) {
      tok_ = std::move(*ahead_);
      ahead_.reset();
    } else {
      tok_ = lexer_.next();
    }
  }
  /// The token after the current one.
  const Token &peek() {
    if (!ahead_)
      ahead_ = lexer_.next();
    return *ahead_;
  }
  bool isPunct(char c) const { return tok_.kind == Tok::Punct && tok_.text[0] == c; }
  bool isIdent(std::string_view s) const { return tok_.kind == Tok::Ident && tok_.text == s; }
  std::string describe() const;
  bool fail(const std::string &message) {
    if (!failed_)
      diags_.error(tok_.loc, "{}", message);
    failed_ = true;
    return false;
  }
  bool expectPunct(char c) {
    if (!isPunct(c))
      return fail("expected '" + std::string(1, c) + "', found " + describe());
    advance();
    return true;
  }
  bool expectIdent(std::string &out, std::string_view what) {
    if (tok_.kind != Tok::Ident)
      return fail("expected " + std::string(what) + ", found " + describe());
    out = tok_.text;
    advance();
    return true;
  }
  bool parseNumber(double &out);
  bool parseInt(int64_t &out, int64_t lo, int64_t hi);
  bool parseBool(bool &out);
  bool parseIntList(std::vector<int64_t> &out);
  bool parsePair(int64_t (&out)[2]);
  bool parseDim(Dim &out);
  bool parseType(TensorType &out);
  bool parseLoc(SourceLoc &out);
  bool parseTrainLine(TrainConfig &train);
  /// One argument of `name(args)` in a train line.
  struct CallArg {
    std::string key; ///< "" when positional
    Token value;
    bool isList = false;
    std::vector<Token> list;
  };
  bool parseCallArgs(std::vector<CallArg> &args);
  /// Stores a Number or Flag argument where the table's setting says.
  template <typename Config>
  bool setting(const CallArg &arg, const Setting<Config> &s, Config &config) {
    if (s.type == SettingType::Flag) {
      if (arg.value.kind != Tok::Ident || (arg.value.text != "true" && arg.value.text != "false"))
        return fail(std::string("'") + s.name + "' is true or false");
      config.*s.flag = arg.value.text == "true";
      return true;
    }
    return trainNumber(arg.value, config.*s.number);
  }
  /// A number in a train line.
  bool trainNumber(const Token &t, double &out);
  bool parseFunction(Module &module);
  /// `{ ... }`: the arguments, ops and results of `fn`.
  bool parseContents(Function &fn);
  /// A loop op's body, `{ ... }` after the keyword `body`.
  bool parseBody(std::shared_ptr<const Function> &out);
  bool parseArgument(Function &fn, ArgRole role);
  bool parseInitializer(Initializer &init);
  bool parseOp(Function &fn);
  /// fused { op... }: ops of one fusion group.
  bool parseFusedBlock(Function &fn);
  bool parseAttrs(OpKind kind, Attrs &attrs);
  bool parseResult(Function &fn, ResultRole role);
  Value *lookupValue(const std::string &name);

  SourceManager &sources_;
  DiagnosticEngine &diags_;
  IRLexer lexer_;
  Token tok_;
  std::optional<Token> ahead_;
  bool failed_ = false;
  int depth_ = 0; ///< loop bodies open around the parser
  /// Deeper nesting is an error rather than a deep recursion.
  static constexpr int kMaxLoopDepth = 16;
  /// A loop's part and residual count index its operands or results.
  static constexpr int64_t kMaxLoopOperands = 1 << 20;
  std::unordered_map<std::string, Value *> values_; ///< of the function being read
  int nextGroup_ = 0;                               ///< the id of the next fused block
};

std::string IRParser::describe() const {
  switch (tok_.kind) {
  case Tok::Eof: return "the end of the file";
  case Tok::Error: return "an invalid token '" + tok_.text + "'";
  case Tok::Ident: return "'" + tok_.text + "'";
  case Tok::Percent: return "'%" + tok_.text + "'";
  case Tok::At: return "'@" + tok_.text + "'";
  case Tok::Number: return "the number " + tok_.text;
  case Tok::String: return "a string";
  case Tok::Punct: return "'" + tok_.text + "'";
  }
  return "a token";
}

bool IRParser::parseNumber(double &out) {
  bool negative = false;
  if (isPunct('-')) {
    negative = true;
    advance();
  }
  if (tok_.kind == Tok::Number) {
    out = negative ? -tok_.number : tok_.number;
  } else if (isIdent("inf")) {
    out = negative ? -HUGE_VAL : HUGE_VAL;
  } else if (isIdent("nan")) {
    out = std::nan("");
  } else {
    return fail("expected a number, found " + describe());
  }
  advance();
  return true;
}

bool IRParser::parseInt(int64_t &out, int64_t lo, int64_t hi) {
  double v;
  if (tok_.kind != Tok::Number && !isPunct('-'))
    return fail("expected an integer, found " + describe());
  if (!parseNumber(v))
    return false;
  if (v != std::floor(v) || v < double(lo) || v > double(hi))
    return fail("expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  out = static_cast<int64_t>(v);
  return true;
}

bool IRParser::parseBool(bool &out) {
  if (!isIdent("true") && !isIdent("false"))
    return fail("expected true or false, found " + describe());
  out = tok_.text == "true";
  advance();
  return true;
}

bool IRParser::parseIntList(std::vector<int64_t> &out) {
  out.clear();
  if (!expectPunct('['))
    return false;
  while (!isPunct(']')) {
    int64_t v;
    if (!parseInt(v, -kMaxDimSize, kMaxDimSize))
      return false;
    out.push_back(v);
    if (out.size() > 64)
      return fail("the list is too long");
    if (!isPunct(','))
      break;
    advance();
  }
  return expectPunct(']');
}

bool IRParser::parsePair(int64_t (&out)[2]) {
  std::vector<int64_t> v;
  if (!parseIntList(v))
    return false;
  if (v.size() != 2)
    return fail("expected a pair [h, w]");
  out[0] = v[0];
  out[1] = v[1];
  return true;
}

bool IRParser::parseDim(Dim &out) {
  out = Dim();
  for (;;) {
    Dim factor;
    if (tok_.kind == Tok::Number && tok_.isInteger && tok_.number >= 0 &&
        tok_.number <= double(kMaxDimSize)) {
      factor = Dim(static_cast<int64_t>(tok_.number));
    } else if (tok_.kind == Tok::Ident && tok_.text.find('.') == std::string::npos) {
      factor = Dim::symbol(tok_.text);
    } else {
      return fail("expected a size (an integer or a symbolic name), found " + describe());
    }
    advance();
    std::optional<Dim> product = Dim::product(out, factor);
    if (!product)
      return fail("the size is too large");
    out = *product;
    if (!isPunct('*'))
      return true;
    advance();
  }
}

bool IRParser::parseType(TensorType &out) {
  std::string dtype;
  SourceLoc at = tok_.loc;
  if (!expectIdent(dtype, "a type such as f32[B, 784]"))
    return false;
  std::optional<DType> parsed = parseDType(dtype);
  if (!parsed) {
    diags_.error(at, "unknown element type '{}'", dtype);
    failed_ = true;
    return false;
  }
  out = {*parsed, {}};
  if (!expectPunct('['))
    return false;
  while (!isPunct(']')) {
    Dim d;
    if (!parseDim(d))
      return false;
    if (d.coefficient() < 1)
      return fail("a dimension must be positive");
    out.shape.push_back(d);
    if (out.shape.size() > kMaxRank)
      return fail("more than " + std::to_string(kMaxRank) + " dimensions");
    if (!isPunct(','))
      break;
    advance();
  }
  return expectPunct(']');
}

bool IRParser::parseLoc(SourceLoc &out) {
  if (!isIdent("loc"))
    return true;
  advance();
  if (!expectPunct('('))
    return false;
  if (tok_.kind != Tok::String)
    return fail("expected a file name in quotes, found " + describe());
  std::string file = tok_.text;
  advance();
  int64_t line, col;
  if (!expectPunct(':') || !parseInt(line, 1, UINT32_MAX) || !expectPunct(':') ||
      !parseInt(col, 1, UINT32_MAX) || !expectPunct(')'))
    return false;
  out = {sources_.addName(file), static_cast<uint32_t>(line), static_cast<uint32_t>(col)};
  return true;
}

/// `(a, b, key=value, ...)`: the values' tokens, not yet interpreted. A value
/// may be a negative number or a list of numbers and strings.
bool IRParser::parseCallArgs(std::vector<CallArg> &args) {
  if (!expectPunct('('))
    return false;
  while (!isPunct(')')) {
    CallArg arg;
    if (tok_.kind == Tok::Ident && tok_.text != "true" && tok_.text != "false" &&
        tok_.text != "inf" && tok_.text != "nan") {
      arg.key = tok_.text;
      advance();
      if (!expectPunct('='))
        return false;
    }
    if (isPunct('[')) {
      advance();
      arg.isList = true;
      while (!isPunct(']')) {
        if (tok_.kind != Tok::Number && tok_.kind != Tok::String)
          return fail("expected a number or a string in the list, found " + describe());
        arg.list.push_back(tok_);
        advance();
        if (!isPunct(','))
          break;
        advance();
      }
      if (!expectPunct(']'))
        return false;
    } else {
      bool negative = isPunct('-');
      if (negative)
        advance();
      arg.value = tok_;
      if (negative) {
        if (tok_.kind != Tok::Number)
          return fail("expected a number after '-', found " + describe());
        arg.value.number = -tok_.number;
      }
      advance();
    }
    args.push_back(std::move(arg));
    if (!isPunct(','))
      break;
    advance();
  }
  return expectPunct(')');
}

bool IRParser::trainNumber(const Token &t, double &out) {
  if (t.kind == Tok::Number) {
    out = t.number;
    return true;
  }
  return fail("expected a number in the train setting");
}

bool IRParser::parseTrainLine(TrainConfig &train) {
  advance(); // 'train'
  std::string key;
  if (!expectIdent(key, "a train setting"))
    return false;
  if (key == "batch" || key == "epochs" || key == "seed") {
    int64_t v;
    if (!expectPunct('=') || !parseInt(v, key == "seed" ? 0 : 1, int64_t(9e15)))
      return false;
    if (key == "batch")
      train.batch = v;
    else if (key == "epochs")
      train.epochs = v;
    else
      train.seed = v;
    return true;
  }
  if (key == "shuffle")
    return expectPunct('=') && parseBool(train.shuffle);
  if (key == "optimizer") {
    std::string name;
    if (!expectPunct('=') || !expectIdent(name, "an optimizer"))
      return false;
    const OptimizerRow *row = findRow(optimizerTable(), name);
    if (!row)
      return fail("unknown optimizer '" + name + "'");
    OptimizerConfig o;
    o.kind = row->kind;
    std::vector<CallArg> args;
    if (!parseCallArgs(args))
      return false;
    for (const CallArg &arg : args) {
      const Setting<OptimizerConfig> *s = row->find(arg.key);
      if (!s)
        return fail("unknown optimizer setting '" + arg.key + "'");
      if (!setting(arg, *s, o))
        return false;
    }
    train.optimizer = o;
    return true;
  }
  if (key == "data" || key == "test") {
    std::string input, kind;
    if (!expectIdent(input, "an input name") || !expectPunct('=') ||
        !expectIdent(kind, "a data source"))
      return false;
    const DataSourceRow *row = findRow(dataSourceTable(), kind);
    if (!row)
      return fail("unknown data source '" + kind + "'");
    DataSource s;
    s.kind = row->kind;
    std::vector<CallArg> args;
    if (!parseCallArgs(args))
      return false;
    if (args.empty() || !args[0].key.empty() || args[0].value.kind != Tok::String)
      return fail("a data source needs its path in quotes");
    s.path = args[0].value.text;
    for (size_t i = 1; i < args.size(); ++i) {
      const Setting<DataSource> *setting = row->find(args[i].key);
      if (!setting || setting->type == SettingType::Path)
        return fail("unknown data source setting '" + args[i].key + "'");
      if (setting->type != SettingType::Columns) {
        if (!this->setting(args[i], *setting, s))
          return false;
        continue;
      }
      if (!args[i].isList)
        return fail("'columns' is a list");
      for (const Token &item : args[i].list) {
        if (item.kind == Tok::String)
          s.columnNames.push_back(item.text);
        else if (item.isInteger && item.number >= 0 && item.number <= double(kMaxDimSize))
          s.columns.push_back(static_cast<int64_t>(item.number));
        else
          return fail("a csv column is a non-negative index or a name");
      }
    }
    (key == "data" ? train.data : train.test).emplace_back(input, s);
    return true;
  }
  return fail("unknown train setting '" + key + "'");
}

bool IRParser::parseInitializer(Initializer &init) {
  std::string name;
  SourceLoc at = tok_.loc;
  if (!expectIdent(name, "an initializer"))
    return false;
  const InitializerRow *row = findRow(initializerTable(), name);
  if (!row) {
    diags_.error(at, "unknown initializer '{}'", name);
    failed_ = true;
    return false;
  }
  init.kind = row->kind;
  init.loc = at;
  if (row->settings.empty())
    return true;
  if (!expectPunct('('))
    return false;
  for (size_t i = 0; i < row->settings.size(); ++i)
    if ((i && !expectPunct(',')) || !parseNumber(init.*row->settings[i].number))
      return false;
  return expectPunct(')');
}

bool IRParser::parseArgument(Function &fn, ArgRole role) {
  advance(); // 'input' or 'param'
  if (tok_.kind != Tok::Percent)
    return fail("expected a %name, found " + describe());
  std::string name = tok_.text;
  SourceLoc at = tok_.loc;
  advance();
  TensorType type;
  if (!expectPunct(':') || !parseType(type))
    return false;
  Initializer init;
  if (role == ArgRole::Param && isPunct('=')) {
    advance();
    if (!parseInitializer(init))
      return false;
  }
  SourceLoc loc;
  if (!parseLoc(loc))
    return false;
  if (values_.count(name)) {
    diags_.error(at, "redefinition of %{}", name);
    failed_ = true;
    return false;
  }
  Argument *arg = fn.addArgument(role, name, type, loc);
  arg->init = init;
  values_[name] = &arg->value;
  return true;
}

bool IRParser::parseAttrs(OpKind kind, Attrs &attrs) {
  if (!isPunct('{'))
    return true;
  advance();
  unsigned allowed = opInfo(kind).attrs;
  while (!isPunct('}')) {
    std::string key;
    SourceLoc at = tok_.loc;
    if (!expectIdent(key, "an attribute name") || !expectPunct('='))
      return false;
    auto need = [&](unsigned mask) {
      if (allowed & mask)
        return true;
      diags_.error(at, "'{}' has no attribute '{}'", opInfo(kind).name, key);
      failed_ = true;
      return false;
    };
    bool ok;
    if (key == "value")
      ok = need(kAttrValue) && parseNumber(attrs.value);
    else if (key == "dim")
      ok = need(kAttrDim) && parseDim(attrs.dim);
    else if (key == "start")
      ok = need(kAttrStart) && parseDim(attrs.start);
    else if (key == "axes")
      ok = need(kAttrAxes) && parseIntList(attrs.axes);
    else if (key == "keepdims")
      ok = need(kAttrKeepdims) && parseBool(attrs.keepdims);
    else if (key == "axis")
      ok = need(kAttrAxis) && parseInt(attrs.axis, 0, kMaxRank);
    else if (key == "alpha")
      ok = need(kAttrAlpha) && parseNumber(attrs.alpha);
    else if (key == "classes")
      ok = need(kAttrClasses) && parseInt(attrs.classes, 1, kMaxDimSize);
    else if (key == "perm")
      ok = need(kAttrPerm) && parseIntList(attrs.perm);
    else if (key == "transpose_a")
      ok = need(kAttrTranspose) && parseBool(attrs.transposeA);
    else if (key == "transpose_b")
      ok = need(kAttrTranspose) && parseBool(attrs.transposeB);
    else if (key == "stride")
      ok = need(kAttrStride) && parsePair(attrs.stride);
    else if (key == "padding")
      ok = need(kAttrPadding) && parsePair(attrs.padding);
    else if (key == "window")
      ok = need(kAttrWindow) && parsePair(attrs.window);
    else if (key == "from_end")
      ok = need(kAttrFromEnd) && parseBool(attrs.fromEnd);
    else if (key == "reverse")
      ok = need(kAttrReverse) && parseBool(attrs.reverse);
    else if (key == "part")
      ok = need(kAttrPart) && parseInt(attrs.part, -1, kMaxLoopOperands);
    else if (key == "grads")
      ok = need(kAttrGrads) && parseIntList(attrs.grads);
    else if (key == "residuals")
      ok = need(kAttrGrads) && parseInt(attrs.residuals, 0, kMaxLoopOperands);
    else
      ok = need(0);
    if (!ok)
      return false;
    if (!isPunct(','))
      break;
    advance();
  }
  return expectPunct('}');
}

Value *IRParser::lookupValue(const std::string &name) {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : it->second;
}

bool IRParser::parseOp(Function &fn) {
  std::string name = tok_.text;
  SourceLoc at = tok_.loc;
  advance();
  if (!expectPunct('='))
    return false;
  SourceLoc opAt = tok_.loc;
  std::string opName;
  if (!expectIdent(opName, "an op name"))
    return false;
  std::optional<OpKind> kind = lookupOp(opName);
  if (!kind) {
    diags_.error(opAt, "unknown op '{}'", opName);
    failed_ = true;
    return false;
  }
  std::vector<Value *> operands;
  while (tok_.kind == Tok::Percent) {
    Value *v = lookupValue(tok_.text);
    if (!v)
      return fail("unknown value %" + tok_.text + " (values are defined before they are used)");
    operands.push_back(v);
    advance();
    if (!isPunct(','))
      break;
    advance();
  }
  Attrs attrs;
  TensorType type;
  SourceLoc loc;
  if (!parseAttrs(*kind, attrs) || !expectPunct(':') || !parseType(type) || !parseLoc(loc))
    return false;
  if (opInfo(*kind).attrs & kAttrBody) {
    if (!isIdent("body"))
      return fail("expected 'body {' after a " + opName + " op, found " + describe());
    advance();
    if (!parseBody(attrs.body))
      return false;
  }
  if (values_.count(name)) {
    diags_.error(at, "redefinition of %{}", name);
    failed_ = true;
    return false;
  }
  bool numbered = !name.empty() && std::isdigit((unsigned char)name[0]);
  Value *result = fn.append(*kind, operands, type, attrs, loc, numbered ? "" : name);
  std::string problem = checkOp(*result->def);
  if (!problem.empty()) {
    diags_.error(opAt, "{}", problem);
    failed_ = true;
    return false;
  }
  values_[name] = result;
  return true;
}

bool IRParser::parseResult(Function &fn, ResultRole role) {
  advance(); // the role keyword
  std::string name;
  if (role != ResultRole::Loss && !expectIdent(name, "a result name"))
    return false;
  if (!expectPunct('='))
    return false;
  if (tok_.kind != Tok::Percent)
    return fail("expected a %value, found " + describe());
  Value *v = lookupValue(tok_.text);
  if (!v)
    return fail("unknown value %" + tok_.text);
  advance();
  fn.addResult(role, name, v);
  return true;
}

bool IRParser::parseFusedBlock(Function &fn) {
  advance(); // 'fused'
  if (!expectPunct('{'))
    return false;
  if (isPunct('}'))
    return fail("a fused block holds at least one op");
  int group = nextGroup_++;
  while (!isPunct('}')) {
    if (tok_.kind != Tok::Percent)
      return fail("expected an op or '}' in a fused block, found " + describe());
    if (!parseOp(fn))
      return false;
    fn.ops.back()->group = group;
  }
  advance();
  return true;
}

bool IRParser::parseFunction(Module &module) {
  advance(); // 'func'
  if (tok_.kind != Tok::At)
    return fail("expected @name after 'func', found " + describe());
  if (module.lookup(tok_.text))
    return fail("function @" + tok_.text + " is defined twice");
  Function *fn = module.addFunction(tok_.text);
  advance();
  values_.clear();
  return parseContents(*fn);
}

bool IRParser::parseBody(std::shared_ptr<const Function> &out) {
  if (++depth_ > kMaxLoopDepth)
    return fail(fmt::format("loop bodies are nested more than {} deep", kMaxLoopDepth));
  auto body = std::make_shared<Function>("body");
  // The body sees only its own arguments and values.
  std::unordered_map<std::string, Value *> outer;
  std::swap(outer, values_);
  bool ok = parseContents(*body);
  std::swap(outer, values_);
  --depth_;
  out = std::move(body);
  return ok;
}

bool IRParser::parseContents(Function &fn) {
  if (!expectPunct('{'))
    return false;
  while (!isPunct('}')) {
    if (diags_.limitReached())
      return false;
    bool ok;
    if (isIdent("input"))
      ok = parseArgument(fn, ArgRole::Input);
    else if (isIdent("param"))
      ok = parseArgument(fn, ArgRole::Param);
    else if (isIdent("state") && peek().kind == Tok::Percent)
      ok = parseArgument(fn, ArgRole::State);
    else if (tok_.kind == Tok::Percent)
      ok = parseOp(fn);
    else if (isIdent("fused"))
      ok = parseFusedBlock(fn);
    else if (isIdent("output"))
      ok = parseResult(fn, ResultRole::Output);
    else if (isIdent("metric"))
      ok = parseResult(fn, ResultRole::Metric);
    else if (isIdent("loss"))
      ok = parseResult(fn, ResultRole::Loss);
    else if (isIdent("grad"))
      ok = parseResult(fn, ResultRole::Grad);
    else if (isIdent("update"))
      ok = parseResult(fn, ResultRole::Update);
    else if (isIdent("state"))
      ok = parseResult(fn, ResultRole::State);
    else if (isIdent("residual"))
      ok = parseResult(fn, ResultRole::Residual);
    else
      ok = fail("expected an argument, an op, a result or '}', found " + describe());
    if (!ok)
      return false;
  }
  advance();
  return true;
}

std::unique_ptr<Module> IRParser::run() {
  auto module = std::make_unique<Module>();
  while (tok_.kind != Tok::Eof) {
    bool ok;
    if (isIdent("train")) {
      if (!module->train)
        module->train.emplace();
      ok = parseTrainLine(*module->train);
    } else if (isIdent("func")) {
      ok = parseFunction(*module);
    } else {
      ok = fail("expected 'func' or 'train', found " + describe());
    }
    if (!ok)
      return nullptr;
  }
  if (!module->lookup(kForwardFunction) && !module->lookup(kTrainStepFunction) &&
      !module->lookup(kUpdateFunction)) {
    diags_.error({tok_.loc.file, 0, 0}, "the IR file has none of @{}, @{} and @{}",
                 kForwardFunction, kTrainStepFunction, kUpdateFunction);
    return nullptr;
  }
  if (!verify(*module, diags_, "parsing"))
    return nullptr;
  return module;
}

} // namespace

std::unique_ptr<Module> parseIR(SourceManager &sources, uint32_t file, DiagnosticEngine &diags) {
  return IRParser(sources, file, diags).run();
}

} // namespace nabla::ir
