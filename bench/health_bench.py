"""How soon a dead stream is flagged and healed, on the PulseAudio rig: wall time from a killed mic worker
to the "crashed" flag and to audio again, from a suspended mic to "stalled", and from a muted mic to
"silent" (a mute read as a noise gate's pause would wait 120 s: counted as missed after 4 s). The tests
(tests/test_capture_rig.py) assert that each happens; the figures are this script's, because a loaded
machine's scheduling decides them.

    .venv/bin/python bench/health_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from meeting_tui.capture.engine import CaptureEngine, specs_for_mode  # noqa: E402
from meeting_tui.types import DeviceRef, HealthState, Mode, Source  # noqa: E402
from tests.support.capture import Recorder, wait_for, write_tone  # noqa: E402
from tests.support.rig.rig import start_rig  # noqa: E402

MIC = DeviceRef("mic", "PulseAudio")


def live(rec: Recorder) -> bool:
    states = [h for _, h in rec.health if h.source is Source.MIC]
    return bool(states) and states[-1].state is HealthState.LIVE


async def live_mic() -> tuple[CaptureEngine, Recorder]:
    """A started mic engine, once its stream is live; the caller stops it."""
    engine, rec = CaptureEngine(specs_for_mode(Mode.MIC, MIC, None)), Recorder()
    engine.add_listener(rec)
    await engine.start()
    if not await wait_for(lambda: live(rec), 10):
        await engine.stop()
        raise RuntimeError("the mic never came up")
    return engine, rec


async def kill_once() -> tuple[float, float]:
    engine, rec = await live_mic()
    try:
        pid = engine.stats()["sources"]["mic"]["pid"]
        n_before = len(rec.audio[Source.MIC])
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        await wait_for(lambda: engine.stats()["sources"]["mic"]["pid"] not in (None, pid)
                       and len(rec.audio[Source.MIC]) > n_before + 5 and live(rec), 10)
        flagged = rec.first_state_after(Source.MIC, HealthState.CRASHED, killed_at)
        back = rec.first_state_after(Source.MIC, HealthState.LIVE, flagged or killed_at)
        return (flagged or float("nan")) - killed_at, (back or float("nan")) - killed_at
    finally:
        await engine.stop()


async def flagged_after(rig, change: tuple[str, ...], undo: tuple[str, ...], state: HealthState,
                        wait_s: float, phase: float) -> float:
    """Seconds from ``pactl change`` on the live mic to ``state``; NaN when not flagged within ``wait_s``.
    ``phase`` (0..1) spreads the change over a 100 ms capture block: where it lands in a block mattered."""
    engine, rec = await live_mic()
    try:
        await asyncio.sleep(0.2 + 0.1 * phase)
        t = time.monotonic()
        rig.pactl(*change)
        await wait_for(lambda: rec.first_state_after(Source.MIC, state, t), wait_s)
        return (rec.first_state_after(Source.MIC, state, t) or float("nan")) - t
    finally:
        rig.pactl(*undo)
        await engine.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rig = start_rig(Path(tmp) / "rig")
        os.environ.update(rig.env)
        try:
            rig.play(write_tone(Path(tmp) / "tone.wav", 440, 10), "micsink", loops=40)
            kills = [asyncio.run(kill_once()) for _ in range(args.runs)]
            stalls = [asyncio.run(flagged_after(rig, ("suspend-source", "mic", "1"), ("suspend-source", "mic", "0"),
                                                HealthState.STALLED, 6, i / args.runs)) for i in range(args.runs)]
            mutes = [asyncio.run(flagged_after(rig, ("set-source-mute", "mic", "1"), ("set-source-mute", "mic", "0"),
                                               HealthState.SILENT, 4, i / args.runs)) for i in range(args.runs)]
        finally:
            rig.stop()
    load = os.getloadavg()[0]
    print(f"| measure ({args.runs} runs, load {load:.1f}) | flagged | median | max |")
    print("|---|---|---|---|")
    for name, values in (("killed worker -> crashed flag", [k[0] for k in kills]),
                         ("killed worker -> live again", [k[1] for k in kills]),
                         ("suspended mic -> stalled flag", stalls),
                         ("muted mic -> silent flag", mutes)):
        seen = [v for v in values if not math.isnan(v)]
        median, most = (f"{statistics.median(seen):.2f} s", f"{max(seen):.2f} s") if seen else ("-", "-")
        print(f"| {name} | {len(seen)} of {len(values)} | {median} | {most} |")


if __name__ == "__main__":
    main()
