"""MLX's affine 4-bit (and 8-bit) matrices read in place by the C path (engine/llm/cpu/q4.c): the
products against a numpy reference, a row's bits the same alone or in any batch and thread split,
a small random-weight 4-bit model decoding natively (the same logits as MLX's quantized model to
float rounding; the same texts at 1, 4 and 8 streams), the per-model choice and what a loaded
model says it keeps."""

from __future__ import annotations

import ctypes
import json

import numpy as np
import pytest

from conftest_llm import skinny_or_skip


def _dmat(bits: int, gs: int, n: int, k: int, bf: bool, seed: int = 0):
    """A random MLX-layout matrix as decode.c's dmat, the arrays it points into, and its float32
    dequantization."""
    from engine.llm.cpu import native

    rng = np.random.default_rng(seed)
    q = rng.integers(0, 1 << bits, size=(n, k), dtype=np.uint32)
    per = 32 // bits
    wq = np.zeros((n, k // per), np.uint32)
    for j in range(per):  # the first value of a word in its lowest bits
        wq |= q[:, j::per] << np.uint32(bits * j)
    s = (rng.standard_normal((n, k // gs)) * 0.05).astype(np.float32)
    b = (rng.standard_normal((n, k // gs)) * 0.1).astype(np.float32)
    if bf:  # bfloat16: the top 16 bits (truncated; exactly representable below)
        s = (s.view(np.uint32) & 0xFFFF0000).view(np.float32)
        b = (b.view(np.uint32) & 0xFFFF0000).view(np.float32)
        qs, qb = (s.view(np.uint32) >> 16).astype(np.uint16), (b.view(np.uint32) >> 16).astype(np.uint16)
    else:
        s, b = s.astype(np.float16).astype(np.float32), b.astype(np.float16).astype(np.float32)
        qs, qb = s.astype(np.float16).view(np.uint16), b.astype(np.float16).view(np.uint16)
    w = q.astype(np.float32) * np.repeat(s, gs, axis=1) + np.repeat(b, gs, axis=1)
    m = native._DMat(2 if bits == 4 else 3, n, k, wq.ctypes.data, 0, 0, 0, 0, 0, 0, qs.ctypes.data, qb.ctypes.data,
                     gs, int(bf))
    return m, (wq, qs, qb), w


def _product(m, x: np.ndarray, threads: int, idot: bool = False, lib=None) -> np.ndarray:
    from engine.llm.cpu import skinny

    lib = lib or skinny.load()
    y = np.empty((x.shape[0], m.N), np.float32)
    x = np.ascontiguousarray(x, np.float32)
    fn = lib.dec_matmul_q4i if idot else lib.dec_matmul_q4
    assert fn(ctypes.addressof(m), x.ctypes.data, x.shape[0], y.ctypes.data, threads) == 0
    return y


def _int8_rows(x: np.ndarray) -> np.ndarray:
    """x as q4i sees it: each row quantized to int8 per 32 values (scale max|x| / 127), dequantized."""
    t, k = x.shape
    g = x.reshape(t, k // 32, 32)
    amax = np.abs(g).max(axis=2)
    inv = np.divide(np.float32(127), amax, out=np.zeros_like(amax), where=amax > 0)
    xq = np.clip(np.rint(g * inv[..., None]), -127, 127)
    return (xq * (amax / np.float32(127))[..., None]).reshape(t, k)


@pytest.mark.parametrize("bits,gs,bf", [(4, 32, False), (4, 64, True), (4, 128, False), (8, 64, False), (8, 32, True)])
def test_products_on_mlx_layouts_match_numpy_and_a_rows_bits_do_not_depend_on_the_batch(bits, gs, bf):
    skinny_or_skip()
    n, k = 72, 384
    m, keep, w = _dmat(bits, gs, n, k, bf)
    x = np.random.default_rng(1).standard_normal((20, k)).astype(np.float32)
    ref = x.astype(np.float64) @ w.astype(np.float64).T
    got = _product(m, x, 2)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * float(np.abs(ref).max()))
    alone = np.concatenate([_product(m, x[i:i + 1], 1) for i in range(x.shape[0])])
    for rows in (2, 3, 8, 9, 20):  # 1..8 rows at a time on the step's kernel, and more
        for threads in (1, 2):
            assert np.array_equal(_product(m, x[:rows], threads), alone[:rows]), (rows, threads)


@pytest.mark.parametrize("bits,gs,bf,n", [(4, 32, False, 72), (4, 64, True, 64), (4, 128, False, 33), (8, 64, False, 72),
                                          (8, 32, True, 50)])
def test_int8_activation_products_match_numpy_and_a_rows_bits_do_not_depend_on_the_batch(bits, gs, bf, n):
    """q4i (prompts' products on integer dot products): the exact product of the weights with each
    row quantized to int8 per 32 values, to float rounding; a row's bits the same alone, in any
    batch (tiles of 1..4 rows, blocks of 16 outputs, partial ones) and thread split."""
    skinny_or_skip()
    k = 384
    m, keep, w = _dmat(bits, gs, n, k, bf)
    x = np.random.default_rng(1).standard_normal((21, k)).astype(np.float32)
    x[5, 32:64] = 0.0  # a group of zeros (scale 0)
    x[6, :32] *= 1000.0  # and one far larger than the rest of its row
    ref = _int8_rows(x).astype(np.float64) @ w.astype(np.float64).T
    got = _product(m, x, 2, idot=True)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * float(np.abs(ref).max()))
    float_path = _product(m, x, 2)  # and near the float path: the quantization error of the activations only
    scale = float(np.abs(float_path).max())
    assert float(np.abs(got - float_path).max()) < 0.05 * scale
    alone = np.concatenate([_product(m, x[i:i + 1], 1, idot=True) for i in range(x.shape[0])])
    for rows in (2, 3, 4, 5, 8, 9, 20):
        for threads in (1, 2):
            assert np.array_equal(_product(m, x[:rows], threads, idot=True), alone[:rows]), (rows, threads)
    assert np.array_equal(_product(m, x[::-1], 2, idot=True), alone[::-1])  # other neighbours


def _step(m, x: np.ndarray, threads: int, idot: bool = True) -> np.ndarray:
    """A decode step's product (1..8 rows): q4d (int8 activations) with idot where the build has it."""
    from engine.llm.cpu import skinny

    y = np.empty((x.shape[0], m.N), np.float32)
    x = np.ascontiguousarray(x, np.float32)
    assert skinny.load().dec_step_q4(ctypes.addressof(m), x.ctypes.data, x.shape[0], y.ctypes.data, int(idot),
                                     threads) == 0
    return y


@pytest.mark.parametrize("bits,gs,bf,k", [(4, 32, False, 384), (4, 64, True, 1536), (4, 128, False, 896),
                                          (4, 32, False, 8960), (4, 256, True, 768), (8, 64, False, 384),
                                          (8, 32, True, 1120), (8, 64, False, 640), (4, 32, False, 576)])
def test_decode_steps_on_int8_activations_match_numpy_and_a_rows_bits_do_not_depend_on_the_batch(bits, gs, bf, k):
    """q4d (decode steps' products on integer dot products, weights read in place): the exact
    product of the weights with each row quantized to int8 per 32 values, to float rounding (K
    with a partial last block of 16 groups, and a partial 4-group chunk: 1120 = 35 groups; a last
    block of at most 4 groups, computed alone: 576, 640, 1120); a
    row's bits the same alone or with any other rows (1..8) and any thread split."""
    skinny_or_skip()
    n = 37
    m, keep, w = _dmat(bits, gs, n, k, bf)
    x = np.random.default_rng(2).standard_normal((8, k)).astype(np.float32)
    x[5, 32:64] = 0.0  # a group of zeros (scale 0)
    x[6, :32] *= 1000.0  # and one far larger than the rest of its row
    ref = _int8_rows(x).astype(np.float64) @ w.astype(np.float64).T
    got = _step(m, x, 2)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * float(np.abs(ref).max()))
    float_path = _step(m, x, 2, idot=False)
    assert float(np.abs(got - float_path).max()) < 0.05 * float(np.abs(float_path).max())
    alone = np.concatenate([_step(m, x[i:i + 1], 1) for i in range(x.shape[0])])
    for rows in range(1, 9):
        for threads in (1, 2):
            assert np.array_equal(_step(m, x[:rows], threads), alone[:rows]), (rows, threads)
    assert np.array_equal(_step(m, x[::-1], 2), alone[::-1])  # other neighbours
    assert np.array_equal(_step(m, x[3:6], 2), alone[3:6])


def test_a_matrix_the_kernel_does_not_take_is_refused():
    from engine.llm.cpu import skinny

    skinny_or_skip()
    m, keep, _ = _dmat(4, 32, 16, 64, False)
    m.gs = 48  # not a power of two
    x = np.zeros((1, 64), np.float32)
    y = np.empty((1, 16), np.float32)
    assert skinny.load().dec_matmul_q4(ctypes.addressof(m), x.ctypes.data, 1, y.ctypes.data, 1) == -1


# --------------------------------------------------------------------------- a small 4-bit model


def _quantized_tiny(vocab: int = 320, seed: int = 0):
    """The tiny random llama in float16, quantized as an imported GGUF is: 4 bits in groups of 32,
    the MLP's down projections 8 bits in groups of 64 (as a requantized Q6_K)."""
    import mlx.core as mx
    import mlx.nn as nn
    from fakes import tiny_model

    model = tiny_model(vocab, seed)
    model.set_dtype(mx.float16)

    def pick(path, module):
        if not hasattr(module, "to_quantized"):
            return False
        return {"group_size": 64, "bits": 8} if path.endswith("down_proj") else True

    nn.quantize(model, group_size=32, bits=4, class_predicate=pick)
    mx.eval(model.parameters())
    return model


def _native_q4(monkeypatch, vocab: int = 320):
    from engine.llm.cpu import cpu_kernels, native

    skinny_or_skip()
    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", "q4")
    monkeypatch.delenv("FLUX_NATIVE_DECODE", raising=False)
    model = _quantized_tiny(vocab)
    assert cpu_kernels.q4_wanted(model)
    cpu_kernels.quantize_model_q8(model, keep4=True)
    cpu_kernels.install(model)
    dec = native.attach(model)
    assert dec is not None, native.status()
    return model, dec


@pytest.mark.parametrize("products,steps,tol", [("q4", "q4", 3e-3), ("q4i", "q4", 2e-2), ("q4i", "q4i", 2e-2)])
def test_a_4bit_model_decodes_natively_on_its_own_weights(monkeypatch, products, steps, tol):
    """Prompts and steps on float32 FMAs (q4) within float rounding of MLX's model; on int8
    activations (q4i; steps: q4d) within their quantization error (each value to 1/254 of its
    group's largest)."""
    import mlx.core as mx

    from engine.llm.cpu import cpu_kernels, native

    monkeypatch.setenv("FLUX_PREFILL_PRODUCTS", products)
    monkeypatch.setenv("FLUX_DECODE_PRODUCTS", steps)
    model, dec = _native_q4(monkeypatch)
    try:
        assert dec.weights == "q4" and dec.prompt_products == products and dec.q8_only
        assert dec.step_products == (steps if native.decode_q4_wanted() == "q4i" else "skinny")
        assert dec.md.decode_q4i == (dec.step_products == "q4i")
        assert cpu_kernels.q4_layers(model, 4) == 2 * 6 + 1 and cpu_kernels.q4_layers(model, 8) == 2
        assert cpu_kernels.q8_layers(model) == 0
        fmts = sorted({m.fmt for m in dec.mats} | {dec.md.head.fmt})
        assert fmts == [2, 3] and dec.md.emb4 and not dec.md.embq  # the embedding from its 4-bit rows
        ref_model = _quantized_tiny()  # MLX's own products on the same quantized weights
        ref_model.set_dtype(mx.float32)
        ids = [3, 17, 42, 5, 99, 7]
        # MLX's forward of the same model runs its 4-bit and 8-bit products on q4.c too
        via_mlx = np.array(model(mx.array([ids]))[0])
        ref_all = np.array(ref_model(mx.array([ids]))[0])
        np.testing.assert_allclose(via_mlx, ref_all, rtol=1e-3, atol=1e-3 * float(np.abs(ref_all).max()))
        assert all("_texture_q4_dmat" in m.__dict__ for _, m in model.named_modules() if "_texture_q4" in m.__dict__)
        row = dec.row_from(None, 32)
        got = dec.prefill(row, ids)
        for tok in (11, 250, 4):
            ref = np.array(ref_model(mx.array([ids]))[0, -1])
            np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * max(1.0, float(np.abs(ref).max())))
            ids.append(tok)
            got = dec.step_np(np.array([tok]), [row])[0]
    finally:
        cpu_kernels.remove(model)


@pytest.mark.parametrize("steps", ["q4i", "q4"])
def test_a_rows_logits_on_4bit_weights_do_not_depend_on_the_other_rows_or_the_thread_split(monkeypatch, steps):
    from engine.llm.cpu import cpu_kernels, native

    monkeypatch.setenv("FLUX_DECODE_PRODUCTS", steps)
    model, dec = _native_q4(monkeypatch)
    try:
        if steps == "q4i" and native.decode_q4_wanted() != "q4i":
            pytest.skip("no AVX512-VNNI: decode steps keep the float32 kernel")
        assert dec.step_products == {"q4i": "q4i", "q4": "skinny"}[steps]
        a, b = dec.row_from(None, 32), dec.row_from(None, 32)
        dec.prefill(a, [3, 17, 42, 5])
        dec.prefill(b, [8, 8, 1, 2, 3, 4, 5, 6, 7, 9, 10])

        def copy(r):
            return type(r)(r.kv.copy(), r.length)

        alone = dec.step_np(np.array([21]), [copy(a)], threads=1)[0]
        for m in (2, 4, 8, 11):
            for threads in (1, 2):
                rows = [copy(a) if i % 3 == 0 else copy(b) for i in range(m)]
                out = dec.step_np(np.array([21 if i % 3 == 0 else 30 + i for i in range(m)]), rows, threads=threads)
                for i in range(0, m, 3):
                    assert np.array_equal(out[i], alone), (m, threads, i)
        # a prompt's logits: the same bits whatever the thread split
        p1, p2 = dec.row_from(None, 40), dec.row_from(None, 40)
        ids = list(range(5, 35))
        assert np.array_equal(dec.prefill(p1, ids, threads=1), dec.prefill(p2, ids, threads=2))
        assert np.array_equal(p1.kv, p2.kv)
    finally:
        cpu_kernels.remove(model)


@pytest.mark.parametrize("products", ["q4i", "q4"])
def test_a_prompts_bits_do_not_depend_on_how_it_is_cut(monkeypatch, products):
    """Prompt rows are independent: a prompt prefilled whole, in two pieces, or a token at a time
    (the row's earlier positions then in its cache) leaves the same cache and logits, bit for bit;
    on int8 activations (q4i, each row quantized alone) as on float32 FMAs (q4)."""
    from engine.llm.cpu import cpu_kernels, native

    monkeypatch.setenv("FLUX_PREFILL_PRODUCTS", products)
    model, dec = _native_q4(monkeypatch)
    try:
        assert dec.prompt_products == products and dec.md.prefill_q4i == (products == "q4i")
        assert dec.recipe == native.RECIPE + {"q4i": "i", "q4": "q"}[products] + (
            "d" if native.decode_q4_wanted() == "q4i" else "")
        ids = [(7 * i + 3) % 300 for i in range(37)]
        whole = dec.row_from(None, 40)
        ref = dec.prefill(whole, ids)
        for cuts in ((9,), (1, 2, 20), tuple(range(1, 37))):
            row = dec.row_from(None, 40)
            for a, b in zip((0,) + cuts, cuts + (len(ids),)):
                got = dec.prefill(row, ids[a:b], threads=1 + a % 2)
            assert np.array_equal(got, ref), cuts
            assert np.array_equal(row.kv[:, :, :, :len(ids)], whole.kv[:, :, :, :len(ids)]), cuts
    finally:
        cpu_kernels.remove(model)


@pytest.mark.parametrize("products", ["q4i", "q4"])
def test_the_same_texts_at_1_4_and_8_streams_on_4bit_weights(monkeypatch, products):
    """The engine on a 4-bit model: every request gives the same tokens at 1, 4 and 8 streams,
    prompts and decode steps on int8 activations (q4i; steps on q4d where the CPU has it) or on
    float32 FMAs (q4)."""
    from engine.llm.cpu import cpu_kernels, native
    from engine.llm.generator import GenerationEngine
    from engine.llm.jobs import GenRequest
    from fakes import tiny_tokenizer

    skinny_or_skip()
    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", "q4")
    monkeypatch.setenv("FLUX_PREFILL_PRODUCTS", products)
    monkeypatch.setenv("FLUX_DECODE_PRODUCTS", products)
    monkeypatch.delenv("FLUX_NATIVE_DECODE", raising=False)

    def load():
        tok = tiny_tokenizer()[0]
        model = _quantized_tiny(len(tok))
        cpu_kernels.quantize_model_q8(model, keep4=True)
        cpu_kernels.install(model)
        dec = native.attach(model)
        assert dec is not None and dec.weights == "q4" and dec.prompt_products == products, native.status()
        assert dec.step_products == ("q4i" if products == "q4i" and native.decode_q4_wanted() == "q4i" else "skinny")
        return model, tok, {"model_id": "tiny-random-llama@q4.n"}

    head = "Rewrite the sentence in more vivid words.\n\nSentence: The mill is old.\nRewrite: An old mill.\n\n"
    bodies = ["The rain falls on the quay.", "Wind bends the reeds.", "Fog hides the tower.", "Snow covers the pass.",
              "The market is loud today.", "A bell rings at noon.", "The river is low.", "Gulls circle the harbour.",
              "The road climbs to the fort."]
    reqs = [GenRequest(f"r{i}", f"{head}Sentence: {b}\nRewrite:", 70 + i, 8 + 2 * i, 0.8, head=len(head))
            for i, b in enumerate(bodies)]
    results = {}
    for streams in (1, 4, 8):
        eng = GenerationEngine(load, concurrency=streams)
        eng.start()
        try:
            job = eng.submit(list(reqs if streams != 4 else reversed(reqs)))
            assert job.wait(120)
            assert all(f.reason is None for f in job.results.values())
            assert eng._bg is not None and eng._bg._native is not None
            results[streams] = job.token_ids
        finally:
            eng.shutdown()
    assert results[1] == results[4] == results[8]
    assert len(results[1]) == len(reqs) and all(results[1].values())


# --------------------------------------------------------------------------- the choice


def test_which_models_keep_their_4bit_matrices(monkeypatch):
    from engine.llm.cpu import cpu_kernels

    monkeypatch.delenv("FLUX_DECODE_WEIGHTS", raising=False)
    monkeypatch.delenv("FLUX_LLM_DTYPE", raising=False)
    model = _quantized_tiny()
    assert not cpu_kernels.q4_wanted(model)  # a small model: q8 (faster there)
    monkeypatch.setattr(cpu_kernels, "Q4_MIN_WEIGHTS", 1000)
    assert cpu_kernels.q4_wanted(model)  # big enough: 4 bits
    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", "q8")  # the old path, forced
    assert not cpu_kernels.q4_wanted(model)
    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", "q4")
    monkeypatch.setattr(cpu_kernels, "Q4_MIN_WEIGHTS", 10 ** 12)
    assert cpu_kernels.q4_wanted(model)
    assert "q4:" in cpu_kernels._decode_choice["q4_why"]
    import mlx.nn as nn
    from fakes import tiny_model

    plain = tiny_model(320, 0)  # float32 scales: not MLX's float16 / bfloat16 layout
    nn.quantize(plain, group_size=32, bits=4)
    assert not cpu_kernels.q4_wanted(plain)


def _quantized_folder(folder):
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from fakes import TINY_ARGS, tiny_tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    wrapper, hf = tiny_tokenizer()
    model = _quantized_tiny(len(hf))
    mx.save_safetensors(str(folder / "model.safetensors"), dict(tree_flatten(model.parameters())))
    quant = {"group_size": 32, "bits": 4}
    for i in range(TINY_ARGS["num_hidden_layers"]):
        quant[f"model.layers.{i}.mlp.down_proj"] = {"group_size": 64, "bits": 8}
    cfg = {**TINY_ARGS, "vocab_size": len(hf), "quantization": quant}
    (folder / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    hf.save_pretrained(str(folder))
    return folder


@pytest.mark.parametrize("weights", ["q4", "q8"])
def test_a_loaded_4bit_model_says_what_it_keeps(monkeypatch, tmp_path, weights):
    from engine.llm import models

    skinny_or_skip()
    for var in ("FLUX_LLM_DTYPE", "FLUX_NATIVE_DECODE", "FLUX_KEEP_F32"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FLUX_DECODE_WEIGHTS", weights)
    lm = models.load_model(_quantized_folder(tmp_path / "tiny4"))
    if lm.info["device"] != "cpu":
        pytest.skip("not the CPU path")
    info = lm.info
    assert info["model_id"].split("@")[1].startswith(weights + ".")
    if weights == "q4":
        assert info["q4_bytes"] > 0 and info["q8_bytes"] == 0
        assert "read in place" in info["weights_kept"] and "13 4-bit, 2 8-bit" in info["weights_kept"]
        assert info["decode_kernel"].startswith("q4:") and "q4 weights" in info["decode_step"]
        assert "decode steps on" in info["decode_kernel"] and "decode steps on" in info["decode_step"]
        assert info["prompt_products"] in ("q4", "q4i")
    else:
        assert info["q4_bytes"] == 0 and info["q8_bytes"] > 0 and info["weights_kept"].startswith("q8 only")


@pytest.mark.parametrize("march", ["x86-64-v3", "x86-64"])  # AVX2 only; no vector extensions (portable C)
def test_the_avx2_and_portable_builds_give_the_same_products(tmp_path, march):
    """q4.c's other paths, built as a CPU without AVX-512 (or without AVX) would build them: the
    float path within float rounding, the int8 ones (q4i, and q4d on its portable path) the same
    bits as this CPU's build."""
    import platform
    import shutil
    import subprocess

    from engine.llm.cpu import skinny

    if platform.machine().lower() not in ("x86_64", "amd64") or not shutil.which("gcc"):
        pytest.skip("an x86-64 gcc build")
    skinny_or_skip()
    so = tmp_path / f"q4-{march}.so"
    flags = [f if f != "-march=native" else f"-march={march}" for f in skinny.FLAGS]
    subprocess.run(["gcc", *flags, "-w", "-o", str(so), str(skinny.BUILD_SOURCE)], check=True, timeout=300)
    lib = ctypes.CDLL(str(so))
    for fn in (lib.dec_matmul_q4, lib.dec_matmul_q4i):
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    assert lib.dec_q4i_path() == {"x86-64-v3": 1, "x86-64": 0}[march]
    for bits, gs, bf in ((4, 32, False), (4, 64, True), (8, 64, False)):
        m, keep, w = _dmat(bits, gs, 72, 384, bf)
        x = np.random.default_rng(1).standard_normal((11, 384)).astype(np.float32)
        y = np.empty((11, 72), np.float32)
        assert lib.dec_matmul_q4(ctypes.addressof(m), x.ctypes.data, 11, y.ctypes.data, 2) == 0
        ref = x.astype(np.float64) @ w.astype(np.float64).T
        np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4 * float(np.abs(ref).max()))
        one = np.empty((1, 72), np.float32)
        assert lib.dec_matmul_q4(ctypes.addressof(m), x[3:4].ctypes.data, 1, one.ctypes.data, 1) == 0
        assert np.array_equal(one[0], y[3])
        assert np.array_equal(_product(m, x, 2, idot=True, lib=lib), _product(m, x, 2, idot=True))
    # decode steps on int8 activations (q4d): the portable path there, the same bits as this build's
    lib.dec_step_q4.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    assert lib.dec_q4d_path() == 0
    for bits, gs, bf, k in ((4, 32, False, 1120), (4, 64, True, 384), (8, 64, False, 640), (8, 32, True, 384),
                            (4, 32, False, 576)):  # SmolLM2's: a last block of 2 groups
        m, keep, w = _dmat(bits, gs, 37, k, bf)
        x = np.random.default_rng(3).standard_normal((5, k)).astype(np.float32)
        y = np.empty((5, 37), np.float32)
        assert lib.dec_step_q4(ctypes.addressof(m), x.ctypes.data, 5, y.ctypes.data, 1, 2) == 0
        assert np.array_equal(y, _step(m, x, 2)), (bits, gs, bf, k)


@pytest.mark.parametrize("path", [2, 1, 0])
def test_every_integer_dot_product_path_gives_the_same_bits(tmp_path, path):
    """q4i's lower paths built for this CPU (Q4I_FORCE: 256-bit VNNI -- in its AVX512-VL encoding
    here --, AVX2, plain C) give the bits of the path the CPU's build chose, batch and row alike."""
    import shutil
    import subprocess

    from engine.llm.cpu import skinny

    skinny_or_skip()
    best = skinny.load().dec_q4i_path()
    if path >= best or not shutil.which("gcc"):
        pytest.skip(f"this CPU's build is path {best}")
    so = tmp_path / f"q4i-{path}.so"
    subprocess.run(["gcc", *skinny.FLAGS, f"-DQ4I_FORCE={path}", "-w", "-o", str(so), str(skinny.BUILD_SOURCE)],
                   check=True, timeout=300)
    lib = ctypes.CDLL(str(so))
    lib.dec_matmul_q4i.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    assert lib.dec_q4i_path() == path
    for bits, gs, bf, n in ((4, 32, False, 72), (4, 128, True, 40), (8, 64, False, 50), (8, 32, True, 16)):
        m, keep, w = _dmat(bits, gs, n, 384, bf, seed=n)
        x = np.random.default_rng(2).standard_normal((13, 384)).astype(np.float32)
        assert np.array_equal(_product(m, x, 2, idot=True, lib=lib), _product(m, x, 2, idot=True)), (bits, gs)
        assert np.array_equal(_product(m, x[4:5], 1, idot=True, lib=lib), _product(m, x, 1, idot=True)[4:5])
