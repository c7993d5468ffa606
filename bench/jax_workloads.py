#!/usr/bin/env python3
"""The JAX side of bench/run.py: the same workloads as torch_workloads.py.

usage: jax_workloads.py mlp BATCH                 MLP training: samples/s
       jax_workloads.py cnn BATCH STEPS           CNN training: samples/s
       jax_workloads.py xor STEPS                 XOR training steps/s
       jax_workloads.py version                   the JAX version

Runs the way JAX is fastest: one jax.jit of the whole training step (the
forward pass, the gradient and optax's update), with the params and the
optimizer state donated so that XLA updates them in place, and every
batch of a shuffled epoch on the device before the clock starts (a
gather inside the step made XLA's step slower by a third). XLA runs
on its own threads (all cores). Time is measured after the first steps
(compilation) and up to the last result being ready.
"""
import functools
import sys
import time

import numpy as np

from fashion_data import images, labels

def dense(key, fan_in, fan_out):
    """PyTorch's nn.Linear initialization: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    import jax
    bound = 1 / np.sqrt(fan_in)
    kw, kb = jax.random.split(key)
    return (jax.random.uniform(kw, (fan_in, fan_out), minval=-bound, maxval=bound),
            jax.random.uniform(kb, (fan_out,), minval=-bound, maxval=bound))


def classifier_rate(forward, params, x, y, batch, warmup, count):
    """Trains `forward` (params, x -> logits) with Adam on shuffled batches
    of (x, y); returns the samples/s of `count` steps."""
    import jax
    import jax.numpy as jnp
    import optax
    opt = optax.adam(1e-3)

    def loss_fn(p, xb, yb):
        return optax.softmax_cross_entropy_with_integer_labels(forward(p, xb), yb).mean()

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def step(p, state, xb, yb):
        loss, grads = jax.value_and_grad(loss_fn)(p, xb, yb)
        updates, state = opt.update(grads, state, p)
        return optax.apply_updates(p, updates), state, loss

    state = opt.init(params)
    perm = np.random.default_rng(0).permutation(len(x))
    count_batches = min(len(x) // batch, warmup + count)
    batches = [(jax.device_put(x[perm[s * batch:(s + 1) * batch]]),
                jax.device_put(y[perm[s * batch:(s + 1) * batch]])) for s in range(count_batches)]
    loss = None
    for s in range(warmup):
        params, state, loss = step(params, state, *batches[s % len(batches)])
    loss.block_until_ready()
    start = time.perf_counter()
    for s in range(count):
        params, state, loss = step(params, state, *batches[s % len(batches)])
    loss.block_until_ready()
    return count * batch / (time.perf_counter() - start)


def mlp(batch):
    import jax
    import jax.numpy as jnp
    x, y = images(), labels(np.int32)
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    params = [dense(k1, 784, 512), dense(k2, 512, 256), dense(k3, 256, 10)]

    def forward(p, xb):
        h = xb
        for i, (w, b) in enumerate(p):
            h = h @ w + b
            if i < len(p) - 1:
                h = jnp.maximum(h, 0)
        return h

    print(classifier_rate(forward, params, x, y, batch, 20, len(x) // batch))


def cnn(batch, count):
    """examples/fashion_cnn.nn in JAX: conv-relu-pool twice, two dense layers."""
    import jax
    import jax.numpy as jnp
    from jax import lax
    x = images().reshape(-1, 1, 28, 28)
    y = labels(np.int32)
    keys = jax.random.split(jax.random.PRNGKey(0), 4)

    def conv_params(key, cin, cout):
        bound = 1 / np.sqrt(cin * 9)
        kw, kb = jax.random.split(key)
        return (jax.random.uniform(kw, (cout, cin, 3, 3), minval=-bound, maxval=bound),
                jax.random.uniform(kb, (cout,), minval=-bound, maxval=bound))

    params = [conv_params(keys[0], 1, 32), conv_params(keys[1], 32, 64),
              dense(keys[2], 3136, 128), dense(keys[3], 128, 10)]

    def block(h, w, b):
        h = lax.conv_general_dilated(h, w, (1, 1), ((1, 1), (1, 1)),
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"))
        h = jnp.maximum(h + b[None, :, None, None], 0)
        return lax.reduce_window(h, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def forward(p, xb):
        h = block(block(xb, *p[0]), *p[1]).reshape(xb.shape[0], -1)
        h = jnp.maximum(h @ p[2][0] + p[2][1], 0)
        return h @ p[3][0] + p[3][1]

    print(classifier_rate(forward, params, x, y, batch, 10, count))


def xor(count):
    import jax
    import jax.numpy as jnp
    import optax
    x = jnp.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=jnp.float32)
    t = jnp.array([[0], [1], [1], [0]], dtype=jnp.float32)
    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    params = {"w1": jax.random.uniform(k1, (2, 8), minval=-1, maxval=1), "b1": jnp.zeros(8),
              "w2": jax.random.uniform(k2, (8, 1), minval=-1, maxval=1), "b2": jnp.zeros(1)}
    opt = optax.sgd(0.5)

    def loss_fn(p):
        out = jax.nn.sigmoid(jax.nn.sigmoid(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"])
        return jnp.mean((out - t) ** 2)

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def step(p, state):
        loss, grads = jax.value_and_grad(loss_fn)(p)
        updates, state = opt.update(grads, state, p)
        return optax.apply_updates(p, updates), state, loss

    state = opt.init(params)
    for _ in range(200):
        params, state, loss = step(params, state)
    loss.block_until_ready()
    start = time.perf_counter()
    for _ in range(count):
        params, state, loss = step(params, state)
    loss.block_until_ready()
    print(count / (time.perf_counter() - start))


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "mlp":
        mlp(int(sys.argv[2]))
    elif kind == "cnn":
        cnn(int(sys.argv[2]), int(sys.argv[3]))
    elif kind == "xor":
        xor(int(sys.argv[2]))
    else:
        import jax
        print(jax.__version__)
