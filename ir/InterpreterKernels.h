//===- InterpreterKernels.h - Plain-loop kernels of the interpreter -*- C++ -*-===//
//
// Each kernel reads and writes Buffers: the elements as doubles (row-major)
// with a concrete shape. The interpreter rounds every result to its dtype,
// so an f32 program sees f32 values between ops. Written for obvious
// correctness, not speed: the JIT is tested against them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <vector>

namespace nabla::ir::kernels {

using Shape = std::vector<int64_t>;

struct Buffer {
  std::vector<double> v;
  Shape shape;
};

int64_t numel(const Shape &shape);
/// Row-major strides of `shape`.
Shape strides(const Shape &shape);

/// Stretches `in` to `shape` (trailing axes aligned, size-1 axes repeated).
Buffer broadcast(const Buffer &in, const Shape &shape);
Buffer transpose(const Buffer &in, const std::vector<int64_t> &perm);
Buffer concat(const std::vector<const Buffer *> &parts, int64_t axis);
/// `size` elements along `axis` starting at `start`.
Buffer slice(const Buffer &in, int64_t axis, int64_t start, int64_t size);
/// Zeros of `shape` with `in` at `start` along `axis`.
Buffer pad(const Buffer &in, int64_t axis, int64_t start, const Shape &shape);

enum class Reduction { Sum, Max, Min, LogSumExp };
/// Reduces `axes` (sorted); the result keeps them as 1 when `keepdims`.
Buffer reduce(const Buffer &in, const std::vector<int64_t> &axes, bool keepdims, Reduction kind);

/// [..., M, K] x [..., K, N] with equal batch dimensions; either operand may
/// be read transposed in its last two axes.
Buffer matmul(const Buffer &a, const Buffer &b, bool transposeA, bool transposeB);

Buffer softmax(const Buffer &in, int64_t axis, bool logarithm);
/// Index of the first largest element along `axis` (NaN counts as largest).
Buffer argmax(const Buffer &in, int64_t axis);

/// NCHW input, OIHW weights, PyTorch's semantics.
Buffer conv2d(const Buffer &x, const Buffer &w, const int64_t stride[2], const int64_t padding[2]);
Buffer maxPool2d(const Buffer &x, const int64_t window[2], const int64_t stride[2]);
Buffer avgPool2d(const Buffer &x, const int64_t window[2], const int64_t stride[2]);

/// The gradients of conv2d with respect to x (of shape `xShape`) and to w
/// (of shape `wShape`), given the gradient g of its result.
Buffer conv2dBackwardInput(const Buffer &g, const Buffer &w, const Shape &xShape,
                           const int64_t stride[2], const int64_t padding[2]);
Buffer conv2dBackwardWeight(const Buffer &x, const Buffer &g, const Shape &wShape,
                            const int64_t stride[2], const int64_t padding[2]);
/// Each window's gradient split evenly among the positions of its maximum.
Buffer maxPool2dBackward(const Buffer &x, const Buffer &g, const int64_t window[2],
                         const int64_t stride[2]);
/// For each window, the mean of u over the positions of the window's maximum.
Buffer maxPool2dTangent(const Buffer &x, const Buffer &u, const int64_t window[2],
                        const int64_t stride[2]);
/// Each window's gradient spread evenly over the window, into `xShape`.
Buffer avgPool2dBackward(const Buffer &g, const Shape &xShape, const int64_t window[2],
                         const int64_t stride[2]);

} // namespace nabla::ir::kernels
