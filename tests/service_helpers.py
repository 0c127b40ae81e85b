"""Test seams for the texture service: a fake clock and a file-change source that never sleeps."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Callable


class FakeClock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += max(0.0, dt)


class SteppedChanges:
    """``wait(timeout)`` advances the fake clock by ``timeout`` at once and reports a change when
    ``on_wait`` (called with the new time) returns True, or always with ``always=True``."""

    def __init__(self, clock: FakeClock, on_wait: Callable[[float], bool] | None = None, always: bool = False):
        self.clock, self.on_wait, self.always = clock, on_wait, always
        self.waits = 0

    def wait(self, timeout: float) -> bool:
        self.waits += 1
        self.clock.advance(timeout)
        hit = self.on_wait(self.clock.t) if self.on_wait else False
        return bool(hit) or self.always

    def close(self) -> None:
        pass


def write_jsonl(path: Path, items: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(d) + "\n" for d in items), encoding="utf-8")
    tmp.replace(path)


class StderrLines:
    """A child's stderr lines through a queue, so every wait for a line has an upper bound;
    :meth:`rest` waits for the end and returns every line read."""

    def __init__(self, proc):
        import queue

        self.q: "queue.Queue[str | None]" = queue.Queue()
        self.seen: list[str] = []

        def pump():
            for line in proc.stderr:
                self.q.put(line)
            self.q.put(None)

        self.t = threading.Thread(target=pump, daemon=True)
        self.t.start()

    def until(self, pred, timeout: float = 120.0) -> str:
        while True:
            line = self.q.get(timeout=timeout)
            if line is None:
                raise AssertionError("the process ended before the expected line:\n" + "".join(self.seen))
            self.seen.append(line)
            if pred(line):
                return line

    def rest(self) -> str:
        self.t.join(timeout=60)
        while not self.q.empty():
            x = self.q.get()
            if x is not None:
                self.seen.append(x)
        return "".join(self.seen)
