/*===- ModelRuntime.c - What an ahead-of-time compiled model runs on -------===//
 *
 * `nabla compile` links this file (compiled to LLVM bitcode when Nabla is
 * built) into every object it writes, next to the model's kernels, and
 * makes all of it internal to the object: two models in one program each
 * have their own copy, and nothing here is visible outside. It needs only
 * libc, libm and pthreads.
 *
 * The model is described by a text the compiler generates (one line per
 * fact, see codegen/AheadOfTime.cpp):
 *
 *   tile N             examples per run of the compiled step
 *   fixed 0|1          1: the batch must be exactly N (--batch)
 *   arena BYTES        working memory of one run
 *   threads N          threads of parallel loops (0: the cores online)
 *   flush 0|1          1: subnormals flushed to zero (FTZ/DAZ) while running
 *   param NAME DTYPE RANK DIMS... EMBEDDED_OFFSET   (-1: not embedded)
 *   input NAME DTYPE ROW_ELEMENTS
 *   output NAME DTYPE ROW_ELEMENTS
 *   arg p|i INDEX      the step's arguments in order: param or input INDEX
 *   check OP CLASSES DESCRIPTION   an op that validates labels
 *
 * Each run of the step takes `tile` examples; a batch is run tile by tile,
 * the last partial tile through zero-padded copies. The compiler only does
 * this for graphs where every example's outputs depend on that example
 * alone.
 *===----------------------------------------------------------------------===*/
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xmmintrin.h>

/** The compiled step: arguments, results, working memory. */
typedef void (*nabla_entry_fn)(const void *const *args, void *const *results, char *arena);
/** A parallel loop's body: runs tasks [begin, end) with `context`. */
typedef void (*nabla_task_fn)(void *context, int64_t begin, int64_t end);

enum { kMaxName = 128, kMaxRank = 8, kMaxDescription = 256 };
/** Bytes read from a params file at most, and of its JSON header. */
static const int64_t kMaxParamsFile = (int64_t)1 << 36;
static const int64_t kMaxHeader = (int64_t)100 << 20;

/*===----------------------------------------------------------------------===//
 * Errors: the last one of the calling thread.
 *===----------------------------------------------------------------------===*/

static _Thread_local char error_text[1024];

static void set_error(const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(error_text, sizeof error_text, format, args);
  va_end(args);
}

const char *nabla_aot_error(void) { return error_text; }

/*===----------------------------------------------------------------------===//
 * The thread pool. The calling thread and the workers take tasks one at a
 * time from a shared counter; each task writes its own outputs, so results
 * do not depend on which thread ran a task, nor on how many threads there
 * are. One loop runs at a time: a loop started while another runs (another
 * thread calling a model) runs on its caller alone.
 *===----------------------------------------------------------------------===*/

enum { kMaxThreads = 256 };

static struct {
  pthread_mutex_t busy; /* held by the thread whose loop runs on the pool */
  pthread_mutex_t lock; /* guards the fields below */
  pthread_cond_t wake, done;
  int threads; /* wanted, the caller included (0: not decided yet) */
  int workers; /* started */
  int pending; /* workers still in the current loop */
  int flush;   /* workers' floating-point mode: FTZ/DAZ */
  unsigned long generation;
  nabla_task_fn body;
  void *context;
  int64_t count;
  _Atomic int64_t next;
} pool = {.busy = PTHREAD_MUTEX_INITIALIZER,
          .lock = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER};

/** MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6). */
static const unsigned kFlushBits = (1u << 15) | (1u << 6);

static void run_tasks(void) {
  for (;;) {
    int64_t task = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed);
    if (task >= pool.count)
      return;
    pool.body(pool.context, task, task + 1);
  }
}

static void *worker_main(void *unused) {
  (void)unused;
  unsigned long seen = 0;
  pthread_mutex_lock(&pool.lock);
  if (pool.flush)
    _mm_setcsr(_mm_getcsr() | kFlushBits);
  for (;;) {
    while (pool.generation == seen)
      pthread_cond_wait(&pool.wake, &pool.lock);
    seen = pool.generation;
    pthread_mutex_unlock(&pool.lock);
    run_tasks();
    pthread_mutex_lock(&pool.lock);
    if (--pool.pending == 0)
      pthread_cond_signal(&pool.done);
  }
  return NULL;
}

/** Starts workers up to the wanted count (under pool.busy). */
static void start_workers(void) {
  if (pool.threads == 0) {
    const char *env = getenv("NABLA_THREADS");
    long n = env ? strtol(env, NULL, 10) : 0;
    if (n <= 0)
      n = sysconf(_SC_NPROCESSORS_ONLN);
    pool.threads = n < 1 ? 1 : n > kMaxThreads ? kMaxThreads : (int)n;
  }
  while (pool.workers + 1 < pool.threads) {
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    int failed = pthread_create(&thread, &attributes, worker_main, NULL);
    pthread_attr_destroy(&attributes);
    if (failed) {
      pool.threads = pool.workers + 1; /* as many as the system gave */
      return;
    }
    ++pool.workers;
  }
}

/** Runs body(context, begin, end) over [0, count); the kernels call it. */
void nabla_parallel_for(nabla_task_fn body, void *context, int64_t count) {
  if (count <= 1 || pool.threads == 1 || pthread_mutex_trylock(&pool.busy) != 0) {
    body(context, 0, count);
    return;
  }
  start_workers();
  if (pool.workers == 0) {
    pthread_mutex_unlock(&pool.busy);
    body(context, 0, count);
    return;
  }
  pthread_mutex_lock(&pool.lock);
  pool.body = body;
  pool.context = context;
  pool.count = count;
  atomic_store(&pool.next, 0);
  pool.pending = pool.workers;
  ++pool.generation;
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.lock);
  run_tasks();
  pthread_mutex_lock(&pool.lock);
  while (pool.pending > 0)
    pthread_cond_wait(&pool.done, &pool.lock);
  pthread_mutex_unlock(&pool.lock);
  pthread_mutex_unlock(&pool.busy);
}

/** Sets the threads of later loops (1 to 256; 0: the cores online). */
int nabla_aot_set_threads(int threads) {
  if (threads < 0 || threads > kMaxThreads) {
    set_error("the thread count must be from 0 to %d, not %d", kMaxThreads, threads);
    return 1;
  }
  pthread_mutex_lock(&pool.busy);
  /* Workers already started stay; fewer wanted ones take no part in loops
   * only if none were started, so shrinking keeps the started count. */
  pool.threads = threads;
  if (threads != 0 && pool.workers + 1 > threads)
    pool.threads = pool.workers + 1;
  pthread_mutex_unlock(&pool.busy);
  return 0;
}

/*===----------------------------------------------------------------------===//
 * The model's description.
 *===----------------------------------------------------------------------===*/

enum dtype { F32, F64, I32 };

typedef struct {
  char name[kMaxName];
  enum dtype dtype;
  int rank;
  int64_t dims[kMaxRank];
  int64_t bytes;
  int64_t embedded; /* offset into the embedded data, or -1 */
} param_info;

typedef struct {
  char name[kMaxName];
  enum dtype dtype;
  int64_t row_elements;
} row_info;

typedef struct {
  int64_t op, classes;
  char description[kMaxDescription];
} check_info;

typedef struct {
  int64_t tile, arena_bytes;
  int fixed, threads, flush;
  int num_params, num_inputs, num_outputs, num_args, num_checks;
  param_info *params;
  row_info *inputs, *outputs;
  char *arg_kind; /* 'p' or 'i' */
  int *arg_index;
  check_info *checks;
} description;

static int dtype_size(enum dtype d) { return d == F64 ? 8 : 4; }
static const char *dtype_name(enum dtype d) { return d == F32 ? "f32" : d == F64 ? "f64" : "i32"; }
static const char *file_dtype(enum dtype d) { return d == F32 ? "F32" : d == F64 ? "F64" : "I32"; }

static int parse_dtype(const char *text, enum dtype *out) {
  if (strcmp(text, "f32") == 0)
    *out = F32;
  else if (strcmp(text, "f64") == 0)
    *out = F64;
  else if (strcmp(text, "i32") == 0)
    *out = I32;
  else
    return 0;
  return 1;
}

static void free_description(description *d) {
  free(d->params);
  free(d->inputs);
  free(d->outputs);
  free(d->arg_kind);
  free(d->arg_index);
  free(d->checks);
}

/** Counts the lines of `text` starting with `word` and a space. */
static int count_lines(const char *text, const char *word) {
  int n = 0;
  size_t length = strlen(word);
  for (const char *line = text; *line;) {
    n += strncmp(line, word, length) == 0 && line[length] == ' ';
    const char *end = strchr(line, '\n');
    line = end ? end + 1 : line + strlen(line);
  }
  return n;
}

/** Reads the compiler's description; 0 when it is malformed (never, unless
 * the object was altered). */
static int parse_description(const char *text, description *d) {
  memset(d, 0, sizeof *d);
  int params = count_lines(text, "param"), inputs = count_lines(text, "input");
  int outputs = count_lines(text, "output"), args = count_lines(text, "arg");
  int checks = count_lines(text, "check");
  d->params = calloc((size_t)params + 1, sizeof *d->params);
  d->inputs = calloc((size_t)inputs + 1, sizeof *d->inputs);
  d->outputs = calloc((size_t)outputs + 1, sizeof *d->outputs);
  d->arg_kind = calloc((size_t)args + 1, 1);
  d->arg_index = calloc((size_t)args + 1, sizeof *d->arg_index);
  d->checks = calloc((size_t)checks + 1, sizeof *d->checks);
  if (!d->params || !d->inputs || !d->outputs || !d->arg_kind || !d->arg_index || !d->checks)
    return 0;
  for (const char *line = text; *line;) {
    const char *end = strchr(line, '\n');
    if (!end)
      end = line + strlen(line);
    char buffer[1024], word[16], name[kMaxName], type[8];
    size_t length =
        (size_t)(end - line) < sizeof buffer - 1 ? (size_t)(end - line) : sizeof buffer - 1;
    memcpy(buffer, line, length);
    buffer[length] = 0;
    int used = 0;
    if (sscanf(buffer, "%15s%n", word, &used) != 1)
      return 0;
    const char *rest = buffer + used;
    long long a = 0;
    if (strcmp(word, "tile") == 0 && sscanf(rest, "%lld", &a) == 1)
      d->tile = a;
    else if (strcmp(word, "fixed") == 0 && sscanf(rest, "%lld", &a) == 1)
      d->fixed = (int)a;
    else if (strcmp(word, "arena") == 0 && sscanf(rest, "%lld", &a) == 1)
      d->arena_bytes = a;
    else if (strcmp(word, "threads") == 0 && sscanf(rest, "%lld", &a) == 1)
      d->threads = (int)a;
    else if (strcmp(word, "flush") == 0 && sscanf(rest, "%lld", &a) == 1)
      d->flush = (int)a;
    else if (strcmp(word, "param") == 0) {
      param_info *p = &d->params[d->num_params++];
      if (sscanf(rest, "%127s %7s %d%n", p->name, type, &p->rank, &used) != 3 ||
          !parse_dtype(type, &p->dtype) || p->rank < 0 || p->rank > kMaxRank)
        return 0;
      rest += used;
      p->bytes = dtype_size(p->dtype);
      for (int i = 0; i < p->rank; ++i) {
        if (sscanf(rest, "%lld%n", &a, &used) != 1)
          return 0;
        rest += used;
        p->dims[i] = a;
        p->bytes *= a;
      }
      if (sscanf(rest, "%lld", &a) != 1)
        return 0;
      p->embedded = a;
    } else if (strcmp(word, "input") == 0 || strcmp(word, "output") == 0) {
      row_info *r = word[0] == 'i' ? &d->inputs[d->num_inputs++] : &d->outputs[d->num_outputs++];
      if (sscanf(rest, "%127s %7s %lld", name, type, &a) != 3 || !parse_dtype(type, &r->dtype))
        return 0;
      memcpy(r->name, name, sizeof name);
      r->row_elements = a;
    } else if (strcmp(word, "arg") == 0) {
      char kind = 0;
      if (sscanf(rest, " %c %lld", &kind, &a) != 2)
        return 0;
      d->arg_kind[d->num_args] = kind;
      d->arg_index[d->num_args++] = (int)a;
    } else if (strcmp(word, "check") == 0) {
      check_info *c = &d->checks[d->num_checks++];
      long long classes = 0;
      if (sscanf(rest, "%lld %lld %n", &a, &classes, &used) < 2)
        return 0;
      c->op = a;
      c->classes = classes;
      snprintf(c->description, sizeof c->description, "%s", rest + used);
    } else {
      return 0;
    }
    line = *end ? end + 1 : end;
  }
  return d->tile >= 1 && d->arena_bytes >= 0;
}

/*===----------------------------------------------------------------------===//
 * Params from a safetensors file: an 8-byte little-endian header length, a
 * JSON header naming each tensor's dtype, shape and data offsets, the data.
 *===----------------------------------------------------------------------===*/

typedef struct {
  const char *at, *end;
  int failed;
} json;

static void skip_space(json *j) {
  while (j->at < j->end && (*j->at == ' ' || *j->at == '\t' || *j->at == '\n' || *j->at == '\r'))
    ++j->at;
}

static int expect(json *j, char c) {
  skip_space(j);
  if (j->at < j->end && *j->at == c) {
    ++j->at;
    return 1;
  }
  j->failed = 1;
  return 0;
}

static int peek(json *j, char c) {
  skip_space(j);
  return j->at < j->end && *j->at == c;
}

/** A string into out (truncated to cap - 1 bytes; \u escapes above ASCII
 * become '?'). */
static void parse_string(json *j, char *out, size_t cap) {
  size_t n = 0;
  if (!expect(j, '"'))
    return;
  while (j->at < j->end && *j->at != '"') {
    char c = *j->at++;
    if (c == '\\') {
      if (j->at >= j->end)
        break;
      char e = *j->at++;
      c = e == 'n'   ? '\n'
          : e == 't' ? '\t'
          : e == 'r' ? '\r'
          : e == 'b' ? '\b'
          : e == 'f' ? '\f'
                     : e;
      if (e == 'u') {
        unsigned code = 0;
        for (int i = 0; i < 4; ++i) {
          if (j->at >= j->end) {
            j->failed = 1;
            return;
          }
          char h = *j->at++;
          code = code * 16 + (unsigned)(h >= '0' && h <= '9'   ? h - '0'
                                        : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                        : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                               : 0);
        }
        c = code < 128 ? (char)code : '?';
      }
    }
    if (n + 1 < cap)
      out[n++] = c;
  }
  if (cap)
    out[n] = 0;
  expect(j, '"');
}

static int64_t parse_integer(json *j) {
  skip_space(j);
  int64_t value = 0;
  int digits = 0;
  while (j->at < j->end && *j->at >= '0' && *j->at <= '9' && digits < 18) {
    value = value * 10 + (*j->at++ - '0');
    ++digits;
  }
  if (digits == 0 || (j->at < j->end && *j->at >= '0' && *j->at <= '9'))
    j->failed = 1;
  return value;
}

/** Skips any value, nesting at most 64 deep. */
static void skip_value(json *j, int depth) {
  skip_space(j);
  if (j->at >= j->end || depth > 64) {
    j->failed = 1;
    return;
  }
  char c = *j->at;
  if (c == '"') {
    char ignored[1];
    parse_string(j, ignored, sizeof ignored);
  } else if (c == '{' || c == '[') {
    char close = c == '{' ? '}' : ']';
    ++j->at;
    if (peek(j, close)) {
      ++j->at;
      return;
    }
    do {
      if (c == '{') {
        char ignored[1];
        parse_string(j, ignored, sizeof ignored);
        expect(j, ':');
      }
      skip_value(j, depth + 1);
    } while (!j->failed && peek(j, ',') && ++j->at);
    expect(j, close);
  } else {
    while (j->at < j->end && strchr(",}] \t\r\n", *j->at) == NULL)
      ++j->at;
  }
}

/** A list of at most `cap` integers; their count, -1 when malformed. */
static int parse_integers(json *j, int64_t *out, int cap) {
  int n = 0;
  if (!expect(j, '['))
    return -1;
  if (peek(j, ']')) {
    ++j->at;
    return 0;
  }
  do {
    int64_t v = parse_integer(j);
    if (n < cap)
      out[n] = v;
    ++n;
  } while (!j->failed && peek(j, ',') && ++j->at);
  expect(j, ']');
  return j->failed ? -1 : n;
}

static void format_shape(char *out, size_t cap, const int64_t *dims, int rank) {
  size_t n = (size_t)snprintf(out, cap, "[");
  for (int i = 0; i < rank && n < cap; ++i)
    n += (size_t)snprintf(out + n, cap - n, "%s%lld", i ? ", " : "", (long long)dims[i]);
  if (n < cap)
    snprintf(out + n, cap - n, "]");
}

/** Reads every param of `d` from the safetensors data in `file` (named
 * `path` in messages) into `data` (one buffer each); closes the file. */
static int read_params(const description *d, FILE *file, const char *path, void **data) {
  unsigned char prefix[8];
  int ok = 0;
  char *header = NULL;
  if (fseek(file, 0, SEEK_END) != 0) {
    set_error("%s: error: cannot read the params file", path);
    goto done;
  }
  long file_size = ftell(file);
  rewind(file);
  if (file_size < 8 || fread(prefix, 1, 8, file) != 8) {
    set_error("%s: error: not a safetensors file (shorter than its 8-byte header length)", path);
    goto done;
  }
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i)
    header_size = header_size << 8 | prefix[i];
  if (header_size > (uint64_t)kMaxHeader || header_size > (uint64_t)file_size - 8 ||
      file_size > kMaxParamsFile) {
    set_error("%s: error: not a safetensors file (a header of %llu bytes in a file of %ld)", path,
              (unsigned long long)header_size, file_size);
    goto done;
  }
  header = malloc(header_size + 1);
  if (!header || fread(header, 1, header_size, file) != header_size) {
    set_error("%s: error: cannot read the safetensors header", path);
    goto done;
  }
  int64_t data_size = file_size - 8 - (int64_t)header_size;
  long data_start = 8 + (long)header_size;
  char *found = calloc((size_t)d->num_params + 1, 1);
  if (!found) {
    set_error("%s: error: out of memory", path);
    goto done;
  }
  json j = {header, header + header_size, 0};
  expect(&j, '{');
  int first = 1;
  while (!j.failed && !peek(&j, '}')) {
    if (!first)
      expect(&j, ',');
    first = 0;
    char name[kMaxName + 1];
    parse_string(&j, name, sizeof name);
    expect(&j, ':');
    int index = -1;
    for (int i = 0; i < d->num_params; ++i)
      if (strcmp(d->params[i].name, name) == 0)
        index = i;
    if (index < 0 || j.failed) {
      skip_value(&j, 0);
      continue;
    }
    char dtype[16] = "";
    int64_t dims[kMaxRank + 1], offsets[3];
    int rank = -1, num_offsets = -1;
    expect(&j, '{');
    int first_field = 1;
    while (!j.failed && !peek(&j, '}')) {
      if (!first_field)
        expect(&j, ',');
      first_field = 0;
      char field[32];
      parse_string(&j, field, sizeof field);
      expect(&j, ':');
      if (strcmp(field, "dtype") == 0)
        parse_string(&j, dtype, sizeof dtype);
      else if (strcmp(field, "shape") == 0)
        rank = parse_integers(&j, dims, kMaxRank + 1);
      else if (strcmp(field, "data_offsets") == 0)
        num_offsets = parse_integers(&j, offsets, 3);
      else
        skip_value(&j, 0);
    }
    expect(&j, '}');
    if (j.failed)
      break;
    const param_info *p = &d->params[index];
    char want[160], have[160];
    format_shape(want, sizeof want, p->dims, p->rank);
    if (strcmp(dtype, file_dtype(p->dtype)) != 0) {
      set_error("%s: error: param '%s' is stored as %s, but the model needs %s (%s%s)", path,
                p->name, dtype, file_dtype(p->dtype), dtype_name(p->dtype), want);
      goto free_found;
    }
    if (rank < 0 || rank > kMaxRank || num_offsets != 2) {
      set_error("%s: error: the entry of param '%s' has no valid shape and data_offsets", path,
                p->name);
      goto free_found;
    }
    format_shape(have, sizeof have, dims, rank);
    if (rank != p->rank || memcmp(dims, p->dims, sizeof(int64_t) * (size_t)rank) != 0) {
      set_error("%s: error: param '%s' has shape %s in the file, but the model needs %s%s", path,
                p->name, have, dtype_name(p->dtype), want);
      goto free_found;
    }
    if (offsets[0] > offsets[1] || offsets[1] > data_size || offsets[1] - offsets[0] != p->bytes) {
      set_error("%s: error: the data_offsets of param '%s' do not fit its shape and the file", path,
                p->name);
      goto free_found;
    }
    if (fseek(file, data_start + (long)offsets[0], SEEK_SET) != 0 ||
        fread(data[index], 1, (size_t)p->bytes, file) != (size_t)p->bytes) {
      set_error("%s: error: cannot read param '%s'", path, p->name);
      goto free_found;
    }
    found[index] = 1;
  }
  expect(&j, '}');
  if (j.failed) {
    set_error("%s: error: the safetensors header is not valid JSON", path);
    goto free_found;
  }
  for (int i = 0; i < d->num_params; ++i)
    if (!found[i]) {
      char want[160];
      format_shape(want, sizeof want, d->params[i].dims, d->params[i].rank);
      set_error("%s: error: param '%s' (%s%s) is missing", path, d->params[i].name,
                dtype_name(d->params[i].dtype), want);
      goto free_found;
    }
  ok = 1;
free_found:
  free(found);
done:
  free(header);
  fclose(file);
  return ok;
}

/** Reads every param of `d` from the file at `path` into `data`. */
static int load_params(const description *d, const char *path, void **data) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    set_error("%s: error: cannot open the params file: %s", path, strerror(errno));
    return 0;
  }
  return read_params(d, file, path, data);
}

/*===----------------------------------------------------------------------===//
 * Models.
 *===----------------------------------------------------------------------===*/

typedef struct {
  description d;
  nabla_entry_fn entry;
  pthread_mutex_t lock; /* one prediction at a time: the arena is shared */
  void **params;        /* each param's data */
  int owns_params;
  char *arena;
  const void **args;
  void **results;
  void **input_stage, **output_stage; /* one tile each, for a partial tile */
} model;

/** The step's status at the start of its arena (codegen/MemoryPlan.h). */
typedef struct {
  int64_t failed_op, position, value;
} step_status;

/** Whether the kernels may read or write `p` directly: they assume 64-byte
 * alignment. */
static int is_aligned(const void *p) { return ((uintptr_t)p & 63) == 0; }

static void *aligned(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? (bytes + 63) / 64 * 64 : 64) != 0)
    return NULL;
  memset(p, 0, bytes);
  return p;
}

void nabla_aot_destroy(void *handle) {
  model *m = handle;
  if (!m)
    return;
  for (int i = 0; m->params && m->owns_params && i < m->d.num_params; ++i)
    free(m->params[i]);
  for (int i = 0; m->input_stage && i < m->d.num_inputs; ++i)
    free(m->input_stage[i]);
  for (int i = 0; m->output_stage && i < m->d.num_outputs; ++i)
    free(m->output_stage[i]);
  free(m->params);
  free(m->input_stage);
  free(m->output_stage);
  free(m->arena);
  free(m->args);
  free(m->results);
  pthread_mutex_destroy(&m->lock);
  free_description(&m->d);
  free(m);
}

void *nabla_aot_create(const char *text, const unsigned char *embedded, nabla_entry_fn entry,
                       const char *path) {
  model *m = calloc(1, sizeof *m);
  if (!m) {
    set_error("out of memory");
    return NULL;
  }
  pthread_mutex_init(&m->lock, NULL);
  m->entry = entry;
  if (!parse_description(text, &m->d)) {
    set_error("internal error: the model's description is malformed");
    nabla_aot_destroy(m);
    return NULL;
  }
  description *d = &m->d;
  if (!path && d->num_params > 0 && (!embedded || d->params[0].embedded < 0)) {
    set_error("no params: pass the path of a safetensors file (the model was compiled without "
              "--params)");
    nabla_aot_destroy(m);
    return NULL;
  }
  m->params = calloc((size_t)d->num_params + 1, sizeof(void *));
  m->input_stage = calloc((size_t)d->num_inputs + 1, sizeof(void *));
  m->output_stage = calloc((size_t)d->num_outputs + 1, sizeof(void *));
  m->args = calloc((size_t)d->num_args + 1, sizeof(void *));
  m->results = calloc((size_t)d->num_outputs + 1, sizeof(void *));
  m->arena = aligned((size_t)d->arena_bytes);
  int ok = m->params && m->input_stage && m->output_stage && m->args && m->results && m->arena;
  /* One tile of each input and output, for a partial last tile and for
   * callers' arrays that are not 64-byte aligned (the kernels assume it).
   * A fixed batch is one run: its ROW_ELEMENTS is the whole tensor. */
  int64_t rows = d->fixed ? 1 : d->tile;
  for (int i = 0; ok && i < d->num_inputs; ++i)
    ok = (m->input_stage[i] = aligned(
              (size_t)(rows * d->inputs[i].row_elements * dtype_size(d->inputs[i].dtype)))) != NULL;
  for (int i = 0; ok && i < d->num_outputs; ++i)
    ok = (m->output_stage[i] = aligned((size_t)(rows * d->outputs[i].row_elements *
                                                dtype_size(d->outputs[i].dtype)))) != NULL;
  if (!ok) {
    set_error("out of memory");
    nabla_aot_destroy(m);
    return NULL;
  }
  if (path) {
    m->owns_params = 1;
    for (int i = 0; ok && i < d->num_params; ++i)
      ok = (m->params[i] = aligned((size_t)d->params[i].bytes)) != NULL;
    if (!ok)
      set_error("out of memory");
    if (!ok || !load_params(d, path, m->params)) {
      nabla_aot_destroy(m);
      return NULL;
    }
  } else {
    for (int i = 0; i < d->num_params; ++i)
      m->params[i] = (void *)(embedded + d->params[i].embedded);
  }
  for (int i = 0; i < d->num_args; ++i)
    if (d->arg_kind[i] == 'p')
      m->args[i] = m->params[d->arg_index[i]];
  pthread_mutex_lock(&pool.busy);
  if (pool.threads == 0 && d->threads > 0)
    pool.threads = d->threads;
  pool.flush = d->flush;
  pthread_mutex_unlock(&pool.busy);
  return m;
}

int nabla_aot_predict(void *handle, int64_t batch, void *const *pointers) {
  model *m = handle;
  if (!m) {
    set_error("the model is NULL (its create call failed)");
    return 1;
  }
  description *d = &m->d;
  if (batch < 1 || (d->fixed && batch != d->tile)) {
    if (d->fixed)
      set_error("the batch must be %lld (the model was compiled with --batch %lld), not %lld",
                (long long)d->tile, (long long)d->tile, (long long)batch);
    else
      set_error("the batch must be at least 1, not %lld", (long long)batch);
    return 1;
  }
  for (int i = 0; i < d->num_inputs + d->num_outputs; ++i)
    if (!pointers[i]) {
      set_error("the pointer for %s '%s' is NULL", i < d->num_inputs ? "input" : "output",
                i < d->num_inputs ? d->inputs[i].name : d->outputs[i - d->num_inputs].name);
      return 1;
    }
  pthread_mutex_lock(&m->lock);
  unsigned saved_mode = _mm_getcsr();
  if (d->flush)
    _mm_setcsr(saved_mode | kFlushBits);
  /* A run takes `per_run` rows of ROW_ELEMENTS each: a tile of examples,
   * or the whole (fixed) batch as one row. */
  int64_t per_run = d->fixed ? 1 : d->tile, total = d->fixed ? 1 : batch;
  int failed = 0;
  for (int64_t start = 0; start < total && !failed; start += per_run) {
    int64_t rows = total - start < per_run ? total - start : per_run;
    for (int a = 0; a < d->num_args; ++a) {
      if (d->arg_kind[a] != 'i')
        continue;
      int i = d->arg_index[a];
      size_t row_bytes = (size_t)(d->inputs[i].row_elements * dtype_size(d->inputs[i].dtype));
      const char *source = (const char *)pointers[i] + (size_t)start * row_bytes;
      if (rows == per_run && is_aligned(source)) {
        m->args[a] = source;
      } else {
        memcpy(m->input_stage[i], source, (size_t)rows * row_bytes);
        memset((char *)m->input_stage[i] + (size_t)rows * row_bytes, 0,
               (size_t)(per_run - rows) * row_bytes);
        m->args[a] = m->input_stage[i];
      }
    }
    for (int o = 0; o < d->num_outputs; ++o) {
      size_t row_bytes = (size_t)(d->outputs[o].row_elements * dtype_size(d->outputs[o].dtype));
      char *target = (char *)pointers[d->num_inputs + o] + (size_t)start * row_bytes;
      m->results[o] = rows == per_run && is_aligned(target) ? target : m->output_stage[o];
    }
    step_status *status = (step_status *)m->arena;
    status->failed_op = -1;
    status->position = status->value = 0;
    m->entry(m->args, m->results, m->arena);
    if (status->failed_op >= 0) {
      const check_info *c = NULL;
      for (int k = 0; k < d->num_checks; ++k)
        if (d->checks[k].op == status->failed_op)
          c = &d->checks[k];
      int64_t first = d->fixed ? 0 : start, last = d->fixed ? batch - 1 : start + rows - 1;
      set_error("%s: label %lld (in examples %lld to %lld) is outside [0, %lld)",
                c ? c->description : "an op", (long long)status->value, (long long)first,
                (long long)last, (long long)(c ? c->classes : 0));
      failed = 1;
      break;
    }
    for (int o = 0; o < d->num_outputs; ++o) {
      size_t row_bytes = (size_t)(d->outputs[o].row_elements * dtype_size(d->outputs[o].dtype));
      char *target = (char *)pointers[d->num_inputs + o] + (size_t)start * row_bytes;
      if (m->results[o] != target)
        memcpy(target, m->output_stage[o], (size_t)rows * row_bytes);
    }
  }
  _mm_setcsr(saved_mode);
  pthread_mutex_unlock(&m->lock);
  return failed;
}
