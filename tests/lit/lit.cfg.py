# lit configuration: each .nn/.test file under tests/lit states how it runs
# (RUN: lines) and what it must print (CHECK: lines, checked by FileCheck).
import os
import lit.formats

config.name = "nabla"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".nn", ".test", ".nnir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.nabla_bin_dir, "tests", "lit-out")
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py.in"]

config.environment["PATH"] = os.pathsep.join(
    [config.nabla_bin_dir, config.llvm_tools_dir, config.environment.get("PATH", "")])
# Sanitizer settings and the kernel cache's folder pass through to the tool.
for var in ["ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "NABLA_CACHE_DIR"]:
    if var in os.environ:
        config.environment[var] = os.environ[var]

# %nabla_source first: lit replaces in order, and %nabla is its prefix.
config.substitutions.append(("%nabla_source", config.nabla_source_dir))
config.substitutions.append(("%nabla", os.path.join(config.nabla_bin_dir, "nabla")))
config.substitutions.append(("%examples", os.path.join(config.nabla_source_dir, "examples")))
config.substitutions.append(("%python", "/usr/bin/python3"))

# Features of the host's CPU, for tests that run code for a named CPU
# (--cpu): "avx2" when the host runs x86-64-v3 code, "no-avx512fp16" when it
# cannot run sapphirerapids code.
cpu_flags = set()
try:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                cpu_flags = set(line.split(":", 1)[1].split())
                break
except OSError:
    pass
if {"avx2", "fma", "bmi2", "movbe"} <= cpu_flags:
    config.available_features.add("avx2")
if "avx512_fp16" not in cpu_flags:
    config.available_features.add("no-avx512fp16")
