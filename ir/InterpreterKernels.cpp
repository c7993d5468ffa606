#include "ir/InterpreterKernels.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace nabla::ir::kernels {

int64_t numel(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Shape strides(const Shape &shape) {
  Shape s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;)
    s[i - 1] = s[i] * shape[i];
  return s;
}

/// Calls f(index, position) for every element of `shape` in row-major order.
template <typename F> static void forEachIndex(const Shape &shape, F f) {
  int64_t n = numel(shape);
  Shape index(shape.size(), 0);
  for (int64_t pos = 0; pos < n; ++pos) {
    f(index, pos);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++index[d] < shape[d])
        break;
      index[d] = 0;
    }
  }
}

Buffer broadcast(const Buffer &in, const Shape &shape) {
  Buffer out{std::vector<double>(numel(shape)), shape};
  Shape inStrides = strides(in.shape);
  size_t lead = shape.size() - in.shape.size();
  forEachIndex(shape, [&](const Shape &index, int64_t pos) {
    int64_t src = 0;
    for (size_t d = 0; d < in.shape.size(); ++d)
      if (in.shape[d] != 1)
        src += index[lead + d] * inStrides[d];
    out.v[pos] = in.v[src];
  });
  return out;
}

Buffer transpose(const Buffer &in, const std::vector<int64_t> &perm) {
  Shape shape(perm.size());
  for (size_t k = 0; k < perm.size(); ++k)
    shape[k] = in.shape[perm[k]];
  Buffer out{std::vector<double>(in.v.size()), shape};
  Shape inStrides = strides(in.shape);
  forEachIndex(shape, [&](const Shape &index, int64_t pos) {
    int64_t src = 0;
    for (size_t k = 0; k < perm.size(); ++k)
      src += index[k] * inStrides[perm[k]];
    out.v[pos] = in.v[src];
  });
  return out;
}

Buffer concat(const std::vector<const Buffer *> &parts, int64_t axis) {
  Shape shape = parts[0]->shape;
  shape[axis] = 0;
  for (const Buffer *p : parts)
    shape[axis] += p->shape[axis];
  Buffer out{std::vector<double>(numel(shape)), shape};
  Shape outStrides = strides(shape);
  int64_t offset = 0;
  for (const Buffer *p : parts) {
    forEachIndex(p->shape, [&](const Shape &index, int64_t pos) {
      int64_t dst = 0;
      for (size_t d = 0; d < shape.size(); ++d)
        dst += (index[d] + (int64_t(d) == axis ? offset : 0)) * outStrides[d];
      out.v[dst] = p->v[pos];
    });
    offset += p->shape[axis];
  }
  return out;
}

Buffer pad(const Buffer &in, int64_t axis, int64_t start, const Shape &shape) {
  Buffer out{std::vector<double>(numel(shape)), shape};
  Shape outStrides = strides(shape);
  forEachIndex(in.shape, [&](const Shape &index, int64_t pos) {
    int64_t dst = 0;
    for (size_t d = 0; d < index.size(); ++d)
      dst += (index[d] + (int64_t(d) == axis ? start : 0)) * outStrides[d];
    out.v[dst] = in.v[pos];
  });
  return out;
}

Buffer slice(const Buffer &in, int64_t axis, int64_t start, int64_t size) {
  Shape shape = in.shape;
  shape[axis] = size;
  Buffer out{std::vector<double>(numel(shape)), shape};
  Shape inStrides = strides(in.shape);
  forEachIndex(shape, [&](const Shape &index, int64_t pos) {
    int64_t src = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      src += (index[d] + (int64_t(d) == axis ? start : 0)) * inStrides[d];
    out.v[pos] = in.v[src];
  });
  return out;
}

Buffer reduce(const Buffer &in, const std::vector<int64_t> &axes, bool keepdims, Reduction kind) {
  auto reduced = [&](size_t d) {
    return std::find(axes.begin(), axes.end(), int64_t(d)) != axes.end();
  };
  Shape kept; // the result's shape with reduced axes as 1
  for (size_t d = 0; d < in.shape.size(); ++d)
    kept.push_back(reduced(d) ? 1 : in.shape[d]);
  Shape keptStrides = strides(kept);
  auto target = [&](const Shape &index) {
    int64_t dst = 0;
    for (size_t d = 0; d < index.size(); ++d)
      if (!reduced(d))
        dst += index[d] * keptStrides[d];
    return dst;
  };
  int64_t n = numel(kept);
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> acc(n, kind == Reduction::Sum ? 0.0 : kind == Reduction::Min ? inf : -inf);
  std::vector<bool> sawNaN(n, false);
  forEachIndex(in.shape, [&](const Shape &index, int64_t pos) {
    int64_t dst = target(index);
    double x = in.v[pos];
    if (std::isnan(x))
      sawNaN[dst] = true;
    if (kind == Reduction::Sum)
      acc[dst] += x;
    else if (kind == Reduction::Min)
      acc[dst] = std::min(acc[dst], x);
    else
      acc[dst] = std::max(acc[dst], x);
  });
  if (kind == Reduction::LogSumExp) {
    // log(sum(exp(x - max))) + max, with the max of each group in acc.
    std::vector<double> sums(n, 0.0);
    forEachIndex(in.shape, [&](const Shape &index, int64_t pos) {
      int64_t dst = target(index);
      if (std::isfinite(acc[dst]))
        sums[dst] += std::exp(in.v[pos] - acc[dst]);
    });
    for (int64_t i = 0; i < n; ++i)
      if (std::isfinite(acc[i]))
        acc[i] += std::log(sums[i]);
  }
  if (kind != Reduction::Sum)
    for (int64_t i = 0; i < n; ++i)
      if (sawNaN[i])
        acc[i] = std::nan("");
  Shape shape;
  for (size_t d = 0; d < in.shape.size(); ++d)
    if (!reduced(d) || keepdims)
      shape.push_back(kept[d]);
  return Buffer{std::move(acc), shape};
}

Buffer matmul(const Buffer &a, const Buffer &b, bool transposeA, bool transposeB) {
  size_t r = a.shape.size();
  int64_t rowsA = a.shape[r - 2], colsA = a.shape[r - 1];
  int64_t rowsB = b.shape[r - 2], colsB = b.shape[r - 1];
  int64_t m = transposeA ? colsA : rowsA, k = transposeA ? rowsA : colsA;
  int64_t n = transposeB ? rowsB : colsB;
  Shape shape(a.shape.begin(), a.shape.end() - 2);
  int64_t batches = numel(shape);
  shape.push_back(m);
  shape.push_back(n);
  Buffer out{std::vector<double>(batches * m * n), shape};
  for (int64_t bt = 0; bt < batches; ++bt) {
    const double *pa = a.v.data() + bt * rowsA * colsA;
    const double *pb = b.v.data() + bt * rowsB * colsB;
    double *pc = out.v.data() + bt * m * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (int64_t p = 0; p < k; ++p) {
          double x = transposeA ? pa[p * colsA + i] : pa[i * colsA + p];
          double y = transposeB ? pb[j * colsB + p] : pb[p * colsB + j];
          sum += x * y;
        }
        pc[i * n + j] = sum;
      }
  }
  return out;
}

/// Calls f(offset, stride, count) for every line of elements along `axis`.
template <typename F> static void forEachLine(const Shape &shape, int64_t axis, F f) {
  int64_t count = shape[axis];
  int64_t inner = 1;
  for (size_t d = axis + 1; d < shape.size(); ++d)
    inner *= shape[d];
  int64_t outer = numel(shape) / std::max<int64_t>(1, count * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i)
      f(o * count * inner + i, inner, count);
}

Buffer softmax(const Buffer &in, int64_t axis, bool logarithm) {
  Buffer out{std::vector<double>(in.v.size()), in.shape};
  forEachLine(in.shape, axis, [&](int64_t offset, int64_t stride, int64_t count) {
    double max = -std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < count; ++c)
      max = std::max(max, in.v[offset + c * stride]);
    double sum = 0;
    for (int64_t c = 0; c < count; ++c)
      sum += std::exp(in.v[offset + c * stride] - max);
    for (int64_t c = 0; c < count; ++c) {
      double shifted = in.v[offset + c * stride] - max;
      out.v[offset + c * stride] = logarithm ? shifted - std::log(sum) : std::exp(shifted) / sum;
    }
  });
  return out;
}

Buffer argmax(const Buffer &in, int64_t axis) {
  Shape shape = in.shape;
  shape.erase(shape.begin() + axis);
  Buffer out{std::vector<double>(numel(shape)), shape};
  int64_t line = 0;
  forEachLine(in.shape, axis, [&](int64_t offset, int64_t stride, int64_t count) {
    int64_t best = 0;
    for (int64_t c = 1; c < count; ++c) {
      double x = in.v[offset + c * stride], top = in.v[offset + best * stride];
      if (!std::isnan(top) && (x > top || std::isnan(x)))
        best = c;
    }
    out.v[line++] = double(best);
  });
  return out;
}

/// Calls f(x index, w index, output index) for every multiply of a
/// convolution of x (`xShape`) with w (`wShape`) into `outShape`.
template <typename F>
static void forEachConvTap(const Shape &xShape, const Shape &wShape, const Shape &outShape,
                           const int64_t stride[2], const int64_t padding[2], F f) {
  int64_t n = xShape[0], c = xShape[1], h = xShape[2], wd = xShape[3];
  int64_t o = wShape[0], kh = wShape[2], kw = wShape[3];
  int64_t oh = outShape[2], ow = outShape[3];
  for (int64_t b = 0; b < n; ++b)
    for (int64_t f0 = 0; f0 < o; ++f0)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j)
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t p = 0; p < kh; ++p)
              for (int64_t q = 0; q < kw; ++q) {
                int64_t y = i * stride[0] - padding[0] + p, z = j * stride[1] - padding[1] + q;
                if (y >= 0 && y < h && z >= 0 && z < wd)
                  f(((b * c + ch) * h + y) * wd + z, ((f0 * c + ch) * kh + p) * kw + q,
                    ((b * o + f0) * oh + i) * ow + j);
              }
}

Buffer conv2d(const Buffer &x, const Buffer &w, const int64_t stride[2], const int64_t padding[2]) {
  Shape shape = {x.shape[0], w.shape[0], (x.shape[2] + 2 * padding[0] - w.shape[2]) / stride[0] + 1,
                 (x.shape[3] + 2 * padding[1] - w.shape[3]) / stride[1] + 1};
  Buffer out{std::vector<double>(numel(shape), 0.0), shape};
  forEachConvTap(x.shape, w.shape, shape, stride, padding,
                 [&](int64_t xi, int64_t wi, int64_t oi) { out.v[oi] += x.v[xi] * w.v[wi]; });
  return out;
}

/// Applies `combine` over each pooling window; `finish` turns the result.
template <typename Combine, typename Finish>
static Buffer pool(const Buffer &x, const int64_t window[2], const int64_t stride[2], double init,
                   Combine combine, Finish finish) {
  int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3];
  int64_t oh = (h - window[0]) / stride[0] + 1, ow = (wd - window[1]) / stride[1] + 1;
  Buffer out{std::vector<double>(n * c * oh * ow), {n, c, oh, ow}};
  for (int64_t plane = 0; plane < n * c; ++plane)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double acc = init;
        for (int64_t p = 0; p < window[0]; ++p)
          for (int64_t q = 0; q < window[1]; ++q)
            acc = combine(acc, x.v[(plane * h + i * stride[0] + p) * wd + j * stride[1] + q]);
        out.v[(plane * oh + i) * ow + j] = finish(acc);
      }
  return out;
}

Buffer maxPool2d(const Buffer &x, const int64_t window[2], const int64_t stride[2]) {
  return pool(
      x, window, stride, -std::numeric_limits<double>::infinity(),
      [](double acc, double v) {
        return std::isnan(acc) || std::isnan(v) ? std::nan("") : std::max(acc, v);
      },
      [](double acc) { return acc; });
}

Buffer avgPool2d(const Buffer &x, const int64_t window[2], const int64_t stride[2]) {
  double area = double(window[0] * window[1]);
  return pool(
      x, window, stride, 0.0, [](double acc, double v) { return acc + v; },
      [area](double acc) { return acc / area; });
}

Buffer conv2dBackwardInput(const Buffer &g, const Buffer &w, const Shape &xShape,
                           const int64_t stride[2], const int64_t padding[2]) {
  Buffer dx{std::vector<double>(numel(xShape), 0.0), xShape};
  forEachConvTap(xShape, w.shape, g.shape, stride, padding,
                 [&](int64_t xi, int64_t wi, int64_t oi) { dx.v[xi] += g.v[oi] * w.v[wi]; });
  return dx;
}

Buffer conv2dBackwardWeight(const Buffer &x, const Buffer &g, const Shape &wShape,
                            const int64_t stride[2], const int64_t padding[2]) {
  Buffer dw{std::vector<double>(numel(wShape), 0.0), wShape};
  forEachConvTap(x.shape, wShape, g.shape, stride, padding,
                 [&](int64_t xi, int64_t wi, int64_t oi) { dw.v[wi] += g.v[oi] * x.v[xi]; });
  return dw;
}

/// Calls f(window start offset, output index) for every pooling window, and
/// visit(offset) for each element of it through `forWindow`.
template <typename F>
static void forEachWindow(const Shape &xShape, const int64_t window[2], const int64_t stride[2],
                          F f) {
  int64_t n = xShape[0], c = xShape[1], h = xShape[2], wd = xShape[3];
  int64_t oh = (h - window[0]) / stride[0] + 1, ow = (wd - window[1]) / stride[1] + 1;
  for (int64_t plane = 0; plane < n * c; ++plane)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        std::vector<int64_t> positions;
        for (int64_t p = 0; p < window[0]; ++p)
          for (int64_t q = 0; q < window[1]; ++q)
            positions.push_back((plane * h + i * stride[0] + p) * wd + j * stride[1] + q);
        f(positions, (plane * oh + i) * ow + j);
      }
}

/// The positions of `positions` holding their maximum (all of them when the
/// maximum is NaN, so that the NaN spreads).
static std::vector<int64_t> argmaxPositions(const Buffer &x,
                                            const std::vector<int64_t> &positions) {
  double m = -std::numeric_limits<double>::infinity();
  bool sawNaN = false;
  for (int64_t p : positions) {
    sawNaN |= std::isnan(x.v[p]);
    m = std::max(m, x.v[p]);
  }
  if (sawNaN)
    return positions;
  std::vector<int64_t> out;
  for (int64_t p : positions)
    if (x.v[p] == m)
      out.push_back(p);
  return out;
}

Buffer maxPool2dBackward(const Buffer &x, const Buffer &g, const int64_t window[2],
                         const int64_t stride[2]) {
  Buffer dx{std::vector<double>(x.v.size(), 0.0), x.shape};
  forEachWindow(x.shape, window, stride, [&](const std::vector<int64_t> &positions, int64_t out) {
    std::vector<int64_t> tops = argmaxPositions(x, positions);
    for (int64_t p : tops)
      dx.v[p] += g.v[out] / double(tops.size());
  });
  return dx;
}

Buffer maxPool2dTangent(const Buffer &x, const Buffer &u, const int64_t window[2],
                        const int64_t stride[2]) {
  Shape shape = {x.shape[0], x.shape[1], (x.shape[2] - window[0]) / stride[0] + 1,
                 (x.shape[3] - window[1]) / stride[1] + 1};
  Buffer out{std::vector<double>(numel(shape), 0.0), shape};
  forEachWindow(x.shape, window, stride, [&](const std::vector<int64_t> &positions, int64_t o) {
    std::vector<int64_t> tops = argmaxPositions(x, positions);
    for (int64_t p : tops)
      out.v[o] += u.v[p] / double(tops.size());
  });
  return out;
}

Buffer avgPool2dBackward(const Buffer &g, const Shape &xShape, const int64_t window[2],
                         const int64_t stride[2]) {
  Buffer dx{std::vector<double>(numel(xShape), 0.0), xShape};
  double area = double(window[0] * window[1]);
  forEachWindow(xShape, window, stride, [&](const std::vector<int64_t> &positions, int64_t out) {
    for (int64_t p : positions)
      dx.v[p] += g.v[out] / area;
  });
  return dx;
}

} // namespace nabla::ir::kernels
