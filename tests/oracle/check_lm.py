#!/usr/bin/env python3
"""Checks the lm optimizer (Levenberg-Marquardt, language.md §10) against an
independent implementation: J from torch.autograd.functional.jacobian, the
damped normal equations solved by numpy, the same accept/reject rule on mu.
Params and the damping after several steps (mini-batches in order, mu carried
across steps and epochs, rejected tries included) in f64 to 1e-9 relative.

usage: check_lm.py NABLA
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

import oracle

SCRIPT = """
input x: [B, 1]
input y: [B, 1]
param W1: [1, 4]
param b1: [4]
param W2: [4, 1]
param b2: [1]
loss mse(tanh(x @ W1 + b1) @ W2 + b2, y)
train {{
  data = {{ x: csv("points.csv", columns=["x"]), y: csv("points.csv", columns=["y"]) }}
  optimizer = lm(mu={mu}, factor={factor})
  batch = {batch}
  shuffle = false
}}
"""
SHAPES = {"W1": (1, 4), "b1": (4,), "W2": (4, 1), "b2": (1,)}


def unflatten(flat):
    params, offset = {}, 0
    for name, shape in SHAPES.items():
        size = int(np.prod(shape))
        params[name] = flat[offset:offset + size].reshape(shape)
        offset += size
    return params


def residuals(flat, x, y):
    p = unflatten(flat)
    return (torch.tanh(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"] - y).reshape(-1)


def reference(params, x, y, mu, factor, batch, epochs):
    """Levenberg-Marquardt as language.md states it; returns the params, mu
    and the number of rejected tries."""
    flat = np.concatenate([params[k].ravel() for k in SHAPES])
    rejected = 0
    for _ in range(epochs):
        for start in range(0, len(x), batch):
            xb = torch.tensor(x[start:start + batch])
            yb = torch.tensor(y[start:start + batch])
            f = lambda p: residuals(p, xb, yb)
            p = torch.tensor(flat)
            r = f(p).numpy()
            jac = torch.autograd.functional.jacobian(f, p).numpy()
            loss = np.mean(r ** 2)
            for _ in range(10):
                d = np.linalg.solve(jac.T @ jac + mu * np.eye(len(flat)), jac.T @ r)
                tried = np.mean(f(torch.tensor(flat - d)).numpy() ** 2)
                if np.isfinite(tried) and tried < loss:
                    flat = flat - d
                    mu /= factor
                    break
                mu *= factor
                rejected += 1
    return unflatten(flat), mu, rejected


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("nabla")
    args = parser.parse_args()
    torch.set_num_threads(1)
    failures = []
    rng = np.random.default_rng(8)
    x = np.linspace(-2, 2, 24).reshape(-1, 1)
    y = np.sin(2 * x) + 0.5 * x
    # mu, factor, batch, epochs, init scale, relative tolerance. Each step's
    # solve multiplies rounding differences (Eigen's LDL^T against numpy's LU;
    # the JIT's vector tanh, within 4 ulp, against torch's) by the condition
    # number of the damped system: near 1e5 in the first case, 1e7 in the
    # second, whose large init saturates tanh and whose mu starts at 1e-4.
    cases = [
        (0.01, 10, 24, 4, 0.5, 1e-8),   # full batch
        (1e-4, 3, 10, 3, 2.0, 1e-7),    # mini-batches (10, 10, 4): rejected tries
    ]
    with tempfile.TemporaryDirectory() as work:
        with open(os.path.join(work, "points.csv"), "w") as f:
            f.write("x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x[:, 0], y[:, 0])))
        total_rejected = 0
        for i, (mu, factor, batch, epochs, scale, rtol) in enumerate(cases):
            script = os.path.join(work, f"lm{i}.nn")
            with open(script, "w") as f:
                f.write(SCRIPT.format(mu=mu, factor=factor, batch=batch))
            params = {k: rng.standard_normal(s) * scale for k, s in SHAPES.items()}
            init = os.path.join(work, f"init{i}.safetensors")
            out = os.path.join(work, f"out{i}.safetensors")
            oracle.write_safetensors(init, params)
            done = subprocess.run([args.nabla, "train", script, "--dtype", "f64", "--init", init,
                                   "--epochs", str(epochs), "--save", out, "--quiet"],
                                  capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                failures.append(f"case {i}: nabla train exited {done.returncode}: "
                                f"{done.stderr.strip()}")
                continue
            got = oracle.read_safetensors(out)
            want, want_mu, rejected = reference(params, x, y, mu, factor, batch, epochs)
            total_rejected += rejected
            for k in SHAPES:
                if not oracle.close(got[k], want[k], rtol, 1e-12):
                    failures.append(f"case {i}: {k}: worst relative error "
                                    f"{oracle.worst_error(got[k], want[k]):.3g}")
            if not oracle.close(got["optimizer.mu"], want_mu, 1e-12, 0):
                failures.append(f"case {i}: mu {float(got['optimizer.mu'])!r}, want {want_mu!r}")
        if total_rejected == 0:
            failures.append("no case rejected a try: the reject branch went untested")
        # Another loss is an error at the optimizer line, from check and from train.
        bad = os.path.join(work, "bad.nn")
        with open(bad, "w") as f:
            f.write(SCRIPT.format(mu=0.1, factor=10, batch=4).replace(
                "loss mse(tanh(x @ W1 + b1) @ W2 + b2, y)",
                "loss mean(abs(tanh(x @ W1 + b1) @ W2 + b2 - y))"))
        for command in ("check", "train"):
            done = subprocess.run([args.nabla, command, bad], capture_output=True, text=True)
            if done.returncode != 1 or "bad.nn:11:15: error: lm" not in done.stderr:
                failures.append(f"{command} of an lm script without mse: exit "
                                f"{done.returncode}, {done.stderr.strip()!r}")
    return oracle.report(failures, f"{len(cases)} lm runs against numpy and torch.autograd")


if __name__ == "__main__":
    sys.exit(main())
