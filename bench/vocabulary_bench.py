"""Custom vocabulary on names the tests do not use: names right, and no sentence worse than without it.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/vocabulary_bench.py [--model bundled --model .models/whisper-base-ct2]
        [--json OUT]

espeak-ng speech (two voices, 1.5 s apart): 10 sentences, 7 with names from a glossary of 10 (one of them
never said), 3 everyday ones. Decoded as the live app decodes (the Transcriber, utterance by utterance,
with its context prefix) with: no vocabulary; the former prompt ("Glossary: a, b, c.") without the guard;
and the product (the prompt and the guard of meeting_tui/transcribe/vocabulary.py and vocabulary_guard.py).
Reported per model and run: names written as in the glossary, glossary names written where not said, WER of
each sentence, and the sentences whose WER is above the run without vocabulary (the product must have none).
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

from meeting_tui.transcribe.vocabulary import Vocabulary  # noqa: E402
from meeting_tui.transcribe.wer import wer  # noqa: E402
from meeting_tui.types import SESSION_RATE, Source  # noqa: E402
from tests.support.speech import say  # noqa: E402

# Not the tests' names (Siobhan, Grafana, Nextcloud, Kubernetes, PostgreSQL).
GLOSSARY = ["Dagny", "Proxmox", "Zendesk", "Bitwarden", "Tailscale", "Ruairi", "Ansible", "Mattermost",
            "Jenkins", "Hetzner"]  # Hetzner is never said: a name the decoder must not put in
SENTENCES = [
    "Please ask Dagny to restart the Proxmox cluster.",
    "The Zendesk tickets are piling up again.",
    "I think the weather will be nice tomorrow.",
    "We moved our passwords to Bitwarden last week.",
    "Tailscale connects the office to the lab.",
    "Can you send me the report before lunch?",
    "Ruairi wrote the Ansible playbook for the servers.",
    "Mattermost replaced our old chat system.",
    "The new printer on the second floor is broken.",
    "Jenkins failed to build the release branch.",
]


class ListPrompt(Vocabulary):
    """The former prompt form, which Whisper base copied into a list of fragments."""

    def prompt(self) -> str | None:
        return f"Glossary: {', '.join(self.terms)}." if self.terms else None


def build() -> tuple[np.ndarray, list[tuple[float, float]]]:
    parts, spans, pos = [np.zeros(SESSION_RATE // 2, np.float32)], [], SESSION_RATE // 2
    for i, s in enumerate(SENTENCES):
        a = say(s, "en-us" if i % 2 == 0 else "en-gb")
        parts += [a, np.zeros(int(1.5 * SESSION_RATE), np.float32)]
        spans.append((pos / SESSION_RATE, (pos + len(a)) / SESSION_RATE))
        pos += len(a) + int(1.5 * SESSION_RATE)
    return np.concatenate(parts), spans


def per_sentence(segments, spans) -> list[str]:
    """Each final line goes to the sentence its middle falls nearest."""
    texts: list[list[str]] = [[] for _ in spans]
    for seg in sorted(segments, key=lambda s: s.start):
        mid = (seg.start + seg.end) / 2
        i = min(range(len(spans)), key=lambda k: 0 if spans[k][0] <= mid <= spans[k][1]
                else min(abs(mid - spans[k][0]), abs(mid - spans[k][1])))
        texts[i].append(seg.text.strip())
    return [" ".join(t) for t in texts]


def live(model, audio: np.ndarray, vocab: Vocabulary, guard: bool) -> tuple[list, float]:
    from meeting_tui.transcribe.audio_io import feed_arrays
    from meeting_tui.transcribe.decode_options import DecodeOptions
    from meeting_tui.transcribe.language import LanguageTracker
    from meeting_tui.transcribe.transcriber import Transcriber, TranscriberConfig

    cfg = TranscriberConfig(sources=(Source.MIC,), partials=False, vocabulary_guard=guard,
                            decode=DecodeOptions(vocab, LanguageTracker("en")))
    # fed as fast as it decodes: nothing trades words for time (no load governor, no shorter context for
    # slow finals), so every run hears the same context at any load and the runs compare sentence by sentence
    cfg.unpaced()
    segs: list = []
    tr = Transcriber(cfg, on_segment=segs.append, model=model)
    tr.start()
    tr.wait_ready()
    feed_arrays(tr, {Source.MIC: audio})
    tr.drain_and_stop()
    return segs, tr.stats().asr_final_s, tr.decoder.vocabulary_retries


def names_in(text: str) -> set[str]:
    return {n for n in GLOSSARY if n.lower() in text.lower()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", help="bundled (tiny.en, default), a name or a folder; repeatable")
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    from meeting_tui.meeting.model import bundled_model, display_name
    from meeting_tui.transcribe.model import ModelConfig, load_model

    audio, spans = build()
    said = [names_in(s) for s in SENTENCES]
    report = []
    for name in [bundled_model() if m in (None, "bundled") else m for m in (args.model or ["bundled"])]:
        model = load_model(ModelConfig(name=name, cpu_threads=1))
        runs = {"none": (Vocabulary(), False), "list prompt, no guard": (ListPrompt(tuple(GLOSSARY)), False),
                "prompt, no guard": (Vocabulary(tuple(GLOSSARY)), False),
                "product": (Vocabulary(tuple(GLOSSARY)), True)}
        base_wer: list[float] = []
        for run, (vocab, guard) in runs.items():
            t0 = time.perf_counter()
            segs, asr, retries = live(model, audio, vocab, guard)
            texts = per_sentence(segs, spans)
            wers = [round(wer(ref, hyp), 3) for ref, hyp in zip(SENTENCES, texts)]
            if run == "none":
                base_wer = wers
            right = sum(len(names_in(t) & s) for t, s in zip(texts, said))
            inserted = sum(len(names_in(t) - s) for t, s in zip(texts, said))
            worse = [i for i, (w, b) in enumerate(zip(wers, base_wer)) if w > b]
            row = {"model": display_name(name), "run": run, "names_right": right, "of": sum(map(len, said)),
                   "names_inserted": inserted, "wer": wers, "mean_wer": round(sum(wers) / len(wers), 3),
                   "worse_than_none": worse, "asr_s": round(asr, 1), "plain_taken": retries, "wall_s": round(time.perf_counter() - t0, 1),
                   "texts": texts}
            report.append(row)
            print(f"{row['model']:28s} {run:22s} names {right}/{row['of']} inserted {inserted}  mean WER "
                  f"{row['mean_wer']:.3f}  worse than none: {worse or '-'}  Whisper {asr:.1f} s  plain taken {retries}", flush=True)
            for i in worse:
                print(f"    {i}: {SENTENCES[i]!r} -> {texts[i]!r} (none: WER {base_wer[i]}, here {wers[i]})")
    print(f"load average {os.getloadavg()[0]:.1f}; {len(audio) / SESSION_RATE:.1f} s of audio")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
