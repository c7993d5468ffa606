#!/usr/bin/env python3
"""Trains examples/curve_fit.nn with lm (Levenberg-Marquardt, its own
optimizer) and, on the same data and from the same initial params, with Adam
and SGD, and compares the training loss per epoch (docs/training.md).

  curve-fit-comparison.py NABLA --svg OUT.svg   the plot of docs/training.md
                                                (3,000 epochs for Adam and SGD)
  curve-fit-comparison.py NABLA --check         what docs/training.md states:
      lm's loss after its 30 epochs is below 4e-4 (the noise's variance), and
      neither Adam nor SGD reaches lm's final loss in 10 times as many epochs.

Exit status: 0, or 1 when a check fails or a run fails.
"""
import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "examples")
SCRIPT = os.path.join(EXAMPLES, "curve_fit.nn")
LM_EPOCHS = 30
NOISE_FLOOR = 4e-4
# label, optimizer in the train block
OTHERS = [("Adam, lr 0.01", "adam(lr=0.01)"), ("Adam, lr 0.1", "adam(lr=0.1)"),
          ("SGD, lr 0.1, momentum 0.9", "sgd(lr=0.1, momentum=0.9)")]


def losses(nabla, work, optimizer, epochs):
    """The training loss after each epoch of curve_fit.nn with `optimizer`."""
    with open(SCRIPT) as f:
        text = f.read()
    text = re.sub(r"optimizer = .*", f"optimizer = {optimizer}", text)
    text = text.replace('csv("curve.csv"', 'csv("' + os.path.abspath(
        os.path.join(EXAMPLES, "curve.csv")) + '"')
    name = re.sub(r"\W", "_", optimizer)
    script = os.path.join(work, name + ".nn")
    metrics = os.path.join(work, name + ".csv")
    with open(script, "w") as f:
        f.write(text)
    done = subprocess.run([nabla, "train", script, "--epochs", str(epochs), "--quiet",
                           "--metrics", metrics], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        sys.exit(f"curve-fit-comparison: {optimizer}: nabla train exited {done.returncode}: "
                 f"{done.stderr.strip()}")
    with open(metrics) as f:
        return [float(row["loss"]) for row in csv.DictReader(f)]


def plot(runs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, values in runs:
        ax.plot(range(1, len(values) + 1), values, label=label)
    ax.axhline(NOISE_FLOOR, color="gray", linestyle=":", label="noise variance (4e-4)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("epoch (one full-batch step each)")
    ax.set_ylabel("training loss (mse)")
    ax.set_title("examples/curve_fit.nn: Levenberg-Marquardt against Adam and SGD")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("nabla")
    parser.add_argument("--svg", help="write the comparison plot here")
    parser.add_argument("--check", action="store_true", help="check what the docs state")
    args = parser.parse_args()
    if not args.svg and not args.check:
        parser.error("give --svg OUT.svg, --check or both")
    epochs = 3000 if args.svg else 10 * LM_EPOCHS
    with tempfile.TemporaryDirectory() as work:
        lm = losses(args.nabla, work, "lm(mu=1e-3, factor=10)", LM_EPOCHS)
        runs = [("Levenberg-Marquardt (lm)", lm)]
        runs += [(label, losses(args.nabla, work, opt, epochs)) for label, opt in OTHERS]
    failures = []
    final = lm[-1]
    print(f"lm: loss {final:.4g} after {LM_EPOCHS} epochs")
    for label, values in runs[1:]:
        within = values[:10 * LM_EPOCHS]
        reached = next((i + 1 for i, v in enumerate(values) if v <= final), None)
        print(f"{label}: best {min(within):.4g} in {len(within)} epochs; lm's final loss "
              + (f"first reached at epoch {reached}" if reached else
                 f"not reached in {len(values)}"))
        if min(within) <= final:
            failures.append(f"{label} reaches lm's final loss within {10 * LM_EPOCHS} epochs")
    if not final < NOISE_FLOOR:
        failures.append(f"lm's loss after {LM_EPOCHS} epochs is {final:.4g}, not below "
                        f"{NOISE_FLOOR}")
    if args.svg:
        plot(runs, args.svg)
    for f in failures:
        print("FAIL:", f)
    return 1 if args.check and failures else 0


if __name__ == "__main__":
    sys.exit(main())
