"""How far down must the echo be for Whisper to keep the user's words? No guard involved.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/echo_whisper_margin.py DIR... [--beam 1|5] [--levels 15,20,25]

For each double-talk recording kept with ``bench/echo_bench.py --save DIR``: the dry local track plus
the true echo (the scenario's mic feed minus the local track) scaled down by each level, transcribed
turn by turn like the bench, and judged with the same word counts. This is the ceiling a perfect linear
canceller leaving that much echo would reach, and so what the guard has to deliver (docs/echo.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.support import echo_scenarios as evaluate  # noqa: E402
from meeting_tui.types import AudioChunk, Source  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="+", help="folders of --save recordings (or .npz files)")
    ap.add_argument("--beam", type=int, default=None, help="beam size (default: the app's)")
    ap.add_argument("--levels", default="10,15,20,25,30", help="dB of echo removed, comma-separated")
    args = ap.parse_args()
    model = evaluate.load_model()
    if args.beam is not None:  # decode with another beam than the app's
        decode = model.transcribe
        model.transcribe = lambda audio, **kw: decode(audio, **{**kw, "beam_size": args.beam})
    levels = [float(v) for v in args.levels.split(",")]
    paths = sorted(p for d in args.dirs for p in (Path(d).glob("*.npz") if Path(d).is_dir() else [Path(d)]))
    totals = {lv: np.zeros(4, int) for lv in levels}
    for path in paths:
        sc, tr, _ = evaluate.load_recording(path)
        if not sc.double_talk:
            continue

        def text(signal: np.ndarray) -> str:
            chunk = AudioChunk(Source.MIC, 0, signal.astype(np.float32))
            return evaluate.text_of(evaluate.transcribe_windows(model, chunk, tr.windows, 0))

        echo = tr.mic_feed - tr.local
        dry, raw = text(tr.local), text(tr.mic_feed)
        row = []
        for lv in levels:
            f = evaluate.figures(tr.remote_text, tr.local_text, raw, text(tr.local + echo * 10 ** (-lv / 20)), dry)
            totals[lv] += (f.dup_before, f.dup_after, f.local_kept, f.local_ref)
            row.append(f"{lv:g} dB: {f.dup_before}->{f.dup_after}, {f.local_kept}/{f.local_ref}")
        print(f"{path.name:>14} {sc.name:<20} " + " | ".join(row), flush=True)
    print("echo removed  duplicated words removed  user's words kept")
    for lv, (before, after, kept, ref) in totals.items():
        print(f"{lv:>8g} dB  {1 - after / max(before, 1):>22.1%}  {kept:>5}/{ref} {kept / max(ref, 1):.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
