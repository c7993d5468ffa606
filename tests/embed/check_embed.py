#!/usr/bin/env python3
"""Ahead-of-time compiled models in C programs (docs/embedding.md).

Trains examples/fashion_mlp.nn briefly, builds examples/embed with its
Makefile, and checks, each against `nabla predict` (an independent route:
the JIT and the tool's own loaders):
  - classify's outputs on the test set are bit for bit predict's, with the
    default and with one thread, native and for --cpu x86-64-v3, and its
    printed accuracy is the one NumPy computes from predict's outputs;
  - the object exports only the C API and needs no LLVM and no C++
    runtime (nm), the program links no LLVM or libstdc++ (ldd);
  - two models in one program (params embedded in an object, and a shared
    library loading them at run time) give predict's outputs, whole batch
    and one example at a time; bad params give NULL and a message.

Usage: check_embed.py NABLA SOURCE_DIR WORK_DIR
"""
import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracle"))
import oracle  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"


def run(args, env=None, **kwargs):
    """Runs a command; its stdout, failing loudly with its stderr."""
    result = subprocess.run(args, capture_output=True, text=True, env=env, **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} exited {result.returncode}:\n"
                         f"{result.stdout}{result.stderr}")
    return result.stdout


def idx(name, offset):
    with gzip.open(os.path.join(DATA, name)) as f:
        return np.frombuffer(f.read()[offset:], np.uint8)


def main():
    nabla, source, work = sys.argv[1:4]
    script = os.path.join(source, "examples", "fashion_mlp.nn")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    path = lambda name: os.path.join(work, name)  # noqa: E731
    failures = []

    def check(ok, what):
        print(("ok      " if ok else "FAILED  ") + what)
        if not ok:
            failures.append(what)

    # Data: 6000 training images for a short run, 2000 test images.
    train_x = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)[:6000]
    train_y = idx("train-labels-idx1-ubyte.gz", 8)[:6000].astype(np.int32)
    test_x = (idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784)[:2000].astype(np.float32)
              / np.float32(255))
    test_y = idx("t10k-labels-idx1-ubyte.gz", 8)[:2000].astype(np.int32)
    np.save(path("train_x.npy"), train_x.astype(np.float32) / np.float32(255))
    np.save(path("train_y.npy"), train_y)
    np.save(path("x.npy"), test_x)
    np.save(path("y.npy"), test_y)
    test_x[:997].tofile(path("x997.raw"))
    params = path("p.safetensors")
    run([nabla, "train", script, "--epochs", "1", "--quiet", "--save", params,
         "--data", "x=" + path("train_x.npy"), "--data", "y=" + path("train_y.npy"),
         "--test", "x=" + path("x.npy"), "--test", "y=" + path("y.npy")])

    def predict(*extra):
        out = path("predict.npy")
        run([nabla, "predict", script, "--params", params, "--feed", "x=" + path("x.npy"),
             "--out", out, *extra])
        return np.load(out)

    # classify, built by the example's Makefile.
    for cpu in ["native", "x86-64-v3"]:
        out = path(cpu)
        os.makedirs(out)
        run(["make", "-s", "-C", os.path.join(source, "examples", "embed"), f"OUT={out}",
             f"NABLA={nabla}", f"NABLA_FLAGS=--cpu {cpu}"])
        expected = predict("--cpu", cpu)
        for threads in [None, "1"]:
            env = dict(os.environ)
            if threads:
                env["NABLA_THREADS"] = threads
            probs = path(f"{cpu}_{threads}.npy")
            printed = run([os.path.join(out, "classify"), params, path("x.npy"), path("y.npy"),
                           probs], env=env)
            got = np.load(probs)
            check(got.dtype == expected.dtype and np.array_equal(got, expected),
                  f"classify ({cpu}, threads {threads or 'all'}) = nabla predict bit for bit "
                  f"(max difference {np.abs(got - expected).max():.3g})")
            accuracy = np.mean(np.argmax(expected, axis=1) == test_y)
            check(f"accuracy {accuracy:.4f}" in printed,
                  f"classify prints predict's accuracy {accuracy:.4f}: {printed.strip()}")
    check(np.mean(np.argmax(expected, axis=1) == test_y) > 0.7, "the short training run learned")
    # A one-example predict takes the simple matmul loops (docs/embedding.md): to rounding.
    np.save(path("x1.npy"), test_x[:1])
    np.save(path("y1.npy"), test_y[:1])
    run([nabla, "predict", script, "--params", params, "--feed", "x=" + path("x1.npy"), "--out",
         path("predict1.npy")])
    run([os.path.join(path("native"), "classify"), params, path("x1.npy"), path("y1.npy"),
         path("classify1.npy")])
    one, tool = np.load(path("classify1.npy")), np.load(path("predict1.npy"))
    check(oracle.close(one, tool, 1e-6, 1e-9),
          f"one example: classify = nabla predict to 1e-6 ({oracle.worst_error(one, tool):.2g})")

    # The header is C99 and C++.
    header = path("native/fashion_mlp.h")
    for compiler in [["cc", "-std=c99", "-pedantic", "-x", "c"], ["c++", "-std=c++17", "-x", "c++"]]:
        run([*compiler, "-Wall", "-Wextra", "-Werror", "-fsyntax-only", header])
    check(True, "the header compiles as C99 and as C++17")

    # What the object needs and exports.
    obj = path("native/fashion_mlp.o")
    exported = run(["nm", "-g", "--defined-only", obj]).split()
    api = {"fashion_mlp_" + f for f in ["create", "predict", "destroy", "error", "set_threads"]}
    check(set(exported[2::3]) == api, f"the object exports the C API only: {exported[2::3]}")
    undefined = run(["nm", "-u", obj]).split()[1::2]
    foreign = [s for s in undefined
               if re.match(r"_Z(?!GV)|__cxa|__gxx|_Unwind|.*llvm|.*LLVM|_ZN", s)]
    check(not foreign and "pthread_create" in undefined,
          f"the object needs libc, libm and pthreads only (foreign: {foreign})")
    libraries = run(["ldd", path("native/classify")])
    check(not re.search(r"LLVM|stdc\+\+|libnabla", libraries),
          "classify links no LLVM and no C++ runtime:\n" + libraries)

    # Two models in one program.
    run([nabla, "compile", script, "-o", path("mlp_embedded.o"), "--header",
         path("mlp_embedded.h"), "--name", "mlp_embedded", "--params", params])
    run([nabla, "compile", script, "-o", path("libmlp_shared.so"), "--header",
         path("mlp_shared.h"), "--name", "mlp_shared"])
    # Params files the runtime must refuse, each with the message expected.
    w1 = {"dtype": "F32", "shape": [784, 256], "data_offsets": [0, 784 * 256 * 4]}

    def raw_file(name, header, body=b"", length=None):
        text = header if isinstance(header, bytes) else json.dumps(header).encode()
        with open(path(name), "wb") as f:
            f.write(struct.pack("<Q", len(text) if length is None else length) + text + body)
        return path(name)

    with open(path("short.safetensors"), "wb") as f:
        f.write(b"\x01\x02\x03")
    oracle.write_safetensors(path("shape.safetensors"), {"W1": np.zeros((784, 100), np.float32)})
    oracle.write_safetensors(path("dtype.safetensors"), {"W1": np.zeros((784, 256), np.float64)})
    bad = [(path("shape.safetensors"), r"param 'W1' has shape \[784, 100\] in the file, but the "
            r"model needs f32\[784, 256\]"),
           (path("dtype.safetensors"), r"param 'W1' is stored as F64, but the model needs F32"),
           (raw_file("missing.safetensors", {}), r"param 'W1' \(f32\[784, 256\]\) is missing"),
           (path("short.safetensors"), r"not a safetensors file \(shorter than"),
           (raw_file("huge.safetensors", b"{}", length=1 << 62), r"not a safetensors file"),
           (raw_file("json.safetensors", b"{\"W1\": [1, 2"), r"header is not valid JSON"),
           (raw_file("deep.safetensors", b"{\"x\": " + b"[" * 100000 + b"]" * 100000 + b"}"),
            r"header is not valid JSON"),
           (raw_file("offsets.safetensors", {"W1": w1}, bytes(16)),
            r"data_offsets of param 'W1' do not fit"),
           (raw_file("noshape.safetensors", {"W1": {"dtype": "F32"}}),
            r"param 'W1' has no valid shape")]
    program = path("two_models")
    run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-I" + work, "-o", program,
         os.path.join(source, "tests", "embed", "two_models.c"), path("mlp_embedded.o"),
         "-L" + work, "-lmlp_shared", "-Wl,-rpath," + work, "-lm", "-lpthread"])
    printed = run([program, params, path("x997.raw"), "997", path("a.raw"), path("b.raw"),
                   *[file for file, _ in bad]])
    print(printed, end="")
    expected = predict()[:997]
    for name, what in [("a.raw", "embedded params, whole batch"),
                       ("b.raw", "shared library, one example at a time")]:
        got = np.fromfile(path(name), np.float32).reshape(997, 10)
        check(np.array_equal(got, expected), f"two models: {what} = nabla predict bit for bit")
    for pattern in [r"no path: no params: pass the path of a safetensors file",
                    r"missing file: /nonexistent/p.safetensors: error: cannot open",
                    r"null model: 1 the model is NULL", r"misaligned: 0 same", r"batch 0: 1 the batch must be at least 1",
                    r"set_threads\(-1\): 1 the thread count must be from 0 to 256", r"done"]:
        check(re.search(pattern, printed) is not None, f"two models prints /{pattern}/")
    refusals = re.findall(r"^bad params: (.*)$", printed, re.M)
    check(len(refusals) == len(bad), f"{len(bad)} bad params files refused: {len(refusals)}")
    for (file, pattern), message in zip(bad, refusals):
        check(message.startswith(file + ": error: ") and re.search(pattern, message) is not None,
              f"{os.path.basename(file)} refused with /{pattern}/: {message}")
    return oracle.report(failures, "ahead-of-time models")


if __name__ == "__main__":
    sys.exit(main())
