//===- Text.h - Strings as messages and the IR text show them ---*- C++ -*-===//
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nabla {

/// `s` as a string literal: in double quotes, with '"' and '\' escaped (what
/// the lexer reads back as `s`).
std::string quoteString(const std::string &s);

/// `text` cut to at most 40 bytes, with "..." when cut (for messages).
std::string clipText(std::string_view text);

/// Length of the valid UTF-8 sequence starting at `s[i]`, or 0 if invalid.
size_t utf8SequenceLength(std::string_view s, size_t i);

} // namespace nabla
