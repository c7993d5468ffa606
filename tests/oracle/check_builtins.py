#!/usr/bin/env python3
"""Checks every builtin's forward value in `nabla eval` (the reference
interpreter) against PyTorch, in f32 and in f64 (--dtype f64).

usage: check_builtins.py NABLA [--keep DIR]

Each case is a script of inputs and outputs; the inputs are drawn from a
seeded generator, the expected outputs are computed by PyTorch in the same
dtype, and `nabla eval --outputs` must agree within the dtype's tolerance.
"""
import argparse
import os
import re
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

import oracle

# (name, script, {input: (shape, kind)}, torch function of the inputs -> {output: value})
# kinds: normal, positive, labels:C, probs, unit (in (0, 1)). Outputs are named
# after the builtin they test; the runner prefixes "o_" in the script, since a
# builtin's name cannot be redefined.
CASES = [
    ("unary", """
input x: [B, 5]
input p: [B, 5]
output exp = exp(x)
output log = log(p)
output sqrt = sqrt(p)
output abs = abs(x)
output square = square(x)
output tanh = tanh(x)
output sigmoid = sigmoid(x)
output relu = relu(x)
output softplus = softplus(x)
output silu = silu(x)
output swish = swish(x)
output mish = mish(x)
output gelu = gelu(x)
output sin = sin(x)
output cos = cos(x)
output log1p = log1p(p)
output expm1 = expm1(x)
output leaky = leaky_relu(x, slope=0.2)
output elu = elu(x, alpha=0.7)
output neg = -x
output stop = stop_gradient(x)
""", {"x": ((3, 5), "normal"), "p": ((3, 5), "positive")},
     lambda x, p: {"exp": x.exp(), "log": p.log(), "sqrt": p.sqrt(), "abs": x.abs(),
                   "square": x * x, "tanh": x.tanh(), "sigmoid": x.sigmoid(),
                   "relu": x.relu(), "softplus": F.softplus(x), "silu": F.silu(x),
                   "swish": F.silu(x), "mish": F.mish(x), "gelu": F.gelu(x), "sin": x.sin(),
                   "cos": x.cos(), "log1p": p.log1p(), "expm1": x.expm1(),
                   "leaky": F.leaky_relu(x, 0.2), "elu": F.elu(x, 0.7),
                   "neg": -x, "stop": x}),
    ("binary", """
input x: [B, 5]
input v: [5]
input y: [B, 1]
input p: [B, 5]
output add = x + v
output sub = x - y
output mul = v * x
output div = x / (v * v + 1)
output pow = p ** v
output maximum = maximum(x, v)
output minimum = minimum(x, y)
output gt = x > v
output ge = x >= y
output lt = x < 0
output le = v <= x
output eq = x == x
output ne = x != v
output where = where(x > 0, x, v * 2)
output clamp = clamp(x, -0.5, 0.5)
output clamp_tensors = clamp(x, y, v + 1)
output scalar = 2 * x - 1 / 4
""", {"x": ((3, 5), "normal"), "v": ((5,), "normal"), "y": ((3, 1), "normal"),
      "p": ((3, 5), "positive")},
     lambda x, v, y, p: {"add": x + v, "sub": x - y, "mul": v * x, "div": x / (v * v + 1),
                         "pow": p ** v, "maximum": torch.maximum(x, v),
                         "minimum": torch.minimum(x, y), "gt": (x > v).to(x.dtype),
                         "ge": (x >= y).to(x.dtype), "lt": (x < 0).to(x.dtype),
                         "le": (v <= x).to(x.dtype), "eq": (x == x).to(x.dtype),
                         "ne": (x != v).to(x.dtype), "where": torch.where(x > 0, x, v * 2),
                         "clamp": torch.clamp(x, -0.5, 0.5),
                         "clamp_tensors": torch.clamp(x, y.expand(3, 5), (v + 1).expand(3, 5)),
                         "scalar": 2 * x - 0.25}),
    ("matmul", """
input a: [3, 4]
input b: [4, 5]
input k: [4]
input c: [2, 3, 4]
input d: [2, 1, 3, 4]
input e: [5, 4, 2]
output mm = a @ b
output vm = k @ b
output mv = a @ k
output vv = k @ k
output bm = c @ b
output bb = d @ e
""", {"a": ((3, 4), "normal"), "b": ((4, 5), "normal"), "k": ((4,), "normal"),
      "c": ((2, 3, 4), "normal"), "d": ((2, 1, 3, 4), "normal"), "e": ((5, 4, 2), "normal")},
     lambda a, b, k, c, d, e: {"mm": a @ b, "vm": k @ b, "mv": a @ k, "vv": k @ k,
                               "bm": c @ b, "bb": d @ e}),
    ("shape", """
input x: [B, 3, 4]
input y: [B, 2, 4]
output t = transpose(x)
output tp = transpose(x, perm=[2, 0, 1])
output r = reshape(x, [-1, 6])
output r2 = reshape(x, [B, 12])
output f = flatten(x)
output c1 = concat([x, y], axis=1)
output c0 = concat([x, x], axis=0)
""", {"x": ((2, 3, 4), "normal"), "y": ((2, 2, 4), "normal")},
     lambda x, y: {"t": x.transpose(-1, -2), "tp": x.permute(2, 0, 1),
                   "r": x.reshape(-1, 6), "r2": x.reshape(2, 12), "f": x.flatten(1),
                   "c1": torch.cat([x, y], 1), "c0": torch.cat([x, x], 0)}),
    ("reductions", """
input x: [B, 3, 4]
output sum = sum(x)
output sum1 = sum(x, axis=1)
output mean = mean(x)
output mean02 = mean(x, axis=[0, 2], keepdims=true)
output max = max(x, axis=-1)
output min = min(x)
output lse = logsumexp(x, axis=1, keepdims=true)
output lse_all = logsumexp(x)
""", {"x": ((2, 3, 4), "normal")},
     lambda x: {"sum": x.sum(), "sum1": x.sum(1), "mean": x.mean(),
                "mean02": x.mean((0, 2), keepdim=True), "max": x.amax(-1), "min": x.amin(),
                "lse": torch.logsumexp(x, 1, keepdim=True),
                "lse_all": torch.logsumexp(x.flatten(), 0)}),
    ("nn", """
input z: [B, 6]
input y: i32[B]
input q: [B, 6]
input t: [B, 6]
input u: [B, 6]
output softmax = softmax(z)
output softmax0 = softmax(z, axis=0)
output log_softmax = log_softmax(z)
output one_hot = one_hot(y, 6)
output argmax = argmax(z)
output accuracy = accuracy(z, y)
output accuracy_p = accuracy(z, q)
output mse = mse(z, t)
output ce = cross_entropy(z, y)
output ce_p = cross_entropy(z, q)
output bce = bce_with_logits(z, u)
""", {"z": ((5, 6), "normal"), "y": ((5,), "labels:6"), "q": ((5, 6), "probs"),
      "t": ((5, 6), "normal"), "u": ((5, 6), "unit")},
     lambda z, y, q, t, u: {
         "softmax": z.softmax(-1), "softmax0": z.softmax(0), "log_softmax": z.log_softmax(-1),
         "one_hot": F.one_hot(y.long(), 6).to(z.dtype), "argmax": z.argmax(-1).int(),
         "accuracy": (z.argmax(-1) == y.long()).to(z.dtype).mean(),
         "accuracy_p": (z.argmax(-1) == q.argmax(-1)).to(z.dtype).mean(),
         "mse": F.mse_loss(z, t), "ce": F.cross_entropy(z, y.long()),
         "ce_p": F.cross_entropy(z, q), "bce": F.binary_cross_entropy_with_logits(z, u)}),
    ("conv", """
input x: [B, 2, 7, 6]
input w: [3, 2, 3, 2]
output c = conv2d(x, w)
output cs = conv2d(x, w, stride=2, padding=1)
output cr = conv2d(x, w, stride=[1, 2], padding=[2, 0])
output mp = max_pool2d(x, 2)
output mp3 = max_pool2d(x, [3, 2], stride=[2, 1])
output ap = avg_pool2d(x, 3, stride=2)
""", {"x": ((2, 2, 7, 6), "normal"), "w": ((3, 2, 3, 2), "normal")},
     lambda x, w: {"c": F.conv2d(x, w), "cs": F.conv2d(x, w, stride=2, padding=1),
                   "cr": F.conv2d(x, w, stride=(1, 2), padding=(2, 0)),
                   "mp": F.max_pool2d(x, 2), "mp3": F.max_pool2d(x, (3, 2), stride=(2, 1)),
                   "ap": F.avg_pool2d(x, 3, stride=2)}),
]


def draw(rng, shape, kind):
    """A float64 (or int32 labels) array of `kind`."""
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "positive":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "unit":
        return rng.uniform(0.05, 0.95, shape)
    if kind == "probs":
        z = rng.standard_normal(shape)
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    if kind.startswith("labels:"):
        return rng.integers(0, int(kind.split(":")[1]), shape).astype(np.int32)
    raise ValueError(kind)


def run_case(nabla, workdir, name, script, inputs, fn, dtype):
    """Returns a list of failure messages (empty when every output agrees)."""
    rng = np.random.default_rng(abs(hash(name)) % (1 << 32))
    path = os.path.join(workdir, f"{name}.nn")
    with open(path, "w") as f:
        f.write(re.sub(r"^output (\w+)", r"output o_\1", script, flags=re.M))
    np_dtype = np.float32 if dtype == "f32" else np.float64
    torch_args, feeds = [], []
    for input_name, (shape, kind) in inputs.items():
        value = draw(rng, shape, kind)
        if value.dtype != np.int32:
            value = value.astype(np_dtype)
        feed = os.path.join(workdir, f"{name}_{input_name}_{dtype}.npy")
        np.save(feed, value)
        feeds += ["--feed", f"{input_name}={feed}"]
        torch_args.append(torch.from_numpy(value))
    out = os.path.join(workdir, f"{name}_{dtype}.safetensors")
    args = ["eval", path, "--outputs", out] + feeds + (["--dtype", "f64"] if dtype == "f64" else [])
    code, stdout, stderr = oracle.run_nabla(nabla, args)
    if code != 0:
        return [f"{name} ({dtype}): nabla eval exited {code}: {stderr.strip()}"]
    actual = oracle.read_safetensors(out)
    expected = fn(*torch_args)
    rtol, atol = oracle.tolerance(dtype)
    failures = []
    for output, want in expected.items():
        want = want.detach().numpy()
        got = actual.get("o_" + output)
        if got is None:
            failures.append(f"{name}.{output} ({dtype}): missing from the outputs")
        elif not oracle.close(got, want, rtol, atol):
            failures.append(f"{name}.{output} ({dtype}): worst relative error "
                            f"{oracle.worst_error(got, want):.3g}\n  nabla: {got.ravel()[:6]}\n"
                            f"  torch: {want.ravel()[:6]}")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("nabla")
    parser.add_argument("--keep", help="write the cases to this folder and keep them")
    args = parser.parse_args()
    torch.set_num_threads(1)
    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or tmp
        os.makedirs(workdir, exist_ok=True)
        for name, script, inputs, fn in CASES:
            for dtype in ("f32", "f64"):
                failures += run_case(args.nabla, workdir, name, script, inputs, fn, dtype)
                checked += 1
    return oracle.report(failures, f"{checked} case runs")


if __name__ == "__main__":
    sys.exit(main())
