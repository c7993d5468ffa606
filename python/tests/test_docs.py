"""Runs the Python snippets of docs/python.md in order, as a reader would, so
the walkthrough cannot rot."""
import os
import re

import numpy as np


def test_python_md_snippets(root, tmp_path, monkeypatch):
    with open(os.path.join(root, "docs", "python.md")) as f:
        text = f.read()
    snippets = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert len(snippets) >= 8
    # A folder where examples/ is the repository's; files the snippets write land here.
    os.symlink(os.path.join(root, "examples"), tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for snippet in snippets:
        exec(compile(snippet, "docs/python.md", "exec"), namespace)
    # What the walkthrough claims: it trained, plotted, predicted and saved.
    history, probs, labels = namespace["history"], namespace["probs"], namespace["labels"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["test_acc"] > 0.8
    assert np.mean(probs.argmax(axis=1) == labels) == history[-1]["test_acc"]
    for name in ["fashion_history.svg", "fashion_mlp.safetensors"]:
        assert (tmp_path / name).stat().st_size > 0
