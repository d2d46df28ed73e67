"""Encoder windows sized to the audio instead of Whisper's fixed 30 s.

faster-whisper pads every decode's log-Mel features to 3000 frames (30 s), so a 3 s utterance pays for
27 s of padding in the encoder, which dominates the cost on a CPU. CTranslate2 accepts shorter
features (OpenNMT/CTranslate2#1433, #1446); very short windows hurt accuracy (CTranslate2#2100: the
positional embeddings were trained at 30 s, and the decoder may not stop), so a window keeps a margin of
padding after the audio and a minimum length. Measured policies: docs/transcription.md.

    install(model)                       # once per WhisperModel: wraps model.encode
    with sized_window(model, policy, n_samples):
        segments = list(model.transcribe(audio, ...))

The window applies to the calling thread only, so one model can serve several threads.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any, Iterator

FRAMES_PER_SECOND = 100  # Whisper's log-Mel hop is 10 ms
FULL_FRAMES = 3000
_local = threading.local()


@dataclass(frozen=True)
class WindowPolicy:
    """``margin_s`` of padding after the audio, at least ``min_s`` in all; ``full`` = the classic 30 s."""

    margin_s: float = 2.0
    min_s: float = 5.0
    full: bool = False

    def frames(self, n_samples: int, rate: int = 16000) -> int:
        if self.full:
            return FULL_FRAMES
        content = n_samples * FRAMES_PER_SECOND // rate + 1
        want = max(content + self.margin_s * FRAMES_PER_SECOND, self.min_s * FRAMES_PER_SECOND)
        frames = int(min(FULL_FRAMES, want))
        return frames + (frames % 2)  # the encoder's second convolution has stride 2

    def describe(self) -> str:
        return "30 s" if self.full else f"audio + {self.margin_s:g} s, at least {self.min_s:g} s"


FULL = WindowPolicy(full=True)


def install(model: Any) -> Any:
    """Wrap ``model.encode`` (a faster_whisper.WhisperModel) so that a window set by ``sized_window`` in
    the same thread cuts the padded features. Idempotent; returns the model."""
    if getattr(model, "_meeting_tui_window", False):
        return model
    original = model.encode

    def encode(features: Any) -> Any:
        frames = getattr(_local, "frames", None)
        if frames is not None and features.shape[-1] > frames:
            features = features[..., :frames]
        return original(features)

    model.encode = encode
    model._meeting_tui_window = True
    return model


@contextlib.contextmanager
def sized_window(model: Any, policy: WindowPolicy, n_samples: int, rate: int = 16000) -> Iterator[int]:
    """Within the block, this thread's decodes on ``model`` encode ``policy.frames(n_samples)`` frames."""
    install(model)
    frames = policy.frames(n_samples, rate)
    previous = getattr(_local, "frames", None)
    _local.frames = None if frames >= FULL_FRAMES else frames
    try:
        yield frames
    finally:
        _local.frames = previous

#: The windows live decodes use (measured in docs/transcription.md): here, below both the transcriber and
#: model_select.py's self-benchmark, which decodes as a live final does.
FINAL_WINDOW = WindowPolicy(margin_s=2.0, min_s=10.0)
PARTIAL_WINDOW = WindowPolicy(margin_s=1.5, min_s=4.0)
