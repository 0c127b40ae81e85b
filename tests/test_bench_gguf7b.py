"""tools/bench/gguf7b.py: the 7B-shaped Q4_K_M file has Qwen2.5-7B's tensors (names, shapes, the
Q4_K_M mix of types), written one tensor at a time; a small-shaped one imports and decodes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tools.bench import gguf7b  # noqa: E402


def test_the_plan_is_qwen2_5_7b_in_the_q4_k_m_mix():
    plan = gguf7b.tensor_plan()
    names = {n: (s, t) for n, s, t in plan}
    assert len(plan) == 3 + 28 * 12 == 339  # the real file's tensor count
    assert names["token_embd.weight"] == ((152064, 3584), "Q4_K")
    assert names["output.weight"] == ((152064, 3584), "Q6_K")
    assert names["blk.0.attn_q.weight"] == ((3584, 3584), "Q4_K")
    assert names["blk.0.attn_k.weight"] == ((512, 3584), "Q4_K")
    assert names["blk.0.attn_q.bias"] == ((3584,), "F32")
    assert names["blk.5.ffn_gate.weight"] == ((18944, 3584), "Q4_K")
    assert names["blk.5.ffn_down.weight"][0] == (3584, 18944)
    six = [i for i in range(28) if names[f"blk.{i}.ffn_down.weight"][1] == "Q6_K"]
    assert six == [i for i in range(28) if names[f"blk.{i}.attn_v.weight"][1] == "Q6_K"]
    assert six[:4] == [0, 1, 2, 5] and six[-3:] == [25, 26, 27]  # llama.cpp's use_more_bits
    params = sum(int(np.prod(s)) for s, _ in names.values())
    assert 7.6e9 < params < 7.7e9  # Qwen2.5-7B: 7.62 billion


def test_a_small_shaped_file_imports_and_decodes(tmp_path):
    from engine.llm import models, native
    from engine.llm.gguf_import import import_gguf

    shape = dict(gguf7b.SHAPE, hidden=256, layers=2, heads=2, kv_heads=1, head_dim=128, inter=512, vocab=512)
    res = gguf7b.write(tmp_path / "small.gguf", shape=shape)
    assert res["tensors"] == 3 + 2 * 12
    folder = import_gguf(tmp_path / "small.gguf", tmp_path / "models", "small")
    rec = json.loads((folder / "gguf_import.json").read_text())
    want: dict = {}
    for _, _, t in gguf7b.tensor_plan(shape):
        want[t] = want.get(t, 0) + 1
    assert rec["tensor_types"] == want and want["Q6_K"] == 3  # output, and layer 1's attn_v, ffn_down
    cfg = json.loads((folder / "config.json").read_text())
    assert (cfg["hidden_size"], cfg["num_key_value_heads"], cfg["tie_word_embeddings"]) == (256, 1, False)
    lm = models.load_model(folder)
    dec = native.decoder_for(lm.model)
    if dec is None:
        pytest.skip(f"not the C path here: {lm.info.get('decode_step')}")
    row = dec.row_from(None, 16)
    logits = dec.prefill(row, lm.tokenizer.encode("hello world"))
    assert logits.shape == (512,) and np.isfinite(logits).all()
    step = dec.step_np(np.array([int(np.argmax(logits))]), [row])
    assert np.isfinite(step).all()
