"""scan with a symbolic length (language.md §11): one compiled network runs
sequences of two lengths in one process, each step's sizes bound like B; the
loss and every param gradient equal torch.autograd over an explicit loop, in
f64 to 1e-9 relative."""
import numpy as np
import pytest
import torch

import nabla
import oracle

# An Elman network over axis 1 whose last state (hs[:, -1], T symbolic) is
# classified, and a reversed scan over axis 0 whose whole sequence of states
# feeds the loss.
ELMAN = """input  x: [B, T, 3]
input  y: i32[B]
const  H = 4
param  Wx: [3, H]
param  Wh: [H, H]
param  bh: [H]
param  Wo: [H, 2]
def elman(h, row, Wx, Wh, b) = tanh(row @ Wx + h @ Wh + b)
hs     = scan(elman, zeros([B, H]), x, Wx, Wh, bh, axis=1)
loss   cross_entropy(hs[:, -1] @ Wo, y) + sum(hs[:, 1]) / 3
"""

REVERSED = """input  x: [T, B, 2]
param  W: [2, 3]
param  U: [3, 3]
param  h0: [3]
def cell(h, xt, W, U) = sigmoid(xt @ W) * softplus(h @ U)
hs   = scan(cell, h0 + zeros([B, 3]), x, W, U, reverse=true)
loss mean(hs * hs) + sum(hs * hs * hs) / 7
"""


def elman_torch(p, x, y):
    h = torch.zeros(x.shape[0], 4, dtype=x.dtype)
    states = []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ p["Wx"] + h @ p["Wh"] + p["bh"])
        states.append(h)
    return torch.nn.functional.cross_entropy(h @ p["Wo"], y) + states[1].sum() / 3


def reversed_torch(p, x):
    h = p["h0"] + torch.zeros(x.shape[1], 3, dtype=x.dtype)
    states = [None] * x.shape[0]
    for t in reversed(range(x.shape[0])):
        h = torch.sigmoid(x[t] @ p["W"]) * torch.nn.functional.softplus(h @ p["U"])
        states[t] = h
    hs = torch.stack(states)
    return (hs * hs).mean() + (hs * hs * hs).sum() / 7


def check(res, params, loss):
    loss.backward()
    assert abs(res["loss"] - loss.item()) <= 1e-9 * abs(loss.item())
    for name, p in params.items():
        assert oracle.close(res["grads"][name], p.grad.numpy(), 1e-9, 1e-12), name


@pytest.mark.parametrize("script", ["elman", "reversed"])
def test_two_lengths_in_one_process(script, tmp_path):
    path = tmp_path / f"{script}.nn"
    path.write_text(ELMAN if script == "elman" else REVERSED)
    net = nabla.compile(str(path), dtype="f64")
    net.init(seed=3)
    rng = np.random.default_rng(7)
    for steps in (5, 11):
        params = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
        if script == "elman":
            x = rng.standard_normal((6, steps, 3))
            y = rng.integers(0, 2, 6)
            res = net.eval(x=x, y=y)
            check(res, params, elman_torch(params, torch.tensor(x), torch.tensor(y)))
        else:
            x = rng.standard_normal((steps, 4, 2))
            res = net.eval(x=x)
            check(res, params, reversed_torch(params, torch.tensor(x)))
