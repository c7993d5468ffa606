"""Writes test arrays: make_array.py FILE [NAME=]DTYPE:SHAPE[:VALUE] ...

FILE ending in .npy gets one array; otherwise a safetensors file gets one
tensor per argument (NAME required). DTYPE is f32, f64, i32 or i64; SHAPE is
comma-separated sizes (empty for a scalar); VALUE fills the array (default 0.5,
or 1 for integers).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "oracle"))
import oracle  # noqa: E402

DTYPES = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64}


def array(spec):
    parts = spec.split(":")
    dtype = DTYPES[parts[0]]
    shape = tuple(int(d) for d in parts[1].split(",") if d) if len(parts) > 1 else ()
    default = 1 if np.issubdtype(dtype, np.integer) else 0.5
    value = float(parts[2]) if len(parts) > 2 else default
    return np.full(shape, value, dtype=dtype)


path = sys.argv[1]
if path.endswith(".npy"):
    np.save(path, array(sys.argv[2]))
else:
    oracle.write_safetensors(path, {a.split("=")[0]: array(a.split("=")[1]) for a in sys.argv[2:]})
