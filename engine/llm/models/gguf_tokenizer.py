"""GGUF vocabularies into Hugging Face ``tokenizers`` files: byte-level BPE (``gpt2``: Qwen2.5,
Llama 3.x, SmolLM2) with llama.cpp's pre-tokenizer regexes, or SentencePiece (``llama``), plus the
chat template and special tokens. Part of :mod:`engine.llm.gguf_import` (split from it for length).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .folders import GGUFImportError

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _field_value(reader: Any, key: str, default: Any = None) -> Any:
    field = reader.fields.get(key)
    if field is None:
        return default
    try:
        value = field.contents()
    except Exception:  # pragma: no cover - very old gguf packages
        if not field.data:
            return default
        part = field.parts[field.data[0]]
        value = part.tobytes().decode("utf-8") if part.dtype == np.uint8 else part[0]
    if isinstance(value, np.generic):
        value = value.item()
    return value


# Pre-tokenizer regexes used by llama.cpp for the "tokenizer.ggml.pre" names.
_QWEN2_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_LLAMA3_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _pre_tokenizer(pre: str):
    from tokenizers import Regex, pre_tokenizers

    if pre in ("qwen2", "deepseek-r1-qwen"):
        return pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(_QWEN2_REGEX), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    if pre in ("llama-bpe", "llama3", "smaug-bpe"):
        return pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(_LLAMA3_REGEX), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    if pre in ("smollm", "starcoder", "refact"):
        return pre_tokenizers.Sequence(
            [
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
            ]
        )
    # "gpt2", "default", unknown: plain GPT-2 byte-level pre-tokenization.
    return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)


# GGUF token types (llama.cpp's llama_token_type)
_TT_NORMAL, _TT_UNKNOWN, _TT_CONTROL, _TT_USER, _TT_UNUSED, _TT_BYTE = 1, 2, 3, 4, 5, 6


def _spm_merges(tokens: list[str], types: list[int], scores: list[float]) -> list[tuple[str, str]]:
    """BPE merges equivalent to llama.cpp's SentencePiece tokenizer.

    llama.cpp (llm_tokenizer_spm) starts from the text's characters and repeatedly joins the
    adjacent pair whose concatenation is a vocabulary piece with the highest score. That is BPE
    with one merge per way of splitting each (normal) piece in two vocabulary pieces, ranked by
    the joined piece's score (ties: lower token id first).
    """
    ids: dict[str, int] = {}
    for i, t in enumerate(tokens):
        if int(types[i]) in (_TT_NORMAL, _TT_USER):
            ids.setdefault(t, i)
    ranked = []
    for piece, i in ids.items():
        if len(piece) < 2:
            continue
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in ids and right in ids:
                ranked.append((-float(scores[i]), i, ids[left], ids[right], left, right))
    ranked.sort()
    return [(r[4], r[5]) for r in ranked]


def _spm_tokenizer(reader: Any, tokens: list[str], types: list[int], vocab: dict[str, int],
                   merges: list[tuple[str, str]]) -> Any:
    """A ``tokenizers`` BPE that tokenizes like llama.cpp's SentencePiece ("llama") vocabulary:
    spaces become "▁", a "▁" is put in front of the text (and after every special token, as
    llama.cpp does) when ``tokenizer.ggml.add_space_prefix`` (default true), characters
    missing from the vocabulary fall back to the <0xXX> byte pieces."""
    from tokenizers import Tokenizer, decoders, models, normalizers

    scores = _field_value(reader, "tokenizer.ggml.scores")
    if scores is None:
        if not merges:
            raise GGUFImportError(
                "SentencePiece tokenizer without scores (tokenizer.ggml.scores) or merges"
            )
    elif len(scores) != len(tokens):
        raise GGUFImportError(f"tokenizer has {len(tokens)} tokens but {len(scores)} scores")
    if not merges:
        merges = _spm_merges(tokens, types, scores)
    unk_id = _field_value(reader, "tokenizer.ggml.unknown_token_id")
    if unk_id is None:
        unk_id = next((i for i, ty in enumerate(types) if int(ty) == _TT_UNKNOWN), None)
    unk = tokens[int(unk_id)] if unk_id is not None and 0 <= int(unk_id) < len(tokens) else None
    has_bytes = any(int(ty) == _TT_BYTE for ty in types)
    bpe = models.BPE(vocab=vocab, merges=merges, unk_token=unk, fuse_unk=True, byte_fallback=has_bytes)
    tok = Tokenizer(bpe)
    add_prefix = bool(_field_value(reader, "tokenizer.ggml.add_space_prefix", True))
    # A normalizer, not a Metaspace pre-tokenizer: that one does not prepend to a text already
    # starting with a space, llama.cpp does. Normalizers run on each stretch between special
    # tokens, so the prefix also follows every special token, as in llama.cpp.
    steps_n = [normalizers.Replace(" ", "\u2581")]
    if add_prefix:
        steps_n.insert(0, normalizers.Prepend("\u2581"))
    tok.normalizer = normalizers.Sequence(steps_n)
    steps = [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()]
    if add_prefix:
        steps.append(decoders.Strip(" ", 1, 0))
    tok.decoder = decoders.Sequence(steps)
    return tok


def _build_tokenizer(reader: Any, arch: str, n_vocab_rows: int) -> tuple[Any, dict[str, Any]]:
    from tokenizers import AddedToken, Tokenizer, decoders, models, processors

    tok_model = _field_value(reader, "tokenizer.ggml.model")
    if tok_model is None:
        raise GGUFImportError("the file has no tokenizer (tokenizer.ggml.model missing)")
    if tok_model not in ("gpt2", "llama"):
        raise GGUFImportError(
            f"tokenizer type {tok_model!r} is not supported (supported: GPT-2 style "
            "byte-level BPE 'gpt2' and SentencePiece BPE 'llama')"
        )
    tokens = _field_value(reader, "tokenizer.ggml.tokens")
    merges = _field_value(reader, "tokenizer.ggml.merges") or []
    types = _field_value(reader, "tokenizer.ggml.token_type") or [1] * len(tokens or [])
    if not tokens:
        raise GGUFImportError("the file has an empty tokenizer vocabulary")
    if len(tokens) > n_vocab_rows:
        raise GGUFImportError(
            f"tokenizer has {len(tokens)} tokens but the embedding has only "
            f"{n_vocab_rows} rows"
        )
    if len(types) != len(tokens):
        raise GGUFImportError(
            f"tokenizer has {len(tokens)} tokens but {len(types)} token types"
        )
    vocab = {}
    for i, t in enumerate(tokens):
        vocab.setdefault(t, i)
    merge_pairs = []
    for m in merges:
        a, sep, b = m.partition(" ")
        if not sep:
            raise GGUFImportError(f"malformed BPE merge {m!r}")
        merge_pairs.append((a, b))
    if tok_model == "llama":
        tok = _spm_tokenizer(reader, tokens, types, vocab, merge_pairs)
    else:
        bpe = models.BPE(vocab=vocab, merges=merge_pairs, fuse_unk=False, byte_fallback=False)
        tok = Tokenizer(bpe)
        pre = str(_field_value(reader, "tokenizer.ggml.pre", "default"))
        tok.pre_tokenizer = _pre_tokenizer(pre)
        tok.decoder = decoders.ByteLevel()

    special: list[AddedToken] = []
    user: list[AddedToken] = []
    for i, (t, ty) in enumerate(zip(tokens, types)):
        if int(ty) == 3:  # CONTROL
            special.append(AddedToken(t, special=True, normalized=False))
        elif int(ty) == 4:  # USER_DEFINED
            user.append(AddedToken(t, special=False, normalized=False))
    if special:
        tok.add_special_tokens(special)
    if user:
        tok.add_tokens(user)

    def tok_str(key: str) -> str | None:
        idx = _field_value(reader, f"tokenizer.ggml.{key}")
        if idx is None or not (0 <= int(idx) < len(tokens)):
            return None
        return tokens[int(idx)]

    bos, eos = tok_str("bos_token_id"), tok_str("eos_token_id")
    pad, unk = tok_str("padding_token_id"), tok_str("unknown_token_id")
    add_bos = bool(_field_value(reader, "tokenizer.ggml.add_bos_token", False))
    if add_bos and bos is not None:
        bos_id = int(_field_value(reader, "tokenizer.ggml.bos_token_id"))
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)]
        )
    elif tok_model == "gpt2":
        tok.post_processor = processors.ByteLevel(trim_offsets=False)

    template = _field_value(reader, "tokenizer.chat_template") or CHATML_TEMPLATE
    tcfg: dict[str, Any] = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "add_bos_token": add_bos,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": int(_field_value(reader, f"{arch}.context_length", 4096)),
        "chat_template": template,
    }
    for key, val in (("bos_token", bos), ("eos_token", eos), ("pad_token", pad), ("unk_token", unk)):
        if val is not None:
            tcfg[key] = val
    return tok, tcfg
