"""Qwen2.5 (qwen2: biases on q/k/v) through the whole C path on the real file: the official
Qwen2.5-Coder-1.5B-Instruct Q4_K_M (the shared ``models/fetch-qwen2.5-coder-1.5b.sh`` script assembles it
into ``~/.cache/world-texture/real-models/``; skipped while it is absent or incomplete).

Loaded as the product loads it (its 4-bit matrices read in place by q4.c, q8 the only copy of the
8-bit ones, prompts on the blocked products, embeddings dequantized; and with
``FLUX_DECODE_WEIGHTS=q8``, q8 for every matrix), teacher-forced on the importer's paragraph (its first
half prefilled at once, then one decode step a token) against mlx-lm's float32 model of the same
import: top-1 agreement >= 0.97 and perplexity within 2 %."""

from __future__ import annotations

import gc
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest_llm import assert_quality_guard, skinny_or_skip, teacher_forced  # noqa: E402

REAL_FILE = Path(os.path.expanduser("~/.cache/world-texture/real-models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"))
REAL_BYTES = 1117320768

pytestmark = [pytest.mark.model, pytest.mark.slow]


def _real_file_or_skip() -> Path:
    if not REAL_FILE.is_file():
        pytest.skip(f"{REAL_FILE} not present (fetch-qwen2.5-coder-1.5b.sh)")
    if REAL_FILE.stat().st_size != REAL_BYTES:
        pytest.skip(f"{REAL_FILE} incomplete ({REAL_FILE.stat().st_size} of {REAL_BYTES} bytes)")
    return REAL_FILE


@pytest.fixture(scope="module")
def qwen_folder(tmp_path_factory):
    """The file's import: one already in the models folder (its record names this file), else a
    fresh one in a temporary folder."""
    src = _real_file_or_skip()
    from engine.llm import models
    from engine.llm.gguf_import import import_gguf

    root = models.models_dir()
    if root.is_dir():
        for d in sorted(root.iterdir()):
            rec = d / "gguf_import.json"
            if models.is_model_folder(d) and rec.is_file():
                try:
                    if json.loads(rec.read_text()).get("source") == str(src.resolve()):
                        return d
                except (OSError, ValueError):
                    pass
    return import_gguf(src, tmp_path_factory.mktemp("qwen"), "qwen2.5-coder-1.5b-instruct")


@pytest.mark.parametrize("weights,path,steps", [("q4", "steps", ""), ("q4", "steps", "q4"), ("q4", "prompt", ""),
                                                ("q8", "steps", "")])
def test_qwen2_1_5b_natively_within_the_quality_guard(qwen_folder, monkeypatch, weights, path, steps):
    """``path``: the positions after the prefilled half on decode steps, or on the prompt path (a
    one-token prefill each: prompt rows are independent, so these are the logits a whole prompt
    gives at each position -- on q4, int8 activations where the CPU has integer dot products).
    ``steps``: the decode steps' products on q4 as chosen (int8 activations, q4d, where the build
    has AVX512-VNNI), or ``FLUX_DECODE_PRODUCTS=q4`` (float32 FMAs)."""
    from engine.llm import models, native
    from test_gguf_import import PARAGRAPH

    skinny_or_skip()
    for var in ("FLUX_LLM_DTYPE", "FLUX_DECODE_WEIGHTS", "FLUX_NATIVE_DECODE", "FLUX_KEEP_F32", "FLUX_AMX",
                "FLUX_DECODE_PRODUCTS"):
        monkeypatch.delenv(var, raising=False)
    if steps:
        monkeypatch.setenv("FLUX_DECODE_PRODUCTS", steps)
    if weights == "q8":  # the default for this model is q4 (cpu_kernels.q4_wanted)
        monkeypatch.setenv("FLUX_DECODE_WEIGHTS", "q8")
    lm = models.load_model(qwen_folder)
    if lm.info["device"] != "cpu":
        pytest.skip("not the CPU path")
    dec = native.decoder_for(lm.model)
    assert lm.info["architecture"] == "qwen2"
    assert dec is not None and dec.q8_only and dec.weights == weights, lm.info["decode_step"]
    assert lm.info["model_id"].split("@")[1].startswith(weights + ".")
    assert all(dec.mats[7 * i + j].bias for i in range(dec.n_layers) for j in range(3))  # q, k, v biases
    assert not any(dec.mats[7 * i + j].bias for i in range(dec.n_layers) for j in range(3, 7))
    if weights == "q4":
        assert dec.prompt_products == native.prefill_q4_wanted() == lm.info["prompt_products"]
        from engine.llm.cpu.native import decode_q4_wanted

        assert dec.step_products == {"q4i": "q4i", "q4": "skinny"}[decode_q4_wanted()]
        assert lm.info["model_id"].endswith("d") == (dec.step_products == "q4i")
    ids = lm.tokenizer.encode(PARAGRAPH)
    half = len(ids) // 2
    row = dec.row_from(None, len(ids) + 1)
    logits = [dec.prefill(row, ids[:half])]
    for i in range(half, len(ids) - 1):
        if path == "prompt":
            logits.append(dec.prefill(row, [ids[i]]))
        else:
            logits.append(dec.step_np(np.array([ids[i]]), [row])[0])
    top, lps = [], []
    for j, lg in enumerate(logits):
        lg = lg.astype(np.float64)
        lp = lg - (lg.max() + math.log(np.exp(lg - lg.max()).sum()))
        top.append(int(np.argmax(lp)))
        lps.append(float(lp[ids[half + j]]))
    dec_products = f"prompts {dec.prompt_products}, steps {dec.step_products}"
    del lm, dec, row
    gc.collect()

    # the reference: mlx-lm's float32 model of the same import (no q8 copies, no C step)
    monkeypatch.setenv("FLUX_LLM_DTYPE", "float32")
    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", "f32")
    monkeypatch.setenv("FLUX_NATIVE_DECODE", "0")
    ref = models.load_model(qwen_folder)
    assert ref.info["q8_bytes"] == 0 and ref.info["dtype"] == "float32"
    r_top, r_lps = teacher_forced(ref, ids)
    assert_quality_guard(f"qwen2.5-coder-1.5b, native {weights}, {path} ({dec_products})", (top, lps), (r_top[half - 1:], r_lps[half - 1:]))
