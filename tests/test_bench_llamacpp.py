"""`texture bench --model NAME --against-llamacpp`: llama.cpp runs on the GGUF file the model under
test was imported from (not the default model's), prompts tokenized by that model, in a child
process whose peak RSS and load time are reported beside ours; a prompt of another vocabulary is a
clear error, not llama.cpp's "llama_decode returned -1"."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import conftest_llm as C  # noqa: E402

from engine.llm.gguf_import import import_gguf  # noqa: E402
from tools.bench import llamacpp  # noqa: E402


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A tiny qwen2 GGUF and its import (the import records the file it came from)."""
    root = tmp_path_factory.mktemp("bench-llamacpp")
    syn = C.write_synthetic(root / "tiny-qwen2.Q8_0.gguf", "qwen2", seed=3)
    folder = import_gguf(syn.path, root / "models", "tiny-qwen2")
    return syn.path, folder


def test_the_gguf_compared_is_the_one_the_model_was_imported_from(imported, monkeypatch):
    src, folder = imported
    monkeypatch.delenv("FLUX_BENCH_GGUF", raising=False)
    assert llamacpp.model_gguf(folder) == src.resolve()
    # an explicit file wins
    monkeypatch.setenv("FLUX_BENCH_GGUF", str(src))
    assert llamacpp.model_gguf(folder) == src


def test_a_missing_source_file_is_named(imported, tmp_path, monkeypatch):
    src, folder = imported
    monkeypatch.delenv("FLUX_BENCH_GGUF", raising=False)
    moved = tmp_path / "moved"
    import shutil

    shutil.copytree(folder, moved)
    rec = json.loads((moved / "gguf_import.json").read_text())
    rec["source"] = str(tmp_path / "gone.gguf")
    (moved / "gguf_import.json").write_text(json.dumps(rec))
    with pytest.raises(FileNotFoundError, match="gone.gguf.*FLUX_BENCH_GGUF"):
        llamacpp.model_gguf(moved)
    (moved / "gguf_import.json").unlink()
    with pytest.raises(FileNotFoundError, match="not imported from a GGUF file"):
        llamacpp.model_gguf(moved)


def test_prompts_are_tokenized_by_the_model_under_test(imported):
    _, folder = imported
    ids = llamacpp._prompt_tokens([{"prompt": "hello world"}], folder)[0]
    vocab = json.loads((folder / "config.json").read_text())["vocab_size"]
    assert ids and max(ids) < vocab


class _Vocab:
    def __init__(self, n):
        self.n = n

    def n_vocab(self):
        return self.n


def test_token_ids_beyond_the_files_vocabulary_are_a_clear_error():
    llamacpp.check_vocab(_Vocab(300), [[1, 2, 299]], Path("a.gguf"))
    with pytest.raises(ValueError, match="a.gguf has 300 tokens but the prompts hold token id 151000"):
        llamacpp.check_vocab(_Vocab(300), [[1, 151000]], Path("a.gguf"))


def _args(tmp_path, **kw):
    base = dict(quick=False, json=True, output=tmp_path / "b.json", sample=2, production_places=2, no_stock=True,
                against_llamacpp=False, no_sizes=True, model=None)
    base.update(kw)
    return argparse.Namespace(**base)


def test_bench_model_option_measures_that_model(imported, tmp_path, monkeypatch, capsys):
    from tools.bench import llm as benchmark
    from tools.bench import run as bench

    _, folder = imported
    monkeypatch.setenv("FLUX_MODELS_DIR", str(folder.parent))
    monkeypatch.setenv("FLUX_LLM_MODEL_PATH", "")  # restored after the test (run_bench sets it)
    seen = {}

    def fake_bench_llm(**kw):
        seen["model"] = os.environ.get("FLUX_LLM_MODEL_PATH")
        return {"table": []}

    monkeypatch.setattr(benchmark, "bench_llm", fake_bench_llm)
    assert bench.run_bench(_args(tmp_path, model="tiny-qwen2", against_llamacpp=True), console_bench=None) == 0
    data = json.loads(capsys.readouterr().out)
    assert seen["model"] == str(folder.resolve())
    assert data["command"].endswith("--model tiny-qwen2 --against-llamacpp")
    assert data["model"]["name"] == "tiny-qwen2"


def test_bench_unknown_model_is_a_clear_message(tmp_path, monkeypatch, capsys):
    from tools.bench import run as bench

    monkeypatch.setenv("FLUX_MODELS_DIR", str(tmp_path / "models"))
    assert bench.run_bench(_args(tmp_path, model="no-such-model")) == 2
    err = capsys.readouterr().err
    assert "--model no-such-model: no such imported model" in err and "Traceback" not in err


def test_llamacpp_runs_on_the_models_own_file_in_a_child_process(imported):
    """Real llama.cpp (skipped without llama-cpp-python) on the tiny imported model's own GGUF:
    the prompts of its tokenizer decode (no "llama_decode returned -1"), and the child reports its
    own peak RSS and load time."""
    ok, why = llamacpp.available()
    if not ok:
        pytest.skip(why)
    src, folder = imported
    reqs = [{"prompt": "hello world", "max_tokens": 4, "seed": 1, "temperature": 0.7},
            {"prompt": "hello", "max_tokens": 3, "seed": 2, "temperature": 0.7}]
    logged = []
    res = llamacpp.bench_llamacpp(reqs, {1: {"descriptions_per_s": 1.0, "tokens_per_s": 10.0},
                                         4: {"descriptions_per_s": 2.0, "tokens_per_s": 20.0}},
                                  logged.append, folder, {"load_s": 0.5, "peak_rss_mb": 100.0})
    if "child process failed (exit -" in res.get("error", ""):
        # llama.cpp itself killed by a signal (on AMX CPUs its repacked Q4 buffers crash, upstream
        # llama.cpp #20824): the bench said so in a row instead of failing, which is what it can do
        assert res["table"][0][1].startswith("not measured: ")
        pytest.skip(f"llama.cpp crashed on this CPU: {res['error']}")
    assert "error" not in res, res
    assert res["gguf"] == src.name and res["model"] == "tiny-qwen2"
    one = res["one_sequence"]
    assert one["peak_rss_mb"] > 0 and one["load_s"] >= 0 and one["tokens"] >= 0
    assert "ratio_4_streams" in res and res["ours"]["peak_rss_mb"] == 100.0
    rows = dict(res["table"])
    assert "llama.cpp load, peak RSS" in rows and "ours load, peak RSS" in rows


def test_llamacpps_extra_weight_buffers_can_be_turned_off(monkeypatch):
    """FLUX_BENCH_LLAMACPP_EXTRA_BUFTS=0 loads llama.cpp models without its AMX / repacked weight
    buffers (llama-cpp-python's Llama does not pass use_extra_bufts); unset, nothing changes."""
    api = pytest.importorskip("llama_cpp.llama_cpp")
    if "use_extra_bufts" not in [f[0] for f in api.llama_model_params._fields_]:
        pytest.skip("this llama.cpp has no use_extra_bufts")
    orig = api.llama_model_default_params
    try:
        monkeypatch.delenv("FLUX_BENCH_LLAMACPP_EXTRA_BUFTS", raising=False)
        assert not llamacpp.no_extra_buffers_if_asked() and api.llama_model_default_params is orig
        monkeypatch.setenv("FLUX_BENCH_LLAMACPP_EXTRA_BUFTS", "0")
        assert llamacpp.no_extra_buffers_if_asked() and llamacpp.no_extra_buffers_if_asked()  # idempotent
        assert api.llama_model_default_params().use_extra_bufts is False
        assert orig().use_extra_bufts is True
    finally:
        api.llama_model_default_params = orig
