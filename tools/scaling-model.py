#!/usr/bin/env python3
"""The step time of data-parallel training on N nodes, modelled from this
machine's measured compute time and an alpha-beta cost of ring allreduce
(docs/distributed.md prints its output).

For a global batch B on N nodes each node computes a batch of ceil(B / N)
(its time measured here with `nabla bench`, the fused single-process step,
plus the measured cost of splitting it) and then the gradients, P params of
4 bytes, are summed by a ring allreduce:

    T_allreduce(N) = 2 (N - 1) alpha + 2 (N - 1) / N * 4 P / bandwidth

Usage: scaling-model.py NABLA [--split-cost FRACTION]
"""
import argparse
import math
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NETWORKS = [("MLP 784-512-256-10", os.path.join(ROOT, "bench", "mlp.nn"), 128, 535_818),
            ("CNN conv32-conv64-128-10", os.path.join(ROOT, "examples", "fashion_cnn.nn"), 64,
             421_642)]
LINKS = [("10 Gb/s Ethernet (alpha 25 us)", 25e-6, 10e9 / 8),
         ("100 Gb/s InfiniBand (alpha 3 us)", 3e-6, 100e9 / 8)]
NODES = [1, 2, 4, 8, 16, 32, 64]


def step_seconds(nabla, script, batch):
    """The fused training step's time at `batch` (nabla bench)."""
    out = subprocess.run([nabla, "bench", script, "--batch", str(batch), "--steps", "200"],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"([0-9.]+) us per step", out).group(1)) * 1e-6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("nabla")
    parser.add_argument("--split-cost", type=float, default=0.0,
                        help="the measured extra time of the split step, as a fraction")
    args = parser.parse_args()
    for name, script, batch, params in NETWORKS:
        measured = {}
        for n in NODES:
            b = math.ceil(batch / n)
            if b not in measured:
                measured[b] = step_seconds(args.nabla, script, b)
        # One node runs the fused step; several run it split (and reduce).
        compute = {n: measured[math.ceil(batch / n)] * (1 if n == 1 else 1 + args.split_cost)
                   for n in NODES}
        print(f"\n{name}, global batch {batch}, {params:,} params "
              f"({4 * params / 1e6:.2f} MB of gradients per step)\n")
        print("| nodes | batch per node | compute (ms) | " +
              " | ".join(f"allreduce, step (ms), speedup: {link}" for link, _, _ in LINKS) + " |")
        print("|---|---|---|" + "---|" * len(LINKS))
        single = compute[1]
        for n in NODES:
            b = math.ceil(batch / n)
            cells = []
            for _, alpha, bandwidth in LINKS:
                reduce = 0.0 if n == 1 else (2 * (n - 1) * alpha
                                             + 2 * (n - 1) / n * 4 * params / bandwidth)
                step = compute[n] + reduce
                cells.append(f"{reduce * 1e3:.3f}, {step * 1e3:.3f}, {single / step:.2f}×")
            print(f"| {n} | {b} | {compute[n] * 1e3:.3f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
