"""The skinny kernel's thread split, chosen by timing decode steps here and cached."""

from __future__ import annotations

import json

import pytest

from engine.llm.cpu import calibrate, skinny


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    if skinny.load() is None:
        pytest.skip(f"skinny kernel unavailable here: {skinny.status()}")
    from engine.llm.cpu import cpu_kernels
    from fakes import tiny_model

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("FLUX_SKINNY_CALIBRATE", raising=False)
    monkeypatch.setattr(calibrate, "load_average", lambda: 0.0)  # the machine's own load: not this test's
    saved = dict(skinny.threads_for)
    model = tiny_model(300, 0)
    cpu_kernels.install(model)
    yield model, monkeypatch, tmp_path
    cpu_kernels.remove(model)
    skinny.threads_for.update(saved)
    skinny.load().skinny_set_spin(2000)


def test_measures_once_then_uses_the_cached_choice(tiny):
    model, monkeypatch, tmp_path = tiny
    said = calibrate.apply(model, "f32")
    assert "measured now" in said and calibrate.status() == said
    files = list(tmp_path.rglob("calibration-*.json"))
    assert len(files) == 1
    result = json.loads(files[0].read_text())
    labels = [c[0] for c in calibrate.CANDIDATES]
    for rows in ("1", "4"):
        assert set(result["step_ms"][rows]) == set(labels)
        best = min(labels, key=lambda k: result["step_ms"][rows][k])
        assert result["chosen"][rows][0] == best  # the fastest measured, nothing else
    assert skinny.threads_for[1] == result["chosen"]["1"][1]
    assert skinny.threads_for[2] == result["chosen"]["4"][1]

    files[0].write_text(json.dumps(dict(result, chosen={"1": list(calibrate.CANDIDATES[0]),
                                                          "4": list(calibrate.CANDIDATES[0])})))
    again = calibrate.apply(model, "f32")
    assert "cached" in again and "measured now" not in again
    assert skinny.threads_for == {1: 1, 2: 1}  # what the cache says, not measured again
    assert "cached" not in calibrate.apply(model, "q8")  # another weight format: its own entry

    monkeypatch.setenv("FLUX_SKINNY_CALIBRATE", "0")
    assert "not calibrated" in calibrate.apply(model, "f32")
    assert skinny.threads_for == {1: 2, 2: 2}
    monkeypatch.setenv("FLUX_SKINNY_CALIBRATE", "force")
    assert "measured now" in calibrate.apply(model, "f32")


def test_a_measurement_taken_while_busy_is_taken_again_when_quieter(tiny):
    model, monkeypatch, tmp_path = tiny
    cpus = __import__("os").cpu_count() or 1
    monkeypatch.setattr(calibrate, "load_average", lambda: cpus + 1.0)
    said = calibrate.apply(model, "f32")
    assert "measured now" in said and "while busy" in said
    (path,) = tmp_path.rglob("calibration-*.json")
    stored = json.loads(path.read_text())
    assert stored["busy"] is True and stored["load"] == cpus + 1.0

    assert "cached" in calibrate.apply(model, "f32")  # still busy: the busy result is used as it is

    monkeypatch.setattr(calibrate, "load_average", lambda: 0.2)
    again = calibrate.apply(model, "f32")
    assert "measured now" in again and "while busy" not in again  # quieter: measured again
    assert json.loads(path.read_text())["busy"] is False
    monkeypatch.setattr(calibrate, "load_average", lambda: cpus + 3.0)
    assert "cached" in calibrate.apply(model, "f32")  # a quiet measurement is kept whatever comes after


def test_no_load_average_counts_as_quiet(tiny):
    model, monkeypatch, tmp_path = tiny
    monkeypatch.setattr(calibrate, "load_average", lambda: None)
    assert "while busy" not in calibrate.apply(model, "f32")
    (path,) = tmp_path.rglob("calibration-*.json")
    assert json.loads(path.read_text())["busy"] is False
