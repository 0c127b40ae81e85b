"""``texture prompts`` (cli/workbench.py) through its own parser, with the scripted model
(``TEXTURE_SCRIPTED=1``, the CLI's test seam)."""

from __future__ import annotations

import argparse
import json

import pytest

from cli import workbench as workbench_cli
from engine.prompts import version_of
from engine.store import Store

U = "urn:flux:place:testland:"
ELIGIBLE = [U + "light-medium", U + "full-long", U + "premium-permanent"]
ALT = "Describe ${name} briefly.\n\nWeather: ${weather}\n\nDescription:\n"


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="texture")
    sub = ap.add_subparsers(dest="cmd")
    workbench_cli.add_parser(sub)
    return ap


@pytest.fixture
def run(tmp_path, small_world, monkeypatch, capsys):
    monkeypatch.setenv("TEXTURE_SCRIPTED", "1")
    db = tmp_path / "t.db"

    def go(*argv: str, world: bool = True) -> tuple[int, str, str]:
        action = argv[0]
        extra = ["--db", str(db)]
        if world and action in ("compare", "pin"):
            extra += ["--world", str(small_world)]
        if action == "ratings":
            argv = (*argv, *extra)
            extra = []
        args = parser().parse_args(["prompts", *argv, *extra])
        code = workbench_cli.handle(args)
        out, err = capsys.readouterr()
        return code, out, err

    go.db = db
    return go


def test_history_lists_versions(run, texture_home):
    code, out, _ = run("history")
    assert code == 0 and "versions of 'texture'" in out and out.count("\n* ") == 1
    folder = texture_home / "prompts"
    (folder / "texture.prompt").write_text(ALT, encoding="utf-8")
    code, out, _ = run("history", "texture", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 2 and rows[0]["version"] == version_of(ALT) and rows[0]["on_disk"]


def test_compare_json_shape_on_a_pinned_set(run, texture_home):
    assert run("pin", "regress", "--urn", ELIGIBLE[0], "--urn", ELIGIBLE[1])[0] == 0
    run("history")  # records the default prompt
    (texture_home / "prompts" / "texture.prompt").write_text(ALT, encoding="utf-8")
    code, out, err = run("compare", "previous", "current", "--pinned", "regress", "--json", "--runs", "2")
    assert code == 0, err
    d = json.loads(out)
    assert {"run_id", "variants", "summary", "matrix", "places", "runs", "model_id"} <= set(d)
    assert d["places"] == ELIGIBLE[:2] and d["runs"] == 2 and d["model_id"] == "scripted"
    assert [v["label"] for v in d["variants"]] == ["previous", "current"]
    assert d["variants"][1]["prompt_version"] == version_of(ALT)
    for s in d["summary"]:
        assert {"fallback_rate", "mean_length", "fact_coverage", "rating_score", "rerun_identical"} <= set(s)
        assert s["rerun_identical"] is True
    assert len(d["matrix"]) == 2
    cell = d["matrix"][0]["cells"]["current"]
    assert {"text", "length", "latency_ms", "tokens", "reason", "fact_coverage", "rating", "output_id"} <= set(cell)

    # Rate one output headless, then it shows in a new comparison and in the export.
    assert run("rate", f"wb:{cell['output_id']}", "good", "--note", "ok")[0] == 0
    code, out, _ = run("compare", "current", "--urn", ELIGIBLE[0], "--json", "--no-texts")
    d2 = json.loads(out)
    assert d2["summary"][0]["rating_score"] == 1.0 and "text" not in d2["matrix"][0]["cells"]["current"]


def test_compare_temperatures_and_budgets_make_variants(run):
    code, out, err = run("compare", "current", "--sample", "3", "--temperature", "0.2", "--temperature", "0.9",
                         "--budget", "16", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert [v["label"] for v in d["variants"]] == ["current@t0.2@b16", "current@t0.9@b16"]
    assert len(d["places"]) == 3 and all(s["budget_override"] == 16 for s in d["summary"])


def test_compare_table_output(run):
    code, out, _ = run("compare", "current", "--urn", ELIGIBLE[2])
    assert code == 0 and "workbench run" in out and ELIGIBLE[2] in out and "fallback" in out


def test_compare_without_model(run):
    code, out, _ = run("compare", "current", "--urn", ELIGIBLE[0], "--no-llm", "--json")
    d = json.loads(out)
    assert code == 0 and d["summary"][0]["fallback_rate"] == 1.0 and d["model_id"] is None


@pytest.mark.parametrize("argv,msg", [
    (("compare", "ffff1234", "current", "--urn", ELIGIBLE[0]), "unknown prompt version 'ffff1234'"),
    (("compare", "current", "--pinned", "nope"), "unknown pinned set 'nope'"),
    (("compare", "current", "--urn", U + "missing"), "unknown urn"),
    (("compare", "current"), "exactly one of --pinned"),
    (("compare", "current", "--urn", ELIGIBLE[0], "--temperature", "5"), "out of range"),
    (("restore", "abcdef99"), "unknown prompt version"),
    (("diff", "current", "previous"), "no previous version"),
    (("rate", "wb:42", "good"), "unknown output 42"),
    (("pin", "x"), "either --urn"),
])
def test_errors_are_one_line_exit_2(run, argv, msg):
    code, out, err = run(*argv)
    assert code == 2
    assert msg in err and len(err.strip().splitlines()) == 1 and err.startswith("texture prompts ")


def test_pins_diff_restore_and_export(run, texture_home, tmp_path):
    assert run("pin", "s", "--sample", "2")[0] == 0
    code, out, _ = run("pins", "--json")
    assert json.loads(out)[0]["name"] == "s" and len(json.loads(out)[0]["urns"]) == 2
    run("history")
    lib_file = texture_home / "prompts" / "texture.prompt"
    original = lib_file.read_text(encoding="utf-8")
    lib_file.write_text(ALT, encoding="utf-8")
    code, out, _ = run("diff", "previous", "current")
    assert code == 0 and "+ Describe ${name} briefly." in out and "- Rewrite the sentence in more vivid words" in out
    code, out, _ = run("restore", version_of(original)[:8])
    assert code == 0 and lib_file.read_text(encoding="utf-8") == original

    code, out, err = run("compare", "current", "--pinned", "s", "--json")
    oid = json.loads(out)["matrix"][0]["cells"]["current"]["output_id"]
    run("rate", str(oid), "bad")
    dest = tmp_path / "r.csv"
    code, _, err = run("ratings", "export", "--format", "csv", "-o", str(dest))
    assert code == 0 and "exported 1 rating" in err
    assert dest.read_text(encoding="utf-8").splitlines()[0].startswith("id,created_at,rating")
    store = Store(run.db)
    try:
        assert next(store.db.query("SELECT rating FROM ratings"))["rating"] == "bad"
    finally:
        store.close()
