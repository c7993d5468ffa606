"""Kills `nabla train` with SIGKILL while it writes a checkpoint and checks
that the checkpoint saved before is intact: complete, readable by
`nabla eval`, and from an earlier epoch.

usage: kill_during_save.py NABLA FOLDER

The network has a 32 MB param, so that a save takes a while; the script
watches the folder for the temporary file of a save in progress and kills
the process the moment it appears. The kill must land while that file
exists, else the attempt is repeated.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "oracle"))
import numpy as np  # noqa: E402
import oracle  # noqa: E402

SCRIPT = """
input x: [B, 2048]
param W: [2048, 4096] = uniform(-0.01, 0.01)
loss mean((x @ W) ** 2)
train {
  data = { x: npy("x.npy") }
  optimizer = sgd(lr=0.01)
  batch = 2
  epochs = 100000
}
"""

nabla, folder = sys.argv[1], sys.argv[2]
os.makedirs(folder, exist_ok=True)
with open(os.path.join(folder, "big.nn"), "w") as f:
    f.write(SCRIPT)
np.save(os.path.join(folder, "x.npy"), np.full((2, 2048), 0.01, dtype=np.float32))
checkpoint = os.path.join(folder, "run.safetensors")

for attempt in range(10):
    for name in os.listdir(folder):
        if name.startswith("run.safetensors"):
            os.remove(os.path.join(folder, name))
    process = subprocess.Popen([nabla, "train", os.path.join(folder, "big.nn"), "--quiet",
                                "--save", checkpoint])
    killed_during_save = False
    deadline = time.time() + 60
    # Wait for a first complete checkpoint, then for the next save to start.
    while time.time() < deadline and process.poll() is None:
        names = os.listdir(folder)
        if "run.safetensors" in names and any(n.startswith("run.safetensors.tmp") for n in names):
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed_during_save = any(n.startswith("run.safetensors.tmp") for n in os.listdir(folder))
            break
        time.sleep(0.0005)
    if process.poll() is None:
        process.kill()
        process.wait()
    if not killed_during_save:
        print(f"attempt {attempt + 1}: the kill did not land during a save; again")
        continue
    # The checkpoint under the real name is complete and readable.
    tensors = oracle.read_safetensors(checkpoint)
    assert tensors["W"].shape == (2048, 4096), tensors["W"].shape
    assert os.path.getsize(checkpoint) > 2048 * 4096 * 4
    np.save(os.path.join(folder, "probe.npy"), np.zeros((1, 2048), dtype=np.float32))
    result = subprocess.run([nabla, "eval", os.path.join(folder, "big.nn"), "--params", checkpoint,
                             "--feed", "x=" + os.path.join(folder, "probe.npy")],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == "loss: 0\n", result
    print(f"killed during a save (attempt {attempt + 1}); the previous checkpoint is intact")
    sys.exit(0)
print("never managed to kill nabla during a save")
sys.exit(1)
