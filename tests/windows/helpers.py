"""Helpers for the Windows suite: run a capture worker, decode its frames, find a tone."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from meeting_tui.capture import winproc
from meeting_tui.capture.frames import Frame, FrameDecoder


def worker_cmd(backend: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "meeting_tui.capture.worker", "--backend", backend, *args]


class WorkerRun:
    """A worker subprocess with its frames and status lines collected on threads."""

    def __init__(self, argv: list[str], env: dict | None = None) -> None:
        for attempt in (1, 2):
            try:
                self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, creationflags=winproc.creationflags(), env=env)
                break
            except OSError as exc:
                # Wine's CreateProcess once failed with ERROR_INTERNAL_ERROR before the worker existed
                # (docs/windows.md): the harness under Wine, not the worker; one more try.
                if getattr(exc, "winerror", None) != 1359 or attempt == 2:
                    raise
                time.sleep(0.5)
        self.frames: list[Frame] = []
        self.status: list[dict] = []
        self.stderr: list[str] = []
        self._decoder = FrameDecoder()
        self._threads = [threading.Thread(target=self._read_out, daemon=True),
                         threading.Thread(target=self._read_err, daemon=True)]
        for t in self._threads:
            t.start()

    def _read_out(self) -> None:
        while True:
            data = self.proc.stdout.read1(1 << 16) if hasattr(self.proc.stdout, "read1") else self.proc.stdout.read(4096)
            if not data:
                return
            self.frames.extend(self._decoder.feed(data))

    def _read_err(self) -> None:
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            self.stderr.append(line)
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if isinstance(msg, dict):
                self.status.append(msg)

    def event(self, name: str) -> dict | None:
        return next((m for m in self.status if m.get("event") == name), None)

    def wait_seconds(self, seconds: float, timeout: float = 30.0) -> None:
        """Until the frames hold ``seconds`` of audio, or the worker exits, or ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.audio_seconds() >= seconds or self.proc.poll() is not None:
                break
            time.sleep(0.05)

    def audio_seconds(self) -> float:
        return sum(len(f.samples) / f.samplerate for f in list(self.frames))

    def samples(self) -> np.ndarray:
        return np.concatenate([f.samples for f in self.frames], axis=0) if self.frames else np.zeros((0, 1), np.float32)

    def stop(self, timeout: float = 10.0) -> int:
        try:
            self.proc.stdin.close()  # the worker's stop signal
        except OSError:
            pass
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(5)
        for t in self._threads:
            t.join(5)
        return code

    def describe(self) -> str:
        return "\n".join(self.stderr[-20:])


def run_cli(folder: Path, argv: list[str], env: dict, timeout: float) -> tuple[int, str, str]:
    """Run ``python -m meeting_tui ARGV`` with its output in files, not pipes: a process it left behind
    cannot then hold our end of a pipe open and hang the test. Past ``timeout`` the whole tree is killed
    and the failure shows what was still running, the command's stderr and its log."""
    import psutil
    import pytest

    out_path, err_path = folder / "cli.out", folder / "cli.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "meeting_tui", *argv], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, env=env, creationflags=winproc.creationflags())
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                tree = [proc.pid] + [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
                running = [" ".join(psutil.Process(pid).cmdline()[:6]) for pid in tree if psutil.pid_exists(pid)]
            except psutil.Error as exc:
                running = [f"(process tree not readable: {exc})"]
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, timeout=30)
            proc.kill()
            logs = sorted(Path(env.get("MEETING_TUI_DATA_DIR", folder)).glob("**/*.log"))
            log_tail = logs[-1].read_text("utf-8", "replace")[-4000:] if logs else "(no log file)"
            pytest.fail(f"`meeting-tui {' '.join(argv[:2])}` still running after {timeout:.0f} s; its tree:\n"
                        + "\n".join(running) + f"\n--- stderr:\n{err_path.read_text('utf-8', 'replace')[-3000:]}"
                        + f"\n--- log:\n{log_tail}", pytrace=False)
    return code, out_path.read_bytes().decode("utf-8"), err_path.read_bytes().decode("utf-8", "replace")


def dominant_hz(x: np.ndarray, rate: int) -> float:
    """The strongest frequency of a mono signal (Hann window, rfft)."""
    x = np.asarray(x, np.float64).ravel()
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    spec[0] = 0
    return float(np.argmax(spec) * rate / len(x))


def band_db(x: np.ndarray, rate: int, hz: float, width: float = 15.0) -> float:
    """Energy (dB, relative) near ``hz``."""
    x = np.asarray(x, np.float64).ravel()
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    band = spec[(freqs > hz - width) & (freqs < hz + width)]
    return float(10 * np.log10(band.sum() + 1e-20))
