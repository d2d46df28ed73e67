"""A machine that sleeps mid-meeting (Windows' monotonic clock counts sleep and Modern Standby): the hour
asleep becomes a skipped gap in every stage, not an hour of zeros mixed, recorded and echo-cancelled in
one loop turn; polish maps the recorded audio back to session time across the skip."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from meeting_tui.capture.mixer import MixBus, Track
from meeting_tui.echo import EchoGuard
from meeting_tui.meeting.echo_stage import EchoStage
from meeting_tui.session.recorder import SKIPS_FILE, AudioRecorder, SkipMap
from meeting_tui.types import SESSION_RATE, AudioChunk, Source
from tests.test_polish import _copy, cli, recorded  # noqa: F401 (fixture)
from tests.support.multilingual_model import multilingual_model  # noqa: F401 (fixture)

HOUR = 3600.0


def _tone(freq: float, seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_an_hour_asleep_is_skipped_by_the_tracks_and_the_mix_not_filled():
    tracks = {Source.MIC: (Track(Source.MIC, 0.0), 48000, _tone(300, 12, 48000)),
              Source.LOOPBACK: (Track(Source.LOOPBACK, 0.0), 44100, _tone(500, 12, 44100))}
    bus = MixBus((Source.MIC, Source.LOOPBACK), chunk=1600)
    gaps, mixed, largest_pull = [], [], 0
    for step in range(1200):  # 10 ms blocks; the clock jumps by an hour after 6 s
        t = step * 0.01 + (HOUR if step >= 600 else 0.0)
        for track, rate, sig in tracks.values():
            block = rate // 100
            chunk, gap = track.push(sig[step * block:(step + 1) * block], rate, t)
            if gap is not None:
                gaps.append(gap)
            if chunk is not None:
                bus.add(chunk)
        out = bus.pull()
        largest_pull = max(largest_pull, sum(len(c.samples) for c in out))
        mixed.extend(out)
    assert sorted(g.source.value for g in gaps) == ["loopback", "mic"]
    assert all(g.reason == "audio lost" and abs((g.end_s - g.start_s) - HOUR) < 1.0 for g in gaps)
    assert largest_pull <= 2 * SESSION_RATE  # never an hour of chunks in one loop turn
    assert sum(len(c.samples) for c in mixed) < 13 * SESSION_RATE
    assert abs(bus.skipped_samples / SESSION_RATE - HOUR) < 1.0
    after = [c for c in mixed if c.start >= HOUR * SESSION_RATE]
    assert after and np.abs(np.concatenate([c.samples for c in after])).max() > 0.1  # audio, not zeros


def test_the_recorder_skips_the_hour_and_maps_file_time_back_to_session_time(tmp_path):
    rec = AudioRecorder(tmp_path / "audio", [Source.MIC])
    rec.write(AudioChunk(Source.MIC, 0, _tone(300, 2, SESSION_RATE)))
    rec.write(AudioChunk(Source.MIC, int(2.5 * SESSION_RATE), _tone(300, 1, SESSION_RATE)))  # a short gap: filled
    rec.write(AudioChunk(Source.MIC, int((HOUR + 3.5) * SESSION_RATE), _tone(300, 2, SESSION_RATE)))
    rec.close()
    assert rec.error is None
    assert abs(sf.info(str(tmp_path / "audio" / "mic.wav")).duration - 5.5) < 0.01
    assert json.loads((tmp_path / "audio" / SKIPS_FILE).read_text()) == [
        {"source": "mic", "file_s": 3.5, "session_s": HOUR + 3.5}]
    skips = SkipMap(tmp_path / "audio", Source.MIC)
    assert skips.to_session(1.0) == 1.0 and skips.to_session(4.0) == HOUR + 4.0
    assert skips.to_file(HOUR + 4.0) == 4.0 and skips.to_file(2.0) == 2.0
    assert SkipMap(tmp_path / "audio", Source.LOOPBACK).to_session(4.0) == 4.0


def test_the_echo_stage_starts_a_fresh_guard_after_a_sleep_instead_of_cancelling_an_hour_of_silence():
    out: list[AudioChunk] = []

    class Sink:
        def on_audio(self, chunk):
            out.append(chunk)

    made = []

    def fresh():
        made.append(EchoGuard(SESSION_RATE))
        return made[-1]

    stage = EchoStage(Sink(), fresh(), rebuild=fresh)
    voice, far = _tone(220, 4, SESSION_RATE), _tone(700, 4, SESSION_RATE)
    for base in (0, int(HOUR * SESSION_RATE)):
        for i in range(0, len(voice), 1600):
            stage.on_audio(AudioChunk(Source.LOOPBACK, base + i, far[i:i + 1600]))
            stage.on_audio(AudioChunk(Source.MIC, base + i, voice[i:i + 1600]))
    stage.flush()
    assert len(made) == 2  # a fresh guard after the hour
    assert sum(g.audio_s for g in made) < 20  # both guards together processed seconds, not an hour
    mic = [c for c in out if c.source is Source.MIC]
    assert mic and max(c.start for c in mic) >= HOUR * SESSION_RATE


@pytest.mark.model
@pytest.mark.slow
def test_polish_after_a_sleep_places_the_lines_in_session_time(recorded, multilingual_model, tmp_path):  # noqa: F811
    base, folder = _copy(recorded, tmp_path)
    audio = folder / "audio"
    data, rate = sf.read(str(audio / "mic.wav"), dtype="float32")
    (audio / SKIPS_FILE).write_text(json.dumps([{"source": "mic", "file_s": 0.0, "session_s": HOUR}]))
    # As a real sleep leaves it: the live transcript placed the mic's lines after the skip too (polish keeps
    # each live line at its time and puts the polished words on it).
    journal = folder / "journal.jsonl"
    records = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    for r in records:
        if r.get("t") == "segment" and r.get("source") == "mic":
            r["start"], r["end"] = r["start"] + HOUR, r["end"] + HOUR
    journal.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = cli(base, "polish", folder.name, "--model", multilingual_model)
    assert out.returncode == 0, out.stderr
    rows = json.loads(cli(base, "export", folder.name, "-f", "json", "-o", "-").stdout)["items"]
    mic = [r for r in rows if r.get("source") == "mic" and r.get("text")]
    them = [r for r in rows if r.get("source") == "loopback" and r.get("text")]
    assert mic and them
    assert all(r["start"] >= HOUR for r in mic)  # after the skip, in session time
    assert all(r["start"] < HOUR for r in them)  # the other source had no skip
    assert len(data) / rate < 120
