#include "data/Dataset.h"
#include "data/DataSources.h"
#include "ir/Labels.h"
#include "runtime/ThreadPool.h"
#include "support/Random.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

namespace nabla {

std::optional<bool> inputsAreBatched(const ir::Function &fn, DiagnosticEngine &diags) {
  std::optional<bool> batched;
  std::string batchSymbol;
  for (const ir::Argument *arg : fn.arguments(ir::ArgRole::Input)) {
    const Shape &s = arg->value.type.shape;
    bool leading =
        !s.empty() && !s[0].isConcrete() && s[0].symbols().size() == 1 && s[0].coefficient() == 1;
    bool rest = true;
    for (size_t d = leading ? 1 : 0; d < s.size(); ++d)
      rest &= s[d].isConcrete();
    if (!rest) {
      diags.error(arg->loc,
                  "training needs every size of input '{}' ({}) known except a leading "
                  "batch size",
                  arg->value.name, arg->value.type.str());
      return std::nullopt;
    }
    if (batched && *batched != leading) {
      diags.error(arg->loc, "input '{}' ({}) {} a batch axis but other inputs {}", arg->value.name,
                  arg->value.type.str(), leading ? "has" : "has no", leading ? "do not" : "do");
      return std::nullopt;
    }
    if (leading && !batchSymbol.empty() && s[0].symbols()[0] != batchSymbol) {
      diags.error(arg->loc, "input '{}' ({}) is batched by {} but other inputs by {}",
                  arg->value.name, arg->value.type.str(), s[0].symbols()[0], batchSymbol);
      return std::nullopt;
    }
    if (leading)
      batchSymbol = s[0].symbols()[0];
    batched = leading;
  }
  return batched.value_or(true);
}

std::optional<Dataset> Dataset::load(const ir::Function &fn,
                                     const std::vector<std::pair<std::string, DataSource>> &sources,
                                     bool batched, const std::string &what,
                                     DiagnosticEngine &diags) {
  Dataset ds;
  ds.batched_ = batched;
  bool ok = true;
  std::string countFrom;
  for (const ir::Argument *arg : fn.arguments(ir::ArgRole::Input)) {
    const std::string &name = arg->value.name;
    auto source = std::find_if(sources.begin(), sources.end(),
                               [&](const auto &s) { return s.first == name; });
    if (source == sources.end()) {
      diags.error(arg->loc,
                  "input '{}' has no {} data: name a source for it in the train block "
                  "or with --{} {}=FILE",
                  name, what, what == "training" ? "data" : "test", name);
      ok = false;
      continue;
    }
    const DataSource &ds0 = source->second;
    std::string error;
    std::optional<Examples> t = loadSource(ds0, arg->value.type.dtype, error);
    if (!t) {
      diags.fileError(ds0.path, "{}", error);
      ok = false;
      continue;
    }
    std::vector<int64_t> perExample;
    const Shape &declared = arg->value.type.shape;
    for (size_t d = batched ? 1 : 0; d < declared.size(); ++d)
      perExample.push_back(declared[d].coefficient());
    int64_t wanted =
        std::accumulate(perExample.begin(), perExample.end(), int64_t(1), std::multiplies<>());
    int64_t n = t->shape.empty() ? 1 : t->shape[0];
    int64_t each = n == 0 ? 0 : t->numel() / n;
    if (each != wanted) {
      diags.fileError(ds0.path,
                      "each example holds {} values ({} examples of {}), but input '{}' "
                      "({}) needs {} per example",
                      each, n, sizesStr(t->shape), name, arg->value.type.str(), wanted);
      ok = false;
      continue;
    }
    if (ds.count_ && n != ds.count_) {
      diags.fileError(ds0.path, "holds {} examples for input '{}', but {} holds {}", n, name,
                      countFrom, ds.count_);
      ok = false;
      continue;
    }
    if (n == 0) {
      diags.fileError(ds0.path, "holds no examples");
      ok = false;
      continue;
    }
    ds.count_ = n;
    countFrom = ds0.path;
    ds.names_.push_back(name);
    ds.examples_.push_back(std::move(*t));
    ds.dtypes_.push_back(arg->value.type.dtype);
    ds.perExample_.push_back(perExample);
    ds.paths_.push_back(ds0.path);
  }
  if (!ok || !ds.checkLabels(fn, diags))
    return std::nullopt;
  return ds;
}

bool Dataset::checkLabels(const ir::Function &fn, DiagnosticEngine &diags) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    const ir::Argument *arg = fn.findArgument(ir::ArgRole::Input, names_[i]);
    int64_t classes = ir::classCount(fn, &arg->value, {});
    if (!classes)
      continue;
    const int32_t *labels = examples_[i].values.data<int32_t>();
    for (int64_t k = 0; k < examples_[i].values.numel(); ++k)
      if (labels[k] < 0 || labels[k] >= classes) {
        diags.fileError(paths_[i],
                        "label {} at position {} (counting from 0) of input '{}' is outside "
                        "[0, {}): the script has {} classes",
                        labels[k], k, names_[i], classes, classes);
        return false;
      }
  }
  return true;
}

void Dataset::prepareBatch(int64_t n, std::vector<Tensor> &batch) const {
  batch.resize(names_.size());
  for (size_t i = 0; i < names_.size(); ++i) {
    std::vector<int64_t> shape;
    if (batched_)
      shape.push_back(n);
    shape.insert(shape.end(), perExample_[i].begin(), perExample_[i].end());
    if (batch[i].empty() || batch[i].shape() != shape)
      batch[i] = Tensor(dtypes_[i], shape);
  }
}

namespace {

/// Bytes of a batch beyond which its conversion runs on the thread pool
/// (a few microseconds of conversion, mostly waiting on memory; waking the
/// workers costs a few).
constexpr int64_t kParallelGatherBytes = 32 * 1024;

/// How many examples ahead of the one being converted gatherBytes asks
/// the cache for.
constexpr int64_t kGatherPrefetchRows = 2;
/// The cache line of every x86-64 and AArch64 core Nabla targets.
constexpr size_t kCacheLineBytes = 64;

/// One batch's examples from compact byte data, each byte times `scale`.
struct ByteGather {
  const uint8_t *bytes;
  size_t each; ///< bytes per example
  const std::vector<int64_t> *order;
  int64_t begin; ///< the batch's first position in `order`
  Tensor *out;
  double scale;
};

// The conversions below are compiled once per x86-64 vector width and the
// widest the host has is chosen when the program loads (Nabla's own code is
// built for the baseline x86-64, whose vectors are 4 floats).
#if defined(__x86_64__)
#define NABLA_WIDEST_VECTORS __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NABLA_WIDEST_VECTORS
#endif

/// dst[e] = float(double(src[e]) * scale) for e < n: the byte's value times
/// the scale rounded once to double, then to float — the numbers a byte at
/// a time gives, computed a vector at a time.
NABLA_WIDEST_VECTORS void bytesToFloats(const uint8_t *src, float *dst, size_t n, double scale) {
  for (size_t e = 0; e < n; ++e)
    dst[e] = float(double(src[e]) * scale);
}

/// dst[e] = double(src[e]) * scale for e < n.
NABLA_WIDEST_VECTORS void bytesToDoubles(const uint8_t *src, double *dst, size_t n, double scale) {
  for (size_t e = 0; e < n; ++e)
    dst[e] = double(src[e]) * scale;
}

/// Examples [first, last) of the batch (a task of the thread pool; each
/// writes its own rows of the batch).
void gatherBytes(void *context, int64_t first, int64_t last) {
  const ByteGather &job = *static_cast<const ByteGather *>(context);
  for (int64_t k = first; k < last; ++k) {
    const uint8_t *src = job.bytes + size_t((*job.order)[size_t(job.begin + k)]) * job.each;
    // The examples lie at random places in the data set, far from the
    // cache: asking for one a few rows ahead hides part of that wait (a
    // B=128 Fashion-MNIST batch took a quarter less time on a Sapphire
    // Rapids host, 58 instead of 78 us).
    if (k + kGatherPrefetchRows < last) {
      size_t ahead = size_t((*job.order)[size_t(job.begin + k + kGatherPrefetchRows)]);
      for (size_t e = 0; e < job.each; e += kCacheLineBytes)
        __builtin_prefetch(job.bytes + ahead * job.each + e);
    }
    size_t base = size_t(k) * job.each;
    if (job.out->dtype() == DType::F32)
      bytesToFloats(src, job.out->data<float>() + base, job.each, job.scale);
    else
      bytesToDoubles(src, job.out->data<double>() + base, job.each, job.scale);
  }
}

} // namespace

void Dataset::gather(const std::vector<int64_t> &order, int64_t begin, int64_t n,
                     std::vector<Tensor> &batch) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    const Examples &all = examples_[i];
    if (all.compact()) {
      // Bytes become the input's floats here, batch by batch, the
      // examples split over the thread pool: the step waits on it.
      ByteGather job{all.bytes.data(), all.bytes.size() / size_t(count_), &order, begin, &batch[i],
                     all.scale};
      // A small batch is quicker on this thread than handed out. So is a
      // scale whose products can be subnormal: the pool's threads run
      // with subnormals flushed to zero (runtime/FloatMode.h), this one
      // keeps IEEE arithmetic.
      double smallest = batch[i].dtype() == DType::F32 ? std::numeric_limits<float>::min()
                                                       : std::numeric_limits<double>::min();
      bool subnormals = all.scale != 0 && std::fabs(all.scale) < smallest;
      if (n * int64_t(job.each) >= kParallelGatherBytes && !subnormals)
        nabla_parallel_for(gatherBytes, &job, n);
      else
        gatherBytes(&job, 0, n);
      continue;
    }
    size_t bytes = all.values.byteSize() / size_t(count_);
    const char *src = static_cast<const char *>(all.values.raw());
    char *dst = static_cast<char *>(batch[i].raw());
    for (int64_t k = 0; k < n; ++k)
      std::memcpy(dst + size_t(k) * bytes, src + size_t(order[size_t(begin + k)]) * bytes, bytes);
  }
}

std::vector<int64_t> Dataset::order(bool shuffle, uint64_t seed, int64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(count_));
  std::iota(order.begin(), order.end(), 0);
  if (shuffle) {
    Random random(seed, "shuffle " + std::to_string(epoch));
    for (size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[random.below(i)]);
  }
  return order;
}

} // namespace nabla
