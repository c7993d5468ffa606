#!/usr/bin/env python3
"""Writes the data files of the small examples (seeded, so the files in the
repository are what this writes):

  regression.csv, regression_test.csv  y = 2 x1 - x2 + 0.5 x3 + 3 + N(0, 0.1^2)
  logistic.csv, logistic_test.csv      two overlapping classes, t = 1 with
                                       probability sigmoid(1.5 x1 - 2 x2 + 0.5)
  curve.csv                            y = sin(2 x) e^(-x^2 / 8) + 0.3 x + N(0, 0.02^2),
                                       128 points of x in [-3, 3] (curve_fit.nn)
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, header, rows):
    with open(os.path.join(HERE, name), "w") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join(f"{v:.6g}" for v in row) + "\n")


def main():
    rng = np.random.default_rng(2024)
    for name, n in (("regression.csv", 256), ("regression_test.csv", 64)):
        x = rng.uniform(-1, 1, size=(n, 3))
        y = x @ np.array([2.0, -1.0, 0.5]) + 3 + rng.normal(0, 0.1, size=n)
        write(name, ["x1", "x2", "x3", "y"], np.column_stack([x, y]))
    for name, n in (("logistic.csv", 400), ("logistic_test.csv", 100)):
        x = rng.normal(size=(n, 2))
        p = 1 / (1 + np.exp(-(1.5 * x[:, 0] - 2 * x[:, 1] + 0.5)))
        t = (rng.uniform(size=n) < p).astype(float)
        write(name, ["x1", "x2", "t"], np.column_stack([x, t]))
    x = np.sort(rng.uniform(-3, 3, size=128))
    y = np.sin(2 * x) * np.exp(-x * x / 8) + 0.3 * x + rng.normal(0, 0.02, size=128)
    write("curve.csv", ["x", "y"], np.column_stack([x, y]))


if __name__ == "__main__":
    main()
