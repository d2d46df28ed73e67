"""Custom vocabulary: rare names spelled right with it, wrong without, and everyday words not hurt.

The end-to-end test runs `meeting-tui transcribe` (a subprocess, the real Transcriber and tiny.en) on
espeak-ng speech, with the vocabulary from the settings file and from `--vocabulary`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meeting_tui.settings import validate_settings
from meeting_tui.transcribe.decode_options import DecodeOptions
from meeting_tui.transcribe.vocabulary import Vocabulary, VocabularyError, clean_terms, parse_terms
from meeting_tui.transcribe.wer import wer
from meeting_tui.types import Source
from tests.conftest import REPO, skip_or_fail
from tests.support.speech import COMMON, GLOSSARY, JARGON, conversation, have_espeak, write_wav

# Of GLOSSARY, the names tiny.en gets wrong here even with its context decoding (measured:
# "Shivong", "graph on the meshboards", "next cloud"); Kubernetes and PostgreSQL it gets right from context.
HARD = ["Siobhan", "Grafana", "Nextcloud"]


def test_terms_are_cleaned_and_bad_lists_named():
    assert clean_terms(["  Kubernetes ", "kubernetes", "", "Open  Shift"]) == ["Kubernetes", "Open Shift"]
    assert parse_terms("Kubernetes, OpenShift\nGrafana") == ["Kubernetes", "OpenShift", "Grafana"]
    with pytest.raises(VocabularyError, match="at most 100"):
        clean_terms([f"term{i}" for i in range(101)])
    with pytest.raises(VocabularyError, match="longer than"):
        clean_terms(["x" * 61])


def test_prompt_and_hotwords_methods():
    v = Vocabulary(("Kubernetes", "Siobhan"))
    assert v.decode_kwargs() == {"initial_prompt": "We talked about Kubernetes and Siobhan."}
    assert v.decode_kwargs("previous words") == {"initial_prompt": "We talked about Kubernetes and Siobhan. previous words"}
    assert Vocabulary(("A",), "hotwords").decode_kwargs() == {"initial_prompt": None, "hotwords": "A"}
    assert Vocabulary().decode_kwargs() == {"initial_prompt": None}


def test_settings_vocabulary_validated_and_applied():
    settings, warnings = validate_settings({"transcription": {"vocabulary": ["Grafana", " grafana ", "Siobhan"]}})
    assert warnings == [] and settings.transcription.vocabulary == ["Grafana", "Siobhan"]
    opts = DecodeOptions.from_settings(settings.transcription)
    assert opts.kwargs(Source.MIC)["initial_prompt"] == "We talked about Grafana and Siobhan."
    opts.set_vocabulary(["Nextcloud"])  # the dashboard's editor, live
    assert opts.kwargs(Source.LOOPBACK)["initial_prompt"] == "We talked about Nextcloud."
    _, warnings = validate_settings({"transcription": {"vocabulary": ["x" * 80]}})
    assert len(warnings) == 1 and "vocabulary" in warnings[0] and "longer than" in warnings[0]


def _env(tmp_path: Path, settings: str = "") -> dict:
    cfg = tmp_path / "cfg" / "settings.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(settings, encoding="utf-8")
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", MEETING_TUI_CONFIG=str(cfg), MEETING_TUI_DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=str(REPO))
    return env


def test_bad_vocabulary_flag_is_one_clear_message(tmp_path):
    out = subprocess.run([sys.executable, "-m", "meeting_tui", "transcribe", str(tmp_path / "none.wav"),
                          "--vocabulary", "x" * 70], capture_output=True, text=True, env=_env(tmp_path), timeout=60)
    assert out.returncode == 2 and "longer than 60 characters" in out.stderr and "--vocabulary" in out.stderr


@pytest.mark.model
@pytest.mark.slow
def test_rare_names_right_with_vocabulary_wrong_without(tiny_model_path, tmp_path):
    if not have_espeak():
        skip_or_fail("espeak-ng is needed to synthesise speech (apt-get install espeak-ng)")
    order = COMMON[:3] + JARGON[:2] + COMMON[3:] + JARGON[2:]
    wav = write_wav(tmp_path / "meeting.wav", conversation(order))

    def run(extra: list[str], settings: str = "") -> list[str]:
        out = subprocess.run([sys.executable, "-m", "meeting_tui", "transcribe", str(wav), "--model", tiny_model_path,
                              "--quiet", "--json", *extra], capture_output=True, text=True,
                             env=_env(tmp_path, settings), timeout=240)
        assert out.returncode == 0, out.stderr
        return [json.loads(line)["text"] for line in out.stdout.splitlines()]

    plain = run([])
    from_settings = run([], 'transcription.vocabulary = ["' + '", "'.join(GLOSSARY) + '"]\n')
    from_flag = run(["--vocabulary", ",".join(GLOSSARY)])
    for lines in (plain, from_settings, from_flag):
        assert len(lines) == len(order), lines  # one line per sentence, in order
    for name in HARD:
        assert name not in " ".join(plain), plain
    # Each way of giving the vocabulary spells most hard names (a way not applied spells none), and between
    # them all three. Not all three in each: tiny.en's decode of a borderline sentence can move with the
    # CPU's arithmetic (same input, same prefix, another word; docs/transcription.md, "Same file, same text").
    for lines in (from_settings, from_flag):
        assert sum(name in " ".join(lines) for name in HARD) >= len(HARD) - 1, lines
    assert all(name in " ".join(from_settings + from_flag) for name in HARD), (from_settings, from_flag)
    common = [i for i, s in enumerate(order) if s in COMMON]
    ref = " ".join(order[i] for i in common)
    base_wer = wer(ref, " ".join(plain[i] for i in common))
    for lines in (from_settings, from_flag):
        assert wer(ref, " ".join(lines[i] for i in common)) <= base_wer, lines
