"""Typed messages the console's threads post to the UI (instead of the UI polling shared state).

Posted with ``App.post_message`` (thread-safe) from the model service's status listener; the UI
handles them on its own thread. ``can_replace`` coalesces a burst (loading progress) into the
newest one still waiting in the queue, as toolong's messages do.
"""

from __future__ import annotations

from textual.message import Message


class EngineStateChanged(Message):
    """The model service's (state, detail, progress) changed."""

    def __init__(self, state: tuple[str, str, float | None]) -> None:
        super().__init__()
        self.state = state

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EngineStateChanged)
