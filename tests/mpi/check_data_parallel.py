#!/usr/bin/env python3
"""Data-parallel training over MPI equals one process (docs/distributed.md).

For the XOR, MLP and CNN examples on small data, `mpirun -np N nabla train`
with N = 2 and 3 must save the params and optimizer state a single process
saves for the same global batch: every tensor within 1e-12 (f64) or 1e-5
(f32) relative, as ||a - b|| / ||a||. Not bit for bit: the gradient is a
sum of per-rank means, added in another order than one process adds; and
Adam's step, g / sqrt(g^2), turns the last-bit difference of a gradient that
nearly cancels into a step that differs by up to the learning rate on that
element, which an elementwise comparison would blow up. The batches include uneven splits
and a last batch smaller than the number of ranks. Also: resuming under
another rank count equals not stopping; killing a rank ends the job with an
error; bad settings are errors; rank 0 alone reports.

Usage: check_data_parallel.py NABLA SOURCE_DIR WORK_DIR
"""
import gzip
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle"))
import oracle  # noqa: E402

MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none"]
DATA = "/usr/share/datasets/fashion-mnist"


def main():
    nabla, source, work = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    path = lambda name: os.path.join(work, name)  # noqa: E731
    failures = []

    def check(ok, what):
        print(("ok      " if ok else "FAILED  ") + what, flush=True)
        if not ok:
            failures.append(what)

    def train(ranks, script, name, args, expect=0):
        command = ([] if ranks == 1 else MPIRUN + ["-np", str(ranks)]) + [
            nabla, "train", script, "--save", path(name + ".safetensors"), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if (result.returncode == 0) != (expect == 0):
            print(result.stdout, result.stderr)
        return result

    def compare(a, b, tolerance, what):
        first, second = oracle.read_safetensors(path(a)), oracle.read_safetensors(path(b))
        worst = 0.0
        for key, value in first.items():
            value = value.astype(np.float64)
            other = second[key].astype(np.float64)
            scale = max(float(np.linalg.norm(value)), 1e-300)
            worst = max(worst, float(np.linalg.norm(value - other)) / scale)
        check(sorted(first) == sorted(second) and worst <= tolerance,
              f"{what}: params and state within {tolerance:g} (worst {worst:.2g})")

    # Data: XOR points, and Fashion-MNIST samples (flat and as images).
    rng = np.random.default_rng(0)
    x = rng.standard_normal((23, 2))
    np.save(path("xor_x.npy"), x)
    np.save(path("xor_t.npy"), (x[:, :1] * x[:, 1:] > 0).astype(np.float64))
    with gzip.open(os.path.join(DATA, "train-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read()[16:16 + 301 * 784], np.uint8) / np.float32(255)
    with gzip.open(os.path.join(DATA, "train-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read()[8:8 + 301], np.uint8).astype(np.int32)
    np.save(path("mlp_x.npy"), images.reshape(301, 784).astype(np.float32))
    np.save(path("mlp_y.npy"), labels)
    np.save(path("cnn_x.npy"), images[:61 * 784].reshape(61, 1, 28, 28).astype(np.float32))
    np.save(path("cnn_y.npy"), labels[:61])
    examples = os.path.join(source, "examples")
    cases = [
        # script, data, dtype and tolerance, batches, epochs, ranks
        ("xor.nn", ["x=xor_x.npy", "t=xor_t.npy"], ["--dtype", "f64"], 1e-12, [5, 4], 3),
        ("fashion_mlp.nn", ["x=mlp_x.npy", "y=mlp_y.npy"], ["--dtype", "f64"], 1e-12, [64, 100],
         1),
        ("fashion_mlp.nn", ["x=mlp_x.npy", "y=mlp_y.npy"], [], 1e-5, [64], 1),
        ("fashion_cnn.nn", ["x=cnn_x.npy", "y=cnn_y.npy"], [], 1e-5, [16], 1),
    ]
    for script, data, dtype, tolerance, batches, epochs in cases:
        script_path = os.path.join(examples, script)
        feeds = [a for d in data for a in ["--data", d.split("=")[0] + "=" + path(d.split("=")[1])]]
        for batch in batches:
            args = feeds + dtype + ["--batch", str(batch), "--epochs", str(epochs), "--quiet"]
            label = f"{script} {' '.join(dtype) or 'f32'} batch {batch}"
            stem = label.replace(" ", "_").replace(".nn", "")
            single = train(1, script_path, stem + "_1", args)
            check(single.returncode == 0, f"{label}: one process trains")
            for ranks in [2, 3]:
                result = train(ranks, script_path, f"{stem}_{ranks}", args)
                check(result.returncode == 0, f"{label}: {ranks} ranks train")
                if result.returncode == 0:
                    compare(stem + "_1.safetensors", f"{stem}_{ranks}.safetensors", tolerance,
                            f"{label}, {ranks} ranks = one process")

    # Resuming under another rank count equals not stopping.
    mlp = os.path.join(examples, "fashion_mlp.nn")
    feeds = ["--data", "x=" + path("mlp_x.npy"), "--data", "y=" + path("mlp_y.npy"),
             "--dtype", "f64", "--batch", "50", "--quiet"]
    train(1, mlp, "straight", feeds + ["--epochs", "3"])
    train(2, mlp, "first", feeds + ["--epochs", "2"])
    train(3, mlp, "resumed", feeds + ["--epochs", "1", "--init", path("first.safetensors")])
    compare("straight.safetensors", "resumed.safetensors", 1e-12,
            "2 epochs on 2 ranks, resumed on 3 = 3 epochs on one process")

    # Rank 0 alone reports; the metrics are the job's.
    result = subprocess.run(MPIRUN + ["-np", "2", nabla, "train", mlp, "--epochs", "1",
                                      "--batch", "64", "--data", "x=" + path("mlp_x.npy"),
                                      "--data", "y=" + path("mlp_y.npy"), "--metrics",
                                      path("ranks.csv")], capture_output=True, text=True)
    check(result.stderr.count("training ") == 1 and "over 2 ranks" in result.stderr
          and result.stderr.count("epoch 1/1") == 1, "rank 0 alone prints progress")
    check(os.path.exists(path("ranks.csv")), "rank 0 writes --metrics")

    # Bad settings end the job with an error.
    small = train(3, mlp, "small", ["--batch", "2", "--epochs", "1", "--data",
                                    "x=" + path("mlp_x.npy"), "--data", "y=" + path("mlp_y.npy")],
                  expect=1)
    check(small.returncode != 0 and "the batch (2) is smaller than the number of ranks (3)"
          in small.stderr, "a batch smaller than the ranks is an error")
    lm = train(2, os.path.join(examples, "curve_fit.nn"), "lm", ["--epochs", "1"], expect=1)
    check(lm.returncode != 0 and "lm does not run data-parallel" in lm.stderr,
          "lm under mpirun is an error")

    # Killing one rank ends the whole job with an error, not a hang.
    marker = path("killed.safetensors")
    job = subprocess.Popen(MPIRUN + ["-np", "2", nabla, "train", mlp, "--epochs", "100000",
                                     "--batch", "8", "--quiet", "--save", marker, "--data",
                                     "x=" + path("mlp_x.npy"), "--data",
                                     "y=" + path("mlp_y.npy")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ranks = []
    for _ in range(200):  # wait for both ranks to start
        found = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
        ranks = [int(p) for p in found.stdout.split() if int(p) != job.pid]
        if len(ranks) >= 2:
            break
        time.sleep(0.1)
    time.sleep(1.0)
    if ranks:
        os.kill(ranks[-1], signal.SIGKILL)
    try:
        _, stderr = job.communicate(timeout=60)
        check(len(ranks) >= 2 and job.returncode != 0,
              f"killing a rank ends the job with an error (exit {job.returncode})")
    except subprocess.TimeoutExpired:
        job.kill()
        job.communicate()
        check(False, "killing a rank ends the job (it hung for 60 s)")
    return oracle.report(failures, "data-parallel training")


if __name__ == "__main__":
    sys.exit(main())
