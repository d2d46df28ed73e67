"""The worker → parent wire format: small self-checking frames of float32 PCM.

Layout (little-endian): a 32-byte header ``<4sBBHIQdI`` (magic, version, flags, channels, sample rate,
sequence number, capture time, frame count), ``frames * channels`` float32 samples (interleaved), then
a CRC-32 of header and samples. The CRC and the size limits let the parent tell a garbled pipe from
audio instead of playing noise into the transcriber.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from meeting_tui.capture.wire import (CRC, FLAG_SYNTH_SILENCE, HEADER, MAGIC, MAX_CHANNELS,  # noqa: F401
                                      MAX_FRAMES, MAX_RATE, MIN_RATE, VERSION, encode_payload)


class FrameError(ValueError):
    """The byte stream is not a valid frame sequence (garbage, corruption, truncation)."""


@dataclass
class Frame:
    seq: int
    capture_time: float  # time.monotonic() of the first sample, in the worker
    samplerate: int
    samples: np.ndarray  # float32, shape (frames, channels)
    flags: int = 0

    @property
    def channels(self) -> int:
        return self.samples.shape[1]

    @property
    def synthesized(self) -> bool:
        return bool(self.flags & FLAG_SYNTH_SILENCE)


def encode_frame(seq: int, capture_time: float, samplerate: int, samples: np.ndarray, flags: int = 0) -> bytes:
    data = np.ascontiguousarray(samples, dtype="<f4")
    if data.ndim == 1:
        data = data[:, None]
    frames, channels = data.shape
    return encode_payload(seq, capture_time, samplerate, data.tobytes(), frames, channels, flags)


class FrameDecoder:
    """Incremental decoder: feed it whatever the pipe returned, get whole frames back."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.frames_decoded = 0

    @property
    def pending(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        out: list[Frame] = []
        buf = self._buf
        pos = 0
        while len(buf) - pos >= HEADER.size:
            magic, version, flags, channels, rate, seq, t, frames = HEADER.unpack_from(buf, pos)
            if magic != MAGIC or version != VERSION:
                raise FrameError(f"bad frame header at byte {self.frames_decoded}: {bytes(buf[pos:pos + 8])!r}")
            if not (1 <= channels <= MAX_CHANNELS and 0 < frames <= MAX_FRAMES and MIN_RATE <= rate <= MAX_RATE):
                raise FrameError(f"implausible frame: {channels} ch, {frames} frames, {rate} Hz")
            size = HEADER.size + frames * channels * 4 + CRC.size
            if len(buf) - pos < size:
                break
            end_payload = pos + size - CRC.size
            header = bytes(buf[pos:pos + HEADER.size])
            payload = bytes(buf[pos + HEADER.size:end_payload])
            (crc,) = CRC.unpack_from(buf, end_payload)
            if crc != zlib.crc32(payload, zlib.crc32(header)):
                raise FrameError(f"frame {seq}: checksum mismatch")
            samples = np.frombuffer(payload, dtype="<f4").reshape(frames, channels)
            out.append(Frame(seq=seq, capture_time=t, samplerate=rate, samples=samples, flags=flags))
            pos += size
            self.frames_decoded += 1
        if pos:
            del buf[:pos]
        return out

    def finish(self) -> None:
        """Call at end of stream: leftover bytes mean the last frame was cut short."""
        if self._buf:
            raise FrameError(f"stream ended inside a frame ({len(self._buf)} bytes left over)")
