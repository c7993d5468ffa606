/* two_models.c: two models compiled ahead of time from one script, linked
 * into one program: mlp_embedded (an object with its params embedded) and
 * mlp_shared (a shared library that loads params at run time). Run by
 * check_embed.py:
 *
 *   two_models PARAMS IMAGES.raw N OUT_EMBEDDED.raw OUT_SHARED.raw [BAD_PARAMS...]
 *
 * IMAGES.raw holds N float32 rows of 784; the outputs get N rows of 10.
 * Each BAD_PARAMS file must be refused with a message. Each line it prints
 * is checked by the script. */
#include "mlp_embedded.h"
#include "mlp_shared.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *read_floats(const char *path, size_t count) {
  float *data = malloc(count * sizeof(float));
  FILE *f = fopen(path, "rb");
  if (!data || !f || fread(data, sizeof(float), count, f) != count) {
    fprintf(stderr, "two_models: cannot read %s\n", path);
    exit(1);
  }
  fclose(f);
  return data;
}

static void write_floats(const char *path, const float *data, size_t count) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, sizeof(float), count, f) != count || fclose(f) != 0) {
    fprintf(stderr, "two_models: cannot write %s\n", path);
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc < 6)
    return 2;
  long long n = atoll(argv[3]);
  float *images = read_floats(argv[2], (size_t)n * 784);
  float *a = calloc((size_t)n * 10, sizeof(float)), *b = calloc((size_t)n * 10, sizeof(float));

  /* Errors: NULL and a message, never a crash. */
  printf("no path: %s\n", mlp_shared_create(NULL) ? "created" : mlp_shared_error());
  printf("missing file: %s\n",
         mlp_shared_create("/nonexistent/p.safetensors") ? "created" : mlp_shared_error());
  for (int i = 6; i < argc; ++i)
    printf("bad params: %s\n", mlp_shared_create(argv[i]) ? "created" : mlp_shared_error());
  printf("null model: %d %s\n", mlp_shared_predict(NULL, 1, images, b), mlp_shared_error());

  mlp_embedded *e = mlp_embedded_create(NULL);
  mlp_shared *s = mlp_shared_create(argv[1]);
  if (!e || !s) {
    printf("create failed: %s | %s\n", mlp_embedded_error(), mlp_shared_error());
    return 1;
  }
  printf("batch 0: %d %s\n", mlp_embedded_predict(e, 0, images, a), mlp_embedded_error());
  /* The whole batch at once from one model, one example at a time from the
   * other (every example is a partial tile), on one thread. */
  if (mlp_embedded_predict(e, n, images, a) != 0) {
    printf("predict failed: %s\n", mlp_embedded_error());
    return 1;
  }
  /* Arrays that are not 64-byte aligned (the kernels' assumption) are
   * copied, never read or written in place. */
  char *in_buffer = malloc((size_t)n * 784 * sizeof(float) + 64);
  char *out_buffer = malloc((size_t)n * 10 * sizeof(float) + 64);
  float *in_shifted = (float *)(in_buffer + 4 + (64 - (uintptr_t)in_buffer % 64) % 64);
  float *out_shifted = (float *)(out_buffer + 4 + (64 - (uintptr_t)out_buffer % 64) % 64);
  memcpy(in_shifted, images, (size_t)n * 784 * sizeof(float));
  int status = mlp_embedded_predict(e, n, in_shifted, out_shifted);
  printf("misaligned: %d %s\n", status,
         memcmp(out_shifted, a, (size_t)n * 10 * sizeof(float)) == 0 ? "same" : "different");
  free(in_buffer);
  free(out_buffer);
  mlp_shared_set_threads(1);
  for (long long i = 0; i < n; ++i)
    if (mlp_shared_predict(s, 1, images + i * 784, b + i * 10) != 0) {
      printf("predict failed: %s\n", mlp_shared_error());
      return 1;
    }
  printf("set_threads(-1): %d %s\n", mlp_shared_set_threads(-1), mlp_shared_error());
  write_floats(argv[4], a, (size_t)n * 10);
  write_floats(argv[5], b, (size_t)n * 10);
  mlp_embedded_destroy(e);
  mlp_shared_destroy(s);
  mlp_shared_destroy(NULL);
  free(images);
  free(a);
  free(b);
  printf("done\n");
  return 0;
}
