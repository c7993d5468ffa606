#!/usr/bin/env python3
"""Checks scan (language.md §11) against torch.autograd over an explicit
Python loop: the loss and the gradient of every param, in f64 to 1e-9
relative and in f32, on the JIT and the interpreter, for an Elman network
(scan over axis 1 and the last state), a reversed scan over axis 0 whose whole
sequence of states feeds the loss, and an LSTM cell whose state [h, c] is one
tensor sliced inside the def.

usage: check_scan.py NABLA
"""
import argparse
import sys

import torch
import torch.nn.functional as F

import oracle

ELMAN = """
input  x: [B, 5, 3]
input  y: i32[B]
const  H = 4
param  Wx: [3, H]
param  Wh: [H, H]
param  bh: [H]
param  Wo: [H, 2]
def elman(h, row, Wx, Wh, b) = tanh(row @ Wx + h @ Wh + b)
hs     = scan(elman, zeros([B, H]), x, Wx, Wh, bh, axis=1)
loss   cross_entropy(hs[:, -1] @ Wo, y)
"""


def elman_torch(p, f):
    h = torch.zeros(f["x"].shape[0], 4, dtype=f["x"].dtype)
    for t in range(5):
        h = torch.tanh(f["x"][:, t] @ p["Wx"] + h @ p["Wh"] + p["bh"])
    return F.cross_entropy(h @ p["Wo"], f["y"].long())


REVERSED = """
input  x: [6, B, 2]
param  W: [2, 3]
param  U: [3, 3]
param  h0: [3]
def cell(h, xt, W, U) = sigmoid(xt @ W) * softplus(h @ U)
hs   = scan(cell, h0 + zeros([B, 3]), x, W, U, reverse=true)
loss mean(hs * hs) + sum(hs[0])
"""


def reversed_torch(p, f):
    h = p["h0"] + torch.zeros(f["x"].shape[1], 3, dtype=f["x"].dtype)
    states = [None] * 6
    for t in reversed(range(6)):
        h = torch.sigmoid(f["x"][t] @ p["W"]) * F.softplus(h @ p["U"])
        states[t] = h
    hs = torch.stack(states)
    return (hs * hs).mean() + hs[0].sum()


LSTM = """
input  x: [B, 4, 3]
input  t: [B, 2]
const  H = 3
param  Wx: [3, 4 * H]
param  Wh: [H, 4 * H]
param  b: [4 * H]
param  Wo: [H, 2]
def lstm(s, xt, Wx, Wh, b) {
  z = xt @ Wx + s[:, 0:H] @ Wh + b
  i = sigmoid(z[:, 0:H])
  f = sigmoid(z[:, H:2 * H])
  g = tanh(z[:, 2 * H:3 * H])
  o = sigmoid(z[:, 3 * H:])
  c = f * s[:, H:] + i * g
  return concat([o * tanh(c), c], axis=1)
}
ss   = scan(lstm, zeros([B, 2 * H]), x, Wx, Wh, b, axis=1)
loss mse(ss[:, -1, 0:H] @ Wo, t)
"""


def lstm_torch(p, f):
    n = f["x"].shape[0]
    h = torch.zeros(n, 3, dtype=f["x"].dtype)
    c = torch.zeros(n, 3, dtype=f["x"].dtype)
    for step in range(4):
        z = f["x"][:, step] @ p["Wx"] + h @ p["Wh"] + p["b"]
        i, fg, g, o = (torch.sigmoid(z[:, :3]), torch.sigmoid(z[:, 3:6]), torch.tanh(z[:, 6:9]),
                       torch.sigmoid(z[:, 9:]))
        c = fg * c + i * g
        h = o * torch.tanh(c)
    return F.mse_loss(h @ p["Wo"], f["t"])


# A per-example extra ([B, 4], computed from the first row): a share of the
# rows would need its rows of it too, so this loop runs whole.
ROW_EXTRA = """
input  x: [B, 5, 3]
input  y: i32[B]
param  Wx: [3, 4]
param  Wh: [4, 4]
param  Wc: [3, 4]
param  Wo: [4, 2]
def elman(h, row, Wx, Wh, c) = tanh(row @ Wx + h @ Wh + c)
hs     = scan(elman, zeros([B, 4]), x, Wx, Wh, x[:, 0] @ Wc, axis=1)
loss   cross_entropy(hs[:, -1] @ Wo, y)
"""


def row_extra_torch(p, f):
    x = f["x"]
    h = torch.zeros(x.shape[0], 4, dtype=x.dtype)
    c = x[:, 0] @ p["Wc"]
    for t in range(5):
        h = torch.tanh(x[:, t] @ p["Wx"] + h @ p["Wh"] + c)
    return F.cross_entropy(h @ p["Wo"], f["y"].long())


NETWORKS = {
    "elman": (ELMAN, {"Wx": (3, 4), "Wh": (4, 4), "bh": (4,), "Wo": (4, 2)},
              {"x": ((3, 5, 3), "normal"), "y": ((3,), "labels:2")}, elman_torch),
    "reversed": (REVERSED, {"W": (2, 3), "U": (3, 3), "h0": (3,)},
                 {"x": ((6, 4, 2), "normal")}, reversed_torch),
    "lstm": (LSTM, {"Wx": (3, 12), "Wh": (3, 12), "b": (12,), "Wo": (3, 2)},
             {"x": ((2, 4, 3), "normal"), "t": ((2, 2), "normal")}, lstm_torch),
    # Batches of 96 and 100 rows: the compiled loops run in two shares of the
    # rows, each on its own thread, the weight gradients' sums added after.
    "elman_rows": (ELMAN, {"Wx": (3, 4), "Wh": (4, 4), "bh": (4,), "Wo": (4, 2)},
                   {"x": ((96, 5, 3), "normal"), "y": ((96,), "labels:2")}, elman_torch),
    "lstm_rows": (LSTM, {"Wx": (3, 12), "Wh": (3, 12), "b": (12,), "Wo": (3, 2)},
                  {"x": ((100, 4, 3), "normal"), "t": ((100, 2), "normal")}, lstm_torch),
    "row_extra": (ROW_EXTRA, {"Wx": (3, 4), "Wh": (4, 4), "Wc": (3, 4), "Wo": (4, 2)},
                  {"x": ((96, 5, 3), "normal"), "y": ((96,), "labels:2")}, row_extra_torch),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("nabla")
    args = parser.parse_args()
    torch.set_num_threads(1)
    checked, failures = oracle.check_networks_on_both_routes(args.nabla, NETWORKS, 21, 0.6)
    return oracle.report(failures, f"{checked} checks of {len(NETWORKS)} scans")


if __name__ == "__main__":
    sys.exit(main())
