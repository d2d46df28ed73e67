"""What grows in `record` as a meeting goes on: Python allocations and objects by type, sampled as it runs.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/growth_probe.py [--minutes 20] [--speed 4] [--every 30]

Replays soak_bench's repeated meeting through `record` (meeting mode, its defaults) faster than real time,
with `tracemalloc` started in the front end's process by this script (the product has no hook for it).
Every ``--every`` seconds it prints the RSS, the memory Python traces, and, against the first sample after
the warm-up, the allocation sites and the object types that grew most. A structure that grows with the
lines shows here in minutes, where an hour at real time shows only the RSS.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _child(argv: list[str], every: float, warmup: float, frames: int) -> int:
    """The front end with tracemalloc on and a thread printing what grew to stderr."""
    import tracemalloc

    import psutil

    tracemalloc.start(frames)
    me = psutil.Process()

    def types() -> Counter:
        return Counter(type(o).__name__ for o in gc.get_objects())

    def probe() -> None:
        t0 = time.monotonic()
        base = base_types = None
        while True:
            time.sleep(every)
            snap = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen*>")])
            cur_types = types()
            traced, _ = tracemalloc.get_traced_memory()
            out = [f"## t={time.monotonic() - t0:.0f}s rss={me.memory_info().rss / 2**20:.1f}MB "
                   f"traced={traced / 2**20:.1f}MB objects={sum(cur_types.values())}"]
            if base is None and time.monotonic() - t0 >= warmup:
                base, base_types = snap, cur_types
            elif base is not None:
                grew = sorted((st for st in snap.compare_to(base, "traceback") if st.size_diff > 0),
                              key=lambda st: st.size_diff, reverse=True)
                for st in grew[:12]:
                    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in st.traceback)
                    out.append(f"  {st.size_diff / 1024:+.0f} KiB {st.count_diff:+d} blocks  {where}")
                grown = sorted(((cur_types[k] - base_types.get(k, 0), k) for k in cur_types), reverse=True)[:10]
                out.append("  objects: " + ", ".join(f"{k} {d:+d}" for d, k in grown if d > 0))
            print("\n".join(out), file=sys.stderr, flush=True)

    threading.Thread(target=probe, daemon=True).start()
    from meeting_tui.cli import main

    return main(argv)


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        every, warmup, frames = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
        return _child(sys.argv[5:], every, warmup, frames)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=20.0, help="minutes of meeting replayed")
    ap.add_argument("--speed", type=float, default=4.0, help="replay speed (1 = real time)")
    ap.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    ap.add_argument("--warmup", type=float, default=60.0, help="seconds before the baseline snapshot")
    ap.add_argument("--frames", type=int, default=4, help="traceback depth of each allocation site")
    ap.add_argument("--model", default="bundled")
    args = ap.parse_args()

    import soak_bench
    from meeting_tui.meeting.model import bundled_model

    model = bundled_model() if args.model == "bundled" else args.model
    with tempfile.TemporaryDirectory(prefix="growth-probe-") as d:
        tmp = Path(d)
        mic, loop, seconds, repeats = soak_bench.long_meeting(tmp, args.minutes)
        (tmp / "settings.toml").write_text(f'[transcription.model]\nname = "{model}"\n', encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=str(REPO), MEETING_TUI_DATA_DIR=str(tmp / "data"),
                   MEETING_TUI_CONFIG=str(tmp / "settings.toml"))
        cmd = [sys.executable, __file__, "--child", str(args.every), str(args.warmup), str(args.frames),
               "record", "--mic-file", str(mic), "--loopback-file", str(loop), "--speed", str(args.speed),
               "--json", "--quiet"]
        print(f"{seconds / 60:.1f} min of meeting ({repeats} x 57 s) at {args.speed}x", flush=True)
        proc = subprocess.run(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=None, text=True,
                              stdin=subprocess.DEVNULL)
        lines = sum('"type": "segment"' in x for x in proc.stdout.splitlines())
        print(f"rc {proc.returncode}, {lines} lines ({lines / repeats:.2f} per 57 s)", flush=True)
        return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
