"""A language per source: fixed (settings, CLI) or detected on enough confident speech and then locked.

End to end: `meeting-tui transcribe --split-stereo` on German espeak-ng speech (left, "You") and English
(right, "Them") with the multilingual Whisper base model (built from PyPI, tests/support/multilingual_model.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from meeting_tui.settings import validate_settings
from meeting_tui.transcribe.decode_options import DecodeOptions
from meeting_tui.transcribe.language import LanguageError, LanguageTracker, parse_languages
from meeting_tui.transcribe.wer import wer
from meeting_tui.types import Source
from tests.conftest import REPO, skip_or_fail
from tests.support.multilingual_model import multilingual_model  # noqa: F401 (fixture)
from tests.support.speech import COMMON, GERMAN, conversation, have_espeak


def test_detection_waits_for_enough_confident_speech_then_locks():
    seen = []
    t = LanguageTracker(min_speech_s=6.0, on_change=seen.append)
    t.observe(Source.MIC, "en", 0.95, 1.0)  # one short "da" heard as English does not decide
    t.observe(Source.MIC, "ru", 0.3, 5.0)  # unsure guesses do not count
    assert t.language_for(Source.MIC) is None and t.snapshot(Source.MIC).state == "detecting"
    for _ in range(3):
        t.observe(Source.MIC, "ru", 0.9, 2.5)
    snap = t.snapshot(Source.MIC)
    assert (snap.language, snap.state) == ("ru", "detected") and t.language_for(Source.MIC) == "ru"
    assert snap.label == "ru (detected, 90%)" and seen[-1] == snap
    t.observe(Source.MIC, "en", 0.99, 30.0)  # locked: later guesses change nothing
    assert t.language_for(Source.MIC) == "ru"
    assert t.language_for(Source.LOOPBACK) is None  # each source on its own
    t.set_language(Source.MIC, "de")  # the user overrides live
    assert t.language_for(Source.MIC) == "de" and t.snapshot(Source.MIC).label == "de (set live)"
    t.set_language(Source.MIC, "auto")  # back to detection, from scratch
    assert t.snapshot(Source.MIC).state == "detecting"


def test_fixed_languages_from_settings_and_cli():
    settings, warnings = validate_settings({"transcription": {"languages": {"mic": "DE", "loopback": "auto"},
                                                              "model": {"language": "en"}}})
    assert warnings == []
    opts = DecodeOptions.from_settings(settings.transcription)
    assert opts.kwargs(Source.MIC)["language"] == "de" and opts.kwargs(Source.LOOPBACK)["language"] == "en"
    assert parse_languages("mic=de,loopback=auto") == (None, {Source.MIC: "de", Source.LOOPBACK: None})
    assert parse_languages("fr") == ("fr", {})
    with pytest.raises(LanguageError, match='Did you mean "de"'):
        parse_languages("mic=dee")
    _, warnings = validate_settings({"transcription": {"languages": {"mic": "german"}}})
    assert len(warnings) == 1 and "transcription.languages.mic" in warnings[0] and "language code" in warnings[0]


def _run(args: list[str], tmp_path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", MEETING_TUI_CONFIG=str(tmp_path / "cfg" / "settings.toml"),
               MEETING_TUI_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "meeting_tui", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_bad_language_flag_is_one_clear_message(tmp_path):
    out = _run(["transcribe", str(tmp_path / "x.wav"), "--language", "mic=klingon"], tmp_path)
    assert out.returncode == 2 and 'unknown language "klingon"' in out.stderr and "auto" in out.stderr


@pytest.mark.model
@pytest.mark.slow
def test_german_and_english_sources_detected_each_on_its_own(multilingual_model, tmp_path):
    if not have_espeak():
        skip_or_fail("espeak-ng is needed to synthesise speech (apt-get install espeak-ng)")
    import soundfile as sf

    de, en = conversation(GERMAN, voice="de"), conversation(COMMON[:4])
    stereo = np.zeros((max(len(de), len(en)), 2), np.float32)
    stereo[:len(de), 0], stereo[:len(en), 1] = de, en
    wav = tmp_path / "two-languages.wav"
    sf.write(str(wav), stereo, 16000)

    detected = _run(["transcribe", str(wav), "--split-stereo", "--model", multilingual_model, "--json"], tmp_path)
    assert detected.returncode == 0, detected.stderr
    assert "[language] mic: de (detected" in detected.stderr
    assert "[language] loopback: en (detected" in detected.stderr
    rows = [json.loads(line) for line in detected.stdout.splitlines()]
    you = " ".join(r["text"] for r in rows if r["label"] == "You")
    them = " ".join(r["text"] for r in rows if r["label"] == "Them")
    # German words, not an English rendering (that scores near 1.0); Whisper base scored 0.36 here at merge
    # time (the sized encoder windows of issue 16 cost it a word or two against the 0.35 first measured).
    assert wer(" ".join(GERMAN), you) <= 0.45, you
    assert wer(" ".join(COMMON[:4]), them) <= 0.15, them

    fixed = _run(["transcribe", str(wav), "--split-stereo", "--model", multilingual_model, "--json",
                  "--language", "mic=de,loopback=en"], tmp_path)
    assert fixed.returncode == 0 and "[language]" not in fixed.stderr  # nothing to detect
    you_fixed = " ".join(json.loads(x)["text"] for x in fixed.stdout.splitlines() if json.loads(x)["label"] == "You")
    assert wer(" ".join(GERMAN), you_fixed) <= 0.45, you_fixed
