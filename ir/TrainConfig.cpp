//===- TrainConfig.cpp - The training vocabulary's tables and text --------===//
#include "ir/TrainConfig.h"

#include "ir/Printer.h"
#include "support/Text.h"

#include <fmt/format.h>

namespace nabla {

namespace {

using InitKind = Initializer::Kind;
using SourceKind = DataSource::Kind;
using OptKind = OptimizerConfig::Kind;
using T = SettingType;

/// The learning rate: required by sgd, defaulted by the others.
Setting<OptimizerConfig> lr(const char *text, double value) {
  return {.name = "lr",
          .type = T::Number,
          .defaultText = text,
          .defaultValue = value,
          .number = &OptimizerConfig::lr,
          .min = 0,
          .minOpen = true,
          .rule = "greater than 0"};
}

/// A number that must be at least 0.
Setting<OptimizerConfig> nonNegative(const char *name, double OptimizerConfig::*field,
                                     const char *text, double value, bool quietAtZero = false) {
  return {.name = name,
          .type = T::Number,
          .defaultText = text,
          .defaultValue = value,
          .number = field,
          .min = 0,
          .rule = "at least 0",
          .quietAtZero = quietAtZero};
}

/// A decay rate in [0, 1).
Setting<OptimizerConfig> decay(const char *name, double OptimizerConfig::*field, const char *text,
                               double value) {
  Setting<OptimizerConfig> s = nonNegative(name, field, text, value);
  s.max = 1;
  s.rule = "in [0, 1)";
  return s;
}

/// Adam's and AdamW's settings, which differ only in weight decay's default.
std::vector<Setting<OptimizerConfig>> adamSettings(const char *decayText, double decayValue) {
  return {lr("1e-3", 1e-3), decay("beta1", &OptimizerConfig::beta1, "0.9", 0.9),
          decay("beta2", &OptimizerConfig::beta2, "0.999", 0.999),
          nonNegative("eps", &OptimizerConfig::eps, "1e-8", 1e-8),
          nonNegative("weight_decay", &OptimizerConfig::weightDecay, decayText, decayValue, true)};
}

/// An initializer's number, written positionally.
Setting<Initializer> initNumber(const char *name, double Initializer::*field,
                                const char *text = nullptr, double value = 0) {
  return {
      .name = name, .type = T::Number, .defaultText = text, .defaultValue = value, .number = field};
}

/// Every data source's path and scale.
Setting<DataSource> path() { return {.name = "path", .type = T::Path}; }
Setting<DataSource> scale() {
  return {.name = "scale",
          .type = T::Number,
          .defaultText = "1",
          .defaultValue = 1,
          .number = &DataSource::scale};
}

template <typename Row, typename Kind> const Row &findKind(const std::vector<Row> &table, Kind k) {
  for (const Row &row : table)
    if (row.kind == k)
      return row;
  return table.front(); // unreachable: the tables hold every kind
}

/// "true" or "false".
const char *boolText(bool b) { return b ? "true" : "false"; }

} // namespace

const std::vector<InitializerRow> &initializerTable() {
  static const std::vector<InitializerRow> table = {
      {InitKind::Zeros, "zeros", {}},
      {InitKind::Ones, "ones", {}},
      {InitKind::Constant, "constant", {initNumber("value", &Initializer::a)}},
      {InitKind::Uniform,
       "uniform",
       {initNumber("lo", &Initializer::a), initNumber("hi", &Initializer::b)}},
      {InitKind::Normal,
       "normal",
       {initNumber("mean", &Initializer::a, "0", 0), initNumber("std", &Initializer::b, "1", 1)}},
      {InitKind::GlorotUniform, "glorot_uniform", {}, true},
      {InitKind::GlorotNormal, "glorot_normal", {}, true},
      {InitKind::HeUniform, "he_uniform", {}, true},
      {InitKind::HeNormal, "he_normal", {}, true},
      {InitKind::LecunNormal, "lecun_normal", {}, true},
  };
  return table;
}

const std::vector<DataSourceRow> &dataSourceTable() {
  static const std::vector<DataSourceRow> table = {
      {SourceKind::Idx, "idx", {path(), scale()}},
      {SourceKind::Npy, "npy", {path(), scale()}},
      {SourceKind::Csv,
       "csv",
       {path(),
        {.name = "columns", .type = T::Columns, .defaultText = "all"},
        {.name = "header",
         .type = T::Flag,
         .defaultText = "true",
         .defaultValue = 1,
         .flag = &DataSource::header},
        scale()}},
  };
  return table;
}

const std::vector<OptimizerRow> &optimizerTable() {
  static const std::vector<OptimizerRow> table = {
      {OptKind::Sgd,
       "sgd",
       {lr(nullptr, 0),
        nonNegative("momentum", &OptimizerConfig::momentum, "0", 0, true),
        {.name = "nesterov",
         .type = T::Flag,
         .defaultText = "false",
         .flag = &OptimizerConfig::nesterov,
         .quietAtZero = true},
        nonNegative("weight_decay", &OptimizerConfig::weightDecay, "0", 0, true)}},
      {OptKind::Adam, "adam", adamSettings("0", 0)},
      {OptKind::AdamW, "adamw", adamSettings("0.01", 0.01)},
      {OptKind::RmsProp,
       "rmsprop",
       {lr("1e-2", 1e-2), nonNegative("alpha", &OptimizerConfig::alpha, "0.99", 0.99),
        nonNegative("eps", &OptimizerConfig::eps, "1e-8", 1e-8)}},
      {OptKind::Lm,
       "lm",
       {{.name = "mu",
         .type = T::Number,
         .defaultText = "1e-3",
         .defaultValue = 1e-3,
         .number = &OptimizerConfig::mu,
         .min = 0,
         .minOpen = true,
         .rule = "greater than 0"},
        {.name = "factor",
         .type = T::Number,
         .defaultText = "10",
         .defaultValue = 10,
         .number = &OptimizerConfig::factor,
         .min = 1,
         .minOpen = true,
         .rule = "greater than 1"}}},
  };
  return table;
}

const InitializerRow &rowOf(Initializer::Kind kind) { return findKind(initializerTable(), kind); }
const DataSourceRow &rowOf(DataSource::Kind kind) { return findKind(dataSourceTable(), kind); }
const OptimizerRow &rowOf(OptimizerConfig::Kind kind) { return findKind(optimizerTable(), kind); }

std::string initializerText(const Initializer &init) {
  const InitializerRow &row = rowOf(init.kind);
  if (row.settings.empty())
    return row.name;
  std::string args;
  for (const Setting<Initializer> &s : row.settings)
    args += (args.empty() ? "" : ", ") + ir::formatNumber(init.*s.number);
  return fmt::format("{}({})", row.name, args);
}

std::string dataSourceText(const DataSource &source) {
  std::string args;
  for (const Setting<DataSource> &s : rowOf(source.kind).settings) {
    std::string value;
    switch (s.type) {
    case T::Path: value = quoteString(source.path); break;
    case T::Number: value = ir::formatNumber(source.*s.number); break;
    case T::Flag: value = boolText(source.*s.flag); break;
    case T::Columns:
      if (!source.columnNames.empty()) {
        for (const std::string &c : source.columnNames)
          value += (value.empty() ? "" : ", ") + quoteString(c);
      } else {
        for (int64_t c : source.columns)
          value += (value.empty() ? "" : ", ") + std::to_string(c);
      }
      if (value.empty())
        continue; // all columns
      value = "[" + value + "]";
      break;
    }
    args += args.empty() ? "" : ", ";
    args += s.type == T::Path ? value : fmt::format("{}={}", s.name, value);
  }
  return fmt::format("{}({})", rowOf(source.kind).name, args);
}

std::string optimizerText(const OptimizerConfig &optimizer) {
  std::string args;
  for (const Setting<OptimizerConfig> &s : rowOf(optimizer.kind).settings) {
    std::string value =
        s.type == T::Flag ? boolText(optimizer.*s.flag) : ir::formatNumber(optimizer.*s.number);
    args += fmt::format("{}{}={}", args.empty() ? "" : ", ", s.name, value);
  }
  return fmt::format("{}({})", optimizerName(optimizer.kind), args);
}

std::string optimizerSummary(const OptimizerConfig &optimizer) {
  std::string args;
  for (const Setting<OptimizerConfig> &s : rowOf(optimizer.kind).settings) {
    bool isFlag = s.type == T::Flag;
    if (s.quietAtZero && (isFlag ? !(optimizer.*s.flag) : optimizer.*s.number == 0))
      continue;
    std::string value =
        isFlag ? boolText(optimizer.*s.flag) : fmt::format("{}", optimizer.*s.number);
    args += fmt::format("{}{}={}", args.empty() ? "" : ", ", s.name, value);
  }
  return fmt::format("{}({})", optimizerName(optimizer.kind), args);
}

} // namespace nabla
