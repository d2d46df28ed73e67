"""Past meetings in the dashboard (Pilot): `/` searches every session and opens the hit's session at that
line, read-only; `h` lists past sessions (date, length, speakers, polished, minutes) to open, export or
delete (after a confirmation). Sessions come from `record` on real speech and from the session API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from meeting_tui.session.polished import PolishedWriter
from meeting_tui.session.store import Session
from meeting_tui.types import Segment, Source
from meeting_tui.ui.screens.search import SearchScreen
from meeting_tui.ui.screens.session_view import SessionView
from meeting_tui.ui.screens.sessions import ConfirmDelete, SessionsScreen
from tests.ui_conftest_helpers import quit_app, recorded_notifications, run_from_palette, snapshot_app, wait_for

REPO = Path(__file__).resolve().parent.parent
SIZE = (110, 34)


def sessions_dir() -> Path:
    return Path(os.environ["MEETING_TUI_DATA_DIR"]) / "sessions"


def record_call(audio: Path, model: str) -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
    call = str(audio / "stereo_diarization.wav")
    res = subprocess.run([sys.executable, "-m", "meeting_tui", "record", "--mic-file", call, "--mic-channel", "0",
                          "--loopback-file", call, "--loopback-channel", "1", "--speed", "4", "--no-partials",
                          "--model", model, "--quiet"], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=120, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stderr


def long_session(now: float, needle_at: int = 150) -> Path:
    """A two-hour meeting of 300 lines, one of which mentions the zeppelin."""
    with Session.open(sessions_dir(), now=now) as s:
        for i in range(300):
            text = "we fund the zeppelin hangar next quarter" if i == needle_at else f"routine status item {i}"
            s.append_segment(Segment(Source.MIC if i % 2 else Source.LOOPBACK, i * 24.0, i * 24.0 + 5, text, final=True, id=i + 1))
        s.close(duration_s=7200)
    return s.path


@pytest.mark.model
async def test_slash_searches_and_opens_the_session_at_the_hit(shared_audio, tiny_model_path):
    record_call(shared_audio, tiny_model_path)
    long = long_session(time.time() - 3600)
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        assert await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen))
        screen = app.screen
        await pilot.press(*"don't", "enter")
        assert await wait_for(pilot, lambda: "double quotes" in screen.status), screen.status
        app.screen.query_one(Input).value = ""
        await pilot.press(*"zeppelin", "enter")
        assert await wait_for(pilot, lambda: screen.status.startswith("1 hit")), screen.status
        assert screen.hits[0].session == long.name and screen.hits[0].start == 150 * 24.0
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, SessionView))
        view = app.screen
        assert await wait_for(pilot, lambda: "zeppelin hangar" in view.visible_text()), view.visible_text()
        assert view.transcript.scroll_y > 100  # opened down at the line, not at the top
        assert "routine status item 0" not in view.visible_text()
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: app.screen is screen)
        screen.query_one(Input).value = ""
        screen.query_one(Input).focus()
        await pilot.press(*"horizon", "enter")  # said by the far side of the recorded call
        assert await wait_for(pilot, lambda: screen.status.startswith("1 hit")), screen.status
        assert screen.hits[0].speaker == "Them"
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, SessionView))
        assert await wait_for(pilot, lambda: "horizon" in app.screen.visible_text().lower())
        await pilot.press("escape", "escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, (SearchScreen, SessionView)))


async def test_past_sessions_list_open_export_and_delete_with_confirmation(monkeypatch):
    older = long_session(time.time() - 86400)
    with Session.open(sessions_dir()) as s:
        s.append_segment(Segment(Source.MIC, 1.0, 3.0, "ship it on friday", final=True, id=1))
        s.append_segment(Segment(Source.LOOPBACK, 4.0, 6.0, "agreed", final=True, id=2))
        s.close(duration_s=65)
    newer = s.path
    writer = PolishedWriter(newer, model="small.en", beam_size=5, sources=[Source.MIC, Source.LOOPBACK])
    writer.segment(Segment(Source.MIC, 1.0, 3.0, "Ship it on Friday.", final=True, id=1))
    writer.segment(Segment(Source.LOOPBACK, 4.0, 6.0, "Agreed.", final=True, id=2))
    writer.end()
    writer.close()
    (newer / "minutes.md").write_text("# Minutes\n- ship friday\n", encoding="utf-8")
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        notes = recorded_notifications(app, monkeypatch)
        await pilot.press("h")
        assert await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.loaded)
        screen = app.screen
        table = screen.query_one(DataTable)
        assert table.row_count == 2
        first, second = table.get_row_at(0), table.get_row_at(1)
        assert first[1:] == ["00:01:05", "You, Them", "yes", "yes", "done"], first
        assert second[1:] == ["02:00:00", "Them, You", "no", "no", "done"], second
        await pilot.press("enter")  # the newest, read-only, in its polished words
        assert await wait_for(pilot, lambda: isinstance(app.screen, SessionView))
        assert await wait_for(pilot, lambda: "Ship it on Friday." in app.screen.visible_text())
        assert "polished" in str(app.screen.query_one("#past-title").render())
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("e")
        target = newer / f"meeting-{newer.name}.md"
        assert await wait_for(pilot, target.exists)
        assert "Ship it on Friday." in target.read_text(encoding="utf-8")
        assert any(n.startswith(f"Exported {newer.name} as md") for n in notes), notes
        await pilot.press("p")  # recorded without audio: said, nothing changed
        assert await wait_for(pilot, lambda: any("has no recorded audio to polish" in n for n in notes)), notes
        await pilot.press("down", "delete")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        await pilot.press("n")  # kept
        assert await wait_for(pilot, lambda: app.screen is screen)
        assert older.exists()
        await pilot.press("delete")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        await pilot.press("y")
        assert await wait_for(pilot, lambda: not older.exists() and table.row_count == 1)
        assert f"Deleted {older.name}" in notes and newer.exists()


async def test_the_palette_offers_search_and_past_sessions():
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        await run_from_palette(pilot, "Past sessions")
        assert await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.loaded)
        assert "No sessions yet" in str(app.screen.query_one("#sessions-status").render())


@pytest.mark.rig
@pytest.mark.model
@pytest.mark.slow
async def test_the_dashboard_follows_a_call_on_the_rig(rig, monkeypatch, tmp_path, tiny_model_path):
    """The demo's meeting plays from files; the call is real: parecord opening the rig's mic."""
    from meeting_tui.ui.app import MeetingApp

    for key in ("PULSE_SERVER", "PULSE_RUNTIME_PATH", "PULSE_STATE_PATH"):
        monkeypatch.setenv(key, rig.env[key])
    app = MeetingApp(demo=True)
    app.animation_level = "none"
    async with app.run_test(size=SIZE) as pilot:
        notes = recorded_notifications(app, monkeypatch)
        await run_from_palette(pilot, "Follow calls")
        assert await wait_for(pilot, lambda: any(n.startswith("Following calls") for n in notes)), notes
        await pilot.pause(1.5)
        assert not app.core.recording  # no call yet
        # Started through a shell that exits at once: the app runs in this process, and a child of ours
        # would be taken for our own capture.
        started = subprocess.run(["bash", "-c", f"parecord --device=mic {tmp_path / 'call.wav'} >/dev/null 2>&1 & echo $!"],
                                 env=rig.env, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
        call_pid = int(started.stdout.strip())
        try:
            assert await wait_for(pilot, lambda: app.core.recording, timeout=20), notes
            assert "Call detected (parecord opened the microphone): recording." in notes
            assert await wait_for(pilot, lambda: len(app.transcript.segments) > 0, timeout=60)
        finally:
            os.kill(call_pid, signal.SIGTERM)
        assert await wait_for(pilot, lambda: not app.core.recording and any(n.startswith("Session saved") for n in notes),
                              timeout=90), notes
        assert notes.count("Call ended (the call released the microphone): stopping the session.") == 1
        await pilot.pause(2)
        assert not app.core.recording  # our own capture is not a call
        await quit_app(app, pilot)
