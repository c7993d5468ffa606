//===- TensorFiles.h - .npy and safetensors readers and writers -*- C++ -*-===//
//
// Readers check every field before trusting it: header lengths against the
// file size, shapes against overflow and the memory limit, data sizes against
// the bytes present. Errors say what was found and what was expected; the
// caller adds the file name. I64 data (labels) is narrowed to i32, with an
// error naming the first value that does not fit. Writers are atomic.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nabla {

using NamedTensor = std::pair<std::string, Tensor>;

/// Parses a .npy file (format versions 1.0 to 3.0; C order; '<f4', '<f8',
/// '<i4', '<i8' in either byte order).
std::optional<Tensor> parseNpy(std::string_view bytes, std::string &error);
std::optional<Tensor> readNpy(const std::string &path, std::string &error);
/// Writes `t` as a version 1.0 .npy file.
bool writeNpy(const std::string &path, const Tensor &t, std::string &error);

/// A safetensors file's "__metadata__": string keys and values.
using Metadata = std::map<std::string, std::string>;

/// Parses a safetensors file (F32, F64, I32, I64), tensors in data order;
/// its metadata goes to `metadata` when given.
std::optional<std::vector<NamedTensor>> parseSafetensors(std::string_view bytes, std::string &error,
                                                         Metadata *metadata = nullptr);
std::optional<std::vector<NamedTensor>> readSafetensors(const std::string &path, std::string &error,
                                                        Metadata *metadata = nullptr);
bool writeSafetensors(const std::string &path,
                      const std::vector<std::pair<std::string, const Tensor *>> &tensors,
                      std::string &error, const Metadata &metadata = {});

/// Reads a tensor file by extension: a .npy, or a safetensors file holding
/// exactly one tensor.
std::optional<Tensor> readTensorFile(const std::string &path, std::string &error);

} // namespace nabla
