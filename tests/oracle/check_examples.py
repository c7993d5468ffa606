#!/usr/bin/env python3
"""Checks `nabla eval` on every example script against the same network
written in PyTorch, with random params and data, in f32 and f64.

usage: check_examples.py NABLA EXAMPLES_DIR
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

import oracle


def fashion_mlp(rng):
    """examples/fashion_mlp.nn: 784-256-128-10, ReLU, cross-entropy."""
    params = {"W1": rng.standard_normal((784, 256)) * 0.05, "b1": rng.standard_normal(256) * 0.1,
              "W2": rng.standard_normal((256, 128)) * 0.05, "b2": rng.standard_normal(128) * 0.1,
              "W3": rng.standard_normal((128, 10)) * 0.1, "b3": rng.standard_normal(10) * 0.1}
    feeds = {"x": rng.uniform(0, 1, (16, 784)), "y": rng.integers(0, 10, 16).astype(np.int32)}

    def reference(p, f):
        h1 = F.relu(f["x"] @ p["W1"] + p["b1"])
        h2 = F.relu(h1 @ p["W2"] + p["b2"])
        logits = h2 @ p["W3"] + p["b3"]
        y = f["y"].long()
        return {"loss": F.cross_entropy(logits, y), "probs": logits.softmax(-1),
                "acc": (logits.argmax(-1) == y).to(logits.dtype).mean()}

    return params, feeds, reference


def fashion_cnn(rng):
    """examples/fashion_cnn.nn: two conv-relu-maxpool stages, 3136-128-10."""
    params = {"K1": rng.standard_normal((32, 1, 3, 3)) * 0.3,
              "c1": rng.standard_normal((32, 1, 1)) * 0.1,
              "K2": rng.standard_normal((64, 32, 3, 3)) * 0.08,
              "c2": rng.standard_normal((64, 1, 1)) * 0.1,
              "W3": rng.standard_normal((3136, 128)) * 0.02, "b3": rng.standard_normal(128) * 0.1,
              "W4": rng.standard_normal((128, 10)) * 0.1, "b4": rng.standard_normal(10) * 0.1}
    feeds = {"x": rng.uniform(0, 1, (5, 1, 28, 28)), "y": rng.integers(0, 10, 5).astype(np.int32)}

    def reference(p, f):
        stage = lambda v, k, c: F.max_pool2d(F.relu(F.conv2d(v, k, padding=1) + c), 2)
        h2 = stage(stage(f["x"], p["K1"], p["c1"]), p["K2"], p["c2"])
        h3 = F.relu(h2.flatten(1) @ p["W3"] + p["b3"])
        logits = h3 @ p["W4"] + p["b4"]
        y = f["y"].long()
        return {"loss": F.cross_entropy(logits, y), "probs": logits.softmax(-1),
                "acc": (logits.argmax(-1) == y).to(logits.dtype).mean()}

    return params, feeds, reference


def xor(rng):
    """examples/xor.nn: 2-8-1 sigmoid network, squared error, on xor.csv."""
    params = {"W1": rng.uniform(-1, 1, (2, 8)), "b1": rng.standard_normal(8) * 0.1,
              "W2": rng.uniform(-1, 1, (8, 1)), "b2": rng.standard_normal(1) * 0.1}
    feeds = {"x": np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float64),
             "t": np.array([[0], [1], [1], [0]], np.float64)}

    def reference(p, f):
        h = torch.sigmoid(f["x"] @ p["W1"] + p["b1"])
        y = torch.sigmoid(h @ p["W2"] + p["b2"])
        return {"loss": F.mse_loss(y, f["t"]), "y": y}

    return params, feeds, reference


def neuron(rng):
    """examples/neuron.nn with random weights and inputs."""
    params = {"w": rng.standard_normal(2)}
    feeds = {"x": rng.standard_normal(2), "t": np.array(rng.uniform(0, 1))}

    def reference(p, f):
        y = torch.sigmoid(f["x"] @ p["w"])
        return {"loss": 0.5 * (f["t"] - y) ** 2, "y": y}

    return params, feeds, reference


EXAMPLES = {"fashion_mlp.nn": fashion_mlp, "fashion_cnn.nn": fashion_cnn, "xor.nn": xor,
            "neuron.nn": neuron}


def check(nabla, script, build, dtype, workdir):
    rng = np.random.default_rng(1234)
    params, feeds, reference = build(rng)
    np_dtype = np.float32 if dtype == "f32" else np.float64
    cast = lambda a: a if a.dtype == np.int32 else a.astype(np_dtype)
    params = {k: cast(v) for k, v in params.items()}
    feeds = {k: cast(v) for k, v in feeds.items()}
    stem = os.path.join(workdir, os.path.basename(script) + "_" + dtype)
    code, stdout, stderr = oracle.run_eval(nabla, script, stem, params, feeds, dtype,
                                           ["--outputs", stem + "_out.safetensors"])
    if code != 0:
        return [f"{script} ({dtype}): nabla eval exited {code}: {stderr.strip()}"]
    actual = oracle.read_safetensors(stem + "_out.safetensors")
    expected = reference({k: torch.from_numpy(v) for k, v in params.items()},
                         {k: torch.from_numpy(v) for k, v in feeds.items()})
    rtol, atol = oracle.tolerance(dtype)
    failures = []
    for name, want in expected.items():
        want = want.detach().numpy()
        if not oracle.close(actual[name], want, rtol, atol):
            failures.append(f"{os.path.basename(script)}.{name} ({dtype}): worst relative error "
                            f"{oracle.worst_error(actual[name], want):.3g}")
    # The printed loss is the written one, as the shortest round-trip decimal.
    printed = [line for line in stdout.splitlines() if line.startswith("loss: ")]
    if not printed or np_dtype(printed[0][6:]) != actual["loss"].astype(np_dtype):
        failures.append(f"{script} ({dtype}): printed {printed} but wrote {actual['loss']}")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("nabla")
    parser.add_argument("examples")
    args = parser.parse_args()
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        for name, build in EXAMPLES.items():
            for dtype in ("f32", "f64"):
                failures += check(args.nabla, os.path.join(args.examples, name), build, dtype,
                                  workdir)
    return oracle.report(failures, f"{len(EXAMPLES)} examples in f32 and f64")


if __name__ == "__main__":
    sys.exit(main())
