"""Reading recordings as 16 kHz mono float32 (soundfile + soxr; PyAV through faster-whisper otherwise),
and feeding them to a Transcriber as chunks on the session clock."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from meeting_tui.types import SESSION_RATE, Source


class AudioFileError(RuntimeError):
    pass


def read_audio(path: str | Path, *, channels: str = "mix") -> list[np.ndarray]:
    """``channels``: "mix" -> [mono]; "split" -> [left, right] (a stereo file); "0"/"1" -> [that channel]."""
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"{path}: no such file")
    try:
        import soundfile as sf

        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception:
        data, rate = _read_with_av(path)
    if channels == "split":
        if data.shape[1] < 2:
            raise AudioFileError(f"{path} has {data.shape[1]} channel; --split-stereo needs a stereo file")
        chans = [data[:, 0], data[:, 1]]
    elif channels in ("0", "1"):
        idx = int(channels)
        if idx >= data.shape[1]:
            raise AudioFileError(f"{path} has no channel {idx}")
        chans = [data[:, idx]]
    else:
        chans = [data.mean(axis=1)]
    return [resample(c, int(rate)) for c in chans]


def _read_with_av(path: Path) -> tuple[np.ndarray, int]:
    try:
        from faster_whisper.audio import decode_audio

        left, right = decode_audio(str(path), sampling_rate=SESSION_RATE, split_stereo=True)
        return np.stack([left, right], axis=1).astype(np.float32), SESSION_RATE
    except Exception as exc:
        import av

        if isinstance(exc, av.error.InvalidDataError):  # "[Errno 1094995529] Invalid data found ..."
            raise AudioFileError(f"{path} is not an audio or video file this program can read; give a recording "
                                 "such as WAV, FLAC, MP3, M4A or a session's audio/*.wav") from exc
        raise AudioFileError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from exc


def resample(x: np.ndarray, rate: int) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if rate == SESSION_RATE:
        return x
    import soxr

    return soxr.resample(x, rate, SESSION_RATE, quality="HQ").astype(np.float32)


def feed_arrays(transcriber, streams: dict[Source, np.ndarray], *, chunk: int = SESSION_RATE // 10,
                start: int = 0, realtime: float = 0.0, max_queued_s: float = 30.0) -> None:
    """Feed aligned arrays to ``transcriber.feed`` chunk by chunk (all sources in step).

    ``realtime``: 0 = as fast as the transcriber keeps up (keeps at most ``max_queued_s`` queued),
    1 = paced at real time, N = N times faster.
    """
    n = max((len(a) for a in streams.values()), default=0)
    t0 = time.monotonic()
    for pos in range(0, n, chunk):
        for source, a in streams.items():
            piece = a[pos:pos + chunk]
            if len(piece):
                transcriber.feed(source, piece, start + pos)
        if realtime > 0:
            due = t0 + (pos + chunk) / SESSION_RATE / realtime
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        else:
            while transcriber.stats().queued_audio_s > max_queued_s and transcriber.status.state not in ("error",
                                                                                                            "stopped"):
                time.sleep(0.02)
