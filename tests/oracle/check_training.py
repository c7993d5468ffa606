#!/usr/bin/env python3
"""Trains the small examples with `nabla train` and checks what they learn
against solutions computed independently with NumPy:

  regression.nn  the least-squares solution (numpy.linalg.lstsq)
  logistic.nn    the maximum-likelihood weights (Newton's method)
  xor.nn         the spec's goal: a final loss below 0.01
  fashion_cnn.nn one epoch on Fashion-MNIST (Debian's dataset-fashion-mnist):
                 a test accuracy above 85% (its full run reaches about 92%)

usage: check_training.py NABLA EXAMPLES_DIR
"""
import argparse
import csv
import os
import sys
import tempfile

import numpy as np

import oracle


def load_csv(path):
    with open(path) as f:
        rows = list(csv.reader(f))[1:]
    return np.array(rows, dtype=np.float64)


def train(nabla, script, folder, extra=()):
    saved = os.path.join(folder, os.path.basename(script) + ".safetensors")
    metrics = os.path.join(folder, os.path.basename(script) + ".csv")
    code, _, err = oracle.run_nabla(nabla, ["train", script, "--quiet", "--save", saved,
                                            "--metrics", metrics] + list(extra))
    if code != 0:
        raise RuntimeError(f"nabla train {script} failed:\n{err}")
    with open(metrics) as f:
        rows = list(csv.DictReader(f))
    return oracle.read_safetensors(saved), rows


def check(name, ok, detail):
    print(f"{'ok' if ok else 'FAILED'}: {name}: {detail}")
    return ok


def regression(nabla, examples, folder):
    data = load_csv(os.path.join(examples, "regression.csv"))
    x, y = data[:, :3], data[:, 3]
    design = np.column_stack([x, np.ones(len(x))])
    best, *_ = np.linalg.lstsq(design, y, rcond=None)
    best_loss = np.mean((design @ best - y) ** 2)
    params, _ = train(nabla, os.path.join(examples, "regression.nn"), folder)
    learned = np.concatenate([params["W"][:, 0], params["b"]]).astype(np.float64)
    loss = np.mean((design @ learned - y) ** 2)
    ok = check("regression weights", np.max(np.abs(learned - best)) < 0.01,
               f"learned {np.round(learned, 4)}, least squares {np.round(best, 4)}")
    return check("regression loss", loss < best_loss * 1.01,
                 f"training loss {loss:.5f}, least squares {best_loss:.5f}") and ok


def logistic_loss(design, t, w):
    z = design @ w
    return np.mean(np.logaddexp(0, z) - t * z)


def logistic(nabla, examples, folder):
    data = load_csv(os.path.join(examples, "logistic.csv"))
    design = np.column_stack([data[:, :2], np.ones(len(data))])
    t = data[:, 2]
    best = np.zeros(3)
    for _ in range(50):  # Newton's method on the mean log-likelihood
        p = 1 / (1 + np.exp(-(design @ best)))
        gradient = design.T @ (p - t) / len(t)
        hessian = (design * (p * (1 - p))[:, None]).T @ design / len(t)
        best -= np.linalg.solve(hessian, gradient)
    params, _ = train(nabla, os.path.join(examples, "logistic.nn"), folder)
    learned = np.concatenate([params["w"][:, 0], params["b"]]).astype(np.float64)
    loss, best_loss = logistic_loss(design, t, learned), logistic_loss(design, t, best)
    ok = check("logistic weights", np.max(np.abs(learned - best)) < 0.05,
               f"learned {np.round(learned, 3)}, maximum likelihood {np.round(best, 3)}")
    return check("logistic loss", loss < best_loss + 1e-3,
                 f"training loss {loss:.5f}, maximum likelihood {best_loss:.5f}") and ok


def xor(nabla, examples, folder):
    _, rows = train(nabla, os.path.join(examples, "xor.nn"), folder)
    loss = float(rows[-1]["loss"])
    return check("xor", len(rows) == 5000 and loss < 0.01,
                 f"loss {loss:.5f} after {len(rows)} epochs")


def fashion_cnn(nabla, examples, folder):
    _, rows = train(nabla, os.path.join(examples, "fashion_cnn.nn"), folder, ["--epochs", "1"])
    accuracy = float(rows[-1]["test_acc"])
    return check("fashion_cnn", len(rows) == 1 and accuracy > 0.85,
                 f"test accuracy {accuracy:.4f} after one epoch")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("nabla")
    parser.add_argument("examples")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = [f(args.nabla, args.examples, folder)
                   for f in (regression, logistic, xor, fashion_cnn)]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
