#!/usr/bin/env python3
"""Nabla against PyTorch, JAX (and OpenBLAS) on the same machine, in one run.

usage: run.py NABLA [--repeats N] [--quick] [--cpu NAME ...] [--jax PYTHON]
              [--peak NABLA_PEAK]

Each rate is measured --repeats times (default 3) for both sides, taking
the median; the machine is shared, so single runs are noisy. Prints one
Markdown table per CPU that Nabla compiles for: each workload, both rates,
the ratio, the target and whether it is met. The CPUs are the host's
(native) and, on an AVX-512 host, x86-64-v3 (AVX2), unless --cpu names
them. Each table has the matching baseline: for native, PyTorch with one
intra-op thread, OPENBLAS_L2_SIZE unset, and OpenBLAS on the fastest of the
kernels this CPU can run (best_coretype: Debian's OpenBLAS 0.3.21 takes a
Sapphire Rapids guest for a Prescott, SSE3 only, a fifth of its speed); for
an AVX2 table, PyTorch
and OpenBLAS held to AVX2 as well (OPENBLAS_CORETYPE=Haswell,
ATEN_CPU_CAPABILITY=avx2, DNNL_MAX_CPU_ISA=AVX2, and XLA_FLAGS=
--xla_cpu_max_isa=AVX2 for JAX). Everything else runs with the environment
as it is.

With --jax (a Python with jax and optax: tools/bench-venv.sh), the MLP, CNN
and XOR rows are measured against JAX too. With --peak (bench/peak.cpp),
the table has the machine's FMA peak and the MLP step's share of it (the
roofline of docs/performance.md). A row measures the MLP step beside one
busy process (a Python loop) with the default threads, against --threads 1
beside the same process and against the step on the idle machine.
"""
import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
TORCH = os.path.join(HERE, "torch_workloads.py")
JAX = os.path.join(HERE, "jax_workloads.py")
MLP = os.path.join(HERE, "mlp.nn")
MLP_PENALTY = os.path.join(HERE, "mlp_penalty.nn")
CNN = os.path.join(HERE, "..", "examples", "fashion_cnn.nn")
XOR = os.path.join(HERE, "..", "examples", "xor.nn")
RNN = os.path.join(HERE, "..", "examples", "fashion_rnn.nn")
LSTM = os.path.join(HERE, "..", "examples", "fashion_lstm.nn")


# What holds PyTorch, oneDNN and OpenBLAS to AVX2, for the tables of AVX2 code.
AVX2_BASELINE = {"OPENBLAS_CORETYPE": "Haswell", "ATEN_CPU_CAPABILITY": "avx2",
                 "DNNL_MAX_CPU_ISA": "AVX2", "XLA_FLAGS": "--xla_cpu_max_isa=AVX2"}
# Floating-point operations of one sample of the benchmark MLP's training
# step: forward 784·512 + 512·256 + 256·10 multiply-adds, the same again for
# the weight gradients, and the input gradients of layers 2 and 3.
MLP_FLOPS = 2 * (2 * (784 * 512 + 512 * 256 + 256 * 10) + 512 * 256 + 256 * 10)
# CPU names whose code is AVX2 at most (their tables take the AVX2 baseline).
AVX2_CPUS = {"x86-64-v3", "haswell", "broadwell", "skylake", "znver1", "znver2", "znver3",
             "alderlake"}


def host_flags():
    """The host CPU's flags from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def best_coretype(flags):
    """The OPENBLAS_CORETYPE (None: OpenBLAS's own choice) under which a
    1024³ sgemm runs fastest, among the kernels the host's flags allow."""
    candidates = [None]
    if "avx2" in flags:
        candidates += ["Haswell", "Zen"]
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        candidates.append("SkylakeX")
    if "avx512_bf16" in flags:
        candidates.append("Cooperlake")
    rates = {}
    for coretype in candidates:
        env = torch_env()
        if coretype:
            env["OPENBLAS_CORETYPE"] = coretype
        out, _ = run_rss([PYTHON, TORCH, "sgemm", "1024", "1024", "1024", "0", "0", "10"], env)
        rates[coretype] = float(out)
    best = max(rates, key=rates.get)
    print("OpenBLAS kernels: " + ", ".join(f"{k or 'its own choice'} {v:.0f} GFLOP/s"
                                           for k, v in rates.items()), file=sys.stderr)
    return best


def torch_env(threads=None, avx2=False, coretype=None):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    env.pop("OPENBLAS_L2_SIZE", None)
    if avx2:
        env.update(AVX2_BASELINE)
    if threads:
        env["OPENBLAS_NUM_THREADS"] = str(threads)
    return env


def run_rss(cmd, env=None):
    """Runs a command and measures its peak RSS (MB) with os.wait4."""
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    out = process.stdout.read().decode()
    err = process.stderr.read().decode()
    if status != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{err}")
    return out, usage.ru_maxrss / 1024


def median(samples):
    return statistics.median(samples)


class Bench:
    """The rows of one table: Nabla compiling for `cpu` against the baseline
    that matches it."""

    def __init__(self, nabla, repeats, quick, cpu, jax=None, coretype=None):
        self.nabla = nabla
        self.coretype = coretype
        self.jax = jax
        self.repeats = repeats
        self.quick = quick
        self.cpu = cpu
        self.avx2 = cpu in AVX2_CPUS
        self.rows = []
        self.temp = tempfile.mkdtemp(prefix="nabla-bench-")
        self.cache = os.path.join(self.temp, "kernel-cache")
        self.env = dict(os.environ, NABLA_CACHE_DIR=self.cache)

    def nabla_cmd(self, args):
        return [self.nabla] + args + ["--cpu", self.cpu]

    def nabla_run(self, args):
        out, _ = run_rss(self.nabla_cmd(args), self.env)
        return out

    def torch_env(self, threads=None):
        return torch_env(threads, self.avx2, None if self.avx2 else self.coretype)

    def row(self, workload, unit, ours, theirs, target, higher_is_better=True, baseline="PyTorch"):
        ratio = ours / theirs if higher_is_better else theirs / ours
        self.rows.append((workload, unit, ours, theirs, baseline, ratio, target))
        print(f"  {workload}: Nabla {ours:.4g} {unit}, {baseline} {theirs:.4g} {unit}, "
              f"ratio {ratio:.2f} (target {target})", file=sys.stderr)

    # --- the workloads -------------------------------------------------------

    def mlp(self, batch, target):
        ours, theirs, rss_ours, rss_theirs = [], [], [], []
        for _ in range(self.repeats):
            csv = os.path.join(self.temp, "mlp.csv")
            out, rss = run_rss(self.nabla_cmd(["train", MLP, "--batch", str(batch), "--quiet",
                                                "--metrics", csv]), self.env)
            with open(csv) as f:
                last = f.read().strip().splitlines()[-1].split(",")
            ours.append(float(last[-2]))
            rss_ours.append(rss)
            out, rss = run_rss([PYTHON, TORCH, "mlp", str(batch)], self.torch_env())
            theirs.append(float(out))
            rss_theirs.append(rss)
        label = f"MLP 784-512-256-10, Adam, B={batch}"
        self.row(label, "samples/s", median(ours), median(theirs), target)
        self.jax_row(label, "samples/s", median(ours), ["mlp", str(batch)])
        return median(rss_ours), median(rss_theirs), median(ours)

    def cnn(self, target):
        """The CNN example's training: one epoch of `nabla train` against PyTorch's
        step loop, PyTorch at the better of its two thread settings."""
        steps = 40 if self.quick else 300
        ours, theirs = [], []
        for _ in range(self.repeats):
            csv = os.path.join(self.temp, "cnn.csv")
            run_rss(self.nabla_cmd(["train", CNN, "--epochs", "1", "--quiet", "--metrics", csv]),
                    self.env)
            with open(csv) as f:
                ours.append(float(f.read().strip().splitlines()[-1].split(",")[-2]))
            settings = [(1, self.torch_env()), (os.cpu_count(), self.torch_env(1))]
            theirs.append(max(float(run_rss([PYTHON, TORCH, "cnn", "64", str(steps), str(t)],
                                            env)[0]) for t, env in settings))
        label = "CNN conv32-pool-conv64-pool-128-10, Adam, B=64"
        self.row(label, "samples/s", median(ours), median(theirs), target)
        self.jax_row(label, "samples/s", median(ours), ["cnn", "64", str(steps // 3)])

    def data_parallel(self):
        """The MLP's and the CNN's training over MPI, 2 ranks of 1 thread,
        against one process of 2 threads: the cost of splitting the step and
        of one allreduce per step (docs/distributed.md)."""
        mpirun = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
                  "-np", "2"]
        for script, label, epochs in [(MLP, "MLP 784-512-256-10, Adam, B=128", 1),
                                      (CNN, "CNN, Adam, B=64", 1)]:
            ranks, threads = [], []
            for _ in range(self.repeats):
                for prefix, extra, rates in [(mpirun, ["--threads", "1"], ranks),
                                             ([], ["--threads", "2"], threads)]:
                    csv = os.path.join(self.temp, "dp.csv")
                    run_rss(prefix + self.nabla_cmd(["train", script, "--epochs", str(epochs),
                                                     "--quiet", "--metrics", csv] + extra),
                            self.env)
                    with open(csv) as f:
                        rates.append(float(f.read().strip().splitlines()[-1].split(",")[-2]))
            self.row(f"{label}: 2 ranks × 1 thread (MPI)", "samples/s", median(ranks),
                     median(threads), "shown", baseline="1 rank × 2 threads")

    def xor(self, target):
        ours, theirs = [], []
        for _ in range(self.repeats):
            out = self.nabla_run(["bench", XOR, "--steps", "2000000"])
            ours.append(float(re.search(r"([\d.]+) steps/s", out).group(1)))
            out, _ = run_rss([PYTHON, TORCH, "xor", "3000"], self.torch_env())
            theirs.append(float(out))
        self.row("XOR 2-8-1, SGD, full batch", "steps/s", median(ours), median(theirs), target)
        self.jax_row("XOR 2-8-1, SGD, full batch", "steps/s", median(ours), ["xor", "3000"])

    def recurrent(self, kind, target):
        """The training step of examples/fashion_rnn.nn or fashion_lstm.nn
        (B=128, 28 steps of 28 pixels, a 128-wide cell, Adam) against PyTorch's
        fused nn.RNN / nn.LSTM and against a Python loop over its cell module,
        the same network, batch and optimizer."""
        steps = "20" if self.quick else "100"
        script = RNN if kind == "rnn" else LSTM
        ours, module, cells = [], [], []
        for _ in range(self.repeats):
            out = self.nabla_run(["bench", script, "--batch", "128", "--steps", steps])
            ours.append(float(re.search(r"([\d.]+) samples/s", out).group(1)))
            for style, rates in (("module", module), ("cells", cells)):
                out, _ = run_rss([PYTHON, TORCH, kind, style, "128", steps], self.torch_env())
                rates.append(float(out))
        name = "Elman RNN" if kind == "rnn" else "LSTM"
        label = f"{name} 28 steps × 28 → 128, Adam, B=128"
        self.row(label, "samples/s", median(ours), median(module), target,
                 baseline=f"PyTorch nn.{'RNN' if kind == 'rnn' else 'LSTM'}")
        self.row(label, "samples/s", median(ours), median(cells), target,
                 baseline=f"PyTorch {'RNNCell' if kind == 'rnn' else 'LSTMCell'} loop")

    def jax_version(self):
        if not self.jax:
            return None
        out, _ = run_rss([self.jax, JAX, "version"])
        return out.strip()

    def jax_row(self, workload, unit, ours, args):
        """The same workload in JAX (one jit of the whole step): Nabla's rate
        `ours` against the median of JAX's; Nabla must be ahead."""
        if not self.jax:
            return
        env = dict(os.environ)
        if self.avx2:
            env["XLA_FLAGS"] = AVX2_BASELINE["XLA_FLAGS"]
        theirs = [float(run_rss([self.jax, JAX] + args, env)[0].split()[-1])
                  for _ in range(self.repeats)]
        self.row(workload, unit, ours, median(theirs), "> 1", baseline=f"JAX {self.jax_version()}")

    def busy(self):
        """The MLP step (B=128) beside one busy process: default threads
        against --threads 1 beside the same process, and against the idle
        machine. Alternates the three so that drifts of a shared machine
        fall on all of them."""
        steps = "300" if self.quick else "1500"
        def rate(extra):
            out = self.nabla_run(["bench", MLP, "--batch", "128", "--steps", steps] + extra)
            return float(re.search(r"([\d.]+) samples/s", out).group(1))
        idle, loaded, single = [], [], []
        for _ in range(self.repeats):
            idle.append(rate([]))
            spinner = subprocess.Popen([PYTHON, "-c", "while 1: pass"])
            try:
                loaded.append(rate([]))
                single.append(rate(["--threads", "1"]))
            finally:
                spinner.kill()
                spinner.wait()
        label = "MLP step B=128 beside a busy process, default threads"
        self.row(label, "samples/s", median(loaded), median(single), "≥ 1",
                 baseline="--threads 1 there")
        self.row(label, "samples/s", median(loaded), median(idle), "≥ 0.5",
                 baseline="the idle machine")

    def second_order(self):
        """The MLP step (B=128) with an input-gradient penalty, whose loss
        holds grad(cross_entropy, x): training differentiates through the
        gradient (double backpropagation). Its time per step against the
        plain step's, alternated; the target is at most 3x."""
        steps = "100" if self.quick else "500"
        def micros(script):
            out = self.nabla_run(["bench", script, "--batch", "128", "--steps", steps])
            return float(re.search(r"([\d.]+) us per step", out).group(1))
        plain, penalty = [], []
        for _ in range(self.repeats):
            plain.append(micros(MLP))
            penalty.append(micros(MLP_PENALTY))
        self.row("MLP step B=128 with an input-gradient penalty (second order)", "us/step",
                 median(penalty), median(plain), "≥ 0.33", higher_is_better=False,
                 baseline="the plain step")

    def matmul(self, m, n, k, ta, tb, label, threads):
        flops = 2 * m * n * k
        steps = max(20, int(2e10 / flops)) if not self.quick else max(5, int(2e9 / flops))
        a = f"[{k}, {m}]" if ta else f"[{m}, {k}]"
        b = f"[{n}, {k}]" if tb else f"[{k}, {n}]"
        script = os.path.join(self.temp, f"mm_{m}_{n}_{k}_{int(ta)}{int(tb)}.nn")
        with open(script, "w") as f:
            f.write(f"input a: {a}\ninput b: {b}\n"
                    f"output c = {'transpose(a)' if ta else 'a'} @ {'transpose(b)' if tb else 'b'}\n")
        ours, theirs = [], []
        for _ in range(self.repeats):
            out = self.nabla_run(["bench", script, "--steps", str(steps)])
            micros = float(re.search(r"([\d.]+) us per step", out).group(1))
            ours.append(flops / (micros * 1e-6) / 1e9)
            out, _ = run_rss([PYTHON, TORCH, "sgemm", str(m), str(n), str(k), str(int(ta)),
                              str(int(tb)), str(steps)], self.torch_env(threads))
            theirs.append(float(out))
        self.row(f"matmul {label}", "GFLOP/s", median(ours), median(theirs), "≥ 0.9",
                 baseline="OpenBLAS")

    def compile_times(self):
        cold, warm = [], []
        for _ in range(self.repeats):
            shutil.rmtree(self.cache, ignore_errors=True)
            for samples in (cold, warm):
                out = self.nabla_run(["bench", MLP, "--steps", "1"])
                samples.append(float(re.search(r"^total\s+([\d.]+)", out, re.M).group(1)))
        return median(cold), median(warm)

    def roofline(self, peak_tool, mlp_rate):
        """The machine's FMA peak (bench/peak.cpp, with this table's vector
        width) and the MLP step's share of it; None without the tool."""
        if not peak_tool:
            return None
        out, _ = run_rss([peak_tool] + (["--avx2"] if self.avx2 else []))
        peak = dict(line.split() for line in out.strip().splitlines())
        gflops = mlp_rate * MLP_FLOPS / 1e9
        return peak, gflops

    def report(self, rss, compile_ms, threads, host, machine, roofline=None):
        if self.cpu == "native":
            kernels = (f"OPENBLAS_CORETYPE={self.coretype}, the fastest here" if self.coretype
                       else "OpenBLAS's own choice of kernels, the fastest here")
            print(f"Nabla compiling for the host's CPU ({host}); PyTorch and OpenBLAS with "
                  f"{kernels}.\n")
        else:
            baseline = (", PyTorch and OpenBLAS held to AVX2 (" +
                        ", ".join(f"{k}={v}" for k, v in AVX2_BASELINE.items()) + ")"
                        if self.avx2 else "")
            print(f"Nabla compiling with --cpu {self.cpu}{baseline}.\n")
        print(f"Machine: {machine}, {os.cpu_count()} cores, LLVM host CPU {host}; "
              f"{threads} threads for Nabla and OpenBLAS.\n")
        if roofline:
            peak, _ = roofline
            print(f"Peak (bench/peak.cpp, {peak['vector_bits']}-bit FMAs): "
                  f"{float(peak['fma_gflops']):.0f} GFLOP/s on {peak['threads']} threads "
                  f"({float(peak['fma_gflops_1_thread']):.0f} on one); an Adam-like update "
                  f"streams {float(peak['update_gbps_mlp_state']):.0f} GB/s over the MLP's "
                  f"W, m and v, {float(peak['update_gbps_1gb']):.0f} GB/s over 1 GB.\n")
        print("| workload | Nabla | baseline | ratio | target | met |")
        print("|---|---|---|---|---|---|")
        for workload, unit, ours, theirs, baseline, ratio, target in self.rows:
            number = re.search(r"[\d.]+", target)
            if number:  # a target to meet; else the row only shows a cost ("shown")
                bound = float(number.group(0))
                met = ratio > bound if target.startswith(">") else ratio >= bound
            print(f"| {workload} | {ours:.4g} {unit} | {baseline} {theirs:.4g} {unit} | "
                  f"{ratio:.2f}× | {target} | {('yes' if met else 'NO') if number else '—'} |")
        cold, warm = compile_ms
        print(f"| compile of the MLP training step, cold | {cold:.0f} ms | | | ≤ 300 ms | "
              f"{'yes' if cold <= 300 else 'NO'} |")
        print(f"| the same, warm from the disk cache | {warm:.1f} ms | | | ≤ 20 ms | "
              f"{'yes' if warm <= 20 else 'NO'} |")
        ours, theirs = rss
        print(f"| peak RSS training the MLP (B=128) | {ours:.0f} MB | PyTorch {theirs:.0f} MB | "
              f"{ours / theirs:.2f}× | ≤ 0.5× | {'yes' if ours <= 0.5 * theirs else 'NO'} |")
        if roofline:
            peak, gflops = roofline
            share = gflops / float(peak["fma_gflops"])
            print(f"| MLP step B=128 ({MLP_FLOPS / 1e6:.2f} MFLOP per sample) against the FMA "
                  f"peak | {gflops:.0f} GFLOP/s | peak {float(peak['fma_gflops']):.0f} GFLOP/s | "
                  f"{100 * share:.0f}% | ≥ 50% | {'yes' if share >= 0.5 else 'NO'} |")


def host_cpu(nabla):
    """LLVM's name for the host CPU, as nabla bench prints it."""
    out, _ = run_rss([nabla, "bench", XOR, "--steps", "1"])
    return re.search(r"-O\d, (\S+)", out).group(1)


def machine_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def table(nabla, repeats, quick, cpu, host, machine, jax, peak, coretype):
    """Measures every row for code compiled for `cpu` and prints its table."""
    bench = Bench(nabla, repeats, quick, cpu, jax, coretype)
    threads = os.cpu_count()
    print(f"measuring for --cpu {cpu} (medians of {repeats} runs)...", file=sys.stderr)
    *rss, mlp_rate = bench.mlp(128, "≥ 1.6")
    bench.mlp(32, "≥ 3")
    bench.cnn("≥ 1.5")
    bench.xor("≥ 100")
    bench.recurrent("rnn", "≥ 1.5")
    bench.recurrent("lstm", "≥ 1.5")
    # The MLP's matmuls at B=128, forward and backward, and large square ones.
    for m, n, k, ta, tb, label in [
            (128, 512, 784, False, False, "128×784 · 784×512 (layer 1)"),
            (128, 256, 512, False, False, "128×512 · 512×256 (layer 2)"),
            (128, 10, 256, False, False, "128×256 · 256×10 (layer 3)"),
            (784, 512, 128, True, False, "784×128 · 128×512 (∂W1, Aᵀ)"),
            (512, 256, 128, True, False, "512×128 · 128×256 (∂W2, Aᵀ)"),
            (128, 512, 256, False, True, "128×256 · 256×512 (∂h1, Bᵀ)"),
            (1024, 1024, 1024, False, False, "1024×1024 · 1024×1024"),
            (2048, 2048, 2048, False, False, "2048×2048 · 2048×2048")]:
        bench.matmul(m, n, k, ta, tb, label, threads)
    bench.busy()
    bench.second_order()
    if shutil.which("mpirun"):
        bench.data_parallel()
    compile_ms = bench.compile_times()
    bench.report(rss, compile_ms, threads, host, machine, bench.roofline(peak, mlp_rate))
    shutil.rmtree(bench.temp, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("nabla")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer steps (a smoke test)")
    parser.add_argument("--cpu", action="append",
                        help="a CPU to compile for (repeatable; default: native, and "
                             "x86-64-v3 on an AVX-512 host)")
    parser.add_argument("--jax", help="a Python with jax and optax: JAX rows")
    parser.add_argument("--peak", help="bench/peak.cpp's program: the roofline row")
    args = parser.parse_args()
    nabla = os.path.abspath(args.nabla)
    cpus = args.cpu or (["native", "x86-64-v3"] if "avx512f" in host_flags() else ["native"])
    host, machine = host_cpu(nabla), machine_name()
    coretype = best_coretype(host_flags())
    for i, cpu in enumerate(cpus):
        if i:
            print()
        print(f"### --cpu {cpu}" + (f" (the host, {host})" if cpu == "native" else "") + "\n")
        table(nabla, args.repeats, args.quick, cpu, host, machine, args.jax,
              args.peak and os.path.abspath(args.peak), coretype)


if __name__ == "__main__":
    main()
