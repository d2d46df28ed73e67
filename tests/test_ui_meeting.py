"""The dashboard as a client of the meeting, from the user's seat (Pilot): a model that can never load is
refused on `r` with the fix, an unwritable data folder is said at launch, the demo records by itself into a
folder of its own, the palette lists each command once."""

from __future__ import annotations

import os
from pathlib import Path

from meeting_tui.types import Source
from meeting_tui.ui.app import MeetingApp
from tests.ui_conftest_helpers import quit_app, recorded_notifications, wait_for

SIZE = (110, 34)


async def test_r_refuses_a_model_that_can_never_load_with_the_fix(monkeypatch, tmp_path):
    app = MeetingApp(demo=True, model="smal.en")
    notes = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.core.engine is not None, timeout=20)
        await pilot.press("r")
        assert await wait_for(pilot, lambda: any("did you mean small.en" in n for n in notes), timeout=10), notes
        assert not app.core.recording
        refusals = [n for n in notes if "Cannot start a session" in n]
        assert len(refusals) == 1
        sessions = Path(os.environ["MEETING_TUI_DATA_DIR"]) / "sessions"
        assert not sessions.exists() or not any(sessions.iterdir())  # no session created


async def test_unwritable_data_dir_is_said_at_launch(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv("MEETING_TUI_DATA_DIR", str(blocker))
    app = MeetingApp(demo=True)
    notes = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: any("MEETING_TUI_DATA_DIR" in n for n in notes), timeout=20), notes
        said = next(n for n in notes if "MEETING_TUI_DATA_DIR" in n)
        assert str(blocker) in said and "[session] dir" in said  # the variable, and the setting


async def test_demo_as_launched_records_by_itself_into_its_own_folder(tiny_model_path, tmp_path):
    own = tmp_path / "demo-sessions"
    app = MeetingApp(demo=True, model=tiny_model_path, record_on_launch=True, sessions_dir=own)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.core.recording, timeout=20)
        assert app.core.session.path.parent == own
        assert await wait_for(pilot, lambda: any(s.source is Source.LOOPBACK for s in app.transcript.segments),
                              timeout=120)
        await quit_app(app, pilot)
    assert app.last_session is not None and app.last_session.parent == own
    sessions = Path(os.environ["MEETING_TUI_DATA_DIR"]) / "sessions"
    assert not sessions.exists() or not any(sessions.iterdir())  # the user's list is untouched


async def test_palette_lists_quit_once(monkeypatch):
    from tests.ui_conftest_helpers import snapshot_app

    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"quit")
        await pilot.pause(0.5)
        from textual.command import CommandList

        options = app.screen.query_one(CommandList)
        titles = [str(options.get_option_at_index(i).prompt).split("\n")[0] for i in range(options.option_count)]
        assert sum(t.strip().lower() == "quit" for t in titles) == 1, titles
