"""The echo guard's tunables, one object (``EchoGuard(settings=EchoGuardSettings(...))``). The defaults
are what the rig's recordings chose (docs/echo.md); the meeting never changes them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EchoGuardSettings:
    # alignment: how long a mic frame waits for its loopback, how far the loopback may lead
    max_wait_ms: float = 400.0
    lookahead_ms: float = 150.0
    # the delay and coupling estimate (GCC-PHAT over ``estimate_window_s``, every ``estimate_every_s``)
    estimate_every_s: float = 1.0
    estimate_window_s: float = 4.0
    min_confidence: float = 4.0
    min_coupling_db: float = -45.0
    hold_s: float = 20.0  # the echo notice stays this long after the echo was last measured
    prime_s: float = 2.0  # the far side's first words are processed twice (EchoGuard._replay)
    # the residual gate: shut while only the far side talks
    residual_gate: bool = True
    gate_margin_db: float = -10.0
    gate_floor_db: float = -40.0
    gate_hangover_ms: float = 150.0
    # the linear double-talk path (None: on with a backend that suppresses, i.e. AEC3)
    double_talk: bool | None = None
    linear_ms: float | None = None  # the echo path's length it models (None: what each leg models best)
    linear_pre_ms: float = 30.0  # the direct sound this far into its filter
    linear_min_erle_db: float = 0.0  # used only while it removes at least this much of the far side
    linear_detect_db: float | None = -10.0  # its near-end detector's margin (None: not used)
    linear_detect_erle_db: float = 15.0  # ... trusted once it removes this much of the far side alone
    linear_trust_frames: int = 100  # ... judged over this many recent far-only frames
    # warm-up: until the detector is trusted, the raw mic ("raw") instead of the gated output; "off": none
    warmup: str = "raw"
    warmup_max_s: float = 10.0  # ... or until this much far-side sound once the coupling is known
