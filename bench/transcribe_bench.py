"""Transcription benchmark: live latency, live-vs-offline accuracy, CPU overhead.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/transcribe_bench.py [--model PATH_OR_NAME ...] [--both]
        [--baseline] [--no-partials] [--json OUT]

The test recording is built from real speech (../shared/audio: jfk.flac, both sides of
stereo_diarization.wav) and espeak-ng sentences, separated by pauses of 1.2-3 s, so every utterance's
true end and text are known. ``--both``: a second track (the same pieces in reverse order, other pauses)
plays as the system audio at the same time, so both sides talk, often at once. ``--baseline``: each model
is also run with the former decoding (30 s encoder windows, no governor) in the same run, for ratios.
Several ``--model`` run one after the other; the figures of one run share the machine's load.

- latency: the file is replayed at real time through the capture engine (a file worker, like a sound
  card) into the Transcriber; for each utterance, (final segment delivered) - (utterance's last sample
  captured, on the session clock). Median and p95.
- accuracy: WER (wer.normalize) of the live transcript vs faster-whisper's offline transcribe() of the same
  whole file (defaults, beam 5), same model, same threads.
- overhead: CPU seconds of the whole live pipeline (this process + capture worker) vs CPU seconds of
  faster-whisper alone on the file (offline), both per audio second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from meeting_tui.transcribe.audio_io import read_audio  # noqa: E402
from meeting_tui.transcribe.wer import wer_details  # noqa: E402
from meeting_tui.types import SESSION_RATE, Source  # noqa: E402

SHARED = REPO.parent / "shared" / "audio"
JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
LEFT = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."
RIGHT = "The horizon seems extremely distant."
ESPEAK = [
    "Good morning everyone, let's start with the quarterly numbers.",
    "The new release is scheduled for the second week of March.",
    "Could you send me the slides after the meeting?",
    "We still need a decision on the budget for the marketing campaign.",
    "I think the customer feedback was mostly positive.",
    "Let's schedule a follow up call on Thursday afternoon.",
    "The server migration took longer than we expected.",
    "Sarah will present the design changes next week.",
    "Our main goal this quarter is to reduce the support backlog.",
    "Please update the ticket when the fix is deployed.",
    "The contract with the new supplier starts in April.",
    "I agree, but we should test it with real users first.",
    "Who is responsible for the documentation?",
    "The meeting room on the third floor is booked all day.",
    "We hired two engineers and one designer last month.",
    "Sales in Europe grew by twelve percent compared to last year.",
    "Can everyone see my screen now?",
    "Let's take a short break and continue in ten minutes.",
]
VOICES = ["en-us", "en", "en-us+m3", "en+f2"]
GAPS = [1.5, 2.0, 1.2, 3.0, 1.5, 2.5, 1.2, 2.0, 1.8]


def trim(x: np.ndarray, floor_db: float = -45.0) -> np.ndarray:
    frame = 160
    n = len(x) // frame
    rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    loud = np.nonzero(20 * np.log10(rms) > floor_db)[0]
    if not len(loud):
        return x
    return x[loud[0] * frame:(loud[-1] + 1) * frame]


def espeak(text: str, out: Path, voice: str) -> np.ndarray:
    subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(out), text], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return read_audio(out)[0]


def build_recording(tmp: Path, *, reverse: bool = False, gap_shift: int = 0,
                    name: str = "bench.wav") -> tuple[Path, list[tuple[float, float, str]]]:
    import soundfile as sf

    pieces: list[tuple[np.ndarray, str]] = [(read_audio(SHARED / "jfk.flac")[0], JFK)]
    left, right = read_audio(SHARED / "stereo_diarization.wav", channels="split")
    pieces += [(left, LEFT), (right, RIGHT)]
    if shutil.which("espeak-ng"):
        for i, text in enumerate(ESPEAK):
            pieces.append((espeak(text, tmp / f"e{i}.wav", VOICES[i % len(VOICES)]), text))
    if reverse:
        pieces.reverse()
    out, refs, pos = [np.zeros(SESSION_RATE, np.float32)], [], SESSION_RATE
    for i, (audio, text) in enumerate(pieces):
        speech = trim(audio) * (0.5 / max(1e-6, float(np.abs(trim(audio)).max())))
        out.append(speech)
        refs.append((pos / SESSION_RATE, (pos + len(speech)) / SESSION_RATE, text))
        pos += len(speech)
        gap = np.zeros(int(GAPS[(i + gap_shift) % len(GAPS)] * SESSION_RATE), np.float32)
        out.append(gap)
        pos += len(gap)
    out.append(np.zeros(SESSION_RATE, np.float32))
    path = tmp / name
    sf.write(path, np.concatenate(out), SESSION_RATE, subtype="PCM_16")
    return path, refs


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_offline(model_path: str, wavs: list[Path], threads: int) -> dict:
    """faster-whisper's own transcribe() on each whole track (beam 5, defaults): text per track, CPU."""
    from faster_whisper import WhisperModel

    model = WhisperModel(model_path, device="cpu", compute_type="int8", cpu_threads=threads)
    texts, cpu, wall = [], 0.0, 0.0
    for wav in wavs:
        audio = read_audio(wav)[0]
        c0, t0 = cpu_self(), time.perf_counter()
        segments, _ = model.transcribe(audio, beam_size=5)
        texts.append(" ".join(s.text.strip() for s in segments))
        cpu += cpu_self() - c0
        wall += time.perf_counter() - t0
    return {"texts": texts, "cpu_s": cpu, "wall_s": wall}


async def run_live(model_path: str, tracks: list[tuple[Source, Path, list]], threads: int, partials: bool,
                   baseline: bool = False, governor: bool = True, partial_interval: float | None = None) -> dict:
    """Replay the tracks at real time through file workers and the capture engine into one Transcriber.
    CPU is the whole process tree (this process, whose model load is excluded, and the capture workers)."""
    from meeting_tui.capture.engine import CaptureEngine, WorkerSpec
    from meeting_tui.transcribe.governor import GovernorConfig
    from meeting_tui.transcribe.model import ModelConfig, load_model
    from meeting_tui.transcribe.transcriber import Transcriber, TranscriberConfig
    from meeting_tui.transcribe.window import FULL

    loaded = load_model(ModelConfig(model_path, cpu_threads=threads))
    finals: list[tuple[float, object]] = []
    sources = tuple(src for src, _, _ in tracks)
    extra = dict(final_window=FULL, partial_window=FULL, governor=GovernorConfig(enabled=False),
                 early_finals=False) if baseline else {}
    if not governor:
        extra["governor"] = GovernorConfig(enabled=False)
    if partial_interval:
        extra["partial_interval_s"] = partial_interval
    cfg = TranscriberConfig(model=ModelConfig(model_path, cpu_threads=threads), sources=sources,
                            partials=partials, **extra)
    levels: list[tuple[float, str]] = []
    tr = Transcriber(cfg, model=loaded, on_segment=lambda s: finals.append((time.monotonic(), s)),
                     on_governor=lambda g: levels.append((time.monotonic(), g.summary())))
    first: dict[Source, int] = {}

    class FirstChunk:
        def on_audio(self, chunk):
            first.setdefault(chunk.source, chunk.start)

    engine = CaptureEngine([WorkerSpec.file(src, str(wav), speed=1.0, restart=False) for src, wav, _ in tracks],
                           {src: 0.0 for src in sources})
    engine.add_listener(FirstChunk())
    engine.add_listener(tr)
    c_self, c_kids = cpu_self(), cpu_children()
    tr.start()
    await engine.start()
    await engine.wait_finished(timeout=900)
    await engine.stop()
    stats_live = tr.stats().as_dict()
    tr.drain_and_stop()
    cpu = (cpu_self() - c_self) + (cpu_children() - c_kids)
    latencies, texts, matched = [], [], 0
    for src, _wav, refs in tracks:
        offset = first.get(src, 0) / SESSION_RATE
        mine = [(t, s) for t, s in finals if s.source == src]
        for (r0, r1, _text) in refs:
            hits = [(t, s) for t, s in mine if s.start < r1 + offset + 0.3 and s.end > r0 + offset - 0.3]
            if hits:
                t_last = max(t for t, _ in hits)
                latencies.append(t_last - (engine.t0 + offset + r1))
                matched += 1
        texts.append(" ".join(s.text for _, s in sorted(mine, key=lambda x: x[1].start)))
    return {"texts": texts, "cpu_s": cpu, "latencies": latencies, "stats": stats_live,
            "final_stats": tr.stats().as_dict(), "segments": len(finals), "matched": matched,
            "governor_changes": [(round(t - engine.t0, 1), g) for t, g in levels]}


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(round(q * (len(v) - 1))))], 3)


def bench_model(model: str, tracks, threads: int, partials: bool, baseline: bool, governor: bool = True,
                partial_interval: float | None = None) -> dict:
    reference = [" ".join(t for _, _, t in refs) for _, _, refs in tracks]
    audio_s = sum(len(read_audio(wav)[0]) for _, wav, _ in tracks) / SESSION_RATE
    offline = run_offline(model, [wav for _, wav, _ in tracks], threads)
    w_off = wer_details(" ".join(reference), " ".join(offline["texts"])).wer
    res: dict = {"model": model, "audio_s_all_tracks": round(audio_s, 1),
                 "cpu_offline_s": round(offline["cpu_s"], 2),
                 "cpu_offline_per_audio_s": round(offline["cpu_s"] / audio_s, 3),
                 "wer_offline": round(w_off * 100, 2),
                 "wer_offline_per_track": [round(wer_details(r, h).wer * 100, 2)
                                           for r, h in zip(reference, offline["texts"])]}
    for label, base in (("live", False),) + ((("baseline", True),) if baseline else ()):
        live = asyncio.run(run_live(model, tracks, threads, partials, baseline=base, governor=governor,
                                    partial_interval=None if base else partial_interval))
        w_live = wer_details(" ".join(reference), " ".join(live["texts"])).wer
        fs = live["final_stats"]
        lat = live["latencies"]
        res[label] = {
            "wer": round(w_live * 100, 2),
            "wer_per_track": [round(wer_details(r, h).wer * 100, 2) for r, h in zip(reference, live["texts"])],
            "wer_delta_points": round((w_live - w_off) * 100, 2),
            "cpu_s": round(live["cpu_s"], 2), "cpu_per_audio_s": round(live["cpu_s"] / audio_s, 3),
            "cpu_ratio_live_over_offline": round(live["cpu_s"] / max(1e-6, offline["cpu_s"]), 2),
            "latency_p50_s": quantile(lat, 0.5), "latency_p95_s": quantile(lat, 0.95),
            "latency_max_s": round(max(lat), 3) if lat else None,
            "utterances_matched": f"{live['matched']}/{sum(len(r) for _, _, r in tracks)}",
            "partials_published": fs["partials"], "partials_dropped": fs["partials_dropped"],
            "whisper_finals_s": fs["asr_final_s"], "whisper_partials_s": fs["asr_partial_s"],
            "whisper_cpu_s": fs["asr_cpu_s"], "vad_s": fs["vad_s"],
            "cpu_outside_whisper_s": round(live["cpu_s"] - fs["asr_cpu_s"], 2),
            "governor_changes": live["governor_changes"], "load_avg_1min": round(os.getloadavg()[0], 2),
            "early_finals_used_wasted": [fs["early_finals"], fs["early_wasted"]] if "early_finals" in fs else None,
            # how many final decodes found the other source's final ready too: what batching could join
            "final_decodes_paired_of_all": [fs.get("final_decodes_paired"), fs.get("final_decodes")],
        }
        if label == "live":
            res["texts_live"] = live["texts"]
    res["texts_offline"] = offline["texts"]
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", help="model name or folder, repeatable (default: the bundled tiny.en)")
    ap.add_argument("--threads", type=int, default=0, help="cpu_threads (0: the transcriber's default)")
    ap.add_argument("--both", action="store_true", help="both sides talk: a second track as the system audio")
    ap.add_argument("--baseline", action="store_true", help="also run 30 s windows without the governor")
    ap.add_argument("--no-partials", action="store_true")
    ap.add_argument("--no-governor", action="store_true", help="keep full quality however loaded (accuracy floor)")
    ap.add_argument("--partial-interval", type=float, help="seconds between partials (default: the transcriber's)")
    ap.add_argument("--spinning-blas", action="store_true",
                    help="keep numpy's BLAS thread pool, offline and live (the former behaviour; see blas.py)")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    from meeting_tui.transcribe import blas

    if args.spinning_blas:
        blas._done = True  # the transcriber's limit_blas_threads() then does nothing
    else:
        blas.limit_blas_threads()  # offline too: both sides of the ratio run with one BLAS thread
    from meeting_tui.transcribe.model import bundled_model_path, default_cpu_threads

    from meeting_tui.transcribe.model import ModelConfig, resolve_model_path

    models = [resolve_model_path(ModelConfig(m)) for m in args.model] if args.model else [bundled_model_path()]
    threads = args.threads or default_cpu_threads()
    tmp = Path(tempfile.mkdtemp(prefix="mt-bench-"))
    try:
        wav, refs = build_recording(tmp)
        tracks = [(Source.MIC, wav, refs)]
        if args.both:
            wav2, refs2 = build_recording(tmp, reverse=True, gap_shift=4, name="them.wav")
            tracks.append((Source.LOOPBACK, wav2, refs2))
        print(f"{len(tracks)} track(s), {sum(len(r) for _, _, r in tracks)} utterances; cpu_threads {threads}; "
              f"governor {'off' if args.no_governor else 'on'}; "
              f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}", flush=True)
        results = []
        for model in models:
            res = bench_model(model, tracks, threads, not args.no_partials, args.baseline, not args.no_governor,
                              args.partial_interval)
            results.append(res)
            print(json.dumps({k: v for k, v in res.items() if not k.startswith("texts")}, indent=1), flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
