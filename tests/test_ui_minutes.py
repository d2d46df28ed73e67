"""The dashboard's minutes from the user's seat (Pilot): made in the background with progress, cancelled by
the same key (nothing written), listed when done; Enter on an item jumps to its line (in the dashboard's
transcript, or the session opened at that time when the line is no longer on screen); a flag goes to the
line in view when the transcript is scrolled up, not only to the newest."""

from __future__ import annotations

import pytest

from meeting_tui.session.journal import JOURNAL_NAME, read_journal
from meeting_tui.types import Source
from tests.test_minutes_llm import LINES, make_session, server_factory  # noqa: F401 (fixture)
from tests.ui_conftest_helpers import recorded_notifications, wait_for, write_settings

SIZE = (110, 34)


def _list_shown(app) -> bool:
    """The minutes screen is up with its list mounted (the screen is pushed a frame before its children)."""
    from textual.widgets import OptionList

    from meeting_tui.ui.screens.minutes_view import MinutesView

    return isinstance(app.screen, MinutesView) and bool(app.screen.query(OptionList))


def _options(view) -> list[str]:
    from textual.widgets import OptionList

    options = view.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def _choose(pilot, view, index: int) -> None:
    from textual.widgets import OptionList

    options = view.query_one(OptionList)
    while options.highlighted != index:  # arrow down to the item, Enter chooses it
        await pilot.press("down")
    await pilot.press("enter")


async def test_minutes_by_an_endpoint_in_the_background_cancel_writes_nothing(tmp_path, server_factory, monkeypatch):
    from meeting_tui.ui.app import MeetingApp
    from meeting_tui.ui.screens.minutes_view import MinutesView
    from meeting_tui.ui.screens.session_view import SessionView

    slow = server_factory("--first-line", "--delay", "2")
    session = make_session(tmp_path)
    write_settings(f'[minutes]\nengine = "openai"\nendpoint = "{slow.url}"\nmodel = "smollm2"\n')
    app = MeetingApp(capture=False, sessions_dir=tmp_path / "data" / "sessions")
    said = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        app.last_session = session.path  # as a stopped session leaves it
        await pilot.press("M")
        assert await wait_for(pilot, lambda: slow.requests(), timeout=20), said
        assert any(s.startswith(f"Making the minutes of {session.id} (openai; M cancels)") for s in said), said
        assert await wait_for(pilot, lambda: any("Minutes: 0% lines 1-5 of 5 (part 1 of 1)" in s for s in said),
                              timeout=10), said
        assert "Minutes: cancel" in [t for t, _, _ in app.palette_commands()]
        await pilot.press("M")  # the same key cancels
        assert await wait_for(pilot, lambda: any("cancelled; nothing was written" in s for s in said), timeout=20), said
        assert not list(session.path.glob("minutes*"))
        assert "Minutes of the last session" in [t for t, _, _ in app.palette_commands()]
        await pilot.press("M")  # again, to the end: the list opens
        assert await wait_for(pilot, lambda: _list_shown(app), timeout=30), said
        assert any("1 decision, 0 action items" in s and "minutes.md" in s for s in said), said
        texts = _options(app.screen)
        assert texts[:2] == ["Decisions", f"00:00:01  {LINES[0][2].rstrip('.')}"], texts
        await _choose(pilot, app.screen, 1)
        # The dashboard shows no line of that session: it opens read-only at the cited time.
        assert await wait_for(pilot, lambda: isinstance(app.screen, SessionView), timeout=10)
        assert LINES[0][2] in app.screen.visible_text()
    assert (session.path / "minutes.md").is_file()


@pytest.mark.model
@pytest.mark.slow
async def test_minutes_after_stop_jump_to_their_lines_and_a_flag_goes_to_the_line_in_view(tiny_model_path, tmp_path,
                                                                                          monkeypatch):
    from meeting_tui.ui.app import MeetingApp
    from meeting_tui.ui.screens.minutes_view import MinutesView
    from tests.support.meetings import SCRIPTS, speak
    from tests.support.speech import have_espeak

    if not have_espeak():
        pytest.skip("espeak-ng is not installed")
    mic, loop, _ = speak(SCRIPTS[0], tmp_path / "audio")
    write_settings('[echo]\ndedupe = "off"\n')  # two separate tracks: no echo to drop
    app = MeetingApp(model=tiny_model_path, files={Source.MIC: str(mic), Source.LOOPBACK: str(loop)}, files_speed=0,
                     record_on_launch=True, sessions_dir=tmp_path / "sessions")
    said = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=(90, 18)) as pilot:  # the meeting's lines do not fit: the view scrolls
        view = app.transcript
        assert await wait_for(pilot, lambda: app.core.recording and view.max_scroll_y > 2, timeout=90), \
            (len(view.segments), view.max_scroll_y, view.virtual_size, view.size, view.line_count, app.core.capture_finished)
        view.focus()
        await pilot.press("home")  # scrolled up: the flag goes to the last line in view, not the newest
        assert await wait_for(pilot, lambda: not view.following, timeout=5)
        in_view = view.line_to_flag()
        assert in_view is not None and in_view is not view.segments[-1]
        await pilot.press("a")
        folder = app.core.session.path
        [flag] = read_journal(folder / JOURNAL_NAME).notes
        assert (flag.kind, flag.ref, flag.text) == ("action", in_view.id, in_view.text.strip())
        await pilot.press("r")  # stop: the rest is transcribed, then the minutes are offered
        assert await wait_for(pilot, lambda: any("press M" in s for s in said), timeout=120), said
        await pilot.press("M")
        assert await wait_for(pilot, lambda: _list_shown(app), timeout=60), said
        texts = _options(app.screen)
        assert "Action items" in texts and "Decisions" in texts and "Open questions" in texts, texts
        assert any(t.endswith("(flagged)") and in_view.text.strip().rstrip(".") in t for t in texts), texts
        release = next((n for n, t in enumerate(texts) if "Them: send the release note" in t), None)
        assert release is not None, texts
        assert "(due " in texts[release]
        await _choose(pilot, app.screen, release)
        assert await wait_for(pilot, lambda: not isinstance(app.screen, MinutesView), timeout=5)
        chosen = view.selected
        assert chosen is not None and "release note" in chosen.text and chosen.source is Source.LOOPBACK
        start = " ".join(chosen.text.split()[:3])
        rows = [view.render_line(y) for y in range(view.size.height)]
        row = next((r for r in rows if start in r.text), None)
        assert row is not None, [r.text for r in rows]  # the line is in view, shown reversed
        assert any(seg.style and seg.style.reverse for seg in row if start.split()[0] in seg.text)
        assert "chosen · End follows" in str(view.border_subtitle)
        assert view.line_to_flag() is chosen  # a flag now would go to the chosen line
        await pilot.press("end")  # back to following: the choice is let go
        assert view.selected is None
    minutes = (folder / "minutes.md").read_text(encoding="utf-8")
    assert f"line {chosen.id}]" in minutes
