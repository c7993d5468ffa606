//===- TensorFileFuzzer.cpp - libFuzzer target for the file readers -------===//
//
// The first byte picks the reader in its low 3 bits (.npy, safetensors, IDX,
// gzipped IDX, CSV) and options in the others; the rest is the file. A reader must reject what it
// cannot read with an error, never crash, read out of bounds or allocate what a forged header asks
// for.
//
//===----------------------------------------------------------------------===//
#include "data/DataSources.h"
#include "data/Gzip.h"
#include "data/TensorFiles.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  std::string_view bytes(reinterpret_cast<const char *>(data) + 1, size - 1);
  std::string error;
  switch (data[0] & 7) {
  case 0: nabla::parseNpy(bytes, error); break;
  case 1: nabla::parseSafetensors(bytes, error); break;
  case 2:
    nabla::parseIdx(bytes, data[0] & 8 ? nabla::DType::I32 : nabla::DType::F32, 1, error);
    break;
  case 3: {
    // A decompression bomb must stop at the limit, not exhaust memory.
    if (auto inflated = nabla::gunzip(bytes, 1 << 24, error))
      nabla::parseIdx(*inflated, nabla::DType::F32, 1, error);
    break;
  }
  case 4: {
    nabla::DataSource source;
    source.kind = nabla::DataSource::Kind::Csv;
    source.header = data[0] & 8;
    if (data[0] & 16)
      source.columns = {0, 2};
    nabla::parseCsv(bytes, source, data[0] & 32 ? nabla::DType::I32 : nabla::DType::F32, error);
    break;
  }
  default: break;
  }
  return 0;
}
