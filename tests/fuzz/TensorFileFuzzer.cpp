//===- TensorFileFuzzer.cpp - libFuzzer target for the file readers -------===//
//
// The first byte picks the reader (.npy or safetensors); the rest is the file.
// A reader must reject what it cannot read with an error, never crash, read
// out of bounds or allocate what a forged header asks for.
//
//===----------------------------------------------------------------------===//
#include "runtime/TensorFiles.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  std::string_view bytes(reinterpret_cast<const char *>(data) + 1, size - 1);
  std::string error;
  if (data[0] & 1)
    nabla::parseSafetensors(bytes, error);
  else
    nabla::parseNpy(bytes, error);
  return 0;
}
