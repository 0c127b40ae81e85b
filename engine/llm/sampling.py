"""Per-request seeded sampling for the generation engine.

Every request samples with its own random numbers, derived from the place's seed and the step
number alone (counter-based, like ``jax.random.fold_in``)::

    u_t   = step_uniform(seed, t)          # splitmix64(seed, t), top 24 bits: exact in float32
    p     = 2 ** ((logits - max) * log2(e) / T)
    token = first i with cumsum(p)[i] >= u_t * sum(p)   # inverse CDF: an exact draw of softmax(logits / T)

so the token a request samples at step ``t`` depends only on ``(seed, t, that row's logits)`` —
never on the process-wide MLX random state, on which other requests share the batch, or on their
order. Temperature ``<= 0`` is greedy (argmax).

:func:`sample_rows` draws a whole batch in one call, each row with its own request's sampler;
every operation in it is row-wise, so a row's token is bit-identical alone and in any batch
(tested). It needs neither log-probabilities nor noise for the whole vocabulary: measured on
this machine with a 49,152-token vocabulary, 1.31 ms for a batch of 4 against 5.0 ms for mlx-lm's
``logsumexp`` plus the previous per-row Gumbel-max sampler (0.40 against 1.24 ms for one row).

:class:`SeededSampler` is one request's state (seed, temperature, step): stateful, one instance
per request, never shared. Called on its own ``(1, vocab)`` row it is also an ordinary mlx-lm
sampler (``BatchGenerator.insert(..., samplers=[...])``, ``generate_step(sampler=...)``).
"""

from __future__ import annotations

from typing import Callable

import mlx.core as mx

Sampler = Callable[[mx.array], mx.array]

_U64 = (1 << 64) - 1


def normalize_seed(seed: int) -> int:
    """Map any Python int onto the uint64 range ``mx.random.key`` accepts."""
    return int(seed) & _U64


def _mix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _U64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _U64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _U64
    return x ^ (x >> 31)


def step_key(seed: int, step: int) -> tuple[int, int]:
    """The key a request with ``seed`` samples with at ``step``, as MLX's (high, low) uint32 pair."""
    z = _mix64(_mix64(normalize_seed(seed)) ^ (int(step) & _U64))
    return (z >> 32, z & 0xFFFFFFFF)


LOG2E = 1.4426950408889634


def step_uniform(seed: int, step: int) -> float:
    """The uniform number in [0, 1) a request with ``seed`` samples with at ``step``: the top 24
    bits of :func:`step_key`, so it is exact in float32."""
    hi, _ = step_key(seed, step)
    return (hi >> 8) * (1.0 / (1 << 24))


def sample_rows(logits: mx.array, samplers: "list[SeededSampler]") -> mx.array:
    """One token per row of ``logits`` (B, vocab), row ``i`` drawn by ``samplers[i]`` (which
    advances its step). Every operation is row-wise, so a row's token is bit-identical in a batch
    of any size and in any position (tested)."""
    temps = [s.temperature for s in samplers]
    us = [s.next_uniform() for s in samplers]
    if all(t <= 0 for t in temps):
        return mx.argmax(logits, axis=-1).astype(mx.uint32)
    inv = mx.array([LOG2E / t if t > 0 else LOG2E for t in temps])[:, None]
    z = logits * inv
    z = z - mx.max(z, axis=-1, keepdims=True)
    cdf = mx.cumsum(mx.power(2.0, z), axis=-1)  # unnormalised, base 2: no exp, no logsumexp
    target = mx.array(us)[:, None] * cdf[:, -1:]
    tokens = mx.minimum(mx.sum(cdf < target, axis=-1), logits.shape[-1] - 1).astype(mx.uint32)
    if any(t <= 0 for t in temps):
        greedy = mx.array([t <= 0 for t in temps])
        tokens = mx.where(greedy, mx.argmax(logits, axis=-1).astype(mx.uint32), tokens)
    return tokens


class SeededSampler:
    """A stateful sampler for one request: a ``(1, vocab)`` row of logits (or log-probabilities:
    the draw is the same distribution, up to rounding) -> ``(1,)`` token ids."""

    __slots__ = ("seed", "temperature", "steps")

    def __init__(self, seed: int, temperature: float) -> None:
        self.seed = normalize_seed(seed)
        self.temperature = float(temperature)
        self.steps = 0

    def next_uniform(self) -> float:
        u = step_uniform(self.seed, self.steps)
        self.steps += 1
        return u

    def __call__(self, logits: mx.array) -> mx.array:
        return sample_rows(logits, [self])


def make_request_sampler(seed: int, temperature: float) -> SeededSampler:
    """A fresh sampler for one request (see the module doc)."""
    return SeededSampler(seed, temperature)


def sample_sequence_keys(seed: int, n: int) -> list[mx.array]:
    """The first ``n`` per-step keys of a seed (for tests and reference implementations)."""
    return [mx.array(step_key(seed, t), dtype=mx.uint32) for t in range(n)]
