#!/usr/bin/env python3
"""Checks `nabla hessian` against torch.autograd.functional: the full Hessian
of a small MLP's loss with respect to every param (hessian) and one product
(--hvp V, hvp), in f64 to 1e-9 relative, on the JIT and the interpreter; the
stated symmetry ||H - H^T||_F <= 1e-12 ||H||_F; and the size limit's error.

usage: check_hessian.py NABLA
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

import oracle

MLP = """
input x: [B, 3]
input y: i32[B]
param W1: [3, 5]
param b1: [5]
param W2: [5, 4]
param b2: [4]
h = tanh(x @ W1 + b1)
loss cross_entropy(softplus(h) @ W2 + b2, y) + 0.01 * sum(W1 * W1)
"""
SHAPES = {"W1": (3, 5), "b1": (5,), "W2": (5, 4), "b2": (4,)}

# Over the limit: 65 * 64 + 64 = 4224 param elements.
LARGE = """
input x: [B, 65]
param W: [65, 64]
param b: [64]
loss mean(tanh(x @ W + b))
"""


def torch_loss(flat, x, y):
    params, offset = {}, 0
    for name, shape in SHAPES.items():
        size = int(np.prod(shape))
        params[name] = flat[offset:offset + size].reshape(shape)
        offset += size
    h = torch.tanh(x @ params["W1"] + params["b1"])
    logits = F.softplus(h) @ params["W2"] + params["b2"]
    return F.cross_entropy(logits, y.long()) + 0.01 * (params["W1"] ** 2).sum()


def run(nabla, args):
    done = subprocess.run([nabla] + args, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("nabla")
    args = parser.parse_args()
    torch.set_num_threads(1)
    failures = []
    rng = np.random.default_rng(11)
    params = {k: rng.standard_normal(s) * 0.8 for k, s in SHAPES.items()}
    directions = {k: rng.standard_normal(s) for k, s in SHAPES.items()}
    x, y = rng.standard_normal((7, 3)), rng.integers(0, 4, 7).astype(np.int32)
    flat = torch.tensor(np.concatenate([params[k].ravel() for k in SHAPES]))
    v = torch.tensor(np.concatenate([directions[k].ravel() for k in SHAPES]))
    loss = lambda p: torch_loss(p, torch.tensor(x), torch.tensor(y))
    want_h = torch.autograd.functional.hessian(loss, flat).numpy()
    want_hv = torch.autograd.functional.hvp(loss, flat, v)[1].numpy()
    with tempfile.TemporaryDirectory() as work:
        script = os.path.join(work, "mlp.nn")
        with open(script, "w") as f:
            f.write(MLP)
        oracle.write_safetensors(os.path.join(work, "p.safetensors"), params)
        oracle.write_safetensors(os.path.join(work, "v.safetensors"), directions)
        np.save(os.path.join(work, "x.npy"), x)
        np.save(os.path.join(work, "y.npy"), y)
        common = [script, "--dtype", "f64", "--params", os.path.join(work, "p.safetensors"),
                  "--feed", "x=" + os.path.join(work, "x.npy"),
                  "--feed", "y=" + os.path.join(work, "y.npy")]
        for route in ([], ["--interp"]):
            label = "interp" if route else "jit"
            out = os.path.join(work, f"h_{label}.safetensors")
            code, err = run(args.nabla, ["hessian"] + common + ["--out", out] + route)
            if code != 0:
                failures.append(f"hessian ({label}) exited {code}: {err.strip()}")
                continue
            h = oracle.read_safetensors(out)["hessian"]
            scale = np.abs(want_h).max()
            if not oracle.close(h, want_h, 1e-9, 1e-12 * scale):
                failures.append(f"hessian ({label}): worst relative error "
                                f"{oracle.worst_error(h, want_h):.3g}")
            asymmetry = np.linalg.norm(h - h.T) / np.linalg.norm(h)
            if not asymmetry <= 1e-12:
                failures.append(f"hessian ({label}): ||H - H^T|| / ||H|| = {asymmetry:.3g}")
            out = os.path.join(work, f"hv_{label}.safetensors")
            code, err = run(args.nabla, ["hessian"] + common + ["--out", out, "--hvp",
                                                                os.path.join(work, "v.safetensors")]
                            + route)
            if code != 0:
                failures.append(f"hessian --hvp ({label}) exited {code}: {err.strip()}")
                continue
            hv = oracle.read_safetensors(out)
            got = np.concatenate([hv[k].ravel() for k in SHAPES])
            if not oracle.close(got, want_hv, 1e-9, 1e-12 * np.abs(want_hv).max()):
                failures.append(f"hessian --hvp ({label}): worst relative error "
                                f"{oracle.worst_error(got, want_hv):.3g}")
        # A direction missing, and a model over the limit: errors, exit 1.
        oracle.write_safetensors(os.path.join(work, "short.safetensors"),
                                 {k: d for k, d in directions.items() if k != "b2"})
        code, err = run(args.nabla, ["hessian"] + common + [
            "--out", os.path.join(work, "bad.safetensors"),
            "--hvp", os.path.join(work, "short.safetensors")])
        if code != 1 or "no direction for param 'b2'" not in err:
            failures.append(f"a missing direction: exit {code}, {err.strip()!r}")
        large = os.path.join(work, "large.nn")
        with open(large, "w") as f:
            f.write(LARGE)
        oracle.write_safetensors(os.path.join(work, "large.safetensors"),
                                 {"W": np.zeros((65, 64), np.float32),
                                  "b": np.zeros(64, np.float32)})
        np.save(os.path.join(work, "xl.npy"), np.zeros((2, 65), np.float32))
        out = os.path.join(work, "large_h.safetensors")
        code, err = run(args.nabla, ["hessian", large, "--params",
                                     os.path.join(work, "large.safetensors"), "--feed",
                                     "x=" + os.path.join(work, "xl.npy"), "--out", out])
        if code != 1 or "4224 param elements" not in err or "--hvp" not in err \
                or os.path.exists(out):
            failures.append(f"over the limit: exit {code}, {err.strip()!r}")
    return oracle.report(failures, "hessian and hvp on the JIT and the interpreter")


if __name__ == "__main__":
    sys.exit(main())
