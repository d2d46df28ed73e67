"""The meeting's transcriber settings, as both front ends make them."""

from __future__ import annotations

from meeting_tui.transcribe.model import ModelConfig
from meeting_tui.transcribe.transcriber import TranscriberConfig
from meeting_tui.types import Mode, Source


def transcriber_config(settings=None, *, model: ModelConfig | None = None, style: str | None = None,
                       labels: dict[Source, str] | None = None, partials: bool = True,
                       paced: bool = True) -> TranscriberConfig:
    """The meeting's transcriber settings. Both sources are always transcribed separately (style
    "separate"), so a mode switch during a session needs no new transcriber. ``paced`` False: recordings
    replayed unpaced (``TranscriberConfig.unpaced``)."""
    cfg = TranscriberConfig.from_settings(settings, Mode.MEETING) if settings is not None else TranscriberConfig()
    if model is not None:
        model.server = model.server or cfg.model.server  # the settings' speech server survives a model override
        cfg.model = model
    if style:
        cfg.style = style
    cfg.labels.update(labels or {})
    cfg.partials = partials
    if cfg.style == "separate":
        cfg.sources = (Source.MIC, Source.LOOPBACK)
    if not paced:
        cfg.unpaced()
    return cfg
