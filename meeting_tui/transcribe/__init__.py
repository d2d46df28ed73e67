"""Transcription: faster-whisper model loading, Silero VAD segmentation, the streaming Transcriber.

Public API (see docs/transcription.md)::

    from meeting_tui.transcribe import Transcriber, TranscriberConfig, ModelConfig

Importing this package is cheap: faster-whisper is imported when a model loads or the VAD starts.
"""

from __future__ import annotations

from meeting_tui.transcribe.model import LoadProgress, ModelConfig, ModelLoadError, ModelLoader, load_model
from meeting_tui.transcribe.transcriber import (
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
