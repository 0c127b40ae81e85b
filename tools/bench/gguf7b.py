"""A Qwen2.5-7B-shaped Q4_K_M GGUF file with random weights, for memory and speed figures.

Speed and memory do not depend on the weights' values, only on their shapes and types, so the
seed's production model (Qwen2.5-7B-Instruct Q4_K_M, 4.7 GB) can be measured without fetching
it. The file holds the real model's tensors: the same names, shapes and types as llama.cpp's
Q4_K_M mix (``llama-quantize``'s rules for qwen2):

* ``token_embd`` Q4_K, ``output`` Q6_K, the norms F32, the q/k/v biases F32;
* per layer ``attn_q``, ``attn_k``, ``attn_output``, ``ffn_gate``, ``ffn_up`` Q4_K; ``attn_v`` and
  ``ffn_down`` Q6_K on the layers llama.cpp gives more bits (the first and last eighth of the
  layers and every third between), Q4_K on the others.

Shapes (Qwen2.5-7B-Instruct's config.json): hidden 3584, 28 layers, 28 query heads and 4 KV heads
of 128, intermediate 18944, vocabulary 152064 rows, untied output projection, RoPE base 1e6,
RMSNorm eps 1e-6. The K-quant blocks are random bytes with their float16 scales set to small
finite values (the block layouts are ggml's). The tokenizer is Qwen2.5's own, copied from a
Qwen2.5 GGUF given with ``--tokenizer-from`` (the 1.5B file, same vocabulary) and padded to the
152064 rows with ``[PAD<n>]`` tokens as llama.cpp's converter does; without one, a byte-level
vocabulary of the same size.

The file is written tensor by tensor (``GGUFWriter.add_tensor_info`` then ``write_tensor_data``):
the writer never holds more than one tensor.

    python -m tools.bench.gguf7b OUT.gguf [--tokenizer-from qwen2.5-coder-1.5b-instruct-q4_k_m.gguf]
        [--layers 28]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

SHAPE = {"hidden": 3584, "layers": 28, "heads": 28, "kv_heads": 4, "head_dim": 128, "inter": 18944,
         "vocab": 152064, "rope_base": 1000000.0, "eps": 1e-6, "context": 32768}


def use_more_bits(i: int, n: int) -> bool:
    """llama.cpp's rule for the layers whose attn_v / ffn_down get Q6_K in a Q4_K_M mix."""
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def tensor_plan(shape: dict = SHAPE) -> list[tuple[str, tuple[int, ...], str]]:
    """(GGUF name, numpy shape (out, in), type name) of every tensor, in the file's order."""
    h, n, inter = shape["hidden"], shape["layers"], shape["inter"]
    qd, kd = shape["heads"] * shape["head_dim"], shape["kv_heads"] * shape["head_dim"]
    plan = [("token_embd.weight", (shape["vocab"], h), "Q4_K")]
    for i in range(n):
        more = use_more_bits(i, n)
        plan += [
            (f"blk.{i}.attn_norm.weight", (h,), "F32"),
            (f"blk.{i}.attn_q.weight", (qd, h), "Q4_K"),
            (f"blk.{i}.attn_q.bias", (qd,), "F32"),
            (f"blk.{i}.attn_k.weight", (kd, h), "Q4_K"),
            (f"blk.{i}.attn_k.bias", (kd,), "F32"),
            (f"blk.{i}.attn_v.weight", (kd, h), "Q6_K" if more else "Q4_K"),
            (f"blk.{i}.attn_v.bias", (kd,), "F32"),
            (f"blk.{i}.attn_output.weight", (h, qd), "Q4_K"),
            (f"blk.{i}.ffn_norm.weight", (h,), "F32"),
            (f"blk.{i}.ffn_gate.weight", (inter, h), "Q4_K"),
            (f"blk.{i}.ffn_up.weight", (inter, h), "Q4_K"),
            (f"blk.{i}.ffn_down.weight", (h, inter), "Q6_K" if more else "Q4_K"),
        ]
    plan += [("output_norm.weight", (h,), "F32"), ("output.weight", (shape["vocab"], h), "Q6_K")]
    return plan


def _random_blocks(rng: np.random.Generator, qtype, rows: int, cols: int) -> np.ndarray:
    """Random K-quant blocks (rows, bytes per row) with small finite float16 scales."""
    import gguf

    block, nbytes = gguf.GGML_QUANT_SIZES[qtype]
    nblk = cols // block
    raw = rng.integers(0, 256, size=(rows, nblk, nbytes), dtype=np.uint8)
    if qtype.name == "Q4_K":  # f16 d, f16 dmin, scales[12], qs[128]
        raw[:, :, 0:2] = np.frombuffer(np.float16(2e-3).tobytes(), np.uint8)
        raw[:, :, 2:4] = np.frombuffer(np.float16(1e-3).tobytes(), np.uint8)
    elif qtype.name == "Q6_K":  # ql[128], qh[64], int8 scales[16], f16 d
        raw[:, :, 208:210] = np.frombuffer(np.float16(1e-4).tobytes(), np.uint8)
    return raw.reshape(rows, nblk * nbytes)


def _tokenizer(src: Path | None, vocab: int) -> dict:
    """tokens, types, merges, special ids and the chat template: Qwen2.5's from ``src``, padded."""
    tokens: list[str]
    if src is not None:
        import gguf

        from engine.llm.gguf_tokenizer import _field_value

        r = gguf.GGUFReader(str(src), "r")
        tokens = list(_field_value(r, "tokenizer.ggml.tokens"))
        types = [int(t) for t in _field_value(r, "tokenizer.ggml.token_type")]
        merges = list(_field_value(r, "tokenizer.ggml.merges") or [])
        extra = {k: _field_value(r, f"tokenizer.ggml.{k}") for k in ("eos_token_id", "bos_token_id", "padding_token_id")}
        template = _field_value(r, "tokenizer.chat_template")
        pre = _field_value(r, "tokenizer.ggml.pre") or "qwen2"
        del r
    else:
        from tests.conftest_llm import build_vocab  # a byte-level BPE vocabulary (the tests' own)

        tokens, types, merges = build_vocab()
        tokens[0:3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        extra = {"eos_token_id": 2, "bos_token_id": 0, "padding_token_id": 0}
        template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
        pre = "default"
    for i in range(len(tokens), vocab):  # llama.cpp's converter pads the vocabulary so
        tokens.append(f"[PAD{i}]")
        types.append(4)  # USER_DEFINED
    return {"tokens": tokens[:vocab], "types": types[:vocab], "merges": merges, "ids": extra,
            "template": template, "pre": pre}


def write(out: Path, tokenizer_from: Path | None = None, layers: int | None = None, seed: int = 0,
          log=lambda m: None, shape: dict | None = None) -> dict:
    """Write the file (``shape``: other sizes than the 7B's, for tests); its size, tensor count and
    the seconds it took."""
    import gguf
    from gguf import GGMLQuantizationType as QT

    shape = dict(shape or SHAPE)
    shape["layers"] = layers or shape["layers"]
    t0 = time.perf_counter()
    w = gguf.GGUFWriter(str(out), "qwen2")
    w.add_name("Qwen2.5-7B-Instruct-shaped (random weights)")
    w.add_block_count(shape["layers"])
    w.add_context_length(shape["context"])
    w.add_embedding_length(shape["hidden"])
    w.add_feed_forward_length(shape["inter"])
    w.add_head_count(shape["heads"])
    w.add_head_count_kv(shape["kv_heads"])
    w.add_layer_norm_rms_eps(shape["eps"])
    w.add_rope_freq_base(shape["rope_base"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    tok = _tokenizer(tokenizer_from, shape["vocab"])
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(tok["pre"])
    w.add_token_list(tok["tokens"])
    w.add_token_types(tok["types"])
    if tok["merges"]:
        w.add_token_merges(tok["merges"])
    ids = tok["ids"]
    if ids.get("eos_token_id") is not None:
        w.add_eos_token_id(int(ids["eos_token_id"]))
    if ids.get("bos_token_id") is not None:
        w.add_bos_token_id(int(ids["bos_token_id"]))
    if ids.get("padding_token_id") is not None:
        w.add_pad_token_id(int(ids["padding_token_id"]))
    w.add_add_bos_token(False)
    if tok["template"]:
        w.add_chat_template(tok["template"])
    plan = tensor_plan(shape)
    for name, shp, tname in plan:
        qt = QT[tname]
        if tname == "F32":
            w.add_tensor_info(name, shp, np.dtype(np.float32), int(np.prod(shp)) * 4)
        else:
            block, nbytes = gguf.GGML_QUANT_SIZES[qt]
            rows, cols = shp
            w.add_tensor_info(name, (rows, cols // block * nbytes), np.dtype(np.uint8), rows * cols // block * nbytes,
                              raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    rng = np.random.default_rng(seed)
    for i, (name, shp, tname) in enumerate(plan):
        if tname == "F32":
            if name.endswith("norm.weight"):
                arr = np.ones(shp, np.float32)
            else:
                arr = rng.normal(0, 0.02, shp).astype(np.float32)
        else:
            arr = _random_blocks(rng, QT[tname], *shp)
        w.write_tensor_data(arr)
        del arr
        if i % 24 == 0:
            log(f"  {i + 1}/{len(plan)} tensors written")
    w.close()
    return {"path": str(out), "bytes": out.stat().st_size, "tensors": len(plan), "layers": shape["layers"],
            "seconds": round(time.perf_counter() - t0, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.bench.gguf7b", description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--tokenizer-from", type=Path, default=None, metavar="QWEN2.5.gguf",
                    help="copy Qwen2.5's tokenizer from this GGUF file (default: a byte-level vocabulary)")
    ap.add_argument("--layers", type=int, default=None, help="fewer layers, for a quick test (default 28)")
    a = ap.parse_args(argv)
    if a.tokenizer_from is not None and not a.tokenizer_from.is_file():
        print(f"--tokenizer-from {a.tokenizer_from}: no such file", file=sys.stderr)
        return 2
    res = write(a.out, a.tokenizer_from, a.layers, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"wrote {res['path']}: {res['bytes'] / 1e9:.2f} GB, {res['tensors']} tensors, {res['layers']} layers, "
          f"{res['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
