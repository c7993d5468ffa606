"""Shared helpers for the oracle tests: files in the formats nabla reads and
writes, and running the tool. Uses only NumPy; the tests bring PyTorch."""
import json
import os
import struct
import subprocess

import numpy as np

_DTYPES = {np.float32: "F32", np.float64: "F64", np.int32: "I32", np.int64: "I64"}
_NP = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}


def write_safetensors(path, tensors):
    """Writes {name: array} as safetensors, data in the order given."""
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        data = array.tobytes()
        header[name] = {"dtype": _DTYPES[array.dtype.type], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    """Reads a safetensors file into {name: array}."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(body[begin:end], dtype=_NP[info["dtype"]]).reshape(info["shape"])
    return out


def run_nabla(nabla, args, cwd=None):
    """Runs nabla; returns (exit code, stdout, stderr)."""
    result = subprocess.run([nabla] + args, capture_output=True, text=True, cwd=cwd)
    return result.returncode, result.stdout, result.stderr


def run_eval(nabla, script, stem, params, feeds, dtype, extra=()):
    """Writes `params` and `feeds` next to `stem` and runs `nabla eval` on
    them (--dtype f64 when dtype is "f64"); returns (code, stdout, stderr)."""
    args = ["eval", script]
    if params:
        write_safetensors(stem + "_params.safetensors", params)
        args += ["--params", stem + "_params.safetensors"]
    for name, value in feeds.items():
        np.save(f"{stem}_{name}.npy", value)
        args += ["--feed", f"{name}={stem}_{name}.npy"]
    if dtype == "f64":
        args += ["--dtype", "f64"]
    return run_nabla(nabla, args + list(extra))


def close(actual, expected, rtol, atol):
    """True when every element agrees within atol + rtol * |expected|."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        return False
    return bool(np.all(np.abs(actual - expected) <= atol + rtol * np.abs(expected)))


def worst_error(actual, expected):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(actual - expected) / (1e-12 + np.abs(expected)), initial=0.0))


def tolerance(dtype):
    """(rtol, atol) for comparing a float32 or float64 computation with PyTorch."""
    return (2e-5, 2e-6) if dtype == "f32" else (1e-10, 1e-12)


def report(failures, summary):
    """Prints each failure and `summary` with the failure count; returns the
    exit status (1 when anything failed)."""
    for f in failures:
        print("FAIL:", f)
    print(f"{summary}, {len(failures)} failures")
    return 1 if failures else 0
