"""CPU fast path: OpenBLAS preloading (checked in subprocesses, since it only
works before mlx is imported) and dequantization to float32."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conftest_llm as C  # noqa: E402

from engine.llm.cpu import fastpath  # noqa: E402
from engine.llm.models.gguf_import import import_gguf  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
have_debian_openblas = pytest.mark.skipif(
    not (sys.platform == "linux" and fastpath.find_openblas()),
    reason="no OpenBLAS library on this machine (apt install libopenblas0-pthread)",
)


def run_py(code: str, env_extra: dict[str, str] | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra or {})
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


PROBE = """
    import json, sys
    {pre}
    from engine.llm.cpu.fastpath import prepare_backend
    info = prepare_backend()
    assert prepare_backend() is info  # idempotent
    import mlx.core as mx
    a = mx.random.normal((256, 256))
    mx.eval(a @ a)
    maps = open("/proc/self/maps").read()
    print(json.dumps({{"blas": info.blas, "device": info.device, "dtype": info.dtype, "note": info.note,
                      "fast": info.fast, "mapped": "libopenblas" in maps}}))
"""


def test_engine_module_does_not_import_mlx_at_import_time():
    out = run_py(
        """
        import json, sys
        import engine.llm.cpu.fastpath, engine.llm.models, engine.llm.models.gguf_import
        bad = [m for m in ("mlx.core", "textual", "rich", "console") if m in sys.modules]
        print(json.dumps({"bad": bad}))
        """
    )
    assert out["bad"] == []


@have_debian_openblas
def test_prepare_backend_loads_openblas_before_mlx():
    out = run_py(PROBE.format(pre=""))
    assert out["device"] == "cpu"
    assert out["blas"].startswith("openblas (")
    assert out["fast"] and out["dtype"] == "float32"
    assert out["mapped"], "libopenblas is not mapped into the process"


@have_debian_openblas
def test_prepare_backend_after_mlx_import_says_so():
    out = run_py(PROBE.format(pre="import mlx.core"))
    assert out["blas"] == "reference (netlib)"
    assert "imported before" in out["note"]
    assert not out["fast"] and out["dtype"] == "quantized"
    assert not out["mapped"]


@have_debian_openblas
def test_flux_openblas_env_is_preferred(tmp_path):
    real = fastpath.find_openblas()
    link = tmp_path / "libopenblas.so.0"
    link.symlink_to(real)
    out = run_py(PROBE.format(pre=""), {"FLUX_OPENBLAS": str(link)})
    assert out["blas"] == f"openblas ({link})"
    # a FLUX_OPENBLAS that does not exist falls back to the system library
    out = run_py(PROBE.format(pre=""), {"FLUX_OPENBLAS": str(tmp_path / "missing.so")})
    assert out["blas"].startswith("openblas (") and out["mapped"]


def test_quantized_dtype_override_in_backend():
    if not fastpath.find_openblas():
        pytest.skip("no OpenBLAS")
    out = run_py(PROBE.format(pre=""), {"FLUX_LLM_DTYPE": "quantized"})
    assert out["dtype"] == "quantized"


def test_want_dequantize(monkeypatch):
    monkeypatch.setenv("FLUX_LLM_DTYPE", "quantized")
    assert fastpath.want_dequantize(1000) is False
    monkeypatch.setenv("FLUX_LLM_DTYPE", "float32")
    assert fastpath.want_dequantize(10**15) is True
    monkeypatch.delenv("FLUX_LLM_DTYPE")
    avail = fastpath.available_memory_bytes()
    assert avail and avail > 0
    # never when the float32 copy would not fit in half the free memory
    assert fastpath.want_dequantize(avail, float32_bytes=avail) is False
    if fastpath.prepare_backend().fast:
        assert fastpath.want_dequantize(1_000_000) is True
    else:
        assert fastpath.want_dequantize(1_000_000) is False


# --------------------------------------------------------------------------- dequantize

mx = pytest.importorskip("mlx.core")
mlx_lm = pytest.importorskip("mlx_lm")


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("fast")
    out = {}
    for arch in ("llama", "qwen2"):  # llama: tied embeddings (as_linear); qwen2: lm_head
        syn = C.write_synthetic(root / f"{arch}.gguf", arch, seed=7)
        out[arch] = import_gguf(syn.path, root, arch)
    return out


def _assert_close_logits(lq, lf):
    lq = lq.astype(mx.float32)
    err = mx.abs(lq - lf).max().item()
    span = mx.abs(lq).max().item()
    assert err < 0.01 * span + 1e-3, (err, span)
    assert mx.array_equal(mx.argmax(lq, -1), mx.argmax(lf, -1)).item()


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_dequantize_model_keeps_logits(tiny_models, arch):
    import mlx.nn as nn
    from mlx.utils import tree_flatten

    model, _ = mlx_lm.load(str(tiny_models[arch]))
    n_quant = fastpath.quantized_module_count(model)
    assert n_quant > 0
    params_before = fastpath.logical_parameter_count(model)
    ids = mx.array([[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]])
    lq = model(ids)
    mx.eval(lq)
    assert fastpath.dequantize_model(model) == n_quant
    assert fastpath.quantized_module_count(model) == 0
    assert fastpath.logical_parameter_count(model) == params_before
    assert all(p.dtype == mx.float32 for _, p in tree_flatten(model.parameters()))
    assert isinstance(model.model.embed_tokens, nn.Embedding)
    lf = model(ids)
    _assert_close_logits(lq, lf)


@pytest.mark.model
@pytest.mark.slow
def test_dequantize_real_model_same_text(tmp_path):
    """In a fresh process (so OpenBLAS is really used, as in the product)."""
    gguf_path, why = C.real_gguf()
    if gguf_path is None:
        pytest.skip(why)
    out = run_py(
        f"""
        import json
        from engine.llm.cpu.fastpath import prepare_backend, dequantize_model
        info = prepare_backend()
        from engine.llm.models.gguf_import import import_gguf
        import mlx.core as mx, mlx_lm
        folder = import_gguf({str(gguf_path)!r}, {str(tmp_path)!r}, "smol")
        model, tok = mlx_lm.load(str(folder))
        prompt = "The old lighthouse keeper looked at the sea and"  # short: quantized CPU path is slow
        ids = mx.array([tok.encode(prompt)])
        lq = model(ids).astype(mx.float32)
        text_q = mlx_lm.generate(model, tok, prompt, max_tokens=10)
        dequantize_model(model)
        lf = model(ids)
        text_f = mlx_lm.generate(model, tok, prompt, max_tokens=10)
        print(json.dumps({{"blas": info.blas, "q": text_q, "f": text_f,
                          "err": mx.abs(lq - lf).max().item(), "span": mx.abs(lq).max().item(),
                          "argmax_same": mx.array_equal(mx.argmax(lq, -1), mx.argmax(lf, -1)).item()}}))
        """
    )
    print(f"\n{out}")
    assert out["err"] < 0.01 * out["span"]
    assert out["argmax_same"]
    assert out["q"] == out["f"]
