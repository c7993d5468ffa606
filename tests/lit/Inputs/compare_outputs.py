"""Compares prediction files.

usage: compare_outputs.py NPY SAFETENSORS EVAL_SAFETENSORS NAME
    the .npy, the tensor NAME of the safetensors file and of the eval file
    must agree (to f32 rounding).
usage: compare_outputs.py --values FILE NAME=VALUE ...
    every element of tensor NAME in the safetensors FILE equals VALUE.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "oracle"))
import oracle  # noqa: E402

if sys.argv[1] == "--values":
    tensors = oracle.read_safetensors(sys.argv[2])
    for spec in sys.argv[3:]:
        name, value = spec.split("=")
        assert np.all(tensors[name] == float(value)), f"{name}: {tensors[name]}"
    sys.exit(0)
npy_path, st_path, eval_path, name = sys.argv[1:5]
a = np.load(npy_path)
b = oracle.read_safetensors(st_path)[name]
c = oracle.read_safetensors(eval_path)[name]
assert a.shape == b.shape == c.shape, (a.shape, b.shape, c.shape)
assert np.array_equal(a, b), "predict's .npy and safetensors outputs differ"
assert oracle.close(a, c, 1e-5, 1e-6), f"predict {a} and eval {c} differ"
print(f"{name}: {a.shape} agrees")
