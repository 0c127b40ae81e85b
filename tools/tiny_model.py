"""A tiny randomly initialised llama and a byte-level tokenizer, and wrappers that inject faults.

The model ``texture robustness`` breaks on purpose (a wrong vocabulary, a model that never stops,
one that raises mid-batch), and the fast model of the tests (``tests/fakes.py`` re-exports it):
mlx-lm's habit of testing with tiny random models, so nothing needs a download. Not product code:
nothing under ``engine/`` or ``console/`` imports it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path


CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_tokenizer():
    """A byte-level BPE tokenizer (259 tokens) wrapped like mlx-lm wraps real ones."""
    from mlx_lm.tokenizer_utils import BPEStreamingDetokenizer, TokenizerWrapper
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tok = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", bos_token="<|endoftext|>",
                                 unk_token="<|endoftext|>")
    hf.chat_template = CHAT_TEMPLATE
    return TokenizerWrapper(hf, detokenizer_class=BPEStreamingDetokenizer), hf


TINY_ARGS = dict(model_type="llama", hidden_size=64, num_hidden_layers=2, intermediate_size=128,
                 num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, tie_word_embeddings=True)


def tiny_model(vocab_size: int, seed: int = 0):
    import mlx.core as mx
    from mlx_lm.models import llama

    mx.random.seed(seed)
    model = llama.Model(llama.ModelArgs(vocab_size=vocab_size, **TINY_ARGS))
    mx.eval(model.parameters())
    return model


def write_tiny_model_folder(folder: Path, *, vocab_size: int | None = None) -> Path:
    """A loadable mlx-lm model folder (tiny random llama + byte tokenizer); ``vocab_size`` smaller
    than the tokenizer makes a mismatched pair."""
    import mlx.core as mx
    from mlx.utils import tree_flatten

    folder.mkdir(parents=True, exist_ok=True)
    wrapper, hf = tiny_tokenizer()
    n = vocab_size or len(hf)
    model = tiny_model(n)
    mx.save_safetensors(str(folder / "model.safetensors"), dict(tree_flatten(model.parameters())))
    (folder / "config.json").write_text(json.dumps({**TINY_ARGS, "vocab_size": n}), encoding="utf-8")
    hf.save_pretrained(str(folder))
    return folder


class WrapModel:
    """Wraps a model's forward: ``before(inputs)`` runs first, ``after(logits)`` changes the result."""

    def __init__(self, inner, before=None, after=None):
        self.inner, self.before, self.after = inner, before, after
        self.layers = inner.layers

    def __call__(self, inputs, cache=None, **kw):
        if self.before is not None:
            self.before(inputs)
        out = self.inner(inputs, cache=cache, **kw)
        return self.after(out) if self.after is not None else out

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _eos_ids(tok) -> list[int]:
    ids = getattr(tok, "eos_token_ids", None) or [tok.eos_token_id]
    return sorted(int(t) for t in ids)


def eos_only(inner, tok):
    import mlx.core as mx

    eos = _eos_ids(tok)[0]

    def after(logits):
        v = logits.shape[-1]
        return mx.where(mx.arange(v) == eos, 100.0, -100.0).astype(logits.dtype) * mx.ones_like(logits)

    return WrapModel(inner, after=after)


def never_stops(inner, tok, step_delay_s: float = 0.02):
    import mlx.core as mx

    eos = _eos_ids(tok)

    def after(logits):
        v = logits.shape[-1]
        mask = mx.zeros((v,), dtype=logits.dtype)
        for e in eos:
            mask = mx.where(mx.arange(v) == e, -1e9, mask)
        return logits + mask

    return WrapModel(inner, before=lambda _i: time.sleep(step_delay_s), after=after)


def raises_after(inner, calls: int):
    state = {"n": 0}

    def before(_inputs):
        state["n"] += 1
        if state["n"] > calls:
            raise RuntimeError(f"injected fault: forward pass {state['n']} failed")

    return WrapModel(inner, before=before)


def tiny_loader(wrap=None):
    def load():
        tok, hf = tiny_tokenizer()
        model = tiny_model(len(hf))
        if wrap is not None:
            model = wrap(model, tok)
        return model, tok, {"model_id": "tiny-fault-model"}
    return load
