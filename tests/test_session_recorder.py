"""Audio recording: files aligned to the session clock, readable while still being written."""

from __future__ import annotations

import time

import numpy as np
import soundfile as sf

from meeting_tui.session.recorder import AudioRecorder
from meeting_tui.session.store import Session
from meeting_tui.types import SESSION_RATE, AudioChunk, Source


def _chunk(source: Source, start_s: float, seconds: float, value: float) -> AudioChunk:
    return AudioChunk(source, int(start_s * SESSION_RATE), np.full(int(seconds * SESSION_RATE), value, np.float32))


def test_files_follow_the_session_clock(tmp_path):
    rec = AudioRecorder(tmp_path / "audio", [Source.MIC, Source.MIX])
    rec.write(_chunk(Source.MIC, 0.5, 1.0, 0.5))  # starts late: silence before it
    rec.write(_chunk(Source.MIC, 3.0, 1.0, -0.5))  # a gap of 1.5 s: silence again
    rec.write(_chunk(Source.MIC, 3.5, 1.0, 0.25))  # overlaps by 0.5 s: only the new half is kept
    rec.write(_chunk(Source.LOOPBACK, 0.0, 1.0, 0.9))  # not recorded: ignored
    rec.write(_chunk(Source.MIX, 0.0, 2.0, 0.1))
    rec.close()
    assert rec.error is None
    mic, rate = sf.read(tmp_path / "audio" / "mic.wav", dtype="float32")
    assert rate == SESSION_RATE and len(mic) == int(4.5 * SESSION_RATE)
    s = SESSION_RATE
    assert np.all(mic[: s // 2] == 0) and np.allclose(mic[s // 2 : int(1.5 * s)], 0.5, atol=1e-4)
    assert np.all(mic[int(1.5 * s) : 3 * s] == 0) and np.allclose(mic[3 * s : 4 * s], -0.5, atol=1e-4)
    assert np.allclose(mic[4 * s :], 0.25, atol=1e-4)
    assert sf.info(tmp_path / "audio" / "mix.wav").frames == 2 * SESSION_RATE
    assert not (tmp_path / "audio" / "loopback.wav").exists()


def test_header_is_rewritten_while_recording(tmp_path):
    rec = AudioRecorder(tmp_path, [Source.MIC], header_every_s=0.1)
    rec.write(_chunk(Source.MIC, 0.0, 1.0, 0.2))
    deadline = time.monotonic() + 10
    frames = 0
    while time.monotonic() < deadline and frames < SESSION_RATE:
        time.sleep(0.05)
        with open(tmp_path / "mic.wav", "rb") as fh:  # the data chunk size a strict reader would trust
            header = fh.read(44)
        frames = int.from_bytes(header[40:44], "little") // 2
    assert frames == SESSION_RATE
    rec.write(_chunk(Source.MIC, 1.0, 1.0, 0.2))
    rec.close()
    assert sf.info(tmp_path / "mic.wav").frames == 2 * SESSION_RATE


def test_session_as_engine_listener_records_audio(tmp_path):
    session = Session.open(tmp_path, mode="mic", record_audio=True)
    assert set(session.meta["audio"]) == {"mic", "mix"}
    session.on_audio(_chunk(Source.MIC, 0.0, 0.5, 0.3))
    session.on_mix(_chunk(Source.MIX, 0.0, 0.5, 0.3))
    session.close()
    assert sf.info(session.path / session.meta["audio"]["mic"]).frames == SESSION_RATE // 2
    assert sf.info(session.path / "audio" / "mix.wav").frames == SESSION_RATE // 2


def test_a_file_held_for_a_moment_by_a_scanner_does_not_end_the_recording(tmp_path, monkeypatch):
    """Fault injection: the header rewrite's reopen fails twice as a sharing violation (an antivirus or the
    search indexer opening the WAV file the moment it is closed, on Windows); recording goes on."""
    import soundfile

    from meeting_tui.session import recorder as recorder_module

    real, failures = soundfile.SoundFile, []

    def held_twice(path, mode="r", *args, **kwargs):
        if mode == "r+" and len(failures) < 2:
            failures.append(path)
            raise soundfile.LibsndfileError(2, "Error opening '%s': System error." % path)
        return real(path, mode, *args, **kwargs)

    rec = recorder_module.AudioRecorder(tmp_path / "audio", [Source.MIC], header_every_s=0.05)
    monkeypatch.setattr(recorder_module.sf, "SoundFile", held_twice)
    block = np.full(1600, 0.1, np.float32)
    for i in range(20):
        rec.write(AudioChunk(Source.MIC, i * 1600, block))
        time.sleep(0.01)
    deadline = time.monotonic() + 10
    while len(failures) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    rec.close()
    monkeypatch.undo()
    assert len(failures) == 2 and rec.error is None
    data, rate = soundfile.read(str(tmp_path / "audio" / "mic.wav"), dtype="float32")
    assert len(data) == 20 * 1600 and rate == 16000
