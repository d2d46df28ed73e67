"""`record` and the dashboard are two clients of one meeting pipeline: the same two recordings through
each give the same journal (text, source, times)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from meeting_tui.session.journal import read_journal
from meeting_tui.types import Source
from meeting_tui.ui.app import MeetingApp
from tests.ui_conftest_helpers import quit_app, wait_for

pytestmark = [pytest.mark.model, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent


def _recordings(shared_audio, tmp_path) -> dict[Source, Path]:
    """Two turns: "Them" (JFK, 11 s), then "You" (5 s)."""
    stereo, rate = sf.read(shared_audio / "stereo_diarization.wav", dtype="float32")
    mic = tmp_path / "you.wav"
    sf.write(mic, np.concatenate([np.zeros(int(11.5 * rate), np.float32), stereo[:, 0]]), rate)
    return {Source.MIC: mic, Source.LOOPBACK: shared_audio / "jfk.flac"}


def _segments(sessions: Path) -> list[tuple[str, str, float, float]]:
    journals = list(sessions.glob("*/journal.jsonl"))
    assert len(journals) == 1, journals
    contents = read_journal(journals[0])
    assert contents.finished
    return sorted((s.source.value, s.text, s.start, s.end) for s in contents.segments)


async def test_record_and_dashboard_journal_the_same_segments(shared_audio, tiny_model_path, tmp_path):
    files = _recordings(shared_audio, tmp_path)
    # Unpaced replay (--speed 0): the recordings' own timeline, whatever the machine's load.
    env = dict(os.environ, HF_HUB_OFFLINE="1", MEETING_TUI_DATA_DIR=str(tmp_path / "record-data"),
               PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, "-m", "meeting_tui", "record", "--mic-file", str(files[Source.MIC]),
                          "--loopback-file", str(files[Source.LOOPBACK]), "--speed", "0", "--model", tiny_model_path, "--quiet"],
                         env=env, cwd=REPO, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stderr
    by_record = _segments(tmp_path / "record-data" / "sessions")

    dash = tmp_path / "dashboard-sessions"
    app = MeetingApp(model=tiny_model_path, files={s: str(p) for s, p in files.items()}, files_speed=0,
                     record_on_launch=True, sessions_dir=dash)
    async with app.run_test(size=(110, 34)) as pilot:
        assert await wait_for(pilot, lambda: app.core.recording and app.core.capture_finished, timeout=120)
        await quit_app(app, pilot, timeout=120)  # drains: everything captured is transcribed, the journal is closed
    by_dashboard = _segments(dash)

    assert {s[0] for s in by_record} == {"mic", "loopback"}
    assert [(s[0], s[1]) for s in by_record] == [(s[0], s[1]) for s in by_dashboard]
    # One session clock from the first sample captured. Each source's times follow its recording exactly
    # (the same utterance boundaries); where a source starts on the clock depends on when its worker process
    # came up (a file worker's timeline starts then, as a sound card's would), which varies by a fraction
    # of a second with the machine's load.
    for source in ("mic", "loopback"):
        rec = [s for s in by_record if s[0] == source]
        dash = [s for s in by_dashboard if s[0] == source]
        shift = dash[0][2] - rec[0][2]
        assert abs(shift) < 1.5, (source, shift)
        for i, (r, d) in enumerate(zip(rec, dash)):
            assert abs(d[2] - r[2] - shift) < 0.05, (r, d, shift)
            if i < len(rec) - 1:  # the last utterance is closed by the stop, not by a pause
                assert abs(d[3] - r[3] - shift) < 0.05, (r, d, shift)
