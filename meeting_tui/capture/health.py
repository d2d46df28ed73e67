"""Per-source health: is this stream live, idle, silent, stalled, crashed or on the wrong source?

Pure logic on an injected clock, so every transition is testable without audio. The engine feeds it
block arrivals and worker events and asks ``evaluate(now)`` on every meter tick.
"""

from __future__ import annotations

from meeting_tui.capture.gate import faded_out
from meeting_tui.types import Health, HealthState, Source

SILENCE_DB = -90.0  # digital silence: below any real microphone's noise floor
SILENT_AFTER_S = 1.5  # zeros right after a sound that was cut off, not faded: a mute
# A mic whose sound faded into exact zeros has a noise gate (headset noise suppression, virtual devices):
# its zeros are pauses between words, called silent only after this long.
GATED_SILENT_AFTER_S = 120.0
# Zeros from the start: a blocked or muted mic, or a gated one opened during a pause (not said at once).
NEVER_HEARD_SILENT_AFTER_S = 8.0
STALLED_AFTER_S = 1.0
START_GRACE_S = 3.0  # from "started" to the first block (an idle PulseAudio sink: up to 2 s)


class HealthMonitor:
    def __init__(self, source: Source, *, is_loopback: bool | None = None) -> None:
        self.source = source
        self.is_loopback = source is Source.LOOPBACK if is_loopback is None else is_loopback
        self._started_at: float | None = None
        self._opened_at: float | None = None  # the worker said "started": the device is open
        self._last_block: float | None = None
        self._last_sound: float | None = None
        self._faded = False  # the last sound faded out before the zeros (a gate closing)
        self._heard = False  # any sound since the worker started
        self._crashed: str | None = None
        self._restarting = True  # a crashed worker is restarted unless its spec says not (replayed files)
        self._finished = False
        self._stopped = False
        self.wrong_source: str | None = None
        self.last_error: str | None = None
        self.hint: str = ""

    # -- events ----------------------------------------------------------------------------------
    def worker_started(self, now: float) -> None:
        self._started_at = now
        self._opened_at = None
        self._last_block = None
        self._last_sound = None
        self._faded = False
        self._heard = False
        self._crashed = None

    def device_opened(self, now: float) -> None:
        """The worker reported "started". Until then opening is in progress, however long it takes (a
        DirectShow open waits up to 8 s; the supervisor's start-up timeout bounds it)."""
        self._opened_at = now

    def block(self, now: float, peak_db: float, synthesized: bool = False, tail_db: float | None = None) -> None:
        """``tail_db``: the level of the stream's last sound before the block's trailing zeros (capture/gate.py)."""
        if self._last_block is None:
            self._last_sound = now  # silence is timed from the first block, not from the launch
        self._last_block = now
        if peak_db > SILENCE_DB and not synthesized:
            self._last_sound = now
            self._faded = faded_out(tail_db)
            self._heard = True

    def worker_exited(self, reason: str, restarting: bool = True) -> None:
        self._crashed = reason
        self._restarting = restarting
        self.last_error = reason

    def worker_finished(self) -> None:
        """The source ended on purpose (a replayed file reached its end)."""
        self._finished = True

    def stopped(self) -> None:
        self._stopped = True

    # -- state -----------------------------------------------------------------------------------
    def evaluate(self, now: float) -> Health:
        s, state = self.source, HealthState
        if self._stopped or self._finished:
            return Health(s, state.STOPPED, "finished" if self._finished else "stopped", self.last_error)
        if self._crashed is not None:
            then = "restarting" if self._restarting else "not restarted (a replayed file)"
            return Health(s, state.CRASHED, f"worker exited ({self._crashed}); {then}", self.last_error)
        if self._started_at is None:
            return Health(s, state.STARTING, "starting capture", self.last_error)
        if self._last_block is None:
            if self._opened_at is None:
                return Health(s, state.STARTING, "opening the device", self.last_error)
            waited = now - self._opened_at
            if waited > START_GRACE_S:
                return Health(s, state.STALLED, f"no audio from the device for {waited:.1f} s since it opened",
                              self.last_error)
            return Health(s, state.STARTING, "opening the device", self.last_error)
        quiet_for = now - self._last_block
        if quiet_for > STALLED_AFTER_S:
            return Health(s, state.STALLED, f"no audio for {quiet_for:.1f} s: device suspended or gone",
                          self.last_error)
        if self.wrong_source:
            return Health(s, state.WRONG_SOURCE, self.wrong_source, self.last_error)
        silent_for = now - (self._last_sound or now)
        if silent_for > self._silent_after():
            if self.is_loopback:
                return Health(s, state.IDLE, "nothing is playing", self.last_error)
            return Health(s, state.SILENT, f"digital silence for {silent_for:.1f} s: muted, or blocked by the OS",
                          self.last_error)
        return Health(s, state.LIVE, "", self.last_error)

    def _silent_after(self) -> float:
        if self.is_loopback:  # nothing playing is normal: "idle", no alarm
            return SILENT_AFTER_S
        if not self._heard:
            return NEVER_HEARD_SILENT_AFTER_S
        return GATED_SILENT_AFTER_S if self._faded else SILENT_AFTER_S
