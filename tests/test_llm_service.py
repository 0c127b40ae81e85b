"""The one model-service interface (engine.llm.base) and the one exception tree (engine.errors)."""

from __future__ import annotations

import threading

import pytest

from engine import errors
from engine.cluster import ClusterLLM
from engine.llm.base import LLMService
from engine.llm.events import EngineStatus
from engine.llm.generator import GenerationEngine
from engine.llm.scripted import ScriptedLLM


@pytest.mark.parametrize("cls", [GenerationEngine, ScriptedLLM, ClusterLLM])
def test_every_service_is_an_llmservice_that_can_pause_cancel_and_drain(cls):
    assert issubclass(cls, LLMService)
    assert cls.CAN_PAUSE is True and cls.CAN_CANCEL is True and cls.CAN_DRAIN is True
    assert not getattr(cls, "__abstractmethods__", None)


def test_the_base_class_refuses_what_it_cannot_do():
    class Minimal(LLMService):
        status = EngineStatus("ready")

        def ready(self):
            return True

        def unavailable_reason(self):
            return None

        def deadline_for(self, budget):
            return 1.0

        def submit(self, requests, on_event=None):
            return None

    m = Minimal()
    assert m.CAN_PAUSE is False and m.wait_ready(0) is True
    with pytest.raises(NotImplementedError, match="CAN_PAUSE"):
        m.pause()
    with pytest.raises(NotImplementedError, match="CAN_CANCEL"):
        m.cancel(object())
    assert m.CAN_DRAIN is False
    with pytest.raises(NotImplementedError, match="CAN_DRAIN"):
        m.drain(object())
    with pytest.raises(TypeError):
        LLMService()  # abstract


def test_scripted_status_is_an_engine_status_and_listeners_hear_changes():
    llm = ScriptedLLM(concurrency=1)
    try:
        assert isinstance(llm.status, EngineStatus) and llm.ready() is True
        heard: list[EngineStatus] = []
        llm.add_status_listener(heard.append)
        assert [s.state for s in heard] == ["ready"]  # the current status at once
        llm.set_status("loading", "warming up")
        assert llm.ready() is False and llm.unavailable_reason() == "loading: warming up"
        llm.set_status("ready")
        assert [s.state for s in heard] == ["ready", "loading", "ready"]
    finally:
        llm.shutdown()


def test_engine_ready_is_a_plain_bool_method_and_listeners_hear_the_load():
    gate = threading.Event()

    def loader():
        gate.wait(10)
        raise RuntimeError("no such model")

    eng = GenerationEngine(loader, concurrency=1)
    heard: list[str] = []
    eng.add_status_listener(lambda st: heard.append(st.state))
    eng.start()
    try:
        assert eng.ready() is False
        gate.set()
        assert eng.wait_ready(30) is False
        assert isinstance(eng.status, EngineStatus) and eng.status.state == "failed"
        assert heard[0] == "loading" and heard[-1] == "failed"
    finally:
        eng.shutdown()


def test_one_exception_tree():
    from engine.llm.models.folders import ModelLoadError, ModelPullError
    from engine.store import StoreError, StoreWriteError

    for exc in (errors.UsageError, ModelLoadError, ModelPullError, StoreError, StoreWriteError):
        assert issubclass(exc, errors.TextureError), exc
    assert StoreError is errors.StoreError
    assert issubclass(ModelLoadError, errors.ModelError)


def test_console_waits_for_the_model_on_an_event_and_posts_coalescing_messages(tmp_path):
    from console.messages import EngineStateChanged
    from tests.fakes import make_app

    app = make_app(tmp_path)
    assert app.engine_state[0] == "loading"
    cancel = threading.Event()
    cancel.set()
    assert app.wait_for_model(cancel) is False  # still loading: the cancel ends the wait
    app.engine_state = ("ready", "scripted", None)
    assert app.wait_for_model(threading.Event()) is True
    app.engine_state = ("loading", "again", None)
    assert app.wait_for_model(cancel) is False
    a, b = EngineStateChanged(("loading", "1%", 0.01)), EngineStateChanged(("loading", "2%", 0.02))
    assert b.can_replace(a)
