"""The load governor: trades quality for keeping up when the decoder is overloaded, and back.

Steps, one at a time: partials less often -> no partials -> a smaller beam for finals -> a smaller model
(only where one is available, and only when finals fall behind: busy alone does not justify its accuracy). Finals are never dropped: every step only makes them cheaper or frees the
decoder for them. Inputs, measured by the Transcriber: how busy the decoder was over the last few seconds
(Whisper wall time / wall time, finals and partials) and the lag (how long the oldest waiting audio has
waited).
"""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("full", "slower partials", "no partials", "small beam", "smaller model")


@dataclass(frozen=True)
class GovernorConfig:
    enabled: bool = True
    window_s: float = 10.0  # busy is measured over this much recent wall time
    down_busy: float = 0.85  # step down above this busy fraction ...
    down_lag_s: float = 3.0  # ... or this lag
    up_busy: float = 0.45  # step up below this busy fraction, with the lag under up_lag_s
    up_lag_s: float = 1.0
    down_dwell_s: float = 4.0  # at least this long between a change and a step down
    up_dwell_s: float = 20.0  # ... and a step up (slow to trust room again)
    slow_partial_factor: float = 3.0  # "slower partials": the interval times this
    small_beam: int = 1


@dataclass(frozen=True)
class GovernorState:
    """What the governor has decided; shown by the front ends (``TranscriberStats.governor``).

    ``level`` 0 (full quality) .. 4; ``name`` one of LEVELS; ``reason`` the measurement behind the last
    change ("busy 0.93 over 10 s"); ``partials``/``partial_interval_s``/``beam_size``/``model`` what is used
    now; ``busy`` the decoder's busy fraction over the last ``window_s``; ``lag_s`` as in the stats."""

    level: int = 0
    name: str = LEVELS[0]
    reason: str = "starting"
    partials: bool = True
    partial_interval_s: float = 1.0
    beam_size: int = 5
    model: str | None = None
    busy: float = 0.0
    lag_s: float = 0.0

    @property
    def degraded(self) -> bool:
        return self.level > 0

    def summary(self) -> str:
        """One line for a status bar: "no partials (after busy 0.91 over 10 s)". "after": the figure is the
        one that made it step, not the lag now (shown beside it, and lower once the step helped)."""
        if self.level == 0:
            return "full quality"
        return f"{self.name} ({self.reason if self.reason.startswith('room') else 'after ' + self.reason})"


class Governor:
    """Pure decision logic (no threads, no clock of its own): ``update`` is given the time and measurements."""

    def __init__(self, config: GovernorConfig, *, partial_interval_s: float, beam_size: int, partials: bool,
                 model: str | None, smaller_model: str | None) -> None:
        self.config = config
        self._base_interval, self._base_beam, self._partials = partial_interval_s, beam_size, partials
        self._model, self._smaller = model, smaller_model
        self._max_level = 4 if smaller_model else 3
        self._changed_at: float | None = None
        self.state = self._state(0, "starting", 0.0, 0.0)

    def _state(self, level: int, reason: str, busy: float, lag: float) -> GovernorState:
        c = self.config
        interval = self._base_interval * (c.slow_partial_factor if level >= 1 else 1.0)
        return GovernorState(
            level=level, name=LEVELS[level], reason=reason, partials=self._partials and level < 2,
            partial_interval_s=round(interval, 2), beam_size=min(self._base_beam, c.small_beam) if level >= 3
            else self._base_beam, model=self._smaller if level >= 4 else self._model, busy=round(busy, 3),
            lag_s=round(lag, 3))

    def update(self, now: float, busy: float, lag_s: float) -> bool:
        """Feed the latest measurements; True when the level changed (``state`` holds the new one)."""
        c = self.config
        if self._changed_at is None:
            self._changed_at = now
        level = self.state.level
        since = now - self._changed_at
        new = level
        if not c.enabled:
            pass
        elif (busy > c.down_busy or lag_s > c.down_lag_s) and level < self._max_level and since >= c.down_dwell_s \
                and (level < 3 or lag_s > c.down_lag_s):  # a smaller model costs accuracy: only when behind
            new = level + 1
            why = f"lag {lag_s:.1f} s" if lag_s > c.down_lag_s else f"busy {busy:.2f} over {c.window_s:g} s"
        elif busy < c.up_busy and lag_s < c.up_lag_s and level > 0 and since >= c.up_dwell_s:
            new = level - 1
            why = f"room: busy {busy:.2f}"
        if new == level:
            self.state = GovernorState(**{**self.state.__dict__, "busy": round(busy, 3), "lag_s": round(lag_s, 3)})
            return False
        self._changed_at = now
        self.state = self._state(new, why, busy, lag_s)
        return True
