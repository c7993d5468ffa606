"""Nabla: neural-network scripts compiled to native training steps.

    import nabla
    net = nabla.compile("examples/fashion_mlp.nn")
    history = net.fit(epochs=3)
    probs = net.predict(x=images)["probs"]

docs/python.md documents every name; the module is built by `make` into
build/python (put that folder on PYTHONPATH).
"""
from ._nabla import CompileError, Network, compile, compile_source

__all__ = ["CompileError", "Network", "compile", "compile_source"]
