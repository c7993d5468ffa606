#!/usr/bin/env python3
"""Checks the gradients of `nabla eval --grads` (the adjoint pass, run by the
reference interpreter) against torch.autograd on composed networks, in f64
and f32.

usage: check_gradients.py NABLA EXAMPLES_DIR
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

import oracle

SHARED = """
input x: [B, 4]
input y: i32[B]
param W: [4, 4]
param b: [4]
param V: [4, 3]
def layer(v, W, b) = tanh(v @ W + b)
h1 = layer(x, W, b)
h2 = layer(h1, W, b)
logits = (h1 + h2 * h1) @ V
loss cross_entropy(logits, y) + 0.01 * sum(W * W)
"""


def shared_torch(p, f):
    layer = lambda v: torch.tanh(v @ p["W"] + p["b"])
    h1 = layer(f["x"])
    h2 = layer(h1)
    logits = (h1 + h2 * h1) @ p["V"]
    return F.cross_entropy(logits, f["y"].long()) + 0.01 * (p["W"] * p["W"]).sum()


CONV = """
input img: [B, 2, 7, 6]
input y: i32[B]
param K1: [3, 2, 3, 3]
param K2: [4, 3, 2, 2]
param W: [4, 3]
param b: [3]
h = relu(conv2d(img, K1, padding=1))
p = max_pool2d(h, 2, stride=[2, 1])
q = tanh(conv2d(p, K2, stride=2, padding=[1, 0]))
r = avg_pool2d(q, 2, stride=1)
loss cross_entropy(flatten(r) @ W + b, y)
"""


def conv_torch(p, f):
    h = F.relu(F.conv2d(f["img"], p["K1"], padding=1))
    q = torch.tanh(F.conv2d(F.max_pool2d(h, 2, stride=(2, 1)), p["K2"], stride=2, padding=(1, 0)))
    r = F.avg_pool2d(q, 2, stride=1)
    return F.cross_entropy(r.flatten(1) @ p["W"] + p["b"], f["y"].long())


LOSSES = """
input x: [B, 3]
input t: [B, 4]
input u: [B, 4]
param W: [3, 4]
param c: [4]
z = x @ W + c
loss mse(z, t) + bce_with_logits(z, u) + cross_entropy(z, softmax(t)) + mean(logsumexp(z, axis=1))
"""


def losses_torch(p, f):
    z = f["x"] @ p["W"] + p["c"]
    return (F.mse_loss(z, f["t"]) + F.binary_cross_entropy_with_logits(z, f["u"])
            + F.cross_entropy(z, f["t"].softmax(-1)) + torch.logsumexp(z, 1).mean())


SHAPES = """
input x: [B, 2, 3]
param M: [3, 4]
param K: [2, 4, 3]
param s: [4, 1, 1]
a = transpose(x @ M, perm=[2, 0, 1]) * s
g = K @ transpose(x, perm=[1, 2, 0])
e = concat([flatten(x), reshape(a, [B, -1])], axis=1)
loss sum(max(a, axis=-1)) + mean(g * g) + sum(e * e) / 10 - sum(min(g, axis=[0, 2]))
"""


def shapes_torch(p, f):
    a = (f["x"] @ p["M"]).permute(2, 0, 1) * p["s"]
    g = p["K"] @ f["x"].permute(1, 2, 0)
    e = torch.cat([f["x"].flatten(1), a.reshape(f["x"].shape[0], -1)], 1)
    return a.amax(-1).sum() + (g * g).mean() + (e * e).sum() / 10 - g.amin((0, 2)).sum()


INDEXING = """
input x: [B, 5, 6]
param W: [6, 4]
param V: [4, 7, 3]
const K = 1
h = tanh(x @ W)
a = h[:, K:4, -1]
b = h[..., 1:-1][:, -2]
c = V[2, :, 0:2]
d = V[-1][1:, 1]
e = V[:, -100:2, 1:]
loss sum(a * a) + sum(b) * sum(c * c) + mean(d) + sum(W[0, 1:3] * W[-1, 1:3]) + sum(zeros([B, 3]) + ones([3]) * a) + sum(e)
"""


def indexing_torch(p, f):
    h = torch.tanh(f["x"] @ p["W"])
    a = h[:, 1:4, -1]
    b = h[..., 1:-1][:, -2]
    c = p["V"][2, :, 0:2]
    d = p["V"][-1][1:, 1]
    e = p["V"][:, -100:2, 1:]
    return ((a * a).sum() + b.sum() * (c * c).sum() + d.mean() + (p["W"][0, 1:3] * p["W"][-1, 1:3]).sum()
            + (torch.zeros(h.shape[0], 3) + torch.ones(3) * a).sum() + e.sum())


# script (text or example file), params {name: shape}, inputs {name: (shape, kind)}, torch loss
NETWORKS = {
    "shared": (SHARED, {"W": (4, 4), "b": (4,), "V": (4, 3)},
               {"x": ((5, 4), "normal"), "y": ((5,), "labels:3")}, shared_torch),
    "conv": (CONV, {"K1": (3, 2, 3, 3), "K2": (4, 3, 2, 2), "W": (4, 3), "b": (3,)},
             {"img": ((2, 2, 7, 6), "normal"), "y": ((2,), "labels:3")}, conv_torch),
    "losses": (LOSSES, {"W": (3, 4), "c": (4,)},
               {"x": ((6, 3), "normal"), "t": ((6, 4), "normal"), "u": ((6, 4), "unit")},
               losses_torch),
    "shapes": (SHAPES, {"M": (3, 4), "K": (2, 4, 3), "s": (4, 1, 1)},
               {"x": ((3, 2, 3), "normal")}, shapes_torch),
    "indexing": (INDEXING, {"W": (6, 4), "V": (4, 7, 3)}, {"x": ((3, 5, 6), "normal")},
                 indexing_torch),
    "fashion_mlp": ("fashion_mlp.nn",
                    {"W1": (784, 256), "b1": (256,), "W2": (256, 128), "b2": (128,),
                     "W3": (128, 10), "b3": (10,)},
                    {"x": ((8, 784), "unit"), "y": ((8,), "labels:10")},
                    lambda p, f: F.cross_entropy(
                        F.relu(F.relu(f["x"] @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]) @ p["W3"]
                        + p["b3"], f["y"].long())),
    "xor": ("xor.nn", {"W1": (2, 8), "b1": (8,), "W2": (8, 1), "b2": (1,)},
            {"x": ((4, 2), "unit"), "t": ((4, 1), "unit")},
            lambda p, f: F.mse_loss(torch.sigmoid(torch.sigmoid(f["x"] @ p["W1"] + p["b1"])
                                                  @ p["W2"] + p["b2"]), f["t"])),
}


def draw(rng, shape, kind):
    if kind == "normal":
        return rng.standard_normal(shape)
    if kind == "unit":
        return rng.uniform(0.05, 0.95, shape)
    return rng.integers(0, int(kind.split(":")[1]), shape).astype(np.int32)


def check(nabla, examples, name, network, dtype, workdir):
    script, param_shapes, inputs, reference = network
    if script.endswith(".nn"):
        path = os.path.join(examples, script)
    else:
        path = os.path.join(workdir, name + ".nn")
        with open(path, "w") as f:
            f.write(script)
    rng = np.random.default_rng(99)
    np_dtype = np.float32 if dtype == "f32" else np.float64
    params = {k: (rng.standard_normal(s) * 0.4).astype(np_dtype) for k, s in param_shapes.items()}
    feeds = {}
    for k, (shape, kind) in inputs.items():
        v = draw(rng, shape, kind)
        feeds[k] = v if v.dtype == np.int32 else v.astype(np_dtype)
    stem = os.path.join(workdir, f"{name}_{dtype}")
    code, _, stderr = oracle.run_eval(nabla, path, stem, params, feeds, dtype,
                                      ["--grads", stem + "_grads.safetensors"])
    if code != 0:
        return [f"{name} ({dtype}): nabla eval exited {code}: {stderr.strip()}"]
    grads = oracle.read_safetensors(stem + "_grads.safetensors")
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    tf = {k: torch.from_numpy(v) for k, v in feeds.items()}
    reference(tp, tf).backward()
    failures = []
    for k, t in tp.items():
        want = t.grad.numpy()
        # f32 sums round differently in each implementation: compare each
        # element against the scale of the whole gradient.
        scale = float(np.max(np.abs(want), initial=0.0))
        rtol, atol = (1e-9, 1e-12 * scale) if dtype == "f64" else (1e-4, 1e-5 * scale)
        if not oracle.close(grads[k], want, rtol, atol):
            failures.append(f"{name}.{k} ({dtype}): worst relative error "
                            f"{oracle.worst_error(grads[k], want):.3g}")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("nabla")
    parser.add_argument("examples")
    args = parser.parse_args()
    torch.set_num_threads(1)
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        for name, network in NETWORKS.items():
            for dtype in ("f64", "f32"):
                failures += check(args.nabla, args.examples, name, network, dtype, workdir)
    return oracle.report(failures, f"{len(NETWORKS)} networks in f64 and f32")


if __name__ == "__main__":
    sys.exit(main())
