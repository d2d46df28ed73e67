"""Speaker labels from the user's seat: the CLI as a subprocess, real speech, tiny.en and the real voice model.

Far-side recordings come from tests/support/speakers_scenes.py: real voices (../shared/audio cut into phrases) and
espeak-ng voices of different kinds taking turns.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.support.speakers_scenes import RATE, SENTENCES, conversation, espeak, espeak_voices, real_voices, word_share
from tests.support.speech import JFK

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.model, pytest.mark.slow]


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", MEETING_TUI_CONFIG=str(tmp_path / "cfg" / "settings.toml"),
               MEETING_TUI_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO))
    return env


def _cli(tmp_path, *args, timeout=600):
    return subprocess.run([sys.executable, "-m", "meeting_tui.cli", *args], cwd=REPO, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def voices(shared_audio):
    return {**real_voices(), **espeak_voices(["espeak-scottish", "espeak-klatt"])}


def _write(path: Path, audio: np.ndarray) -> Path:
    sf.write(path, audio, RATE)
    return path


def _you_file(path: Path, seconds: float) -> Path:
    """The user's side: two sentences in an espeak voice none of the far side uses, padded to ``seconds``."""
    you = np.zeros(int(seconds * RATE), np.float32)
    for at, text in ((2.0, "Thanks everyone, let us start with the roadmap."), (14.0, "Sounds good to me.")):
        s = espeak(["-v", "en-gb-x-rp", "-s", "160"], text)
        you[int(at * RATE): int(at * RATE) + len(s)] = s[: len(you) - int(at * RATE)]
    return _write(path, you)


def test_transcribe_file_labels_four_voices_taking_turns(tiny_model_path, voices, tmp_path):
    audio, truth = conversation({k: voices[k] for k in ("jfk", "stereo-left", "espeak-scottish", "espeak-klatt")},
                                20, seed=5)
    wav = _write(tmp_path / "call.wav", audio)
    res = _cli(tmp_path, "transcribe", str(wav), "--speakers", "--json", "--quiet", "--model", tiny_model_path)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    assert len(rows) >= 15
    assert [r["start"] for r in rows] == sorted(r["start"] for r in rows)
    labels = [r["label"] for r in rows]
    assert sorted(set(labels)) == ["Speaker 1", "Speaker 2", "Speaker 3", "Speaker 4"]
    share = word_share([(r["start"], r["end"], r["label"], r["text"]) for r in rows], truth)
    assert share >= 0.9, (share, labels)


def test_rename_in_a_recorded_session_reaches_every_export(tiny_model_path, voices, tmp_path):
    audio, truth = conversation({k: voices[k] for k in ("jfk", "stereo-left", "espeak-klatt")}, 10, seed=2)
    them = _write(tmp_path / "them.wav", audio)
    you = _you_file(tmp_path / "you.wav", len(audio) / RATE)
    res = _cli(tmp_path, "record", "--mic-file", str(you), "--loopback-file", str(them), "--speakers",
               "--no-echo-guard", "--no-partials", "--speed", "2", "--model", tiny_model_path)
    assert res.returncode == 0, res.stderr
    assert "Them 1:" in res.stdout and "Them 3:" in res.stdout and "You:" in res.stdout

    listed = _cli(tmp_path, "speakers", "list", "latest")
    assert listed.returncode == 0, listed.stderr
    counts = dict(line.split("\t") for line in listed.stdout.splitlines())
    assert sorted(counts) == ["Them 1", "Them 2", "Them 3"]
    n_them2 = int(counts["Them 2"].split()[0])

    bad = _cli(tmp_path, "speakers", "rename", "latest", "Them 7", "Bob")
    assert bad.returncode == 2 and '"Them 2"' in bad.stderr  # names the voices there are
    ren = _cli(tmp_path, "speakers", "rename", "latest", "Them 2", "Sales lead")
    assert ren.returncode == 0 and f"on {n_them2} lines" in ren.stdout, ren.stderr

    for fmt in ("txt", "md", "srt", "vtt", "json"):
        out = tmp_path / f"meeting.{fmt}"
        ex = _cli(tmp_path, "export", "latest", "-o", str(out))
        assert ex.returncode == 0, ex.stderr
        text = out.read_text(encoding="utf-8")
        assert "Sales lead" in text and "Them 2" not in text and "You" in text, (fmt, text)
        assert text.count("Sales lead") == n_them2, fmt  # every line of that voice, and no other
    doc = json.loads((tmp_path / "meeting.json").read_text(encoding="utf-8"))
    speakers = [i["speaker"] for i in doc["items"] if i["type"] == "segment"]
    assert speakers.count("Sales lead") == n_them2
    assert {i["speaker"] for i in doc["items"] if i.get("source") == "mic"} == {"You"}
    assert {i["speaker"] for i in doc["items"] if i.get("source") == "loopback"} == {"Them 1", "Sales lead", "Them 3"}
    assert "<v Sales lead>" in (tmp_path / "meeting.vtt").read_text(encoding="utf-8")
    assert "Sales lead: " in (tmp_path / "meeting.srt").read_text(encoding="utf-8")


def test_a_session_recovered_after_a_crash_keeps_its_speaker_labels(tiny_model_path, voices, tmp_path):
    audio, _ = conversation({k: voices[k] for k in ("jfk", "espeak-scottish", "espeak-klatt")}, 12, seed=4)
    them = _write(tmp_path / "them.wav", audio)
    proc = subprocess.Popen(
        [sys.executable, "-m", "meeting_tui.cli", "record", "--loopback-file", str(them), "--speakers",
         "--no-partials", "--model", tiny_model_path, "--speed", "2"],
        cwd=REPO, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = None
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            found = list((tmp_path / "data" / "sessions").glob("*/journal.jsonl"))
            if found:
                journal = found[0]
                recs = [json.loads(x) for x in journal.read_text().splitlines() if x.strip()]
                if len({r.get("speaker") for r in recs if r["t"] == "segment"} - {None}) >= 3:
                    break
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)  # a crash: no end marker, no drain
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert journal is not None
    before = [json.loads(x) for x in journal.read_text().splitlines() if x.strip().endswith("}")]
    assert all(r["t"] != "end" for r in before)
    labelled = [(r["id"], r["speaker"]) for r in before if r["t"] == "segment"]
    assert {s for _, s in labelled} >= {"Them 1", "Them 2", "Them 3"}

    sid = journal.parent.name
    assert _cli(tmp_path, "speakers", "rename", sid, "Them 1", "Host").returncode == 0  # named before recovering
    rec = _cli(tmp_path, "sessions", "--recover")
    assert rec.returncode == 0 and f"Recovered {sid}" in rec.stdout, rec.stderr
    ex = _cli(tmp_path, "export", sid, "-f", "json", "-o", "-")
    assert ex.returncode == 0, ex.stderr
    doc = json.loads(ex.stdout)
    assert doc["meta"]["status"] == "recovered"
    by_time = sorted((r for r in before if r["t"] == "segment"), key=lambda r: (r["start"], r["end"]))
    expect = ["Host" if r["speaker"] == "Them 1" else r["speaker"] for r in by_time]
    got = [i["speaker"] for i in doc["items"] if i["type"] == "segment"]
    assert got[: len(expect)] == expect


def test_voices_remembered_across_sessions_and_forgotten(tiny_model_path, voices, tmp_path):
    cfg = tmp_path / "cfg" / "settings.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("[speakers]\nenabled = true\nremember_voices = true\n")
    klatt_a = voices["espeak-klatt"][:5]
    audio, _ = conversation({"espeak-klatt": klatt_a, "jfk": voices["jfk"]}, 6, seed=1)
    them = _write(tmp_path / "monday.wav", audio)
    res = _cli(tmp_path, "record", "--loopback-file", str(them), "--no-partials", "--speed", "2",
               "--model", tiny_model_path)  # speakers on from the settings
    assert res.returncode == 0 and "Them 1:" in res.stdout, res.stderr
    ren = _cli(tmp_path, "speakers", "rename", "latest", "Them 1", "Alice")
    assert ren.returncode == 0 and "Remembered the voice of \"Alice\"" in ren.stdout, ren.stdout + ren.stderr
    assert "Alice" in _cli(tmp_path, "speakers", "voices").stdout

    later = [espeak(["-v", "en-us+klatt4", "-p", "60", "-s", "140"], s) for s in SENTENCES[5:]]
    audio2, truth2 = conversation({"espeak-klatt": later, "stereo-left": voices["stereo-left"]}, 6, seed=2)
    wav2 = _write(tmp_path / "next-week.wav", audio2)
    res2 = _cli(tmp_path, "transcribe", str(wav2), "--json", "--quiet", "--model", tiny_model_path)
    assert res2.returncode == 0, res2.stderr
    rows = [json.loads(x) for x in res2.stdout.splitlines()]
    klatt_rows = [r for r in rows if any(t.voice == "espeak-klatt" and t.start - 0.3 <= r["start"] < t.end
                                         for t in truth2)]
    assert klatt_rows and {r["label"] for r in klatt_rows} == {"Alice"}
    assert "Alice" not in {r["label"] for r in rows if r not in klatt_rows}

    gone = _cli(tmp_path, "speakers", "forget", "Alice")
    assert gone.returncode == 0 and "Forgot 1 voice: Alice" in gone.stdout
    assert "No voices remembered" in _cli(tmp_path, "speakers", "voices").stdout
    assert _cli(tmp_path, "speakers", "forget").returncode == 2  # names the fix: a name or --all




def _voice_by_text(text: str, scripts: dict[str, list[str]]) -> str:
    """The voice whose script shares most words with ``text`` (each voice reads different sentences)."""
    words = set(text.lower().replace(",", " ").replace(".", " ").replace("!", " ").replace("?", " ").split())

    def overlap(voice):
        return max(len(words & set(s.lower().replace(",", " ").replace(".", " ").split())) for s in scripts[voice])

    return max(scripts, key=overlap)


@pytest.mark.rig
def test_voices_played_through_the_rig_speakers_get_their_own_labels(rig, tiny_model_path, voices, tmp_path):
    """The far side as the app hears it: three voices played to the speakers, recorded from their monitor.

    Playback through PulseAudio can stall on a loaded machine, so each line's true voice is found from its
    words (the espeak voices read different sentences), not from the time it was heard.
    """
    scripts = {"jfk": [JFK], "espeak-scottish": SENTENCES[:5], "espeak-klatt": SENTENCES[5:]}
    audio, truth = conversation({"jfk": voices["jfk"], "espeak-scottish": voices["espeak-scottish"][:5],
                                 "espeak-klatt": voices["espeak-klatt"][5:]}, 10, seed=6)
    wav = _write(tmp_path / "call.wav", audio)
    env = _env(tmp_path) | rig.env
    proc = subprocess.Popen(
        [sys.executable, "-m", "meeting_tui.cli", "record", "--mode", "loopback", "--loopback", "speakers.monitor",
         "--loopback-hostapi", "PulseAudio", "--speakers", "--no-partials", "--json", "--model", tiny_model_path,
         "--duration", f"{len(audio) / RATE + 120:.0f}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert rig.wait_until_recorded("speakers.monitor"), "record never opened the speakers' monitor"
        rig.play(wav, "speakers").wait(timeout=len(audio) / RATE + 120)
        time.sleep(1.0)  # the call's last words reach the capture worker
        proc.send_signal(signal.SIGINT)  # Ctrl+C: what was captured is transcribed, then record exits
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    records = [json.loads(x) for x in stdout.splitlines() if x.startswith("{")]
    rows = []
    for r in records:  # the labels as the stream leaves them: a later "speaker" record relabels earlier lines
        if r.get("type", "segment") == "segment":
            rows.append(r)
        elif r.get("type") == "speaker":
            for row in rows:
                if row["label"] == r["from"]:
                    row["label"] = r["to"]
    assert len(rows) >= 8, stderr
    found = [r["label"] for r in rows]
    true = [_voice_by_text(r["text"], scripts) for r in rows]
    # three voices; on a loaded machine one glitchy line has been seen to start a fourth (docs/speakers.md)
    assert found[:1] == ["Them 1"] and 3 <= len(set(found)) <= 4, list(zip(found, true))
    from tests.support.speakers_scenes import mapping

    m = mapping([(f, t, len(r["text"].split())) for f, t, r in zip(found, true, rows)])
    assert sorted(m.values()) == ["espeak-klatt", "espeak-scottish", "jfk"], list(zip(found, true))
    words = [len(r["text"].split()) for r in rows]
    right = sum(n for f, t, n in zip(found, true, words) if m.get(f) == t)
    assert right / sum(words) >= 0.9, list(zip(found, true, [r["text"] for r in rows]))
