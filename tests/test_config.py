"""Configuration: FLUX_LLM_* variables (invalid values name the variable and the range), the
TOML config file, precedence flags > env > file > defaults, and the CLI's one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cli import main as cli
from engine.config import Config, ConfigError, load_config


def test_defaults_are_the_seeds_except_enabled_and_auto_timeout():
    cfg = load_config(env={})
    assert cfg == Config()
    assert cfg.enabled is True and cfg.concurrency == 4 and cfg.timeout_ms is None and cfg.timeout_label() == "auto"
    assert cfg.fallback_threshold == 0.1 and cfg.temperature == 0.5  # the seed's 0.7 invents more (texture eval)
    assert (cfg.short_term, cfg.medium_term, cfg.long_term) == (False, True, True)
    assert cfg.budgets == {"light": 80, "full": 120, "premium": 150}


def test_load_config_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("FLUX_LLM_CONCURRENCY", "2")
    monkeypatch.setenv("UNRELATED", "x")
    assert load_config().concurrency == 2


INVALID = [
    ("FLUX_LLM_ENABLED", "maybe", "true or false"),
    ("FLUX_LLM_CONCURRENCY", "0", "1 to 8"),
    ("FLUX_LLM_CONCURRENCY", "9", "1 to 8"),
    ("FLUX_LLM_CONCURRENCY", "four", "1 to 8"),
    ("FLUX_LLM_CONCURRENCY", "2.5", "1 to 8"),
    ("FLUX_LLM_TIMEOUT", "50", "100 to 600000"),
    ("FLUX_LLM_TIMEOUT", "600001", "100 to 600000"),
    ("FLUX_LLM_TIMEOUT", "2s", "100 to 600000"),
    ("FLUX_LLM_FALLBACK_THRESHOLD", "1.5", "0 to 1"),
    ("FLUX_LLM_FALLBACK_THRESHOLD", "-0.1", "0 to 1"),
    ("FLUX_LLM_FALLBACK_THRESHOLD", "nan", "0 to 1"),
    ("FLUX_LLM_FALLBACK_THRESHOLD", "ten percent", "0 to 1"),
    ("FLUX_LLM_SHORT_TERM", "yes please", "true or false"),
    ("FLUX_LLM_MEDIUM_TERM", "2", "true or false"),
    ("FLUX_LLM_LONG_TERM", "nope", "true or false"),
    ("FLUX_LLM_TEMPERATURE", "2.5", "0 to 2"),
    ("FLUX_LLM_TEMPERATURE", "inf", "0 to 2"),
    ("FLUX_LLM_TEMPERATURE", "hot", "0 to 2"),
    ("FLUX_LLM_BUDGET_LIGHT", "7", "8 to 1024"),
    ("FLUX_LLM_BUDGET_FULL", "1025", "8 to 1024"),
    ("FLUX_LLM_BUDGET_PREMIUM", "lots", "8 to 1024"),
]


@pytest.mark.parametrize("var, value, range_text", INVALID, ids=[f"{v}={x!r}" for v, x, _ in INVALID])
def test_invalid_variable_names_variable_value_and_range(var, value, range_text):
    with pytest.raises(ConfigError) as ei:
        load_config(env={var: value})
    msg = str(ei.value)
    assert var in msg and repr(value) in msg and range_text in msg
    assert "\n" not in msg


VALID = [
    ("FLUX_LLM_ENABLED", "false", "enabled", False),
    ("FLUX_LLM_ENABLED", " TRUE ", "enabled", True),
    ("FLUX_LLM_ENABLED", "0", "enabled", False),
    ("FLUX_LLM_ENABLED", "on", "enabled", True),
    ("FLUX_LLM_MODEL_PATH", "models/x", "model_path", "models/x"),
    ("FLUX_LLM_CONCURRENCY", "8", "concurrency", 8),
    ("FLUX_LLM_CONCURRENCY", " 1 ", "concurrency", 1),
    ("FLUX_LLM_TIMEOUT", "2000", "timeout_ms", 2000),
    ("FLUX_LLM_TIMEOUT", "100", "timeout_ms", 100),
    ("FLUX_LLM_TIMEOUT", "auto", "timeout_ms", None),
    ("FLUX_LLM_TIMEOUT", "", "timeout_ms", None),
    ("FLUX_LLM_FALLBACK_THRESHOLD", "0", "fallback_threshold", 0.0),
    ("FLUX_LLM_FALLBACK_THRESHOLD", "1", "fallback_threshold", 1.0),
    ("FLUX_LLM_SHORT_TERM", "true", "short_term", True),
    ("FLUX_LLM_MEDIUM_TERM", "false", "medium_term", False),
    ("FLUX_LLM_LONG_TERM", "no", "long_term", False),
    ("FLUX_LLM_TEMPERATURE", "0", "temperature", 0.0),
    ("FLUX_PROMPTS_DIR", "/tmp/p", "prompts_dir", "/tmp/p"),
]


@pytest.mark.parametrize("var, value, attr, expected", VALID, ids=[f"{v}={x!r}" for v, x, _, _ in VALID])
def test_valid_variable(var, value, attr, expected):
    assert getattr(load_config(env={var: value}), attr) == expected


def test_budget_variables():
    cfg = load_config(env={"FLUX_LLM_BUDGET_LIGHT": "8", "FLUX_LLM_BUDGET_FULL": "1024", "FLUX_LLM_BUDGET_PREMIUM": "200"})
    assert cfg.budgets == {"light": 8, "full": 1024, "premium": 200}
    assert Config().budgets == {"light": 80, "full": 120, "premium": 150}  # the default is not mutated


# --- the config file --------------------------------------------------------------------------

def test_config_file_llm_table(tmp_path):
    f = tmp_path / "texture.toml"
    f.write_text("""
[llm]
enabled = false
concurrency = 2
timeout = 5000
fallback_threshold = 0.25
short_term = true
long_term = "false"
temperature = 0.2
budget_premium = 99
model_path = "models/other"
prompts_dir = "/somewhere/prompts"
""")
    cfg = load_config(env={}, config_file=f)
    assert cfg.enabled is False and cfg.concurrency == 2 and cfg.timeout_ms == 5000
    assert cfg.fallback_threshold == 0.25 and cfg.short_term is True and cfg.long_term is False
    assert cfg.temperature == 0.2 and cfg.budgets["premium"] == 99 and cfg.budgets["light"] == 80
    assert cfg.model_path == "models/other" and cfg.prompts_dir == "/somewhere/prompts"


def test_config_file_without_table_uses_top_level_keys(tmp_path):
    f = tmp_path / "t.toml"
    f.write_text("concurrency = 3\n")
    assert load_config(env={}, config_file=f).concurrency == 3


def test_missing_config_file_means_defaults(tmp_path):
    assert load_config(env={}, config_file=tmp_path / "nope.toml") == Config()


@pytest.mark.parametrize("text, words", [
    ("[llm]\nconcurrency = 0\n", ["concurrency", "1 to 8"]),
    ("[llm]\nconcurrency = \"many\"\n", ["concurrency", "1 to 8"]),
    ("[llm]\nenabled = \"perhaps\"\n", ["enabled", "true or false"]),
    ("[llm]\ncolour = \"red\"\n", ["unknown setting", "colour"]),
    ("[llm\nconcurrency = 2\n", ["not valid TOML"]),
    ("llm = 5\n", ["[llm] must be a table"]),
])
def test_bad_config_file(tmp_path, text, words):
    f = tmp_path / "texture.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as ei:
        load_config(env={}, config_file=f)
    for w in words:
        assert w in str(ei.value)
    if "unknown" not in words[0] and "TOML" not in words[0] and "table" not in words[0]:
        assert str(f) in str(ei.value)  # a bad value names the file it came from


def test_config_file_that_is_not_utf8(tmp_path):
    f = tmp_path / "texture.toml"
    f.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(ConfigError):
        load_config(env={}, config_file=f)


# --- precedence -------------------------------------------------------------------------------

def test_precedence_flags_over_env_over_file_over_defaults(tmp_path):
    f = tmp_path / "texture.toml"
    f.write_text("[llm]\nconcurrency = 2\ntimeout = 3000\nshort_term = true\n")
    env = {"FLUX_LLM_CONCURRENCY": "3", "FLUX_LLM_TIMEOUT": "4000"}
    flags = {"FLUX_LLM_CONCURRENCY": "5"}
    cfg = load_config(env=env, config_file=f, overrides=flags)
    assert cfg.concurrency == 5  # flag
    assert cfg.timeout_ms == 4000  # env beats file
    assert cfg.short_term is True  # file beats default
    assert cfg.medium_term is True  # default
    assert load_config(env=env, config_file=f).concurrency == 3
    assert load_config(env={}, config_file=f).concurrency == 2
    assert load_config(env={}).concurrency == 4
    # A flag left unset (None) does not override.
    assert load_config(env=env, config_file=f, overrides={"FLUX_LLM_CONCURRENCY": None}).concurrency == 3


def test_invalid_flag_value_names_the_setting():
    with pytest.raises(ConfigError, match="concurrency.*1 to 8"):
        load_config(env={}, overrides={"FLUX_LLM_CONCURRENCY": "12"})


# --- through the CLI --------------------------------------------------------------------------

def _batch(capsys, *args) -> tuple[int, str, str]:
    rc = cli.main(["batch", "--json", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_reads_the_config_file_in_texture_home(texture_home, small_world, capsys):
    (texture_home / "texture.toml").write_text("[llm]\nenabled = false\n")
    rc, out, err = _batch(capsys, "--world", str(small_world))
    assert rc == 0
    assert '"notice": "LLM disabled' in out and '"disabled": 3' in out


def test_cli_env_beats_config_file_and_flag_beats_env(texture_home, small_world, capsys, monkeypatch):
    (texture_home / "texture.toml").write_text("[llm]\nconcurrency = 2\nenabled = true\n")
    monkeypatch.setenv("FLUX_LLM_ENABLED", "false")
    rc, out, _ = _batch(capsys, "--world", str(small_world))
    assert rc == 0 and "LLM disabled" in out  # env over file
    monkeypatch.setenv("FLUX_LLM_ENABLED", "true")
    rc, out, _ = _batch(capsys, "--world", str(small_world), "--no-llm")
    assert rc == 0 and "LLM disabled" in out  # flag over env
    monkeypatch.setenv("FLUX_LLM_CONCURRENCY", "3")
    rc, out, err = _batch(capsys, "--world", str(small_world), "--no-llm", "--concurrency", "9")
    assert rc == 2 and "concurrency" in err and "1 to 8" in err  # the flag's value is the one checked


@pytest.mark.parametrize("var, value", [("FLUX_LLM_CONCURRENCY", "0"), ("FLUX_LLM_ENABLED", "maybe"),
                                        ("FLUX_LLM_TIMEOUT", "fast"), ("FLUX_LLM_BUDGET_FULL", "1")])
def test_cli_batch_with_bad_env_value_exits_2_with_one_line(small_world, capsys, monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    rc, out, err = _batch(capsys, "--world", str(small_world), "--no-llm")
    assert rc == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("texture batch: error: ") and var in lines[0]
    assert "Traceback" not in err


def test_cli_bad_config_file_exits_2(texture_home, small_world, capsys):
    (texture_home / "texture.toml").write_text("[llm]\nwhat = 1\n")
    rc, out, err = _batch(capsys, "--world", str(small_world), "--no-llm")
    assert rc == 2 and "unknown setting" in err and len(err.strip().splitlines()) == 1


def test_cli_explicit_config_file_must_exist(tmp_path, small_world, capsys):
    rc, out, err = _batch(capsys, "--world", str(small_world), "--no-llm", "--config", str(tmp_path / "missing.toml"))
    assert rc == 2 and "config file not found" in err


def test_cli_bad_env_value_in_a_real_process(small_world, texture_home):
    import os

    env = {**os.environ, "TEXTURE_HOME": str(texture_home), "FLUX_LLM_CONCURRENCY": "99"}
    r = subprocess.run([sys.executable, "-m", "cli", "batch", "--no-llm", "--world", str(small_world)],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "texture batch: error: FLUX_LLM_CONCURRENCY='99' is out of range: use a whole number from 1 to 8"]
