"""Replays a WAV/FLAC file as a live source (demo, tests, benchmarks).

At ``--speed 1`` blocks leave at the pace a sound card would deliver them; at ``--speed N`` N times
faster; at ``--speed 0`` as fast as the pipe takes them. Capture times follow the simulated device
clock (``--drift-ppm`` makes that clock run fast or slow, like a real device), so the parent sees the
same timeline at any speed.
"""

from __future__ import annotations

import argparse
import threading
import time

import numpy as np

from meeting_tui.capture.backends.base import CaptureError, Emit, StreamInfo

BLOCK_SECONDS = 0.02


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("file backend")
    g.add_argument("--path", help="WAV/FLAC/OGG file to replay")
    g.add_argument("--speed", type=float, default=1.0, help="1 = real time, N = N times faster, 0 = unpaced")
    g.add_argument("--loop", action="store_true", help="start again at the end")
    g.add_argument("--channel", type=int, default=-1, help="replay one channel only (0 = left); -1 = all")
    g.add_argument("--drift-ppm", type=float, default=0.0, help="simulate a device clock this far off")
    g.add_argument("--lead-silence", type=float, default=0.0, help="seconds of silence before the file")


def create(args: argparse.Namespace) -> "FileBackend":
    if not args.path:
        raise CaptureError("the file backend needs --path", hint="pass --path FILE")
    return FileBackend(args.path, speed=args.speed, loop=args.loop, channel=args.channel,
                       drift_ppm=args.drift_ppm, lead_silence=args.lead_silence, max_seconds=args.max_seconds,
                       blocksize=args.blocksize)


class FileBackend:
    blocking_emit = True  # no audio callback to protect: let the pipe pace us when unpaced

    def __init__(self, path: str, *, speed: float = 1.0, loop: bool = False, channel: int = -1,
                 drift_ppm: float = 0.0, lead_silence: float = 0.0, max_seconds: float = 0.0,
                 blocksize: int = 0) -> None:
        self.path, self.speed, self.loop, self.channel = path, speed, loop, channel
        self.drift = 1.0 + drift_ppm * 1e-6
        self.lead_silence = lead_silence
        self.max_seconds = max_seconds
        self.blocksize = blocksize
        self._done = threading.Event()
        self._stop = threading.Event()
        self._error: str | None = None
        self._thread: threading.Thread | None = None

    def open(self, emit: Emit) -> StreamInfo:
        import soundfile as sf

        try:  # read as it plays, not whole: an hour of 48 kHz stereo would be 1.4 GB of float32
            self._file = sf.SoundFile(self.path)
        except Exception as exc:  # soundfile raises its own LibsndfileError / RuntimeError
            raise CaptureError(f"cannot read {self.path}: {exc}", hint="check the path and that it is WAV/FLAC/OGG")
        channels = self._file.channels
        if self.channel >= channels:
            self._file.close()
            raise CaptureError(f"{self.path} has {channels} channel(s); no channel {self.channel}")
        self._rate = int(self._file.samplerate)
        self._channels = 1 if self.channel >= 0 else channels
        self._thread = threading.Thread(target=self._run, args=(emit,), name="file-replay", daemon=True)
        self._thread.start()
        return StreamInfo(device=self.path, hostapi="file", samplerate=self._rate, channels=self._channels,
                          extra={"speed": self.speed, "drift_ppm": (self.drift - 1) * 1e6})

    def _blocks(self, block: int):
        """The file's blocks in order (after the lead silence), from the start again when looping."""
        lead = int(self.lead_silence * self._rate)
        while lead > 0:
            n = min(block, lead)
            yield np.zeros((n, self._channels), np.float32)
            lead -= n
        while True:
            chunk = self._file.read(block, dtype="float32", always_2d=True)
            if len(chunk) == 0:
                if not self.loop:
                    return
                self._file.seek(0)
                continue
            if self.channel >= 0:
                chunk = chunk[:, self.channel:self.channel + 1]
            yield np.ascontiguousarray(chunk)

    def _run(self, emit: Emit) -> None:
        block = self.blocksize or max(1, int(self._rate * BLOCK_SECONDS))
        t0 = time.monotonic()
        true_rate = self._rate * self.drift  # the simulated device delivers this many frames a second
        sent = 0
        limit = int(self.max_seconds * self._rate) if self.max_seconds else None
        try:
            for chunk in self._blocks(block):  # a file broken past its header raises here, as it is read
                if self._stop.is_set():
                    break
                if limit is not None:
                    chunk = chunk[: max(0, limit - sent)]
                    if not len(chunk):
                        break
                device_time = sent / true_rate
                if self.speed > 0:
                    delay = t0 + (device_time + len(chunk) / true_rate) / self.speed - time.monotonic()
                    if delay > 0 and self._stop.wait(delay):
                        break
                emit(chunk, t0 + device_time, 0)
                sent += len(chunk)
        except Exception as exc:  # soundfile's own errors: say it, as an unreadable file at open would be
            self._error = f"cannot read {self.path} at {sent / self._rate:.1f} s: {exc}"
        finally:
            self._file.close()
            self._done.set()

    def poll(self) -> str | None:
        if self._error:
            return self._error
        return "eof" if self._done.is_set() else None

    def close(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(2)


def list_devices() -> list[dict]:
    return []
