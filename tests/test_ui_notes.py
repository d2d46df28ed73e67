"""Notes from the dashboard (Pilot, real capture from a file, real tiny.en): n types a note, b marks the
moment, a and c flag the newest line as an action item and a decision; each is journaled at once, shown
as a line in the transcript, and in the saved export."""

from __future__ import annotations

from meeting_tui.session.journal import JOURNAL_NAME, read_journal
from meeting_tui.types import Source
from meeting_tui.ui.app import MeetingApp
from meeting_tui.ui.widgets.transcript import Note as ScreenNote
from tests.ui_conftest_helpers import quit_app, recorded_notifications, run_from_palette, wait_for

SIZE = (110, 34)


def _shown(app) -> list[str]:
    return [i.text for i in app.transcript.items if isinstance(i, ScreenNote)]


async def test_note_keys_journal_show_and_export_then_minutes(tiny_model_path, shared_audio, tmp_path, monkeypatch):
    app = MeetingApp(model=tiny_model_path, record_on_launch=True, sessions_dir=tmp_path / "sessions",
                     files={Source.MIC: str(shared_audio / "jfk.flac")})
    said = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.core.recording and app.transcript.segments, timeout=120)
        await pilot.press("n")
        await pilot.press(*"ask Ted about the budget")
        await pilot.press("enter")
        await pilot.press("b", "a", "c")
        assert await wait_for(pilot, lambda: len(_shown(app)) >= 5, timeout=10), _shown(app)
        folder = app.core.session.path
        notes = read_journal(folder / JOURNAL_NAME).notes  # journaled already, before the session ends
        assert [n.kind for n in notes] == ["note", "mark", "action", "decision"]
        lines = {s.id: s.text.strip() for s in app.transcript.segments}
        assert all(lines[n.ref] == n.text for n in notes[2:])  # each flag names the line it flags, by id
        assert _shown(app)[-4:] == ["note: ask Ted about the budget", "★ mark", f"action item: {notes[2].text}",
                                    f"decision: {notes[3].text}"]
        assert notes[0].at <= notes[1].at  # the note's time is when n was pressed
        saved = app.action_save()
        text = saved.read_text(encoding="utf-8")
        assert "ask Ted about the budget" in text and "Action item" in text and "Decision" in text
        # Stop: minutes are offered; the palette makes them in the background, citing the flagged line.
        await pilot.press("r")
        assert await wait_for(pilot, lambda: any("Minutes of the last session" in n for n in said), timeout=90), said
        # ... and polish, with the model it would use and what the audio costs (recorded by default)
        offer = next((n for n in said if "Polish this meeting's transcript" in n), "")
        assert "with base.en, beam 5?" in offer and "is kept 30 days ([session] keep_audio_days)" in offer, said
        await run_from_palette(pilot, "Minutes of the last")
        assert await wait_for(pilot, lambda: app.last_minutes is not None, timeout=30), said
        minutes = (folder / "minutes.md").read_text(encoding="utf-8")
        assert f"{notes[2].text} (flagged)" in minutes and "ask Ted about the budget" in minutes
        assert f"line {notes[2].ref}]" in minutes
        assert any("written to" in n and "minutes.md" in n for n in said), said
        # offline, base.en cannot be had: the dashboard says so, naming it
        await run_from_palette(pilot, "Polish the last")
        assert await wait_for(pilot, lambda: any("Polish cannot load base.en" in n for n in said), timeout=60), said
        await quit_app(app, pilot)


async def test_note_keys_without_a_session_say_how_to_start_one(monkeypatch):
    from tests.ui_conftest_helpers import snapshot_app

    app = snapshot_app()
    notes = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        assert await wait_for(pilot, lambda: any("No session is recording" in n for n in notes), timeout=5), notes
        await pilot.press("a")
        assert await wait_for(pilot, lambda: any("No line to flag yet" in n for n in notes), timeout=5), notes
        assert _shown(app) == [] or all("mark" not in s for s in _shown(app))
