"""Transcription: faster-whisper model loading, Silero VAD segmentation, the streaming Transcriber.

Public API (see docs/transcription.md)::

    from meeting_tui.transcribe import Transcriber, TranscriberConfig, ModelConfig

Importing this package is cheap: faster-whisper is imported when a model loads or the VAD starts.
"""

from __future__ import annotations

from meeting_tui.transcribe.native_caches import bound_native_caches

bound_native_caches()  # before any submodule can load CTranslate2 and decode

from meeting_tui.transcribe.model import (  # noqa: E402
    LoadProgress,
    ModelConfig,
    ModelLoadError,
    ModelLoader,
    load_model,
)
from meeting_tui.transcribe.transcriber import (  # noqa: E402
    DrainProgress,
    DrainResult,
    Transcriber,
    TranscriberConfig,
    TranscriberStats,
    TranscriberStatus,
)

__all__ = [
    "DrainProgress", "DrainResult", "LoadProgress", "ModelConfig", "ModelLoadError", "ModelLoader", "Transcriber",
    "TranscriberConfig", "TranscriberStats", "TranscriberStatus", "load_model",
]
