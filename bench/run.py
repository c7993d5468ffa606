#!/usr/bin/env python3
"""Nabla against PyTorch (and OpenBLAS) on the same machine, in one run.

usage: run.py NABLA [--repeats N] [--quick] [--cpu NAME ...]

Each rate is measured --repeats times (default 3) for both sides, taking
the median; the machine is shared, so single runs are noisy. Prints one
Markdown table per CPU that Nabla compiles for: each workload, both rates,
the ratio, the target and whether it is met. The CPUs are the host's
(native) and, on an AVX-512 host, x86-64-v3 (AVX2), unless --cpu names
them. Each table has the matching baseline: for native, PyTorch with one
intra-op thread and OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for its
process only (its fastest correct setting here); for an AVX2 table, PyTorch
and OpenBLAS held to AVX2 as well (OPENBLAS_CORETYPE=Haswell,
ATEN_CPU_CAPABILITY=avx2, DNNL_MAX_CPU_ISA=AVX2). Everything else runs with
the environment as it is.
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
MLP = os.path.join(HERE, "mlp.nn")
CNN = os.path.join(HERE, "..", "examples", "fashion_cnn.nn")
XOR = os.path.join(HERE, "..", "examples", "xor.nn")


# What holds PyTorch, oneDNN and OpenBLAS to AVX2, for the tables of AVX2 code.
AVX2_BASELINE = {"OPENBLAS_CORETYPE": "Haswell", "ATEN_CPU_CAPABILITY": "avx2",
                 "DNNL_MAX_CPU_ISA": "AVX2"}
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


def torch_env(threads=None, avx2=False):
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
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

    def __init__(self, nabla, repeats, quick, cpu):
        self.nabla = nabla
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
        return torch_env(threads, self.avx2)

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
        self.row(f"MLP 784-512-256-10, Adam, B={batch}", "samples/s", median(ours),
                 median(theirs), target)
        return median(rss_ours), median(rss_theirs)

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
        self.row("CNN conv32-pool-conv64-pool-128-10, Adam, B=64", "samples/s", median(ours),
                 median(theirs), target)

    def xor(self, target):
        ours, theirs = [], []
        for _ in range(self.repeats):
            out = self.nabla_run(["bench", XOR, "--steps", "2000000"])
            ours.append(float(re.search(r"([\d.]+) steps/s", out).group(1)))
            out, _ = run_rss([PYTHON, TORCH, "xor", "3000"], self.torch_env())
            theirs.append(float(out))
        self.row("XOR 2-8-1, SGD, full batch", "steps/s", median(ours), median(theirs), target)

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

    def report(self, rss, compile_ms, threads, host, machine):
        if self.cpu == "native":
            print(f"Nabla compiling for the host's CPU ({host}); PyTorch and OpenBLAS as they "
                  f"choose for it.\n")
        else:
            baseline = (", PyTorch and OpenBLAS held to AVX2 (" +
                        ", ".join(f"{k}={v}" for k, v in AVX2_BASELINE.items()) + ")"
                        if self.avx2 else "")
            print(f"Nabla compiling with --cpu {self.cpu}{baseline}.\n")
        print(f"Machine: {machine}, {os.cpu_count()} cores, LLVM host CPU {host}; "
              f"{threads} threads for Nabla and OpenBLAS.\n")
        print("| workload | Nabla | baseline | ratio | target | met |")
        print("|---|---|---|---|---|---|")
        for workload, unit, ours, theirs, baseline, ratio, target in self.rows:
            bound = float(re.search(r"[\d.]+", target).group(0))
            met = ratio >= bound
            print(f"| {workload} | {ours:.4g} {unit} | {baseline} {theirs:.4g} {unit} | "
                  f"{ratio:.2f}× | {target} | {'yes' if met else 'NO'} |")
        cold, warm = compile_ms
        print(f"| compile of the MLP training step, cold | {cold:.0f} ms | | | ≤ 300 ms | "
              f"{'yes' if cold <= 300 else 'NO'} |")
        print(f"| the same, warm from the disk cache | {warm:.1f} ms | | | ≤ 20 ms | "
              f"{'yes' if warm <= 20 else 'NO'} |")
        ours, theirs = rss
        print(f"| peak RSS training the MLP (B=128) | {ours:.0f} MB | PyTorch {theirs:.0f} MB | "
              f"{ours / theirs:.2f}× | ≤ 0.5× | {'yes' if ours <= 0.5 * theirs else 'NO'} |")


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


def table(nabla, repeats, quick, cpu, host, machine):
    """Measures every row for code compiled for `cpu` and prints its table."""
    bench = Bench(nabla, repeats, quick, cpu)
    threads = os.cpu_count()
    print(f"measuring for --cpu {cpu} (medians of {repeats} runs)...", file=sys.stderr)
    rss = bench.mlp(128, "≥ 1.6")
    bench.mlp(32, "≥ 3")
    bench.cnn("≥ 1.5")
    bench.xor("≥ 100")
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
    compile_ms = bench.compile_times()
    bench.report(rss, compile_ms, threads, host, machine)
    shutil.rmtree(bench.temp, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("nabla")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer steps (a smoke test)")
    parser.add_argument("--cpu", action="append",
                        help="a CPU to compile for (repeatable; default: native, and "
                             "x86-64-v3 on an AVX-512 host)")
    args = parser.parse_args()
    nabla = os.path.abspath(args.nabla)
    cpus = args.cpu or (["native", "x86-64-v3"] if "avx512f" in host_flags() else ["native"])
    host, machine = host_cpu(nabla), machine_name()
    for i, cpu in enumerate(cpus):
        if i:
            print()
        print(f"### --cpu {cpu}" + (f" (the host, {host})" if cpu == "native" else "") + "\n")
        table(nabla, args.repeats, args.quick, cpu, host, machine)


if __name__ == "__main__":
    main()
