"""Per-request seeded sampling for the generation engine.

Every request owns its own PRNG key chain, started from the place's seed::

    key = mx.random.key(seed)
    each step:  key, sub = mx.random.split(key)
                token = argmax(logprobs / temperature + gumbel(shape, key=sub))   # Gumbel-max

so the token a request samples at step ``t`` depends only on ``(seed, t, that row's logits)`` —
never on the process-wide MLX random state, on which other requests share the batch, or on their
order. Temperature ``<= 0`` is greedy (argmax) and consumes no key.

mlx-lm's ``BatchGenerator.insert(..., samplers=[...])`` takes one sampler per sequence; when the
samplers of a batch differ it calls each one on its own ``(1, vocab)`` row of log-probabilities,
which is exactly the shape a request sees when it runs alone. :class:`SeededSampler` is such a
per-sequence sampler (stateful: one instance per request, never shared).
"""

from __future__ import annotations

from typing import Callable

import mlx.core as mx

Sampler = Callable[[mx.array], mx.array]

_U64 = (1 << 64) - 1


def normalize_seed(seed: int) -> int:
    """Map any Python int onto the uint64 range ``mx.random.key`` accepts."""
    return int(seed) & _U64


class SeededSampler:
    """A stateful sampler for one request: ``(1, vocab)`` log-probabilities -> ``(1,)`` token ids."""

    __slots__ = ("seed", "temperature", "steps", "_key", "_inv_temp")

    def __init__(self, seed: int, temperature: float) -> None:
        self.seed = normalize_seed(seed)
        self.temperature = float(temperature)
        self.steps = 0
        self._key = mx.random.key(self.seed)
        self._inv_temp = 1.0 / self.temperature if self.temperature > 0 else 0.0

    def __call__(self, logprobs: mx.array) -> mx.array:
        self.steps += 1
        if self.temperature <= 0:
            return mx.argmax(logprobs, axis=-1)
        self._key, sub = mx.random.split(self._key)
        # Gumbel-max: an exact sample of softmax(logprobs / T), about half the cost of
        # mx.random.categorical on this CPU (0.63 vs 1.29 ms for a 49,152-token vocabulary).
        return mx.argmax(logprobs * self._inv_temp + mx.random.gumbel(logprobs.shape, key=sub), axis=-1)


def make_request_sampler(seed: int, temperature: float) -> SeededSampler:
    """A fresh sampler for one request (see the module doc)."""
    return SeededSampler(seed, temperature)


def sample_sequence_keys(seed: int, n: int) -> list[mx.array]:
    """The first ``n`` per-step keys of a seed's chain (for tests and reference implementations)."""
    key = mx.random.key(normalize_seed(seed))
    out = []
    for _ in range(n):
        key, sub = mx.random.split(key)
        out.append(sub)
    return out
