"""Per-request seeded sampling for the generation engine.

Every request samples with its own keys, derived from the place's seed and the step number
alone (counter-based, like ``jax.random.fold_in``)::

    key_t = step_key(seed, t)                     # splitmix64(seed, t) as an MLX uint32 key pair
    token = argmax(logprobs / T + gumbel(key_t))  # Gumbel-max: an exact sample of softmax(logprobs / T)

so the token a request samples at step ``t`` depends only on ``(seed, t, that row's logits)`` —
never on the process-wide MLX random state, on which other requests share the batch, or on their
order. Temperature ``<= 0`` is greedy (argmax).

mlx-lm's ``BatchGenerator.insert(..., samplers=[...])`` takes one sampler per sequence; when the
samplers of a batch differ it calls each one on its own ``(1, vocab)`` row of log-probabilities,
which is exactly the shape a request sees when it runs alone. :class:`SeededSampler` is such a
per-sequence sampler (stateful: one instance per request, never shared).

(A single vectorised sampler for the whole batch was measured too: drawing 4 rows of noise in one
``mx.vmap`` call costs the same 2.5 ms as drawing them one by one — the time is the noise itself,
not the number of calls — so the simpler per-request sampler stays.)
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


class SeededSampler:
    """A stateful sampler for one request: ``(1, vocab)`` log-probabilities -> ``(1,)`` token ids."""

    __slots__ = ("seed", "temperature", "steps", "_inv_temp")

    def __init__(self, seed: int, temperature: float) -> None:
        self.seed = normalize_seed(seed)
        self.temperature = float(temperature)
        self.steps = 0
        self._inv_temp = 1.0 / self.temperature if self.temperature > 0 else 0.0

    def __call__(self, logprobs: mx.array) -> mx.array:
        step = self.steps
        self.steps += 1
        if self.temperature <= 0:
            return mx.argmax(logprobs, axis=-1)
        key = mx.array(step_key(self.seed, step), dtype=mx.uint32)
        # Gumbel-max: half the cost of mx.random.categorical on this CPU (0.63 vs 1.29 ms
        # for a 49,152-token vocabulary).
        return mx.argmax(logprobs * self._inv_temp + mx.random.gumbel(logprobs.shape, key=key), axis=-1)


def make_request_sampler(seed: int, temperature: float) -> SeededSampler:
    """A fresh sampler for one request (see the module doc)."""
    return SeededSampler(seed, temperature)


def sample_sequence_keys(seed: int, n: int) -> list[mx.array]:
    """The first ``n`` per-step keys of a seed (for tests and reference implementations)."""
    return [mx.array(step_key(seed, t), dtype=mx.uint32) for t in range(n)]
