"""The echo guard wired into the live pipeline: `meeting-tui record` on file sources where the mic also
hears the loopback (delayed, quieter), as a laptop without headphones does."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

pytestmark = [pytest.mark.model, pytest.mark.slow]


def _scene(shared_audio, tmp_path):
    stereo, rate = sf.read(shared_audio / "stereo_diarization.wav", dtype="float32")
    you, them = stereo[:, 0], stereo[:, 1]
    pad = np.zeros(rate, np.float32)
    them_line = np.concatenate([them, pad, np.zeros_like(you), pad])  # Them talks first, then You
    you_line = np.concatenate([np.zeros_like(them), pad, you, pad])
    delay = int(0.06 * rate)  # 60 ms from speakers to mic, 6 dB down
    echo = np.concatenate([np.zeros(delay, np.float32), them_line[:-delay]]) * 0.5
    mic = you_line + echo
    sf.write(tmp_path / "mic.wav", mic, rate)
    sf.write(tmp_path / "loop.wav", them_line, rate)
    return tmp_path / "mic.wav", tmp_path / "loop.wav"


def _record(tmp_path, mic, loop, model, *extra):
    out = tmp_path / f"out{len(extra)}.jsonl"
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-m", "meeting_tui", "record", "--mic-file", str(mic), "--loopback-file",
                           str(loop), "--speed", "3", "--model", model, "--out", str(out), "--no-session", "--quiet",
                           *extra], env=env, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    # What the user ends up with: "You" lines the echo filter retracted later are gone.
    dropped = {(r["source"], r["id"]) for r in rows if r["type"] == "retraction" and r["action"] == "drop"}
    return [r for r in rows if r["type"] == "segment" and (r["source"], r["id"]) not in dropped]


def _text(rows, label):
    return " ".join(r["text"] for r in rows if r["label"] == label).lower()


def test_record_removes_the_echo_from_you_and_keeps_your_words(shared_audio, tiny_model_path, tmp_path):
    mic, loop = _scene(shared_audio, tmp_path)
    raw = _record(tmp_path, mic, loop, tiny_model_path, "--no-echo-guard")
    guarded = _record(tmp_path, mic, loop, tiny_model_path)
    # Without the guard the remote sentence shows up twice: the scene really has an echo problem.
    assert "horizon" in _text(raw, "You")
    assert "horizon" in _text(guarded, "Them")
    assert "horizon" not in _text(guarded, "You")
    assert "wizard" in _text(guarded, "You") and "curtain" in _text(guarded, "You")


def _espeak(path, voice, text):
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(path), text], check=True, capture_output=True)
    audio, rate = sf.read(path, dtype="float32")
    return _resample(audio, rate)


def _resample(audio, rate, to=16_000):
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, to)
    return resample_poly(audio, to // g, rate // g).astype(np.float32)


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng")
def test_record_keeps_an_answer_that_repeats_the_questions_words(tiny_model_path, tmp_path):
    """The far side asks, the user answers with the question's words (the commitment the minutes need):
    the answer stays under "You" while the question's echo on the mic is removed."""
    question = _espeak(tmp_path / "q.wav", "en-us", "Will you write the user guide by Monday?")
    answer = _espeak(tmp_path / "a.wav", "en-gb", "Yes. I will write the user guide by Monday.")
    rate, pad = 16_000, np.zeros(16_000, np.float32)
    them = np.concatenate([pad, question, pad, np.zeros_like(answer), pad])
    you = np.concatenate([pad, np.zeros_like(question), pad, answer, pad])
    delay = int(0.06 * rate)
    mic = you + np.concatenate([np.zeros(delay, np.float32), them[:-delay]]) * 0.5  # the question's echo
    sf.write(tmp_path / "mic.wav", mic, rate)
    sf.write(tmp_path / "loop.wav", them, rate)
    rows = _record(tmp_path, tmp_path / "mic.wav", tmp_path / "loop.wav", tiny_model_path)
    question_end = (len(pad) + len(question)) / rate
    assert "user guide" in _text(rows, "Them")
    mine = [r for r in rows if r["label"] == "You"]
    assert "user guide" in _text(rows, "You") and "monday" in _text(rows, "You"), rows
    answer_lines = [r for r in mine if "monday" in r["text"].lower()]
    assert answer_lines and all(r["start"] >= question_end - 0.5 for r in answer_lines), mine  # the answer, not the echo
    assert "will you" not in _text(rows, "You")
    # Not asserted: that no fragment of the question's echo reaches "You". In a fresh session whose far side
    # speaks first the guard lets the raw mic out until it has measured the echo, and when that happens
    # depends on how the pipes chunked the audio: about one run in seven under load a garbled fragment
    # ("We'll be right.") came through, which the text filter cannot match. Open defect, pinned by
    # tests/test_echo_chunking.py.
