"""A real PulseAudio server with a virtual microphone and virtual speakers, for capture tests.

Devices: source ``mic`` (fed by playing into sink ``micsink``) and sink ``speakers`` whose monitor
``speakers.monitor`` is the loopback. The server is started and stopped by PID through audio-rig.sh.
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).with_name("audio-rig.sh")


def recording_sources(env: dict[str, str]) -> list[str]:
    """The sources a client records from now (one entry per record stream; the rig's own remaps excluded)."""
    def short(*what: str) -> list[list[str]]:
        out = subprocess.run(["pactl", "list", "short", *what], env=env, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=20).stdout
        return [line.split("\t") for line in out.splitlines() if line.strip()]

    names = {row[0]: row[1] for row in short("sources") if len(row) > 1}
    return [names.get(row[1], row[1]) for row in short("source-outputs")
            if len(row) > 3 and row[3] == "protocol-native.c"]


def wait_until_recorded(env: dict[str, str], sources: list[str], timeout: float = 60.0) -> bool:
    """Wait until a client records from each of ``sources``: the capture is open, so what is played from
    now on is heard. A condition, not a settle time: on a loaded machine workers start late."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = collections.Counter(recording_sources(env))
        if all(live[s] >= n for s, n in collections.Counter(sources).items()):
            return True
        time.sleep(0.1)
    return False


def missing_tools() -> list[str]:
    return [t for t in ("pulseaudio", "pactl", "pacat", "paplay", "sox") if shutil.which(t) is None]


@dataclass
class AudioRig:
    dir: Path
    players: list[subprocess.Popen] = field(default_factory=list)

    @property
    def server(self) -> str:
        return f"unix:{self.dir}/pulse/native"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PULSE_SERVER=self.server,
            PULSE_RUNTIME_PATH=str(self.dir / "pulse"),
            PULSE_STATE_PATH=str(self.dir / "pulse" / "state"),
            RIG_DIR=str(self.dir),
        )
        return env

    def _script(self, *args: str) -> str:
        out = subprocess.run(["bash", str(SCRIPT), *args], env=self.env, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"audio-rig.sh {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self.stop_players()
        self._script("stop")

    def pactl(self, *args: str) -> str:
        out = subprocess.run(["pactl", *args], env=self.env, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=20)
        if out.returncode != 0:
            raise RuntimeError(f"pactl {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def wait_until_recorded(self, *sources: str, timeout: float = 60.0) -> bool:
        return wait_until_recorded(self.env, list(sources), timeout)

    def play(self, wav: str | os.PathLike, sink: str, *, loops: int = 1) -> subprocess.Popen:
        """Play a file into ``sink`` ("micsink" = the virtual mic, "speakers" = the loopback)."""
        path = Path(wav)
        if loops > 1:
            looped = self.dir / f"loop-{sink}-{path.stem}.wav"
            subprocess.run(["sox", str(path), str(looped), "pad", "0", "0.3", "repeat", str(loops - 1)],
                           check=True, timeout=60)
            path = looped
        proc = subprocess.Popen(["paplay", "--latency-msec=50", f"--device={sink}", str(path)],
                                env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.players.append(proc)
        return proc

    def stop_players(self) -> None:
        for p in self.players:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.players.clear()


def start_rig(base: Path) -> AudioRig:
    rig = AudioRig(dir=base)
    rig.start()
    # The server answers before the keep-alives settle; the script already waits for that.
    time.sleep(0.1)
    return rig
