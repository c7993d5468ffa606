"""Every name of docs/python.md (and shared/spec/python.md), each result
checked against the command line or PyTorch."""
import os
import subprocess
import threading
import time

import numpy as np
import pytest
import torch

import nabla
import oracle

MLP = """input  x: [B, 4]
input  y: i32[B]
const  H = 8
param  W1: [4, H] = he_normal
param  b1: [H]    = zeros
param  W2: [H, 3] = glorot_uniform
param  b2: [3]    = zeros
logits = tanh(x @ W1 + b1) @ W2 + b2
output probs = softmax(logits)
metric acc   = accuracy(logits, y)
loss   cross_entropy(logits, y)
train { optimizer = sgd(lr=0.1) }
"""


def run(tool, *args):
    result = subprocess.run([tool, *map(str, args)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def mlp_file(tmp_path):
    path = tmp_path / "mlp.nn"
    path.write_text(MLP)
    return str(path)


def batch(seed, n=16):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)), rng.integers(0, 3, n).astype(np.int64)


def torch_loss(params, x, y):
    h = torch.tanh(x @ params["W1"] + params["b1"])
    return torch.nn.functional.cross_entropy(h @ params["W2"] + params["b2"], y)


def test_compile_and_params(mlp_file, nabla_tool, tmp_path):
    net = nabla.compile(mlp_file)
    assert set(net.params) == {"W1", "b1", "W2", "b2"}
    assert net.params["W1"].shape == (4, 8) and net.params["W1"].dtype == np.float32
    # A copy: changing it leaves the network alone.
    w = net.params["W1"]
    w[:] = 7
    assert not np.array_equal(net.params["W1"], w)
    # init(seed) draws what `nabla train --seed` draws.
    run(nabla_tool, "train", mlp_file, "--epochs", "0", "--seed", 5, "--save",
        tmp_path / "init.safetensors", "--data", f"x={tmp_path / 'x.npy'}",
        "--data", f"y={tmp_path / 'y.npy'}", "--quiet") if _write_xy(tmp_path) else None
    expected = oracle.read_safetensors(str(tmp_path / "init.safetensors"))
    net.init(seed=5)
    for name, value in net.params.items():
        assert np.array_equal(value, expected[name]), name
    net.init()
    assert not np.array_equal(net.params["W1"], expected["W1"])


def _write_xy(tmp_path):
    x, y = batch(0)
    np.save(tmp_path / "x.npy", x.astype(np.float32))
    np.save(tmp_path / "y.npy", y.astype(np.int32))
    return True


def test_inputs_outputs_repr(mlp_file):
    net = nabla.compile(mlp_file)
    assert net.inputs == {"x": "f32[B, 4]", "y": "i32[B]"}
    assert net.outputs == {"probs": "f32[B, 3]"}
    assert repr(net) == (f"<nabla.Network {mlp_file}: inputs x: f32[B, 4], y: i32[B]; "
                         "outputs probs: f32[B, 3]>")


def test_set_dtype_threads_cpu():
    net = nabla.compile_source(MLP, name="mlp.nn", set={"H": 5}, dtype="f64", threads=1,
                               cpu="x86-64-v3")
    assert net.params["W1"].shape == (4, 5) and net.params["W1"].dtype == np.float64
    with pytest.raises(ValueError, match="no const named 'Q'"):
        nabla.compile_source(MLP, set={"Q": 1})
    with pytest.raises(ValueError, match="dtype"):
        nabla.compile_source(MLP, dtype="f16")
    with pytest.raises(ValueError, match="cpu"):
        nabla.compile_source(MLP, cpu="pentium-9000")


def test_compile_error_is_the_diagnostics(tmp_path, nabla_tool):
    bad = tmp_path / "bad.nn"
    bad.write_text("input x: [B, 4]\nparam W: [3, 2]\noutput y = x @ W\n")
    with pytest.raises(nabla.CompileError) as caught:
        nabla.compile(str(bad))
    check = subprocess.run([nabla_tool, "check", str(bad)], capture_output=True, text=True)
    assert check.returncode == 1
    assert str(caught.value) == check.stderr.rstrip("\n")
    assert "bad.nn:3:" in str(caught.value)
    with pytest.raises(nabla.CompileError, match="inline.nn:2:12: error: unknown function"):
        nabla.compile_source("input x: [B, 4]\noutput y = frobnicate(x)\n")
    with pytest.raises(FileNotFoundError, match="missing.nn"):
        nabla.compile(str(tmp_path / "missing.nn"))


def test_eval_against_torch_and_the_command_line(mlp_file, nabla_tool, tmp_path):
    net = nabla.compile(mlp_file, dtype="f64")
    x, y = batch(1)
    res = net.eval(x=x, y=y)
    assert set(res) == {"loss", "acc", "probs", "grads"}
    params = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    loss = torch_loss(params, torch.tensor(x), torch.tensor(y))
    loss.backward()
    assert abs(res["loss"] - loss.item()) <= 1e-12 * abs(loss.item())
    for name, p in params.items():
        assert oracle.close(res["grads"][name], p.grad.numpy(), 1e-10, 1e-13), name
    # The command line, on the same params and data, prints the same loss.
    net.save(str(tmp_path / "p.safetensors"))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y.astype(np.int32))
    out = run(nabla_tool, "eval", mlp_file, "--dtype", "f64", "--params", tmp_path / "p.safetensors",
              "--feed", f"x={tmp_path / 'x.npy'}", "--feed", f"y={tmp_path / 'y.npy'}",
              "--grads", tmp_path / "g.safetensors")
    assert f"loss: {res['loss']!r}" in out
    grads = oracle.read_safetensors(str(tmp_path / "g.safetensors"))
    for name, g in grads.items():
        assert np.array_equal(res["grads"][name], g), name


def test_predict_equals_the_command_line(nabla_tool, root, fashion, tmp_path):
    script = os.path.join(root, "examples", "fashion_mlp.nn")
    net = nabla.compile(script)
    out = net.predict(x=fashion["tx"], y=fashion["ty"])  # labels ignored
    assert list(out) == ["probs"] and out["probs"].shape == (1000, 10)
    net.save(str(tmp_path / "p.safetensors"))
    np.save(tmp_path / "x.npy", fashion["tx"])
    run(nabla_tool, "predict", script, "--params", tmp_path / "p.safetensors", "--feed",
        f"x={tmp_path / 'x.npy'}", "--out", tmp_path / "probs.npy")
    assert np.array_equal(out["probs"], np.load(tmp_path / "probs.npy"))
    # A 64-byte aligned float32 array is read in place; the result is the same.
    buffer = np.empty(fashion["tx"].size + 16, np.float32)
    offset = (-buffer.ctypes.data % 64) // 4
    aligned = buffer[offset:offset + fashion["tx"].size].reshape(fashion["tx"].shape)
    aligned[:] = fashion["tx"]
    assert aligned.ctypes.data % 64 == 0
    assert np.array_equal(net.predict(x=aligned)["probs"], out["probs"])
    # float64 input to an f32 script is converted; the result is the same.
    again = net.predict(x=fashion["tx"].astype(np.float64))
    assert np.array_equal(again["probs"], out["probs"])


def test_step_is_the_optimizers_update(mlp_file):
    net = nabla.compile(mlp_file, dtype="f64")
    x, y = batch(2)
    before = net.params
    res = net.eval(x=x, y=y)
    loss = net.step(x=x, y=y)
    assert loss == res["loss"]
    for name, value in net.params.items():  # sgd(lr=0.1)
        assert oracle.close(value, before[name] - 0.1 * res["grads"][name], 1e-14, 1e-15), name


def test_fit_equals_nabla_train(nabla_tool, root, fashion, tmp_path):
    script = os.path.join(root, "examples", "fashion_mlp.nn")
    files = {}
    for name in ["x", "y", "tx", "ty"]:
        files[name] = tmp_path / f"{name}.npy"
        np.save(files[name], fashion[name])
    run(nabla_tool, "train", script, "--epochs", 2, "--batch", 64, "--seed", 3, "--quiet",
        "--data", f"x={files['x']}", "--data", f"y={files['y']}", "--test", f"x={files['tx']}",
        "--test", f"y={files['ty']}", "--save", tmp_path / "cli.safetensors",
        "--metrics", tmp_path / "cli.csv")
    net = nabla.compile(script)
    net.init(seed=3)
    history = net.fit(epochs=2, batch=64, seed=3, progress=False,
                      data={"x": fashion["x"], "y": fashion["y"]},
                      test={"x": fashion["tx"], "y": fashion["ty"]})
    rows = np.genfromtxt(tmp_path / "cli.csv", delimiter=",", names=True)
    assert [h["epoch"] for h in history] == [1, 2]
    for h, row in zip(history, rows):
        for key in ["loss", "acc", "test_loss", "test_acc"]:
            assert h[key] == row[key], key
    trained = oracle.read_safetensors(str(tmp_path / "cli.safetensors"))
    for name, value in net.params.items():
        assert np.array_equal(value, trained[name]), name
    assert history[-1]["test_acc"] > 0.6
    # Fitting again continues (the optimizer's state and the epoch count).
    more = net.fit(epochs=1, batch=64, seed=3, progress=False,
                   data={"x": fashion["x"], "y": fashion["y"]})
    assert [h["epoch"] for h in more] == [3]


def test_load_save(mlp_file, tmp_path):
    net = nabla.compile(mlp_file)
    path = str(tmp_path / "p.safetensors")
    net.save(path)
    assert sorted(os.listdir(tmp_path)) == ["mlp.nn", "p.safetensors"]  # nothing left behind
    saved = oracle.read_safetensors(path)
    for name, value in net.params.items():
        assert np.array_equal(saved[name], value)
    other = nabla.compile(mlp_file)
    other.init(seed=9)
    other.load(path)
    for name, value in net.params.items():
        assert np.array_equal(other.params[name], value)
    oracle.write_safetensors(str(tmp_path / "bad.safetensors"),
                             {"W1": np.zeros((3, 3), np.float32)})
    with pytest.raises(ValueError, match="bad.safetensors"):
        net.load(str(tmp_path / "bad.safetensors"))
    with pytest.raises(ValueError, match="nowhere"):
        net.load(str(tmp_path / "nowhere.safetensors"))


def test_set_params(mlp_file):
    net = nabla.compile(mlp_file)
    w = np.arange(32, dtype=np.float64).reshape(4, 8)
    net.set_params({"W1": w})
    assert np.array_equal(net.params["W1"], w.astype(np.float32))
    w[:] = 0  # the network keeps its own copy
    assert net.params["W1"][3, 7] == 31
    with pytest.raises(ValueError, match=r"param 'W1' is f32\[4, 8\]"):
        net.set_params({"W1": np.zeros((8, 4))})
    with pytest.raises(ValueError, match="no param 'W9'"):
        net.set_params({"W9": np.zeros(3)})


def test_bad_inputs_raise_value_error(mlp_file):
    net = nabla.compile(mlp_file)
    x, y = batch(3)
    with pytest.raises(ValueError, match=r"no input 'z' \(its inputs: x, y\)"):
        net.predict(z=x)
    with pytest.raises(ValueError, match=r"input 'y' \(i32\[B\]\) is missing"):
        net.eval(x=x)
    with pytest.raises(ValueError, match=r"input 'x' must be f32\[B, 4\]"):
        net.predict(x=np.zeros((5, 3)))
    with pytest.raises(ValueError, match="B is 6 in input .y. but 5 in input .x."):
        net.eval(x=np.zeros((5, 4)), y=np.zeros(6, np.int32))
    with pytest.raises(ValueError, match=r"label 7 at position 2 of input 'y' is outside \[0, 3\)"):
        net.eval(x=x[:4], y=np.array([0, 1, 7, 2]))
    with pytest.raises(ValueError, match="integer array"):
        net.eval(x=x, y=y.astype(np.float32))
    with pytest.raises(ValueError, match="float32 or float64"):
        net.predict(x=np.array([["a", "b", "c", "d"]]))
    with pytest.raises(ValueError, match="float32 or float64 array, not object"):
        net.predict(x=object())
    with pytest.raises(ValueError, match="too large|larger than|exceeds|memory"):
        net.predict(x=np.broadcast_to(np.float32(0), (1 << 40, 4)))
    with pytest.raises(ValueError, match="unknown stage"):
        net.ir("bytecode")


def test_ir_is_dump(mlp_file, nabla_tool):
    net = nabla.compile(mlp_file)
    for stage in ["tokens", "ir", "grad", "opt"]:
        assert net.ir(stage) == run(nabla_tool, "dump", mlp_file, f"--emit={stage}"), stage
    inline = nabla.compile_source(MLP, name="inline.nn")
    assert "func @forward" in inline.ir("ir")


def test_gil_released_while_training(root, fashion):
    """While fit runs, another Python thread keeps running: the longest pause
    between its turns is a small part of fit's time (holding the GIL would
    make it all of it)."""
    net = nabla.compile(os.path.join(root, "examples", "fashion_mlp.nn"))
    started = threading.Event()
    took = []

    def train():
        started.set()
        begin = time.perf_counter()
        net.fit(epochs=4, progress=False, data={"x": fashion["x"], "y": fashion["y"]})
        took.append(time.perf_counter() - begin)

    worker = threading.Thread(target=train)
    worker.start()
    started.wait()
    longest, last = 0.0, time.perf_counter()
    while worker.is_alive():
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    worker.join()
    assert longest < 0.5 * took[0], (longest, took[0])
