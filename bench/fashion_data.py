"""Fashion-MNIST's training set for the baselines (torch_workloads.py and
jax_workloads.py): Debian's dataset-fashion-mnist, images as float32 in
[0, 1] (784 per row), labels as integers."""
import gzip

import numpy as np

DATA = "/usr/share/datasets/fashion-mnist/"


def images(name="train-images-idx3-ubyte.gz"):
    raw = gzip.open(DATA + name).read()
    return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255


def labels(dtype, name="train-labels-idx1-ubyte.gz"):
    return np.frombuffer(gzip.open(DATA + name).read(), np.uint8, offset=8).astype(dtype)
