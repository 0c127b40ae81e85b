"""`texture bench`: progress on stderr naming every phase, results (and --json) on stdout; the
llama.cpp comparison is skipped with a clear notice when llama-cpp-python is absent."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_json_on_stdout_progress_on_stderr(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TEXTURE_HOME": str(tmp_path)}
    p = subprocess.run([sys.executable, "-m", "cli", "bench", "--quick", "--json"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)  # stdout is exactly the JSON document
    assert data["templates"]["template_renders_per_s"] > 0
    assert "[bench" in p.stderr and "phase: templates" in p.stderr and "done in" in p.stderr
    assert "phase" not in p.stdout


def _args(tmp_path, **kw):
    base = dict(quick=False, json=True, output=tmp_path / "b.json", sample=2, production_places=2, no_stock=True,
                against_llamacpp=True)
    base.update(kw)
    return argparse.Namespace(**base)


def test_against_llamacpp_without_llama_cpp_is_a_notice_not_a_failure(tmp_path, monkeypatch, capsys):
    from tools.bench import run as bench
    from tools.bench import llamacpp as vs_llamacpp, llm as benchmark

    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # "not installed"
    ok, why = vs_llamacpp.available()
    assert not ok and "pip install -e '.[bench]'" in why
    logged = []
    res = vs_llamacpp.bench_llamacpp([{"prompt": "x", "max_tokens": 4, "seed": 1, "temperature": 0.7}],
                                     {4: {"descriptions_per_s": 1.0, "tokens_per_s": 10.0}}, logged.append)
    assert res["skipped"] == why and "ratio_4_streams" not in res
    assert any("llama.cpp comparison skipped" in m for m in logged)

    # through `texture bench --against-llamacpp`: the model part is the real bench_llm's seam
    seen = {}

    def fake_bench_llm(**kw):
        seen.update(kw)
        return {"table": [], "vs_llamacpp": vs_llamacpp.bench_llamacpp([], None, kw["log"])}

    monkeypatch.setattr(benchmark, "bench_llm", fake_bench_llm)
    assert bench.run_bench(_args(tmp_path)) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["command"].endswith("--against-llamacpp")
    assert seen["against_llamacpp"] is True
    assert "skipped" in data["llm"]["vs_llamacpp"]
    assert "notice: --against-llamacpp: llama-cpp-python is not installed" in err
    assert "phase: model" in err and "phase: templates" in err
