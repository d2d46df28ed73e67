"""Polish on the speech server: a session's audio, a source at a time, sent to the server's (bigger) model.

``ServerPolish.transcribe`` answers as faster-whisper's ``WhisperModel.transcribe`` does for the polish
(``meeting/polish.py``): segments in the audio's time. Long recordings go up in pieces of at most
``PIECE_S`` (hosted endpoints cap uploads near 25 MB, about 13 min of 16-bit 16 kHz audio), each cut at the
quietest half second of its last ``SEEK_S`` so that no word is cut in two."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from meeting_tui.types import SESSION_RATE

PIECE_S = 600.0
SEEK_S = 30.0
POLISH_TIMEOUT_S = 600.0  # a piece is minutes of audio: the live timeout is for one utterance


class ServerPolish:
    def __init__(self, server: Any, model: str) -> None:
        import dataclasses

        from meeting_tui.transcribe.server import RemoteWhisper

        config = dataclasses.replace(server, model=model, timeout_s=max(server.timeout_s, POLISH_TIMEOUT_S))
        self.remote = RemoteWhisper(config)

    def transcribe(self, audio: np.ndarray, *, language: str | None = None, hotwords: str | None = None,
                   **_options: Any) -> tuple[list[Any], Any]:
        out: list[Any] = []
        for start, end in pieces(audio):  # a ServerError ends the polish (polish.py says so); it resumes later
            segs, _ = self.remote.transcribe(audio[start:end], language=language, hotwords=hotwords)
            shift = start / SESSION_RATE
            out += [SimpleNamespace(**{**vars(s), "start": s.start + shift, "end": s.end + shift}) for s in segs]
        return out, SimpleNamespace(language=language, duration=len(audio) / SESSION_RATE)


def pieces(audio: np.ndarray, piece_s: float = PIECE_S, seek_s: float = SEEK_S) -> list[tuple[int, int]]:
    """Sample ranges covering ``audio``, each at most ``piece_s`` long, cut where it is quietest."""
    n, size, seek, half = len(audio), int(piece_s * SESSION_RATE), int(seek_s * SESSION_RATE), SESSION_RATE // 2
    out, at = [], 0
    while n - at > size:
        lo = at + size - seek
        frames = audio[lo:at + size][: (seek // half) * half].reshape(-1, half)
        cut = lo + int(np.argmin((frames.astype(np.float32) ** 2).mean(axis=1))) * half + half // 2
        out.append((at, cut))
        at = cut
    out.append((at, n))
    return out
