#!/usr/bin/env python3
"""Checks scripts that use `grad` (language.md §10) against torch.autograd
with create_graph=True: the loss and the gradient of the loss with respect to
every param (second and third derivatives of the network included), in f64
to 1e-9 relative and in f32, on the JIT and on the reference interpreter.

usage: check_higher_order.py NABLA
"""
import argparse
import sys

import torch
import torch.nn.functional as F

import oracle

# An input-gradient penalty ("double backpropagation") on a classifier.
PENALTY = """
input x: [B, 4]
input y: i32[B]
param W1: [4, 8]
param b1: [8]
param W2: [8, 3]
logits = softplus(tanh(x @ W1 + b1) @ W2)
penalty = sum(grad(cross_entropy(logits, y), x) ** 2)
output gx = grad(cross_entropy(logits, y), x)
loss cross_entropy(logits, y) + 0.5 * penalty
"""


def penalty_torch(p, f):
    x = f["x"].clone().requires_grad_(True)
    logits = F.softplus(torch.tanh(x @ p["W1"] + p["b1"]) @ p["W2"])
    ce = F.cross_entropy(logits, f["y"].long())
    (gx,) = torch.autograd.grad(ce, x, create_graph=True)
    return ce + 0.5 * (gx ** 2).sum()


# The physics-informed loss of language.md §10: u'' = -u.
PINN = """
input  x: [B, 1]
param  W1: [1, 32]
param  b1: [32]
param  W2: [32, 1]
u   = tanh(x @ W1 + b1) @ W2
du  = grad(sum(u), x)
d2u = grad(sum(du), x)
loss mean((d2u + u) ** 2)
"""


def pinn_torch(p, f):
    x = f["x"].clone().requires_grad_(True)
    u = torch.tanh(x @ p["W1"] + p["b1"]) @ p["W2"]
    (du,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    (d2u,) = torch.autograd.grad(du.sum(), x, create_graph=True)
    return ((d2u + u) ** 2).mean()


# A third derivative, and a gradient with respect to a param inside the loss.
THIRD = """
input x: [B, 1]
param a: [1]
param w: [1, 1]
u  = sin(x * a) * exp(x @ w) + sigmoid(x * a) * x
d1 = grad(sum(u), x)
d2 = grad(sum(d1), x)
d3 = grad(sum(d2), x)
loss mean(d3 ** 2) + sum(grad(mean(u * u), w) ** 2)
"""


def third_torch(p, f):
    x = f["x"].clone().requires_grad_(True)
    u = torch.sin(x * p["a"]) * torch.exp(x @ p["w"]) + torch.sigmoid(x * p["a"]) * x
    (d1,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = torch.autograd.grad(d2.sum(), x, create_graph=True)
    (gw,) = torch.autograd.grad((u * u).mean(), p["w"], create_graph=True)
    return (d3 ** 2).mean() + (gw ** 2).sum()


# script, params {name: shape}, inputs {name: (shape, kind)}, torch loss
NETWORKS = {
    "penalty": (PENALTY, {"W1": (4, 8), "b1": (8,), "W2": (8, 3)},
                {"x": ((6, 4), "normal"), "y": ((6,), "labels:3")}, penalty_torch),
    "pinn": (PINN, {"W1": (1, 32), "b1": (32,), "W2": (32, 1)},
             {"x": ((9, 1), "normal")}, pinn_torch),
    "third": (THIRD, {"a": (1,), "w": (1, 1)}, {"x": ((7, 1), "normal")}, third_torch),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("nabla")
    args = parser.parse_args()
    torch.set_num_threads(1)
    checked, failures = oracle.check_networks_on_both_routes(args.nabla, NETWORKS, 5, 0.7)
    return oracle.report(failures, f"{checked} checks of {len(NETWORKS)} networks")


if __name__ == "__main__":
    sys.exit(main())
