"""Fixtures of the Python module's tests: the tool (NABLA, for the command
line the results are compared with), the repository, a small Fashion-MNIST
sample. The module comes from PYTHONPATH (build/python)."""
import gzip
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "oracle"))
DATA = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(scope="session")
def nabla_tool():
    return os.environ.get("NABLA", os.path.join(ROOT, "build", "nabla"))


@pytest.fixture(scope="session")
def root():
    return ROOT


def _idx(name, offset):
    with gzip.open(os.path.join(DATA, name)) as f:
        return np.frombuffer(f.read()[offset:], np.uint8)


@pytest.fixture(scope="session")
def fashion():
    """3000 training and 1000 test examples as float32 pixels and int32 labels."""
    x = _idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)[:3000]
    y = _idx("train-labels-idx1-ubyte.gz", 8)[:3000]
    tx = _idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784)[:1000]
    ty = _idx("t10k-labels-idx1-ubyte.gz", 8)[:1000]
    scale = np.float32(1 / 255)
    return {"x": x.astype(np.float32) * scale, "y": y.astype(np.int32),
            "tx": tx.astype(np.float32) * scale, "ty": ty.astype(np.int32)}
