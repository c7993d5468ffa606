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


def draw_input(rng, shape, kind):
    """An input: "normal" values, or "labels:N" (i32 below N)."""
    if kind == "normal":
        return rng.standard_normal(shape)
    return rng.integers(0, int(kind.split(":")[1]), shape).astype(np.int32)


def check_loss_and_grads(nabla, label, script_path, network, dtype, route, stem, seed, scale):
    """Runs `nabla eval --grads` (the JIT, or --interp when `route` is
    "interp") on `network` = (script text, params {name: shape}, inputs {name:
    (shape, kind)}, torch loss of (params, feeds)) with params drawn from
    `seed` times `scale`, and compares the loss and every param's gradient
    with torch.autograd in f64: 1e-9 relative in f64, 2e-4 in f32. Returns the
    failures."""
    import torch
    script, param_shapes, inputs, reference = network
    with open(script_path, "w") as f:
        f.write(script)
    rng = np.random.default_rng(seed)
    np_dtype = np.float32 if dtype == "f32" else np.float64
    params = {k: (rng.standard_normal(s) * scale).astype(np_dtype) for k, s in param_shapes.items()}
    feeds = {}
    for k, (shape, kind) in inputs.items():
        v = draw_input(rng, shape, kind)
        feeds[k] = v if v.dtype == np.int32 else v.astype(np_dtype)
    extra = ["--grads", stem + "_grads.safetensors"] + (["--interp"] if route == "interp" else [])
    code, stdout, stderr = run_eval(nabla, script_path, stem, params, feeds, dtype, extra)
    if code != 0:
        return [f"{label}: nabla eval exited {code}: {stderr.strip()}"]
    loss = float(stdout.split("loss:")[1].split()[0])
    grads = read_safetensors(stem + "_grads.safetensors")
    tp = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in params.items()}
    tf = {k: torch.from_numpy(v if v.dtype == np.int32 else v.astype(np.float64))
          for k, v in feeds.items()}
    want = reference(tp, tf)
    want.backward()
    rtol = 1e-9 if dtype == "f64" else 2e-4
    failures = []
    if not close(loss, want.item(), rtol, 0.0):
        failures.append(f"{label}: loss {loss!r}, torch {want.item()!r}")
    for k, t in tp.items():
        expected = t.grad.numpy()
        bound = float(np.max(np.abs(expected), initial=0.0))
        atol = 1e-12 * bound if dtype == "f64" else 1e-4 * bound
        if not close(grads[k], expected, rtol, atol):
            failures.append(f"{label}: {k}: worst relative error "
                            f"{worst_error(grads[k], expected):.3g}")
    return failures


def check_networks_on_both_routes(nabla, networks, seed, scale):
    """check_loss_and_grads for every network, in f64 and f32, on the JIT and
    the interpreter. Returns (checks run, failures)."""
    import tempfile
    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as workdir:
        for name, network in networks.items():
            for dtype in ("f64", "f32"):
                for route in ("jit", "interp"):
                    stem = os.path.join(workdir, f"{name}_{dtype}_{route}")
                    failures += check_loss_and_grads(nabla, f"{name} ({dtype}, {route})",
                                                     os.path.join(workdir, name + ".nn"), network,
                                                     dtype, route, stem, seed, scale)
                    checked += 1
    return checked, failures
