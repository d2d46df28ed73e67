"""The dashboard follows calls ("Follow calls" in the palette): a session starts when another application
opens the microphone and stops when it lets go or after ``silence_s`` without a new line, each said in a
notice; the status line's recording mark shows it meanwhile. The decisions are the `watch` command's
(``callwatch/watcher.py``); the probe runs in a worker thread."""

from __future__ import annotations

import time
from typing import Any

from meeting_tui.callwatch.platform_probe import default_probe
from meeting_tui.callwatch.probe import ProbeError
from meeting_tui.callwatch.watcher import CallWatcher, Start, Stop


class CallFollower:
    def __init__(self, app: Any, probe: Any = None, *, poll_s: float = 1.0, silence_s: float = 600.0) -> None:
        self.app, self.probe, self.poll_s = app, probe or default_probe(), poll_s
        self.watcher = CallWatcher(silence_s)
        self.enabled = False
        self.started_by_us = False
        self._timer = None
        self._lines = 0
        self._last_speech: float | None = None

    def toggle(self) -> None:
        self.enabled = not self.enabled
        if self.enabled:
            self.watcher = CallWatcher(self.watcher.silence_s)
            self._timer = self.app.set_interval(self.poll_s, self._tick)
            self.app.notify("Following calls: a session starts when another application opens the microphone "
                            "and stops when it lets go.", title="Calls", timeout=8)
        else:
            if self._timer is not None:
                self._timer.stop()
            self.app.notify("No longer following calls.", title="Calls", timeout=5)

    def _tick(self) -> None:
        self.app.run_worker(self._probe, thread=True, exclusive=True, group="call-follow")

    def _probe(self) -> None:
        try:
            users = self.probe.users()
        except ProbeError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._decide, users)

    def _failed(self, message: str) -> None:
        if self.enabled:
            self.toggle()
            self.app.notify(f"Cannot follow calls: {message}", title="Calls", severity="error", timeout=15)

    def _decide(self, users: list) -> None:
        if not self.enabled:
            return
        lines = len(self.app.transcript.segments)
        if lines != self._lines:
            self._lines, self._last_speech = lines, time.monotonic()
        action = self.watcher.step(users, time.monotonic(), self._last_speech)
        if isinstance(action, Start) and not self.app.core.recording:
            self.app.start_session()
            self.started_by_us = self.app.core.recording
            self._lines, self._last_speech = len(self.app.transcript.segments), None
            if self.started_by_us:
                self.app.notify(f"Call detected ({action.describe()}): recording.", title="Calls", timeout=8)
        elif isinstance(action, Stop) and self.started_by_us:
            self.started_by_us = False
            if self.app.core.recording:
                self.app.notify(f"Call ended ({action.reason}): stopping the session.", title="Calls", timeout=8)
                self.app.stop_session()  # a worker: drains, closes, says where it was saved
