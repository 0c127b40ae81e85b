"""The engine thread's decode lanes: tokenize a request, prefill it (its shared prompt head from an
LRU of KV caches), admit waiting requests into free lanes, step the batch, stream text, stop at
a deadline or the sentence stop, and recover from a failed step.

A mixin of :class:`~engine.llm.generator.GenerationEngine` (split from it for length): every
method runs on the engine thread and uses the engine's state (``_active``, ``_waiting``,
``_solo``, ``_bg``, ``_prefixes``, ...), set up in ``GenerationEngine.__init__``; the emission
methods (``_emit``, ``_finish_place``) are the engine's.
"""

from __future__ import annotations

import logging
import time

from .events import DRAINED_DETAIL, PlaceStarted, Tokens
from .jobs import GenRequest, _Active, _done_sentences

log = logging.getLogger("engine.llm.generator")  # the logger these messages always had

PREFIX_CACHE_ENTRIES = 8  # distinct prompt heads kept (a few MB each for a 7B model)
MIN_PREFIX_TOKENS = 8


class DecodeLanes:
    """Tokenize, prefill, admit, step: the decode half of the engine thread (see the module doc)."""

    def _tokenize(self, req: GenRequest) -> list[int]:
        tok = self.tokenizer
        msgs = [{"role": "user", "content": req.prompt}]
        if getattr(tok, "has_chat_template", False) or getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(msgs, add_generation_prompt=True)
            if isinstance(ids, dict) or hasattr(ids, "keys"):
                ids = ids["input_ids"]
        else:
            ids = tok.encode(req.prompt)
        ids = [int(t) for t in ids]
        if not ids:
            raise ValueError("empty prompt after tokenization")
        return ids

    def _tokenize_text(self, text: str) -> list[int]:
        return self._tokenize(GenRequest("", text, 0, 1))

    def _split_point(self, req: GenRequest, ids: list[int]) -> int:
        """How many leading prompt tokens are prefilled on their own (and shared between requests).

        The head is the chat scaffolding plus the prompt file's static head (``req.head``
        characters, :attr:`engine.prompts.Prompt.head`: the default prompt's instructions and
        worked example), or without one the user prompt's first line: with the seed's prompt,
        "<system prompt> ... Enhance this location description with current conditions:". It
        is the same for every place, so its KV cache is computed once and reused
        (:meth:`_prefix_caches`). The split is a function of the request alone, never of
        what happens to be cached, so a prompt is always computed the same way: alone or in a
        batch, first or hundredth, in this process or another.
        """
        if not self._prefix_ok:
            return 0
        if 0 < req.head < len(req.prompt) and req.prompt[req.head:].strip():
            cut = req.head  # the prompt file's static head (GenRequest.head)
        else:
            cut = req.prompt.find("\n") + 1
            if cut <= 0 or not req.prompt[cut:].strip():
                return 0
        head = self._tokenize_text(req.prompt[:cut])
        n = 0
        for a, b in zip(head, ids):
            if a != b:
                break
            n += 1
        n = min(n, len(ids) - 2)  # the rest keeps at least two tokens (the last one starts decoding)
        return n if n >= MIN_PREFIX_TOKENS else 0

    def _prefix_caches(self, prefix: tuple[int, ...]) -> tuple[list, bool]:
        """Fresh per-request KV caches holding ``prefix`` (computed once, then copied from an LRU),
        and whether it came from the LRU. Where prompts are prefilled in C (engine.llm.native),
        the LRU's :class:`~engine.llm.native.RowKV` itself, which each request copies."""
        import mlx.core as mx
        from mlx_lm.models.cache import KVCache, make_prompt_cache

        from .cpu import native

        dec = native.decoder_for(self.model)
        if dec is not None and dec.can_prefill:  # prompts are prefilled in C: the head is a RowKV
            def compute_row():
                head = dec.row_from(None, len(prefix))
                dec.prefill(head, prefix, logits=False)
                return head  # never written again: each request copies it

            return self._cached_head(prefix, compute_row)

        def compute_states():
            cache = make_prompt_cache(self.model)
            with mx.stream(self._stream):
                self.model(mx.array([list(prefix)]), cache=cache)
                states = [(c.keys[..., :c.offset, :], c.values[..., :c.offset, :]) for c in cache]
                mx.eval(states)
            return states

        states, hit = self._cached_head(prefix, compute_states)
        out = []
        for k, v in states:
            c = KVCache()
            # Exactly full: the first write reallocates, so the shared arrays are never written.
            c.keys, c.values, c.offset = k, v, k.shape[2]
            out.append(c)
        return out, hit

    def _cached_head(self, prefix: tuple[int, ...], compute) -> tuple[object, bool]:
        """The LRU of prompt heads: ``prefix``'s entry (``compute()`` it on a miss, evicting the
        oldest past PREFIX_CACHE_ENTRIES), and whether it was there."""
        entry = self._prefixes.get(prefix)
        if entry is None:
            entry = self._prefixes[prefix] = compute()
            self._prefix_stats["computed"] += 1
            while len(self._prefixes) > PREFIX_CACHE_ENTRIES:
                self._prefixes.popitem(last=False)
            return entry, False
        self._prefixes.move_to_end(prefix)
        self._prefix_stats["reused"] += 1
        return entry, True

    def _keep_ids(self, req: GenRequest) -> tuple[int, ...]:
        """The first token of each word of ``req.keep``, as the model writes it after a space and
        at the start of a sentence (capitalised): the ids the keep bias nudges toward."""
        if not req.keep or not req.keep_bias:
            return ()
        ids: set[int] = set()
        for phrase in req.keep:
            for w in phrase.split():
                for form in (" " + w, " " + w[:1].upper() + w[1:], w[:1].upper() + w[1:]):
                    toks = self.tokenizer.encode(form, add_special_tokens=False) if hasattr(
                        self.tokenizer, "encode") else []
                    if toks:
                        ids.add(int(toks[0]))
        return tuple(sorted(ids))

    def _insert(self, st: _Active) -> bool:
        """Insert one request into the batch generator; on failure finish it "error"."""
        from .sampling import make_request_sampler

        req = st.req
        try:
            if req.max_tokens < 1:
                raise ValueError(f"max_tokens must be >= 1 (got {req.max_tokens})")
            ids = self._tokenize(req)
            sampler = (self._sampler_factory(req) if self._sampler_factory is not None
                       else make_request_sampler(req.seed, req.temperature, req.repetition_penalty,
                                                 self._keep_ids(req), req.keep_bias))
            head = self._split_point(req, ids)
            caches, hit = self._prefix_caches(tuple(ids[:head])) if head else (None, False)
            if self._bg is None:
                self._bg = self._new_bg()
            # Each prompt is prefilled alone (its shared head from a cache computed the same
            # way), ending in its first sampled token: the same shapes as when it runs alone.
            uid = self._bg.add(ids[head:], max_tokens=req.max_tokens, sampler=sampler, cache=caches,
                               prefix=ids[:head])
            if hit:
                st.job._prefix_tokens += head
        except Exception as e:
            self._finish_place(st, st.job, req, st.lane, None, "error", f"{type(e).__name__}: {e}", 0)
            return False
        st.uid = uid
        st.n = 0
        st.ids = []
        st.detok = self.tokenizer.detokenizer
        st.pending_delta = ""
        st.checked = 0
        self._active[uid] = st
        return True

    def _admit(self) -> None:
        if self._solo:
            # isolation mode after a batched failure: one request at a time, nothing new
            while not self._active and self._solo:
                self._insert(self._solo.popleft())
            return
        while self._waiting and len(self._active) < self.concurrency:
            job, req = self._waiting.popleft()
            if job.drained and not job.cancelled:  # drained since _handle_drains looked
                self._finish_place(None, job, req, -1, None, "drained", DRAINED_DETAIL, 0)
                continue
            lane = min(set(range(self.concurrency)) - {s.lane for s in self._active.values()})
            now = time.perf_counter()
            st = _Active(job, req, lane, now, last_flush=now)
            if job._t_first_start is None:
                job._t_first_start = now
            self._emit(job, PlaceStarted(req.key, lane, req.deadline_s))
            self._insert(st)

    def _check_deadlines(self) -> None:
        now = time.perf_counter()
        late = [uid for uid, st in self._active.items()
                if st.req.deadline_s is not None and now - st.t0 > st.req.deadline_s]
        if not late:
            return
        self._bg.remove(late)
        for uid in late:
            st = self._active.pop(uid)
            el = now - st.t0
            self._finish_place(st, st.job, st.req, st.lane, None, "timeout",
                               f"timeout after {el:.2f} s at {st.n}/{st.req.max_tokens} tokens "
                               f"(deadline {st.req.deadline_s:.2f} s)", st.n, now)

    def _step(self) -> None:
        bg = self._bg
        tic = time.perf_counter()
        try:
            _, responses = bg.next()
        except Exception as e:
            self._on_step_error(e)
            return
        now = time.perf_counter()
        if responses:
            dt = (now - tic)
            self._step_s_ema = dt if self._step_s_ema is None else 0.9 * self._step_s_ema + 0.1 * dt
        active = self._active
        flush_after = self._token_interval_s
        done_early: list[int] = []
        for r in responses:
            st = active.get(r.uid)
            if st is None:
                continue
            fr = r.finish_reason
            if fr != "stop":  # "stop" = the EOS token itself, not part of the text
                st.ids.append(r.token)
                st.n += 1
                st.detok.add_token(r.token)
                if st.ttft is None:
                    st.ttft = now - st.t0
                # The sentence stop: the description is done once its last sentence is complete
                # (a function of this request's own tokens only: batch-invariant).
                if fr is None and st.req.stop_sentences > 0 and _done_sentences(st):
                    fr = "sentences"
                    done_early.append(r.uid)
            if fr is not None:
                del active[r.uid]
                st.detok.finalize()
                text = st.detok.text
                if not st.solo:
                    st.pending_delta += st.detok.last_segment
                self._finish_place(st, st.job, st.req, st.lane, text, None, "", st.n, now)
                continue
            if st.solo:
                continue  # re-run after a failure: its text was streamed already; finish sends the rest
            seg = st.detok.last_segment
            if seg:
                st.pending_delta += seg
                if now - st.last_flush >= flush_after:
                    self._emit(st.job, Tokens(st.req.key, st.lane, st.pending_delta, st.n))
                    st.emitted += len(st.pending_delta)
                    st.pending_delta = ""
                    st.last_flush = now
        if done_early:
            try:
                bg.remove(done_early)
            except Exception as e:  # the batch's state is unknown: rebuild it as after a failed step
                self._on_step_error(e)

    def _on_step_error(self, e: Exception) -> None:
        detail = f"{type(e).__name__}: {e}"
        log.warning("generation step failed: %s", detail)
        self._bg = None  # its state is unknown after an exception: rebuild
        victims = sorted(self._active.values(), key=lambda s: s.lane)
        self._active.clear()
        if len(victims) == 1:
            st = victims[0]
            self._finish_place(st, st.job, st.req, st.lane, None, "error", detail, st.n)
            return
        for st in victims:
            # re-run alone (deterministic: the same tokens come again; already-sent text is skipped)
            st.solo = True
            st.pending_delta = ""
            self._solo.append(st)
