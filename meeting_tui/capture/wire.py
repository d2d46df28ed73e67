"""The frame header and checksum of the worker → parent pipe, without numpy (frames.py has the layout).

The worker's hot path (PortAudio's bytes in, frames out) needs only these: a worker that imports no numpy
starts in half the CPU (docs/cost.md, "Third pass on the capture path")."""

from __future__ import annotations

import struct
import zlib

MAGIC = b"MTF1"
VERSION = 1
HEADER = struct.Struct("<4sBBHIQdI")
CRC = struct.Struct("<I")
FLAG_SYNTH_SILENCE = 0x01  # zeros made up by the worker (idle loopback), not captured
MAX_CHANNELS = 32
MAX_FRAMES = 192_000  # one second at 192 kHz; real blocks are a few ms
MIN_RATE, MAX_RATE = 1_000, 768_000


def encode_payload(seq: int, capture_time: float, samplerate: int, payload: bytes, frames: int, channels: int,
                   flags: int = 0) -> bytes:
    """One frame around ``payload``: ``frames * channels`` little-endian float32 samples, interleaved."""
    header = HEADER.pack(MAGIC, VERSION, flags, channels, int(samplerate), seq, capture_time, frames)
    return header + payload + CRC.pack(zlib.crc32(payload, zlib.crc32(header)))
