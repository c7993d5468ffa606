#!/usr/bin/env python3
"""The PyTorch side of bench/run.py: one workload per run, its rate on stdout.

usage: torch_workloads.py mlp BATCH       one epoch of Fashion-MNIST: samples/s
       torch_workloads.py cnn BATCH STEPS THREADS   the LeNet-style CNN: samples/s
       torch_workloads.py xor STEPS       full-batch XOR steps: steps/s
       torch_workloads.py rnn|lstm MODULE|CELLS BATCH STEPS
                                          examples/fashion_rnn.nn or fashion_lstm.nn:
                                          nn.RNN/nn.LSTM, or a Python loop over
                                          nn.RNNCell/nn.LSTMCell: samples/s
       torch_workloads.py sgemm M N K TA TB REPEATS   OpenBLAS sgemm: GFLOP/s

Runs the way PyTorch is fastest on this kind of machine: one intra-op thread
(OpenBLAS still uses every core; more PyTorch threads oversubscribe them).
The CNN's convolutions run in oneDNN on PyTorch's own threads, so run.py
tries it both ways (1 thread, and every core with OpenBLAS on one).
"""
import ctypes
import sys
import time

import numpy as np

from fashion_data import images, labels

def classifier_rate(model, x, y, batch, warmup, count):
    """Trains `model` with Adam on shuffled batches of (x, y), the way a
    PyTorch training loop does; returns the samples/s of `count` steps."""
    import torch
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def steps(n):
        perm = torch.randperm(len(x))
        for s in range(n):
            idx = perm[s * batch:(s + 1) * batch]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()

    steps(warmup)
    start = time.perf_counter()
    steps(count)
    return count * batch / (time.perf_counter() - start)


def mlp(batch):
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.tensor(images())
    y = torch.tensor(labels(np.int64))
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                                torch.nn.Linear(512, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    print(classifier_rate(model, x, y, batch, 20, len(x) // batch))


def cnn(batch, count, threads):
    """examples/fashion_cnn.nn in PyTorch: conv-relu-pool twice, two dense layers."""
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.tensor(images()).reshape(-1, 1, 28, 28)
    y = torch.tensor(labels(np.int64))
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    print(classifier_rate(model, x, y, batch, 10, count))


class Recurrent:
    """examples/fashion_rnn.nn (an Elman network, tanh) or fashion_lstm.nn: a
    128-wide cell reads the 28 rows of an image, a linear layer classifies the
    last state. `cells`: a Python loop over the cell module instead of the
    fused nn.RNN / nn.LSTM."""

    def __init__(self, kind, cells):
        import torch
        nn = torch.nn
        self.kind, self.cells = kind, cells
        if cells:
            self.cell = nn.RNNCell(28, 128) if kind == "rnn" else nn.LSTMCell(28, 128)
        else:
            self.rnn = (nn.RNN(28, 128, batch_first=True) if kind == "rnn"
                        else nn.LSTM(28, 128, batch_first=True))
        self.out = nn.Linear(128, 10)
        self.modules = nn.ModuleList([self.cell if cells else self.rnn, self.out])

    def __call__(self, x):
        import torch
        if not self.cells:
            states, _ = self.rnn(x)
            return self.out(states[:, -1])
        h = torch.zeros(x.shape[0], 128)
        c = torch.zeros(x.shape[0], 128)
        for t in range(x.shape[1]):
            if self.kind == "rnn":
                h = self.cell(x[:, t], h)
            else:
                h, c = self.cell(x[:, t], (h, c))
        return self.out(h)

    def parameters(self):
        return self.modules.parameters()


def recurrent(kind, style, batch, count):
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.tensor(images()).reshape(-1, 28, 28)
    y = torch.tensor(labels(np.int64))
    print(classifier_rate(Recurrent(kind, style == "cells"), x, y, batch, 5, count))


def xor(count):
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.float32)
    t = torch.tensor([[0], [1], [1], [0]], dtype=torch.float32)
    w1 = torch.empty(2, 8).uniform_(-1, 1).requires_grad_()
    b1 = torch.zeros(8, requires_grad=True)
    w2 = torch.empty(8, 1).uniform_(-1, 1).requires_grad_()
    b2 = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w1, b1, w2, b2], lr=0.5)

    def step():
        out = torch.sigmoid(torch.sigmoid(x @ w1 + b1) @ w2 + b2)
        loss = torch.nn.functional.mse_loss(out, t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(200):
        step()
    start = time.perf_counter()
    for _ in range(count):
        step()
    print(count / (time.perf_counter() - start))


def sgemm(m, n, k, ta, tb, repeats):
    """cblas_sgemm from Debian's OpenBLAS, row-major, C = op(A) op(B)."""
    lib = ctypes.CDLL("libopenblas.so.0")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
    c = np.zeros((m, n), dtype=np.float32)
    ptr = ctypes.POINTER(ctypes.c_float)
    args = (101, 112 if ta else 111, 112 if tb else 111, m, n, k, ctypes.c_float(1.0),
            a.ctypes.data_as(ptr), m if ta else k, b.ctypes.data_as(ptr), k if tb else n,
            ctypes.c_float(0.0), c.ctypes.data_as(ptr), n)
    for _ in range(3):
        lib.cblas_sgemm(*args)
    start = time.perf_counter()
    for _ in range(repeats):
        lib.cblas_sgemm(*args)
    seconds = (time.perf_counter() - start) / repeats
    print(2 * m * n * k / seconds / 1e9)


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "mlp":
        mlp(int(sys.argv[2]))
    elif kind == "cnn":
        cnn(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif kind == "xor":
        xor(int(sys.argv[2]))
    elif kind in ("rnn", "lstm"):
        recurrent(kind, sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sgemm(*[int(v) for v in sys.argv[2:8]])
