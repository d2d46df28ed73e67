"""One capture stream in one process: ``python -m meeting_tui.capture.worker --backend NAME ...``.

stdout carries frames (see frames.py); stderr carries one JSON object per line (status, errors).
The worker exits when its stdin closes, so a parent that dies never leaves it running.
Threads: the backend's callback only queues; a writer thread owns stdout; a stdin thread watches for
EOF; the main thread polls the backend's health.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import signal
import threading
import time
from typing import NamedTuple

from meeting_tui.capture.backends import registry
from meeting_tui.capture.backends.base import CaptureError, RawBlock
from meeting_tui.capture.wire import MAX_FRAMES, encode_payload

POLL_INTERVAL = 0.25  # how often the main thread asks the backend whether its stream still runs
QUEUE_BLOCKS = 2000  # ~20 s of 10 ms blocks: the parent is slow, not dead, if this fills
# Blocks go to the parent at most this often, merged: every frame costs the parent's event loop a wake-up,
# a read and a pass through meters, resampler and listeners, which at 10-20 ms blocks was most of the
# capture's CPU (docs/architecture.md). It adds at most that much to when the parent sees a sample
# (100 ms: docs/cost.md, fifth pass, for what it costs and saves).
COALESCE_S = 0.1
# Consecutive blocks whose capture times are this far from back to back (callback-time stamps jitter by
# milliseconds) are still merged; a larger jump starts a new frame so that the parent sees it.
MERGE_SLACK_S = 0.02
MERGE_MAX_S = 0.1  # no merged frame longer than this (the parent's clock tracking works on such frames)


def status(event: str, **fields) -> None:
    """One JSON line on stderr; the parent logs it and shows errors to the user."""
    line = json.dumps({"event": event, **fields}, default=str)
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def backend_module(name: str):
    return registry.backend(name).load()


class _Block(NamedTuple):
    """A queued block: its samples as the pipe carries them (interleaved little-endian float32)."""

    payload: bytes
    frames: int
    channels: int
    capture_time: float
    flags: int


def _block(samples, capture_time: float, flags: int) -> _Block:
    """A copy of ``samples`` (the library reuses its buffer), as bytes. A numpy array's own methods do the
    conversion, so that this module imports no numpy (a sounddevice worker on Pulse never loads it)."""
    if type(samples) is RawBlock:
        data = bytes(samples.data)
        return _Block(data, len(data) // (4 * samples.channels), samples.channels, capture_time, flags)
    frames = samples.shape[0]
    channels = samples.shape[1] if samples.ndim == 2 else 1
    return _Block(samples.astype("<f4", copy=False).tobytes(), frames, channels, capture_time, flags)


def _merge(blocks: list[_Block], rate: int) -> list[_Block]:
    """Consecutive blocks as one: same flags and channels, each starting where the previous one ended
    (within ``MERGE_SLACK_S``), so that the merged frame's capture time stays true for all its samples."""
    out: list[list] = []  # [payloads, first block, frames so far]
    max_n = min(MAX_FRAMES, int(MERGE_MAX_S * rate))  # a replay faster than real time queues many blocks
    for block in blocks:
        if out:
            parts, first, n = out[-1]
            if (first.flags == block.flags and first.channels == block.channels and n + block.frames <= max_n
                    and abs(block.capture_time - (first.capture_time + n / rate)) <= MERGE_SLACK_S):
                parts.append(block.payload)
                out[-1][2] = n + block.frames
                continue
        out.append([[block.payload], block, block.frames])
    return [first if len(parts) == 1 else first._replace(payload=b"".join(parts), frames=n)
            for parts, first, n in out]


class FrameWriter:
    """Moves blocks from the audio callback's queue to stdout on its own thread."""

    def __init__(self, out) -> None:
        self._out = out
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_BLOCKS)
        self._seq = 0
        self.dropped = 0
        self.broken = threading.Event()
        self._rate = 0
        self._thread = threading.Thread(target=self._run, name="frame-writer", daemon=True)

    def start(self, samplerate: int) -> None:
        self._rate = samplerate
        self._thread.start()

    def emit(self, samples, capture_time: float, flags: int = 0) -> None:
        # Runs on the audio thread: copy (the library reuses its buffer) and never block.
        try:
            self._queue.put_nowait(_block(samples, capture_time, flags))
        except queue.Full:
            self.dropped += 1

    def emit_blocking(self, samples, capture_time: float, flags: int = 0) -> None:
        # For sources with no real-time thread (file replay): wait for the pipe instead of dropping.
        while not self.broken.is_set():
            try:
                self._queue.put(_block(samples, capture_time, flags), timeout=0.5)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        done = False
        while not done:
            item = self._queue.get()
            if item is None:
                break
            batch, done = self._gather(item)
            frames = _merge(batch, self._rate)
            try:
                self._out.write(b"".join(encode_payload(self._seq + i, b.capture_time, self._rate, b.payload,
                                                        b.frames, b.channels, b.flags)
                                         for i, b in enumerate(frames)))
                self._out.flush()
            except (BrokenPipeError, OSError, ValueError):
                self.broken.set()  # the parent is gone
                return
            self._seq += len(frames)

    def _gather(self, first: _Block) -> tuple[list[_Block], bool]:
        """``first`` and the blocks queued after it, to a little under ``COALESCE_S`` of audio in all: one
        block more arriving as it wakes still fits in one frame of ``MERGE_MAX_S``, not a full frame and
        a sliver. Sleeps rather than waking for each block (a block as long as that is sent at once:
        waiting would only add its length to the latency). Returns them and whether the stop marker came."""
        ahead = COALESCE_S - 2 * first.frames / self._rate
        if ahead > 0.1 * COALESCE_S:
            time.sleep(ahead)
        batch = [first]
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, False
            if item is None:
                return batch, True
            batch.append(item)

    def close(self, timeout: float = 30.0) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)


def _watch_stdin(stop: threading.Event) -> None:
    # os.read, not sys.stdin: a daemon thread blocked inside a buffered reader aborts interpreter shutdown.
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    stop.set()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meeting-tui worker", description="Capture one audio stream to stdout.")
    parser.add_argument("--backend", choices=registry.NAMES, default="sounddevice")
    parser.add_argument("--list-devices", action="store_true", help="print the devices as JSON and exit")
    parser.add_argument("--device", help="device name (default: the system default)")
    parser.add_argument("--hostapi", help="host API of the device (with --device)")
    parser.add_argument("--samplerate", type=int, help="rate to open at (default: the device's own)")
    parser.add_argument("--channels", type=int, help="channels to open (default: the device's own, at most 2)")
    parser.add_argument("--blocksize", type=int, default=0, help="frames per callback (0: the backend's choice)")
    parser.add_argument("--max-seconds", type=float, default=0, help="stop after this much audio (0: never)")
    return parser


def list_devices() -> list[dict]:
    found: list[dict] = []
    for entry in registry.BACKENDS:
        if not entry.lists_devices():
            continue
        try:
            found.extend(entry.load().list_devices())
        except Exception as exc:  # one broken host API must not hide the others
            status("warning", message=f"{entry.name}: cannot list devices: {exc}")
    return found


def run(argv: list[str] | None = None) -> int:
    if sys.platform == "win32":
        # Windows workers load numpy first, as they always did: under Wine, one that loaded it later (or
        # not at all) opened its MME or WASAPI stream and never got a callback; the cause is not known
        # (docs/windows.md). Pulse workers need no numpy and start in half the CPU without it.
        import numpy  # noqa: F401
    parser = build_parser()
    known, _ = parser.parse_known_args(argv)
    module = backend_module(known.backend)
    module.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.list_devices:
        print(json.dumps(list_devices()))
        return 0

    from meeting_tui.capture.winproc import opt_out_of_power_throttling

    opt_out_of_power_throttling()  # a windowless worker would be slowed by EcoQoS on Windows 11
    if hasattr(signal, "SIGHUP"):  # the terminal going away is the parent's to handle: it drains, then closes stdin
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    stop = threading.Event()
    threading.Thread(target=_watch_stdin, args=(stop,), name="stdin-watch", daemon=True).start()
    writer = FrameWriter(sys.stdout.buffer)
    try:
        backend = module.create(args)
        # The writer needs the rate before the first block, so open() receives a late-bound emit.
        emit = writer.emit_blocking if getattr(backend, "blocking_emit", False) else writer.emit
        info = backend.open(emit)
    except CaptureError as exc:
        status("error", message=str(exc), hint=exc.hint, code=exc.code, fatal=True)
        return 3
    except Exception as exc:
        status("error", message=f"{type(exc).__name__}: {exc}", fatal=True)
        return 3
    writer.start(info.samplerate)
    status("started", backend=args.backend, device=info.device, hostapi=info.hostapi,
           samplerate=info.samplerate, channels=info.channels, pid=os.getpid(), **info.extra)
    code = 0
    try:
        while not stop.is_set():
            if writer.broken.is_set():
                code = 0  # parent gone: nothing to report to
                break
            reason = backend.poll()
            if reason == "eof":
                status("eof")
                break
            if reason:
                status("error", message=reason, fatal=True)
                code = 4
                break
            stop.wait(POLL_INTERVAL)
    except KeyboardInterrupt:
        pass
    finally:
        backend.close()
        writer.close()
        if writer.dropped:
            status("warning", message=f"dropped {writer.dropped} blocks: the parent read too slowly")
        status("stopped", code=code)
    return code


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
