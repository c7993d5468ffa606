/* classify.c: classifies Fashion-MNIST images with a network compiled ahead
 * of time by `nabla compile` (see docs/embedding.md). Needs only libc, libm
 * and pthreads:
 *
 *   classify PARAMS IMAGES.npy [LABELS.npy [PROBS.npy]]
 *
 * IMAGES.npy holds float32 pixels [N, 784] in [0, 1]; LABELS.npy int32 or
 * int64 classes [N]. Prints the accuracy when labels are given and writes
 * the predicted probabilities [N, 10] to PROBS.npy. PARAMS may be "-" when
 * the params were embedded with `nabla compile --params`. */
#include "fashion_mlp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A .npy array: its dtype ("<f4", "<i4", "<i8"), shape and data. */
typedef struct {
  char descr[8];
  long long shape[2];
  int rank;
  void *data;
  size_t bytes;
} npy;

static int fail(const char *what, const char *path) {
  fprintf(stderr, "classify: %s: %s\n", path, what);
  return 0;
}

/* Reads a C-order .npy file of rank 1 or 2 (versions 1.0 to 3.0). */
static int read_npy(const char *path, npy *a) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return fail("cannot open", path);
  unsigned char magic[10];
  int ok = 0;
  char *header = NULL;
  if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "\x93NUMPY", 6) != 0) {
    fail("not a .npy file", path);
    goto done;
  }
  size_t length = 0;
  if (magic[6] == 1) {
    if (fread(magic, 1, 2, f) != 2)
      goto done;
    length = magic[0] | (size_t)magic[1] << 8;
  } else {
    if (fread(magic, 1, 4, f) != 4)
      goto done;
    length = magic[0] | (size_t)magic[1] << 8 | (size_t)magic[2] << 16 | (size_t)magic[3] << 24;
  }
  header = calloc(length + 1, 1);
  if (!header || fread(header, 1, length, f) != length || strstr(header, "'fortran_order': True")) {
    fail("unreadable or Fortran-order header", path);
    goto done;
  }
  const char *descr = strstr(header, "'descr': '"), *shape = strstr(header, "'shape': (");
  if (!descr || !shape || sscanf(descr + 10, "%7[^']", a->descr) != 1) {
    fail("no descr or shape in the header", path);
    goto done;
  }
  a->rank = sscanf(shape + 10, "%lld, %lld", &a->shape[0], &a->shape[1]);
  size_t count = (size_t)a->shape[0] * (a->rank == 2 ? (size_t)a->shape[1] : 1);
  size_t item = strcmp(a->descr, "<i8") == 0 ? 8 : 4;
  a->bytes = count * item;
  a->data = malloc(a->bytes ? a->bytes : 1);
  if (a->rank < 1 || !a->data || fread(a->data, 1, a->bytes, f) != a->bytes) {
    fail("the data is shorter than its shape", path);
    goto done;
  }
  ok = 1;
done:
  free(header);
  fclose(f);
  return ok;
}

/* Writes float32 [rows, cols] as a .npy file (version 1.0). */
static int write_npy(const char *path, const float *data, long long rows, long long cols) {
  char header[128];
  int n = snprintf(header, sizeof header,
                   "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld), }", rows, cols);
  while ((n + 11) % 64 != 0)
    header[n++] = ' ';
  header[n++] = '\n';
  FILE *f = fopen(path, "wb");
  if (!f)
    return fail("cannot write", path);
  unsigned char prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)n, 0};
  size_t count = (size_t)(rows * cols);
  int ok = fwrite(prefix, 1, 10, f) == 10 && fwrite(header, 1, (size_t)n, f) == (size_t)n &&
           fwrite(data, sizeof(float), count, f) == count;
  return fclose(f) == 0 && ok ? 1 : fail("cannot write", path);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: classify PARAMS|- IMAGES.npy [LABELS.npy [PROBS.npy]]\n");
    return 2;
  }
  npy images = {0}, labels = {0};
  if (!read_npy(argv[2], &images) || (argc > 3 && !read_npy(argv[3], &labels)))
    return 1;
  if (strcmp(images.descr, "<f4") != 0 || images.rank != 2 || images.shape[1] != 784) {
    fprintf(stderr, "classify: %s: expected float32 [N, 784]\n", argv[2]);
    return 1;
  }
  long long n = images.shape[0];
  fashion_mlp *model = fashion_mlp_create(strcmp(argv[1], "-") == 0 ? NULL : argv[1]);
  if (!model) {
    fprintf(stderr, "classify: %s\n", fashion_mlp_error());
    return 1;
  }
  float *probs = malloc(sizeof(float) * 10 * (size_t)(n ? n : 1));
  if (!probs || fashion_mlp_predict(model, n, images.data, probs) != 0) {
    fprintf(stderr, "classify: %s\n", probs ? fashion_mlp_error() : "out of memory");
    return 1;
  }
  if (argc > 3) {
    long long correct = 0;
    for (long long i = 0; i < n; ++i) {
      int best = 0;
      for (int c = 1; c < 10; ++c)
        if (probs[i * 10 + c] > probs[i * 10 + best])
          best = c;
      long long label = strcmp(labels.descr, "<i8") == 0 ? ((long long *)labels.data)[i]
                                                         : ((int *)labels.data)[i];
      correct += best == label;
    }
    printf("accuracy %.4f (%lld of %lld)\n", n ? (double)correct / (double)n : 0.0, correct, n);
  }
  if (argc > 4 && !write_npy(argv[4], probs, n, 10))
    return 1;
  fashion_mlp_destroy(model);
  free(probs);
  free(images.data);
  free(labels.data);
  return 0;
}
