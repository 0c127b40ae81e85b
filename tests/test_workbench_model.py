"""The workbench with the real model (models/smollm2-135m-instruct), if it is imported: a comparison
run twice gives identical texts (seeded generation), and the temperature is really used.

Small on purpose (2 places x 2 variants x 24 tokens, 2 streams): it shows determinism, not quality.
It runs in a fresh interpreter because the CPU fast path (OpenBLAS) must be loaded before anything
imports ``mlx.core`` (other test modules import it at collection); without it the same work takes
minutes instead of seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_MODEL = ROOT / "models" / "smollm2-135m-instruct"

pytestmark = pytest.mark.skipif(not (REAL_MODEL / "config.json").exists(),
                                reason=f"real model not imported ({REAL_MODEL})")

_CHILD = r"""
import json, sys
from pathlib import Path
from engine.llm.cpu.fastpath import prepare_backend
prepare_backend()  # before mlx.core is imported
from engine.builtin_world import builtin_world
from engine.config import load_config
from engine.llm.service import start_service
from engine.prompts import PromptLibrary
from engine.store import Store
from engine import workbench as wb

home = Path(sys.argv[1])
cfg = load_config(env={"FLUX_LLM_CONCURRENCY": "2"})
llm = start_service(cfg)
try:
    if not llm.wait_ready(timeout=180):
        print(json.dumps({"error": llm.unavailable_reason()}))
        sys.exit(0)
    store = Store(home / "t.db")
    library = PromptLibrary(home / "prompts")
    places = wb.stratified_sample(builtin_world(200), cfg, 2)
    variants = [wb.Variant("t0.7", library.get(), temperature=0.7, budget_override=24),
                wb.Variant("t0", library.get(), temperature=0.0, budget_override=24)]
    res = wb.compare(places, variants, llm, cfg, store, runs=2)
    d = res.as_dict()
    d["raw"] = {f"{c.variant}|{c.urn}|{c.run_no}": c.raw_text for c in list(res.cells.values()) + list(res.rerun.values())}
    d["reloaded_equal"] = wb.load_run(store, res.run_id).as_dict() == res.as_dict()
    d["engine_model_id"] = llm.model_id
    print(json.dumps(d))
finally:
    llm.shutdown()
"""


def test_real_model_rerun_is_identical(tmp_path):
    from engine.compose import sentence_budget

    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_")}
    env["TEXTURE_HOME"] = str(tmp_path)
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path)], capture_output=True, text=True, timeout=420,
                         cwd=str(ROOT), env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    d = json.loads(out.stdout.strip().splitlines()[-1])
    assert "error" not in d, d
    assert d["model_id"] and d["model_id"] == d["engine_model_id"]
    assert d["runs"] == 2 and len(d["places"]) == 2
    for s in d["summary"]:
        assert s["rerun_identical"] is True, s
    for row in d["matrix"]:
        for label, cell in row["cells"].items():
            # 24 tokens a request: a per-sentence prompt sends one request per sentence (at most 3),
            # each with its share of the budget, at least 32 (engine.compose.sentence_budget)
            assert cell["tokens"] <= 3 * sentence_budget(24, 3) and cell["rerun_identical"] is True
            for run_no in (1, 2):
                assert d["raw"][f"{label}|{row['urn']}|{run_no}"], "the model produced no text"
    # Sampled (0.7) and greedy (0) decoding differ for at least one place: the temperature is used.
    assert any(d["raw"][f"t0.7|{u}|1"] != d["raw"][f"t0|{u}|1"] for u in d["places"])
    assert d["reloaded_equal"]
