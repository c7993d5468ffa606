/*===- ModelParamsFuzzer.c - libFuzzer target for compiled models' loader -===//
 *
 * The params loader that `nabla compile` links into every object
 * (runtime/aot/ModelRuntime.c, included whole) reads a safetensors file
 * for a model with two params, W: f32[3, 4] and b: f64[4]. Whatever the
 * bytes, it must accept them or set an error, never crash, read out of
 * bounds or allocate what a forged header asks for.
 *===----------------------------------------------------------------------===*/
#ifndef _GNU_SOURCE /* fmemopen; the build may define it already */
#define _GNU_SOURCE
#endif
#include "runtime/aot/ModelRuntime.c"

static const char kModel[] = "tile 1\nfixed 1\narena 64\nthreads 1\nflush 0\n"
                             "param W f32 2 3 4 -1\nparam b f64 1 4 -1\n";

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size) {
  static description d;
  static int described = 0;
  if (!described) {
    if (!parse_description(kModel, &d))
      abort();
    described = 1;
  }
  float w[12];
  double b[4];
  void *data[2] = {w, b};
  FILE *file = fmemopen((void *)bytes, size, "rb");
  if (!file)
    return 0;
  int ok = read_params(&d, file, "fuzz.safetensors", data);
  if (!ok && nabla_aot_error()[0] == 0)
    abort(); /* a refusal always says why */
  return 0;
}
