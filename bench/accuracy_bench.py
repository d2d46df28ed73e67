"""Live vs offline accuracy over many meetings: pooled WER on N shuffled orderings of the bench speech.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/accuracy_bench.py [--model M] [--orderings N]
        [--variant NAME=JSON ...] [--show K,K]

One recording's WER moves by a point when Whisper garbles one sentence (and offline faster-whisper itself
moved 5.75 -> 6.58 % between two runs on the same eight tracks), so accuracy decisions are taken on the
words of N tracks pooled. Each track is transcribe_bench's pieces (jfk.flac, both sides of
stereo_diarization.wav, 18 espeak-ng sentences) in a seeded random order with 1-3 s pauses.

- offline: faster-whisper's transcribe() on each whole track (beam 5, defaults), same model and threads;
- live: the Transcriber's finals on the same track, fed unpaced (finals do not depend on pacing: the
  paced transcribe_bench gives the same text), with its defaults or a variant of TranscriberConfig
  (``--variant ctx1='{"context_utterances": 1}'``; ``beam_size`` goes to the model config).
CPU is process CPU seconds of each whole pass (Whisper and VAD).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import transcribe_bench as tb  # noqa: E402

from meeting_tui.transcribe import blas  # noqa: E402
from meeting_tui.transcribe.audio_io import feed_arrays, read_audio  # noqa: E402
from meeting_tui.transcribe.wer import normalize, wer_details  # noqa: E402
from meeting_tui.types import SESSION_RATE, Source  # noqa: E402


def pieces(tmp: Path) -> list[tuple[np.ndarray, str]]:
    out = [(read_audio(tb.SHARED / "jfk.flac")[0], tb.JFK)]
    left, right = read_audio(tb.SHARED / "stereo_diarization.wav", channels="split")
    out += [(left, tb.LEFT), (right, tb.RIGHT)]
    for i, text in enumerate(tb.ESPEAK):
        out.append((tb.espeak(text, tmp / f"e{i}.wav", tb.VOICES[i % len(tb.VOICES)]), text))
    return out


def track(parts: list[tuple[np.ndarray, str]], seed: int) -> tuple[np.ndarray, str]:
    rng = np.random.default_rng(seed)
    audio, refs = [np.zeros(SESSION_RATE, np.float32)], []
    for i in rng.permutation(len(parts)):
        speech = tb.trim(parts[i][0])
        audio += [speech * (0.5 / max(1e-6, float(np.abs(speech).max()))),
                  np.zeros(int(rng.uniform(1.0, 3.0) * SESSION_RATE), np.float32)]
        refs.append(parts[i][1])
    audio.append(np.zeros(SESSION_RATE, np.float32))
    return np.concatenate(audio).astype(np.float32), " ".join(refs)


def live(loaded, model_cfg, audio: np.ndarray, overrides: dict) -> str:
    from meeting_tui.transcribe.transcriber import Transcriber, TranscriberConfig
    from meeting_tui.transcribe.window import WindowPolicy

    import dataclasses

    lines: list = []
    overrides = dict(overrides)
    if "beam_size" in overrides:  # a ModelConfig field
        model_cfg = dataclasses.replace(model_cfg, beam_size=overrides.pop("beam_size"))
    for key in ("final_window", "partial_window"):  # '{"final_window": {"margin_s": 1.5, "min_s": 10}}'
        if isinstance(overrides.get(key), dict):
            overrides[key] = WindowPolicy(**overrides[key])
    cfg = TranscriberConfig(model=model_cfg, sources=(Source.MIC,), partials=False, **overrides)
    tr = Transcriber(cfg, model=loaded, on_segment=lines.append).start()
    feed_arrays(tr, {Source.MIC: audio})
    tr.drain_and_stop()
    return " ".join(s.text for s in sorted(lines, key=lambda s: s.start))


def report(name: str, tracks, hyps: list[str], cpu: float, show: list[int]) -> dict:
    pooled = wer_details(" ".join(r for _, r in tracks), " ".join(hyps)).wer * 100
    per = [round(wer_details(r, h).wer * 100, 1) for (_, r), h in zip(tracks, hyps)]
    print(f"{name}: WER {pooled:.2f} % pooled, per track {per}, CPU {cpu:.1f} s", flush=True)
    for k in show:
        ref, hyp = normalize(tracks[k][1]).split(), normalize(hyps[k]).split()
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ref, hyp, autojunk=False).get_opcodes():
            if op != "equal":
                print(f"   [{k}] {' '.join(ref[max(0, i1 - 2):i2 + 1])!r} -> {' '.join(hyp[max(0, j1 - 2):j2 + 1])!r}")
    return {"wer": round(pooled, 2), "per_track": per, "cpu_s": round(cpu, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="bundled")
    ap.add_argument("--orderings", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variant", action="append", default=[], help="NAME=JSON TranscriberConfig overrides")
    ap.add_argument("--show", default="", help="tracks whose errors to print, e.g. 0,3")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    from meeting_tui.transcribe.model import ModelConfig, load_model

    blas.limit_blas_threads()
    show = [int(k) for k in args.show.split(",") if k]
    with tempfile.TemporaryDirectory(prefix="mt-accuracy-") as tmp:
        parts = pieces(Path(tmp))
    tracks = [track(parts, seed) for seed in range(args.orderings)]
    model_cfg = ModelConfig(args.model, cpu_threads=args.threads)
    loaded = load_model(model_cfg)
    print(f"{loaded.name}: {len(tracks)} orderings of {len(parts)} utterances, "
          f"{sum(len(a) for a, _ in tracks) / SESSION_RATE:.0f} s of audio, {args.threads} thread(s)", flush=True)
    results = {}
    c0 = time.process_time()
    hyps = []
    for audio, _ in tracks:
        segments, _info = loaded.model.transcribe(audio, beam_size=5)
        hyps.append(" ".join(s.text.strip() for s in segments))
    results["offline"] = report("offline", tracks, hyps, time.process_time() - c0, show)
    for name, overrides in [("live", {})] + [(v.split("=", 1)[0], json.loads(v.split("=", 1)[1]))
                                             for v in args.variant]:
        c0 = time.process_time()
        hyps = [live(loaded, model_cfg, audio, overrides) for audio, _ in tracks]
        results[name] = report(name, tracks, hyps, time.process_time() - c0, show)
        results[name]["delta_points"] = round(results[name]["wer"] - results["offline"]["wer"], 2)
    if args.json:
        Path(args.json).write_text(json.dumps({"model": loaded.name, **results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
