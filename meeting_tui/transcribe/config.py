"""The streaming transcriber's settings (``TranscriberConfig``) and the status it reports."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from meeting_tui.transcribe.decode_options import DecodeOptions
from meeting_tui.transcribe.filters import FilterConfig
from meeting_tui.transcribe.governor import GovernorConfig
from meeting_tui.transcribe.model_spec import ModelConfig
from meeting_tui.transcribe.vad_segmenter import VadConfig
from meeting_tui.transcribe.window import FINAL_WINDOW, PARTIAL_WINDOW, WindowPolicy
from meeting_tui.types import Mode, Source

DEFAULT_LABELS = {Source.MIC: "You", Source.LOOPBACK: "Them", Source.MIX: "Mixed"}
FINAL_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass
class TranscriberConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    style: str = "separate"  # "separate": each source on its own; "mixed": the gain-weighted mix (on_mix)
    sources: tuple[Source, ...] = (Source.MIC, Source.LOOPBACK)  # what the mode captures
    labels: dict[Source, str] = field(default_factory=lambda: dict(DEFAULT_LABELS))
    vad: VadConfig = field(default_factory=VadConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)
    partials: bool = True
    partial_interval_s: float = 1.5  # sooner costs CPU for little (docs/transcription.md, Benchmark)
    partial_min_s: float = 0.8  # audio in the utterance before its first partial
    partial_max_lag_s: float = 1.0
    # decode an utterance's final during the pause that will close it and publish it the moment the pause
    # completes: once the pause is as long as the padding (the samples are known), or sooner for a slow
    # decoder (early_finals.py)
    early_finals: bool = True
    temperatures: tuple[float, ...] = FINAL_TEMPERATURES
    context_prompt: bool = False  # prompt each final with the previous final of the same source
    context_audio: bool = True  # decode each final behind the previous utterances (audio + forced text prefix)
    context_utterances: int = 2  # ... at most this many (docs/transcription.md, Finals and partials)
    # ... and, while finals take too long to end within their closing pause (a slow machine or model), none
    # more once this much audio is held: each context word is a forced decoder step as dear as a decoded one.
    # A quick decoder keeps the whole context, which tiny.en needs on a reverberant mic (context_policy.py).
    context_enough_s: float = 3.0
    context_max_gap_s: float = 10.0  # ... when it ended at most this long before
    context_max_window_s: float = 28.0  # ... and both fit in Whisper's 30 s window
    session_start_wall: float | None = None  # UNIX time of session sample 0 (None: inferred from arrivals)
    decode: DecodeOptions | None = None  # vocabulary and per-source language (transcribe/decode_options.py)
    vocabulary_guard: bool = True  # a final the glossary garbled is decoded again without it (vocabulary_guard.py)
    # encoder windows sized to the audio (window.py)
    final_window: WindowPolicy = field(default_factory=lambda: FINAL_WINDOW)
    partial_window: WindowPolicy = field(default_factory=lambda: PARTIAL_WINDOW)
    governor: GovernorConfig = field(default_factory=GovernorConfig)
    paced: bool = True  # the audio arrives at real time (devices, paced replay); see ``unpaced``

    def unpaced(self) -> None:
        """Recordings replayed as fast as they are read (``--speed 0``): there is no real time to keep up
        with, so nothing trades words for time (the load governor, the shorter context of slow finals, the
        echo guard's bounded wait for the loopback): the text is the same at any load."""
        self.paced = False
        self.governor = replace(self.governor, enabled=False)
        self.context_enough_s = math.inf

    @property
    def streams(self) -> tuple[Source, ...]:
        """The streams that get transcribed: the sources (separate), or MIX (mixed with two sources)."""
        if self.style == "mixed" and len(self.sources) > 1:
            return (Source.MIX,)
        return tuple(self.sources)

    def label(self, source: Source) -> str:
        return self.labels.get(source, DEFAULT_LABELS.get(source, str(source.value)))

    @classmethod
    def from_settings(cls, settings: Any, mode: Mode | None = None, **overrides: Any) -> "TranscriberConfig":
        """From a ``meeting_tui.settings.Settings`` (capture.mode, transcription.*, ui.labels)."""
        tr = getattr(settings, "transcription", None)
        mode = mode or getattr(getattr(settings, "capture", None), "mode", None) or Mode.MEETING
        labels = dict(DEFAULT_LABELS)
        ui_labels = getattr(getattr(settings, "ui", None), "labels", None)
        if ui_labels is not None and hasattr(ui_labels, "as_dict"):
            labels.update(ui_labels.as_dict())
        model = ModelConfig.from_settings(tr.model) if tr is not None else ModelConfig()
        values: dict[str, Any] = dict(model=model, style=getattr(tr, "style", "separate"),
                                      sources=tuple(Mode(mode).sources), labels=labels,
                                      decode=DecodeOptions.from_settings(tr) if tr is not None else None)
        server = server_config(tr)
        if server is not None:
            # A server has no forced prefix: the previous line goes as the prompt, not as audio in front.
            # Its decode times are the server's and its waits while it is away are no load on this machine:
            # the governor stays off; partials follow the server's round trip (server.PARTIAL_RTT_S).
            model.server = server
            values.update(context_audio=False, context_prompt=True, governor=GovernorConfig(enabled=False))
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True)
class TranscriberStatus:
    """``state``: "loading", "ready", "error", "draining", "stopped". ``progress`` 0..1 where known."""

    state: str
    message: str = ""
    progress: float | None = None
    fix: str | None = None  # for "error": what the user can do
    model: str | None = None
    device: str | None = None
    compute_type: str | None = None


def server_config(tr: Any, engine: str | None = None) -> Any:
    """The speech server of ``[transcription]`` when ``engine`` (default: the settings') is "server", else None."""
    if (engine or getattr(tr, "engine", "local")) != "server":
        return None
    from meeting_tui.transcribe.server import ServerConfig

    s = tr.server
    return ServerConfig(url=s.url, model=s.model, api_key_env=s.api_key_env, timeout_s=s.timeout_s,
                        allow_plain_http=s.allow_plain_http, local_fallback=s.local_fallback,
                        polish_model=s.polish_model)
