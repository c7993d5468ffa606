#!/usr/bin/env python3
"""Checks the optimizers compiled into `nabla train` against torch.optim fed
the same gradients: several steps of each optimizer and setting, in f64 and
f32, comparing the trained params and the saved optimizer state.

The script's loss is sum(W * gw) + sum(b * gb) with a batch of one example,
so the gradient of a step is the example itself: row k of the data is the
gradient of step k, whatever the params are. Shuffling is off.

usage: check_optimizers.py NABLA
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import torch

import oracle

STEPS = 7

SCRIPT = """
input gw: [B, 2, 3]
input gb: [B, 3]
param W: [2, 3] = uniform(-1, 1)
param b: [3] = uniform(-1, 1)
loss sum(W * gw) + sum(b * gb)
train {{
  data = {{ gw: npy("gw.npy"), gb: npy("gb.npy") }}
  optimizer = {optimizer}
  batch = 1
  epochs = 1
  shuffle = false
}}
"""

# (nabla's optimizer, torch's class and arguments, torch's state -> nabla's state prefix)
CASES = [
    ("sgd(lr=0.1)", torch.optim.SGD, dict(lr=0.1), {}),
    ("sgd(lr=0.05, momentum=0.9)", torch.optim.SGD, dict(lr=0.05, momentum=0.9),
     {"momentum_buffer": "momentum"}),
    ("sgd(lr=0.05, momentum=0.8, nesterov=true, weight_decay=0.1)", torch.optim.SGD,
     dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
     {"momentum_buffer": "momentum"}),
    ("sgd(lr=0.1, weight_decay=0.01)", torch.optim.SGD, dict(lr=0.1, weight_decay=0.01), {}),
    ("adam(lr=0.01)", torch.optim.Adam, dict(lr=0.01),
     {"exp_avg": "exp_avg", "exp_avg_sq": "exp_avg_sq"}),
    ("adam()", torch.optim.Adam, dict(),
     {"exp_avg": "exp_avg", "exp_avg_sq": "exp_avg_sq"}),
    ("adam(lr=0.02, beta1=0.8, beta2=0.95, eps=1e-6, weight_decay=0.1)", torch.optim.Adam,
     dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1),
     {"exp_avg": "exp_avg", "exp_avg_sq": "exp_avg_sq"}),
    ("adamw(lr=0.01)", torch.optim.AdamW, dict(lr=0.01),
     {"exp_avg": "exp_avg", "exp_avg_sq": "exp_avg_sq"}),
    ("adamw(lr=0.01, weight_decay=0.5, beta2=0.9)", torch.optim.AdamW,
     dict(lr=0.01, weight_decay=0.5, betas=(0.9, 0.9)),
     {"exp_avg": "exp_avg", "exp_avg_sq": "exp_avg_sq"}),
    ("rmsprop()", torch.optim.RMSprop, dict(), {"square_avg": "square_avg"}),
    ("rmsprop(lr=0.003, alpha=0.9, eps=1e-4)", torch.optim.RMSprop,
     dict(lr=0.003, alpha=0.9, eps=1e-4), {"square_avg": "square_avg"}),
]


def train(nabla, folder, optimizer, dtype, epochs):
    """Runs nabla train; returns the saved checkpoint {name: array}."""
    with open(os.path.join(folder, "opt.nn"), "w") as f:
        f.write(SCRIPT.format(optimizer=optimizer))
    saved = os.path.join(folder, f"saved_{epochs}.safetensors")
    args = ["train", os.path.join(folder, "opt.nn"), "--quiet", "--epochs", str(epochs),
            "--save", saved]
    if dtype == "f64":
        args += ["--dtype", "f64"]
    code, _, err = oracle.run_nabla(nabla, args)
    if code != 0:
        raise RuntimeError(f"nabla train failed ({optimizer}, {dtype}):\n{err}")
    return oracle.read_safetensors(saved)


def check_case(nabla, folder, case, dtype, grads):
    optimizer, cls, kwargs, state_names = case
    start = train(nabla, folder, optimizer, dtype, 0)
    trained = train(nabla, folder, optimizer, dtype, 1)
    torch_dtype = torch.float64 if dtype == "f64" else torch.float32
    params = {n: torch.tensor(start[n].copy(), dtype=torch_dtype, requires_grad=True)
              for n in ("W", "b")}
    opt = cls([params["W"], params["b"]], **kwargs)
    for k in range(STEPS):
        for n in ("W", "b"):
            params[n].grad = torch.tensor(grads[n][k], dtype=torch_dtype)
        opt.step()
    # Params and state are of order 1. In f32, torch computes Adam's bias
    # corrections in double and nabla in f32: a few ulps apart.
    rtol, atol = (1e-12, 1e-14) if dtype == "f64" else (2e-6, 1e-6)
    failures = []
    for n in ("W", "b"):
        expected = params[n].detach().numpy()
        if not oracle.close(trained[n], expected, rtol, atol):
            failures.append(f"param {n}: worst relative error "
                            f"{oracle.worst_error(trained[n], expected):.3g}")
        state = opt.state[params[n]]
        for torch_name, nabla_name in state_names.items():
            key = f"optimizer.{nabla_name}.{n}"
            expected = state[torch_name].numpy()
            if key not in trained:
                failures.append(f"{key} is not saved")
            elif not oracle.close(trained[key], expected, rtol, atol):
                failures.append(f"{key}: worst relative error "
                                f"{oracle.worst_error(trained[key], expected):.3g}")
    if cls in (torch.optim.Adam, torch.optim.AdamW):
        step = float(opt.state[params["W"]]["step"])
        if "optimizer.step" not in trained or float(trained["optimizer.step"]) != step:
            failures.append(f"optimizer.step is {trained.get('optimizer.step')}, torch's {step}")
    return failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("nabla")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    failed = 0
    with tempfile.TemporaryDirectory() as folder:
        for dtype in ("f64", "f32"):
            np_dtype = np.float64 if dtype == "f64" else np.float32
            grads = {"W": rng.normal(size=(STEPS, 2, 3)).astype(np_dtype),
                     "b": rng.normal(size=(STEPS, 3)).astype(np_dtype)}
            # The data files are f32 or f64 like the script; under --dtype
            # f64 the f32-declared inputs read them as f64.
            np.save(os.path.join(folder, "gw.npy"), grads["W"])
            np.save(os.path.join(folder, "gb.npy"), grads["b"])
            for case in CASES:
                failures = check_case(nabla=args.nabla, folder=folder, case=case, dtype=dtype,
                                      grads=grads)
                status = "ok" if not failures else "FAILED"
                print(f"{status}: {case[0]} ({dtype}), {STEPS} steps")
                for f in failures:
                    print("   ", f)
                failed += bool(failures)
    print(f"{len(CASES) * 2 - failed} of {len(CASES) * 2} optimizer cases agree with torch.optim")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
