"""A real OpenAI-compatible speech server on 127.0.0.1 (faster-whisper-server from PyPI) for the server engine's
tests and bench: started, killed and started again on the same port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import numpy as np

from meeting_tui.transcribe.server import RemoteWhisper, ServerConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SpeechServer:
    """faster-whisper-server on 127.0.0.1, started, killed and started again on the same port."""

    def __init__(self, model: str, port: int) -> None:
        self.model, self.port = model, port
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "faster_whisper_server", self.model, "--host", "127.0.0.1",
                                      "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, env=dict(os.environ, HF_HUB_OFFLINE="1"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the speech server did not start")
        # One decode before the meeting: the server's first one is slow (its model's first run).
        RemoteWhisper(ServerConfig(self.url, timeout_s=60)).transcribe(np.zeros(16000, np.float32))

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class StderrReader:
    """A `record` process's stderr read on a thread of its own (the only reader: communicate() would take
    lines from it); ``ready`` is set at its "[ready]" line, or when stderr ends."""

    def __init__(self, proc: subprocess.Popen) -> None:
        import threading

        self.lines: list[str] = []
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr:
            self.lines.append(line)
            if line.startswith("[ready]"):
                self.ready.set()
        self.ready.set()

    @property
    def text(self) -> str:
        return "".join(self.lines)
