"""mlx-lm's ``BatchGenerator``, with each prompt's prefill ending in its first sampled token.

Stock ``BatchGenerator`` (mlx-lm 0.32) admits a prompt in two steps of the running batch: the
first prefills all but the prompt's last token, the second runs that last token through the
model on its own (a one-row forward pass: the full weights read for one token, about 55 ms on
this machine) and then merges the new row into the batch. Every decoding stream waits through
both. :class:`SeededBatchGenerator` adds :meth:`~SeededBatchGenerator.add`, which prefills the
whole prompt in one pass, takes the logits of its last position only, samples the first token
there, and merges the row straight into the running batch: the next step of the batch decodes
it with the others.

Its decode step (:class:`SeededGenerationBatch`) samples every row in one vectorised call
(:func:`engine.llm.sampling.sample_rows`, Gumbel-max straight from the logits): no
``logsumexp`` over the vocabulary, no per-row calls. A row whose sampler is anything else (a
test's sampler, say) is given log-probabilities, row by row, as mlx-lm gives them; logits
processors take mlx-lm's own step.

Determinism is unchanged: a request is always admitted the same way, alone or batched, and
every operation of the sampler is row-wise. The pieces of ``BatchGenerator`` used here
(``_generation_batch``, ``_uid_count``, ``_stream``, ``GenerationBatch``'s fields) are internal
to mlx-lm and imported through :mod:`engine.llm.mlx_lm_compat` (which lists them and is checked
by ``tests/test_mlx_lm_compat.py``); ``pyproject.toml`` pins ``mlx-lm>=0.32,<0.33``.
"""

from __future__ import annotations

from typing import Any, Sequence

import mlx.core as mx
# mlx-lm internals, isolated (and checked by a test) in one adapter module:
from .mlx_lm_compat import BatchGenerator, GenerationBatch, StopSequences, TokenBuffer, merge_caches

from .cpu import cpu_kernels, native
from .sampling import SeededSampler, sample_rows


_HEADED = ("llama", "qwen2")  # their __call__ is ``head(self.model(inputs, cache))``


def _head(model: Any):
    """The output projection of an mlx-lm llama/qwen2 model, or None for anything else (another
    architecture, or a wrapper around a model, whose own call must run)."""
    import mlx.nn as nn

    if not isinstance(model, nn.Module) or getattr(model, "model_type", None) not in _HEADED:
        return None
    inner = getattr(model, "model", None)
    args = getattr(model, "args", None)
    if inner is None or args is None or not callable(inner):
        return None
    if getattr(args, "tie_word_embeddings", False):
        emb = getattr(inner, "embed_tokens", None)
        return None if emb is None else emb.as_linear
    return getattr(model, "lm_head", None)


def prefill_last_logits(model: Any, ids: Sequence[int], cache: list, step: int = 2048) -> mx.array:
    """Run ``ids`` through ``model`` into ``cache``; the logits of the last position, (1, vocab).

    Only the last position goes through the output projection (for SmolLM2, 49,152 x 576: it
    would be about 7.7 GFLOP for a 136-token prompt); models of another shape run whole and are
    sliced.
    """
    x = mx.array([list(ids)])
    head = _head(model)
    body = model if head is None else model.model  # hidden states only, when the head is known
    step = max(1, int(step))
    with cpu_kernels.engaged(model):
        while x.shape[1] > step:
            body(x[:, :step], cache=cache)
            mx.eval([c.state for c in cache])
            x = x[:, step:]
        out = body(x, cache=cache)[:, -1:, :]
        return (out if head is None else head(out))[:, -1, :]


def prompt_logits(model: Any, ids: Sequence[int], step: int = 2048) -> "Any":
    """The logits (numpy, (vocab,)) that follow ``ids``, prefilled alone into a fresh cache the way
    :meth:`SeededBatchGenerator.add` prefills a request (in C where the model has a native
    prefill, else :func:`prefill_last_logits`): what a request's first token is drawn from. The
    judge (:mod:`engine.judge`) reads its answer here; a prompt is always computed the same way,
    so the same prompt gives the same logits alone or among others. Call on the engine thread."""
    import numpy as np
    from mlx_lm.models.cache import make_prompt_cache

    if not ids:
        raise ValueError("empty prompt")
    dec = native.decoder_for(model)
    if dec is not None and dec.can_prefill:
        row = dec.row_from(None, len(ids) + 1)
        return np.asarray(dec.prefill(row, list(ids)), dtype=np.float64).reshape(-1)
    logits = prefill_last_logits(model, ids, make_prompt_cache(model), step)
    mx.eval(logits)
    return np.asarray(logits.astype(mx.float32), dtype=np.float64).reshape(-1)


def _sample_one(logits: mx.array, sampler: Any) -> mx.array:
    """One row: a :class:`SeededSampler` samples the logits; any other mlx-lm sampler gets
    log-probabilities, as mlx-lm gives it."""
    if type(sampler) is SeededSampler:
        return sample_rows(logits, [sampler])
    return sampler(logits - mx.logsumexp(logits, axis=-1, keepdims=True)).astype(mx.uint32)


def _all_seeded(samplers: Sequence[Any]) -> bool:
    return all(type(s) is SeededSampler for s in samplers)


class SeededGenerationBatch(GenerationBatch):
    """A ``GenerationBatch`` whose step samples all :class:`SeededSampler` rows in one call."""

    @classmethod
    def from_prefill(cls, model: Any, uid: int, first_token: mx.array, first_logits: mx.array,
                     cache: list, tokens: list[int], sampler: Any, stop: StopSequences,
                     max_tokens: int, fallback_sampler: Any) -> "SeededGenerationBatch":
        """A one-row batch whose next input is ``first_token`` (already sampled by the prefill)."""
        b = cls.empty(model, fallback_sampler)  # no step runs for an empty batch
        b.uids = [uid]
        b.prompt_cache = cache
        b.tokens = [tokens]
        b.samplers = [sampler]
        b.logits_processors = [()]
        b.stop_sequences = [stop]
        b.max_tokens = [max_tokens]
        b._current_tokens = None
        b._current_logprobs = []
        b._next_tokens = first_token
        b._next_logprobs = [first_logits[0]]
        b._token_context = [TokenBuffer(tokens)]
        b._num_tokens = [0]
        b._matchers = [stop.matcher()]
        return b

    def _native_step(self, rows: "native.NativeRows"):
        """The whole step in C: the C decode step's logits (numpy) sampled by the C sampler
        (:func:`engine.llm.native.sample`), no MLX graph at all. The "logprobs" are None: the
        engine never reads them."""
        import numpy as np

        self._current_tokens = self._next_tokens
        self._current_logprobs = self._next_logprobs
        ids = np.array(self._current_tokens).reshape(-1)
        logits = self.model.decoder.step_np(ids, rows.rows)
        samplers = self.samplers
        if _all_seeded(samplers):
            self._next_tokens = mx.array(native.sample(logits, samplers), dtype=mx.uint32)
        else:  # a row with another sampler (a test's): the seeded rows still in C, as alone
            seeded = [i for i, s in enumerate(samplers) if type(s) is SeededSampler]
            picks = dict(zip(seeded, native.sample(logits[seeded], [samplers[i] for i in seeded]).tolist())) \
                if seeded else {}
            self._next_tokens = mx.concatenate([
                mx.array([picks[i]], dtype=mx.uint32) if i in picks else _sample_one(mx.array(logits[i:i + 1]), s)
                for i, s in enumerate(samplers)])
        self._next_logprobs = [None] * len(ids)
        inputs = ids.tolist()
        for sti, ti in zip(self.tokens, inputs):
            sti.append(ti)
        return inputs, self._current_logprobs

    def _step(self):
        samplers = self.samplers
        cache = self.prompt_cache
        if (samplers and not any(self.logits_processors) and len(cache) == 1
                and isinstance(cache[0], native.NativeRows) and isinstance(self.model, native.NativeForward)):
            return self._native_step(cache[0])
        if any(self.logits_processors) or not samplers:
            return super()._step()
        self._current_tokens = self._next_tokens
        self._current_logprobs = self._next_logprobs
        inputs = self._current_tokens
        logits = self.model(inputs[:, None], cache=self.prompt_cache)[:, -1, :]
        # The "logprobs" handed on are the raw logits: the engine never reads them, and
        # normalising them would cost a logsumexp over the vocabulary for every row.
        if _all_seeded(samplers):
            self._next_tokens = sample_rows(logits, samplers)
        else:  # a row with another sampler: each row alone, as it would be sampled alone
            self._next_tokens = mx.concatenate([_sample_one(logits[i:i + 1], s)
                                                for i, s in enumerate(samplers)])
        self._next_logprobs = list(logits)
        mx.async_eval(self._next_tokens, self._next_logprobs)
        mx.eval(inputs, self._current_logprobs)
        inputs = inputs.tolist()
        for sti, ti in zip(self.tokens, inputs):
            sti.append(ti)
        return inputs, self._current_logprobs


class SeededBatchGenerator(BatchGenerator):
    """``BatchGenerator`` plus :meth:`add`: admit a prompt with one prefill pass, no extra step."""

    def __init__(self, model: Any, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        # The whole decode step in C where the model has one (engine.llm.native): the batch's
        # model is then a NativeForward, and each row's cache a RowKV inside one NativeRows.
        self._native = native.decoder_for(model)
        self._step_model = model if self._native is None else native.NativeForward(model, self._native)
        self._generation_batch = SeededGenerationBatch.empty(self._step_model, self.sampler)

    def add(self, prompt: Sequence[int], *, max_tokens: int, sampler: Any, cache: list | None = None,
            prefix: Sequence[int] = ()) -> int:
        """Prefill ``prompt`` (after ``prefix``, already in ``cache``: mlx-lm's per-layer caches, or
        a :class:`~engine.llm.native.RowKV` where prompts are prefilled in C), sample its first
        token with ``sampler``, and put the row in the running batch. Returns its uid; its tokens come out of
        :meth:`next` like any other row's (the first one on the next step)."""
        from mlx_lm.models.cache import make_prompt_cache

        if not prompt:
            raise ValueError("empty prompt")
        if max_tokens <= 0:
            raise ValueError(f"max_tokens must be > 0 (got {max_tokens})")
        dec = self._native
        capacity = len(prefix) + len(prompt) + int(max_tokens) + 1  # the whole budget: no reallocation
        with mx.stream(self._stream):
            if dec is not None and dec.can_prefill and (cache is None or isinstance(cache, native.RowKV)):
                # The prompt in C too, after a copy of its cached head (a RowKV) if it has one.
                row = dec.row_from(cache, capacity)
                out = dec.prefill(row, prompt)[None]
                if type(sampler) is SeededSampler:  # its every token from the C sampler
                    first = mx.array(native.sample(out, [sampler]), dtype=mx.uint32)
                    logits = [None]
                else:
                    logits = mx.array(out)
                    first = _sample_one(logits, sampler)
                mx.eval(first)
                batch_cache = [native.NativeRows([row])]
            else:
                if cache is None:
                    cache = make_prompt_cache(self.model, self.max_kv_size)
                logits = prefill_last_logits(self.model, prompt, cache, self.prefill_step_size)
                first = _sample_one(logits, sampler)
                mx.eval(first, [c.state for c in cache])
                batch_cache = ([native.NativeRows([dec.new_row(cache, capacity)])] if dec is not None
                               else merge_caches([cache]))
            row = SeededGenerationBatch.from_prefill(
                self._step_model, self._uid_count, first, logits, batch_cache,
                list(prefix) + list(prompt), sampler, self._default_stop_sequences, int(max_tokens),
                self.sampler)
            self._generation_batch.extend(row)
        uid = self._uid_count
        self._uid_count += 1
        return uid
