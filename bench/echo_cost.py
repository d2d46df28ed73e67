"""CPU cost of the echo guard's double-talk paths in their worst case: the far side talking alone all
the time, so every frame teaches the cancellers.

    .venv/bin/python bench/echo_cost.py [--seconds 10]

Streams white noise through a synthetic 300 ms echo path and reports CPU seconds per audio second for
the Kalman path, the subband path and both side by side (the guard's default), in one process so the
ratios compare even on a busy machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.echo_research import make_research_path  # noqa: E402

RATE = 16_000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = int(RATE * args.seconds)
    ref = rng.standard_normal(n) * 0.1
    tail = rng.standard_normal(4800) * np.exp(-np.arange(4800) / 1200) * 0.1
    mic = np.convolve(ref, np.concatenate([np.zeros(960), tail]))[:n]
    for method in ("kalman", "subband", "dual"):
        path = make_research_path(160, RATE, method, None, None, {})
        out = []
        t0 = time.process_time()
        for i in range(0, n - 159, 160):
            path.filter(mic[i:i + 160], ref[i:i + 160])
            path.adapt(True)
            out.append(path.output())
        cpu = time.process_time() - t0
        y = np.concatenate(out)[path.delay_frames * 160:]
        late = slice(n // 2, len(y))
        erle = 10 * np.log10(np.mean(mic[late] ** 2) / max(np.mean(y[late] ** 2), 1e-20))
        print(f"{method:8s} {cpu / args.seconds:.3f} CPU s per audio s; echo removed over the second half {erle:.1f} dB")


if __name__ == "__main__":
    main()
