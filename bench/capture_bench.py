"""CPU cost of the parent's capture path (read pipes, decode, meter, resample, mix) per second of audio.

Two file workers replay 48 kHz stereo as fast as the pipes allow; the parent's own CPU time (the
workers are separate processes and not counted) is divided by the seconds of audio handled.
``--real-time``: the workers deliver at real time, as a sound card does, so every frame wakes an idle
parent (what a user pays; as fast as possible hides that cost); the workers' CPU is reported too.
Run: .venv/bin/python bench/capture_bench.py [--seconds 300] [--real-time --seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from meeting_tui.capture.engine import CaptureEngine, WorkerSpec  # noqa: E402
from meeting_tui.types import Source  # noqa: E402


class Counter:
    def __init__(self):
        self.mix = 0

    def on_mix(self, chunk):
        self.mix += len(chunk.samples)


async def run(seconds: float, tmp: Path, block: int, speed: float = 0) -> dict:
    rng = np.random.default_rng(0)
    paths = []
    for name in ("mic", "loop"):
        x = (0.1 * rng.standard_normal((48000 * 30, 2))).astype(np.float32)
        p = tmp / f"{name}.wav"
        sf.write(p, x, 48000, subtype="FLOAT")
        paths.append(p)
    specs = [WorkerSpec.file(Source.MIC, str(paths[0]), speed=speed, loop=True),
             WorkerSpec.file(Source.LOOPBACK, str(paths[1]), speed=speed, loop=True)]
    for s in specs:
        s.extra_args = ["--max-seconds", str(seconds), "--blocksize", str(block)]
    engine = CaptureEngine(specs)
    counter = Counter()
    engine.add_listener(counter)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await engine.start()
    await engine.wait_finished(seconds * 2 + 30)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await engine.stop()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    audio_s = seconds
    return {"audio_s": audio_s, "wall_s": wall, "parent_cpu_s": cpu, "mixed_s": counter.mix / 16000,
            "cpu_per_audio_s_pct": 100 * cpu / audio_s, "speed_x": audio_s / wall,
            "workers_cpu_s": kids.ru_utime + kids.ru_stime}


def similarity_cost() -> float:
    """CPU seconds of one wrong-source check (two 2 s windows), which the engine runs twice a second."""
    from meeting_tui.capture.engine import SIMILARITY_MAX_LAG, SIMILARITY_WINDOW
    from meeting_tui.capture.similarity import similarity

    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal(SIMILARITY_WINDOW).astype(np.float32) for _ in range(2))
    t0 = time.process_time()
    for _ in range(40):
        similarity(a, b, SIMILARITY_MAX_LAG)
    return (time.process_time() - t0) / 40


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--block", type=int, default=480, help="frames per block (480 = 10 ms, as devices deliver)")
    ap.add_argument("--real-time", action="store_true", help="deliver at real time, as a sound card does")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = asyncio.run(run(args.seconds, Path(tmp), args.block, 1.0 if args.real_time else 0))
    print(f"two sources, 48 kHz stereo float32 in {args.block}-frame blocks, {r['audio_s']:.0f} s of audio each, "
          f"replayed {r['speed_x']:.0f}x real time")
    print(f"parent CPU: {r['parent_cpu_s']:.2f} s = {r['cpu_per_audio_s_pct']:.2f}% of one core at real time "
          f"(mixed {r['mixed_s']:.0f} s); the two workers: {r['workers_cpu_s']:.2f} s")
    from meeting_tui.capture.engine import SIMILARITY_EVERY_S

    check = similarity_cost()
    print(f"wrong-source check while both sources are loud: {check * 1000:.1f} ms every {SIMILARITY_EVERY_S:g} s "
          f"= {100 * check / SIMILARITY_EVERY_S:.2f}% of one core")


if __name__ == "__main__":
    main()
