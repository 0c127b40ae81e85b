"""The ``texture`` command: batch (headless, --json, selection), export, world errors, help.

Most tests call ``cli.main.main([...])`` in-process (fast); a few run the installed ``texture``
entry point and ``python -m cli`` in a real subprocess. Every batch here is template-only
(``--no-llm`` or ``FLUX_LLM_ENABLED=false``) so no model is needed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from cli import main as cli
from engine.store import Store

U = "urn:flux:place:testland:"


def texture(capsys, *args: str) -> tuple[int, str, str]:
    rc = cli.main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def batch_json(capsys, *args: str) -> dict:
    rc, out, err = texture(capsys, "batch", "--no-llm", "--json", *args)
    assert rc == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out  # exactly one JSON object on stdout
    return json.loads(lines[0])


# --- batch ------------------------------------------------------------------------------------

def test_batch_no_llm_json_prints_one_json_object(capsys, small_world, texture_home):
    d = batch_json(capsys, "--world", str(small_world))
    assert d["status"] == "done" and d["places"] == 6 and d["batch_id"] == 1
    assert d["by_source"] == {"template": 6}
    assert d["reasons"] == {"tier": 1, "rule:immediate": 1, "rule:short": 1, "disabled": 3}
    assert d["selection"] == "all" and d["skipped_lines"] == 0
    assert d["db"] == str(texture_home / "texture.db")  # TEXTURE_HOME moves the data
    assert "disabled" in d["notice"].lower()


def test_batch_on_the_builtin_world(capsys):
    d = batch_json(capsys, "--limit", "40")
    assert d["places"] == 40 and d["selection"] == "limit=40"


def test_batch_human_summary(capsys, small_world):
    rc, out, err = texture(capsys, "batch", "--no-llm", "--world", str(small_world))
    assert rc == 0
    assert "batch 1 done: 6 places" in out and "by source: template 6" in out
    assert "Traceback" not in err


def test_changed_second_run_does_nothing(capsys, small_world, place_dict, world_file):
    first = batch_json(capsys, "--world", str(small_world), "--changed")
    assert first["places"] == 6
    second = batch_json(capsys, "--world", str(small_world), "--changed")
    assert second["status"] == "nothing to do" and second["places"] == 0 and second["batch_id"] is None
    rc, out, _ = texture(capsys, "batch", "--no-llm", "--world", str(small_world), "--changed")
    assert rc == 0 and "Nothing to do" in out


def test_changed_runs_only_places_whose_state_changed(capsys, world_file, place_dict, texture_home):
    path = world_file([place_dict(i) for i in range(4)], name="w.jsonl")
    batch_json(capsys, "--world", str(path))
    changed = [place_dict(i) for i in range(4)]
    changed[2]["weather"]["temperature"] = -20
    changed[3]["name"] = "Renamed (not part of the state)"
    world_file(changed, name="w.jsonl")
    d = batch_json(capsys, "--world", str(path), "--changed")
    assert d["places"] == 1 and d["selection"] == "changed"
    rows = Store(texture_home / "texture.db").batch_results(d["batch_id"])
    assert [r["urn"] for r in rows] == ["urn:flux:place:testland:place-002"]


def test_tier_selection(capsys, small_world):
    d = batch_json(capsys, "--world", str(small_world), "--tier", "premium")
    assert d["places"] == 2 and d["by_tier"] == {"premium": 2} and d["selection"] == "tier=premium"
    d = batch_json(capsys, "--world", str(small_world), "--tier", "light", "--tier", "template")
    assert d["places"] == 3 and d["by_tier"] == {"light": 2, "template": 1}


def test_bad_tier_is_a_usage_error(capsys, small_world):
    with pytest.raises(SystemExit) as ei:
        cli.main(["batch", "--no-llm", "--world", str(small_world), "--tier", "gold"])
    assert ei.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_limit_selection(capsys, small_world):
    d = batch_json(capsys, "--world", str(small_world), "--limit", "2")
    assert d["places"] == 2 and d["selection"] == "limit=2"
    d = batch_json(capsys, "--world", str(small_world), "--limit", "0")
    assert d["places"] == 0 and d["status"] == "nothing to do"
    rc, _, err = texture(capsys, "batch", "--no-llm", "--world", str(small_world), "--limit", "-1")
    assert rc == 2 and "--limit" in err


def test_urn_selection(capsys, small_world, texture_home):
    d = batch_json(capsys, "--world", str(small_world), "--urn", U + "quiet", "--urn", U + "full-long")
    assert d["places"] == 2 and d["selection"] == "urn x2"
    rows = Store(texture_home / "texture.db").batch_results(d["batch_id"])
    assert sorted(r["urn"] for r in rows) == [U + "full-long", U + "quiet"]


def test_unknown_urn_is_a_clean_error(capsys, small_world):
    rc, out, err = texture(capsys, "batch", "--no-llm", "--world", str(small_world), "--urn", U + "nowhere")
    assert rc == 2 and out == ""
    assert err.strip() == f"texture batch: error: unknown urn: {U}nowhere"


def test_selections_combine(capsys, small_world):
    d = batch_json(capsys, "--world", str(small_world), "--tier", "premium", "--tier", "light", "--limit", "3")
    assert d["places"] == 3 and d["selection"] == "tier=premium,light limit=3"


# --- world errors through the CLI -------------------------------------------------------------

def test_bad_lines_are_reported_and_the_rest_runs(world_file, place_dict, texture_home):
    # A real process: cli.common.report_world_errors binds sys.stderr at import time, so capsys cannot see it.
    path = world_file([place_dict(0), "nope", place_dict(1, weather={"temperature": 100, "conditions": "c", "windSpeed": 1})])
    r = subprocess.run([sys.executable, "-m", "cli", "batch", "--no-llm", "--json", "--world", str(path)],
                       env=_env(texture_home), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["places"] == 1 and d["skipped_lines"] == 2
    assert f"skipped {path}:2: not valid JSON" in r.stderr
    assert f"skipped {path}:3: weather.temperature: out of range" in r.stderr
    assert "2 bad line(s) skipped" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("content", [None, "", "garbage\n[1]\n"], ids=["missing", "empty", "no-valid-place"])
def test_unusable_world_is_one_clear_error(capsys, tmp_path, content):
    path = tmp_path / "world.jsonl"
    if content is not None:
        path.write_text(content)
    rc, out, err = texture(capsys, "batch", "--no-llm", "--world", str(path))
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("texture batch: error: ") and str(path) in lines[0]
    assert "Traceback" not in err


def test_unusable_database_is_one_clear_error(capsys, tmp_path, small_world):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 200)
    rc, out, err = texture(capsys, "batch", "--no-llm", "--world", str(small_world), "--db", str(junk))
    assert rc == 2 and "cannot use database" in err and len(err.strip().splitlines()) == 1


# --- export -----------------------------------------------------------------------------------

def test_export_jsonl_after_a_batch(capsys, small_world, tmp_path):
    batch_json(capsys, "--world", str(small_world))
    rc, out, err = texture(capsys, "export")
    assert rc == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 6 and len({r["urn"] for r in rows}) == 6
    for r in rows:
        assert set(r) == {"urn", "text", "source", "state_hash", "updated_at", "quality"}
        assert r["text"] and r["source"] == "template" and len(r["state_hash"]) == 64

    out_file = tmp_path / "export.jsonl"
    rc, out, err = texture(capsys, "export", "-o", str(out_file))
    assert rc == 0 and out == "" and "exported 6 places" in err
    assert [json.loads(line) for line in out_file.read_text().splitlines()] == rows


def test_export_before_any_batch(capsys):
    rc, out, err = texture(capsys, "export")
    assert rc == 0 and out == "" and "nothing to export" in err


# --- help -------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["--help"], ["batch", "--help"], ["export", "--help"], ["console", "--help"],
                                  ["models", "--help"], ["models", "pull", "--help"], ["models", "import", "--help"],
                                  ["models", "list", "--help"], ["bench", "--help"], ["doctor", "--help"]],
                         ids=lambda a: " ".join(a))
def test_help(capsys, args):
    with pytest.raises(SystemExit) as ei:
        cli.main(args)
    assert ei.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: texture")


def test_models_without_action_shows_help(capsys):
    with pytest.raises(SystemExit) as ei:
        cli.main(["models"])
    assert ei.value.code == 0 and "usage: texture models" in capsys.readouterr().out


def test_console_is_the_default_command_with_options(capsys, tmp_path):
    # A missing world fails before the console would start, so nothing is opened here.
    try:
        rc = cli.main(["--world", str(tmp_path / "nope.jsonl")])
    except SystemExit as exc:  # argparse gave up
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2 and "world file not found" in err, err


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as ei:
        cli.main(["frobnicate"])
    assert ei.value.code == 2


# --- real processes ---------------------------------------------------------------------------

def _env(home) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_") and k != "TEXTURE_DEBUG"}
    env["TEXTURE_HOME"] = str(home)
    return env


def test_texture_entry_point_in_a_subprocess(small_world, texture_home):
    exe = shutil.which("texture")
    if exe is None:
        pytest.fail("the `texture` entry point is not installed (pip install -e .)")
    env = _env(texture_home)
    r = subprocess.run([exe, "batch", "--no-llm", "--json", "--world", str(small_world)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["places"] == 6 and d["db"] == str(texture_home / "texture.db")
    r = subprocess.run([exe, "export"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 6
    r = subprocess.run([exe, "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "batch" in r.stdout and "export" in r.stdout


def test_missing_world_in_a_subprocess_has_no_traceback(tmp_path, texture_home):
    r = subprocess.run([sys.executable, "-m", "cli", "batch", "--no-llm", "--world", str(tmp_path / "nope.jsonl")],
                       env=_env(texture_home), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == f"texture batch: error: world file not found: {tmp_path / 'nope.jsonl'}"
    assert r.stdout == ""


def test_the_console_command_runs_the_console_and_headless_commands_never_load_it(capsys, tmp_path, small_world, texture_home):
    """`texture` is cli.main:main, on top of engine/ and console/: `texture console` reaches the
    console (here it stops at the bad world file, before the app starts), while a headless batch in
    a fresh interpreter never imports Textual or the console (the console is imported lazily)."""
    assert cli.main(["console", "--world", str(tmp_path / "nope.jsonl")]) == 2
    assert "world file not found" in capsys.readouterr().err
    probe = ("import sys, json; from cli.main import main; rc = main(['batch', '--no-llm', '--json', '--world', sys.argv[1]]); "
             "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'console'))), file=sys.stderr); "
             "sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", probe, str(small_world)], env=_env(texture_home), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stderr.strip().splitlines()[-1]) == []
    assert json.loads(r.stdout)["places"] == 6
