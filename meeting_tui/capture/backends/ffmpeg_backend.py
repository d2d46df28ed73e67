"""Both sources through one FFmpeg child ("Meeting via FFmpeg"): the fallback when two capture streams
cannot run side by side, or when the only system-audio source is a DirectShow/virtual device.

FFmpeg writes float32 little-endian PCM to its stdout: 2 channels (0 = mic, 1 = loopback) with amerge,
or 1 channel (the gain-weighted sum) with amix. A reader thread cuts the byte stream into blocks and
emits them; a second thread drains stderr (a full stderr pipe would stall FFmpeg) and classifies each
line. FFmpeg can exit 0 after a device error, so ``poll()`` judges by what stderr said and whether audio
still flows, never by the exit code alone.

Worker use::

    python -m meeting_tui.capture.worker --backend ffmpeg --ffmpeg-mic "Microphone (Realtek(R) Audio)" \
        --ffmpeg-loopback "Stereo Mix (Realtek(R) Audio)"        # Windows, dshow
    python -m meeting_tui.capture.worker --backend ffmpeg --ffmpeg-mic mic --ffmpeg-loopback speakers.monitor
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import threading
import time

import numpy as np

from meeting_tui.capture.backends.base import CaptureError, Emit, StreamInfo
from meeting_tui.capture import ffmpeg as ff

DEFAULT_BLOCK = 480  # 10 ms at 48 kHz
OPEN_TIMEOUT = 8.0  # seconds to wait for the first audio (dshow can take a few seconds to start)
STALL_TIMEOUT = 5.0  # no audio for this long while FFmpeg runs after an error line: dead


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("ffmpeg (one FFmpeg process for both sources)")
    group.add_argument("--ffmpeg-mic", metavar="NAME", help="mic input (dshow name, pulse source, avfoundation index)")
    group.add_argument("--ffmpeg-loopback", metavar="NAME",
                       help="system-audio input (Stereo Mix / CABLE Output / <sink>.monitor)")
    group.add_argument("--ffmpeg-format", choices=("dshow", "pulse", "avfoundation"), help="input device (default: per OS)")
    group.add_argument("--ffmpeg-mix", choices=("amerge", "amix"), default="amerge",
                       help="amerge: 2 channels kept apart (default); amix: 1 channel, weighted by --ffmpeg-gains")
    group.add_argument("--ffmpeg-gains", default="0,0", metavar="MIC_DB,LOOPBACK_DB", help="amix weights in dB")
    group.add_argument("--ffmpeg-path", metavar="EXE", help="ffmpeg executable (default: $MEETING_TUI_FFMPEG or PATH)")
    group.add_argument("--ffmpeg-open-timeout", type=float, default=OPEN_TIMEOUT, metavar="S")


def _gains(text: str) -> tuple[float, float]:
    try:
        a, b = (float(x) for x in text.split(","))
    except ValueError:
        raise CaptureError(f"--ffmpeg-gains wants two numbers like '0,-3', not {text!r}")
    return a, b


def create(args: argparse.Namespace) -> "FfmpegBackend":
    return FfmpegBackend(
        mic=getattr(args, "ffmpeg_mic", None) or getattr(args, "device", None),
        loopback=getattr(args, "ffmpeg_loopback", None),
        fmt=getattr(args, "ffmpeg_format", None),
        mix=getattr(args, "ffmpeg_mix", "amerge"),
        gains_db=_gains(getattr(args, "ffmpeg_gains", "0,0") or "0,0"),
        ffmpeg=getattr(args, "ffmpeg_path", None),
        samplerate=getattr(args, "samplerate", None) or ff.DEFAULT_RATE,
        blocksize=getattr(args, "blocksize", 0) or DEFAULT_BLOCK,
        open_timeout=getattr(args, "ffmpeg_open_timeout", OPEN_TIMEOUT),
    )


def list_devices() -> list[dict]:
    """What FFmpeg can open on this OS, in the worker's listing shape (kind guessed from the name)."""
    ok, _ = ff.ffmpeg_available()
    if not ok:
        return []
    fmt = ff.platform_format()
    rows = []
    try:
        if fmt == "pulse":
            for s in ff.list_pulse_sources():
                rows.append({"name": s["name"], "hostapi": "ffmpeg pulse", "kind": "loopback" if s["is_monitor"] else "mic",
                             "channels": 1, "samplerate": float(ff.DEFAULT_RATE), "is_default": s["is_default"],
                             "description": s["description"]})
        elif fmt == "dshow":
            for d in ff.list_dshow_devices():
                rows.append({"name": d.input_name, "hostapi": "ffmpeg dshow",
                             "kind": "loopback" if ff.looks_like_loopback(d.name) else "mic", "channels": 2,
                             "samplerate": float(ff.DEFAULT_RATE), "is_default": False, "description": d.name})
        elif fmt == "avfoundation":
            for i, n in ff.list_avfoundation_devices():
                rows.append({"name": str(i), "hostapi": "ffmpeg avfoundation",
                             "kind": "loopback" if ff.looks_like_loopback(n) else "mic", "channels": 2,
                             "samplerate": float(ff.DEFAULT_RATE), "is_default": i == 0, "description": n})
    except (OSError, subprocess.SubprocessError):
        return []
    return rows


class BlockClock:
    """Capture times for blocks read from a pipe: laid end to end, re-anchored when the pipe lags or
    jumps by more than ``reanchor_s`` (read jitter does not move the timeline)."""

    def __init__(self, rate: int, reanchor_s: float = 0.25) -> None:
        self.rate = rate
        self.reanchor_s = reanchor_s
        self.end: float | None = None
        self.reanchors = 0

    def place(self, frames: int, now: float) -> float:
        measured = now - frames / self.rate
        if self.end is None or abs(measured - self.end) > self.reanchor_s:
            if self.end is not None:
                self.reanchors += 1
            t = measured
        else:
            t = self.end
        self.end = t + frames / self.rate
        return t


class FfmpegBackend:
    blocking_emit = False

    def __init__(self, mic: str | None = None, loopback: str | None = None, *, fmt: str | None = None,
                 mix: str = "amerge", gains_db: tuple[float, float] = (0.0, 0.0), ffmpeg: str | None = None,
                 samplerate: int = ff.DEFAULT_RATE, blocksize: int = DEFAULT_BLOCK,
                 open_timeout: float = OPEN_TIMEOUT) -> None:
        self.mic, self.loopback = mic, loopback
        self.fmt = fmt or ff.platform_format()
        self.mix = mix
        self.gains_db = gains_db
        self.ffmpeg = ffmpeg
        self.rate = int(samplerate)
        self.blocksize = int(blocksize)
        self.open_timeout = open_timeout
        self.channels = 2 if mix == "amerge" else 1
        self.argv: list[str] = []
        self._proc: subprocess.Popen | None = None
        self._threads: list[threading.Thread] = []
        self._emit: Emit | None = None
        self._first_audio = threading.Event()
        self._eof = threading.Event()
        self._lock = threading.Lock()
        self.fatal: str | None = None  # first fatal stderr line
        self.errors: collections.deque[str] = collections.deque(maxlen=20)
        self.warnings = 0
        self.last_audio = 0.0
        self.frames = 0
        self.clock = BlockClock(self.rate)
        self.returncode: int | None = None

    # -- setup

    def _resolve_devices(self) -> tuple[str, str]:
        mic, lb = self.mic, self.loopback
        if mic and lb:
            return mic, lb
        picks = ff.default_devices(self.fmt, self.ffmpeg)
        mic = mic or picks.mic
        lb = lb or picks.loopback
        if not mic:
            raise CaptureError(f"FFmpeg ({self.fmt}) found no microphone", hint="name one with --ffmpeg-mic; see `meeting-tui doctor`")
        if not lb:
            raise CaptureError(
                f"FFmpeg ({self.fmt}) found no system-audio input",
                hint=("FFmpeg cannot capture WASAPI loopback: enable 'Stereo Mix' (Sound settings > Recording > "
                      "Show disabled devices), or install VB-Cable/VoiceMeeter and pick its Output; then pass --ffmpeg-loopback")
                if self.fmt == "dshow" else "name one with --ffmpeg-loopback")
        return mic, lb

    def command(self) -> list[str]:
        ok, exe = ff.ffmpeg_available(self.ffmpeg)
        if not ok:
            raise CaptureError("FFmpeg is not installed", hint=exe)
        mic, lb = self._resolve_devices()
        self.mic, self.loopback = mic, lb
        return ff.build_command(ff.make_input(mic, self.fmt, rate=self.rate), ff.make_input(lb, self.fmt, rate=self.rate),
                                ffmpeg=exe, mix=self.mix, rate=self.rate, gains_db=self.gains_db)

    def open(self, emit: Emit) -> StreamInfo:
        from meeting_tui.capture import winproc

        self._emit = emit
        self.argv = self.command()
        try:
            self._proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, bufsize=0, **winproc.popen_kwargs())
        except OSError as exc:
            raise CaptureError(f"cannot start FFmpeg: {exc}", hint=ff.install_hint())
        winproc.attach_to_job(self._proc.pid)
        for target, name in ((self._read_stdout, "ffmpeg-stdout"), (self._read_stderr, "ffmpeg-stderr")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        deadline = time.monotonic() + self.open_timeout
        while time.monotonic() < deadline:
            if self._first_audio.wait(0.05):
                break
            proc = self._proc
            if self.fatal or proc.poll() is not None:
                # give stderr a moment to deliver the lines that explain the exit
                self._threads[1].join(1.0)
                reason = self.fatal or self._last_error() or f"FFmpeg exited with code {proc.returncode}"
                self.close()
                raise CaptureError(f"FFmpeg could not open the devices: {reason}",
                                   hint=ff.error_hint(reason, self.fmt), code=proc.returncode)
        return StreamInfo(device=f"{self.mic} + {self.loopback}", hostapi=f"ffmpeg {self.fmt}", samplerate=self.rate,
                          channels=self.channels,
                          extra={"mic_device": self.mic, "loopback_device": self.loopback, "mix": self.mix,
                                 "channel_sources": ["mic", "loopback"] if self.channels == 2 else ["mix"]})

    # -- threads

    def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        frame_bytes = 4 * self.channels
        block_bytes = self.blocksize * frame_bytes
        buf = bytearray()
        try:
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                buf += chunk
                now = time.monotonic()
                whole = len(buf) - len(buf) % block_bytes
                if not whole:
                    continue
                data = np.frombuffer(bytes(buf[:whole]), dtype="<f4").reshape(-1, self.channels)
                del buf[:whole]
                # blocks in this read were captured back to back, ending about now
                t = self.clock.place(len(data), now)
                for i in range(0, len(data), self.blocksize):
                    block = data[i:i + self.blocksize]
                    self._emit(block, t + i / self.rate, 0)
                self.frames += len(data)
                self.last_audio = now
                self._first_audio.set()
        except OSError:
            pass
        finally:
            self._eof.set()

    def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for raw in iter(self._proc.stderr.readline, b""):
            line = ff.classify_stderr(raw.decode("utf-8", "replace"))
            if not line.text:
                continue
            with self._lock:
                if line.fatal and self.fatal is None:
                    self.fatal = line.text
                if line.level in ("error", "fatal"):
                    self.errors.append(line.text)
                elif line.level == "warning":
                    self.warnings += 1

    def _last_error(self) -> str | None:
        with self._lock:
            return self.errors[-1] if self.errors else None

    # -- protocol

    def poll(self) -> str | None:
        proc = self._proc
        if proc is None:
            return "FFmpeg is not running"
        with self._lock:
            fatal = self.fatal
        if fatal:
            return f"FFmpeg: {fatal}"
        code = proc.poll()
        if code is not None or self._eof.is_set():
            if code is None:
                try:
                    code = proc.wait(1.0)
                except subprocess.TimeoutExpired:
                    pass
            self._threads[1].join(0.5)
            with self._lock:
                fatal = self.fatal
            detail = fatal or self._last_error()
            return f"FFmpeg stopped (exit code {code}){': ' + detail if detail else ''}"
        if self.errors and self.last_audio and time.monotonic() - self.last_audio > STALL_TIMEOUT:
            return f"FFmpeg delivers no audio after: {self._last_error()}"
        return None

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()  # SIGTERM / TerminateProcess: ffmpeg holds no files we need to finalize
            try:
                proc.wait(3.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(3.0)
        for t in self._threads:
            t.join(2.0)
        for pipe in (proc.stdout, proc.stderr):
            try:
                if pipe:
                    pipe.close()
            except OSError:
                pass
        self.returncode = proc.returncode

    def stats(self) -> dict:
        return {"frames": self.frames, "warnings": self.warnings, "errors": list(self.errors),
                "reanchors": self.clock.reanchors}
