"""The dashboard's widgets on their own, fed plain data: meter, badge hints, transcript, themes, keys."""

from __future__ import annotations

import math
import time

import pytest

from meeting_tui.types import Gap, Health, HealthState, Level, Mode, Segment, Source
from tests.ui_conftest_helpers import WidgetApp
from meeting_tui.ui.themes import DEFAULT_THEME, VARIABLE_DEFAULTS, load_theme_file, load_themes, package_theme_dir
from meeting_tui.ui.widgets.health_badge import hint_for
from meeting_tui.ui.widgets.transcript import Note, TranscriptView
from meeting_tui.ui.widgets.vu_meter import CLIP_HOLD_S, PEAK_HOLD_S, VUMeter, fraction
from tests.ui_conftest_helpers import recorded_notifications, snapshot_app


class Clock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


# --- VU meter -----------------------------------------------------------------------------------------


def test_fraction_scale():
    assert fraction(-60) == 0 and fraction(-math.inf) == 0 and fraction(0) == 1 and fraction(6) == 1
    assert fraction(-30) == pytest.approx(0.5)


async def test_meter_peak_hold_clip_and_repaint_only_on_change():
    clock = Clock()
    meter = VUMeter(clock=clock)
    async with WidgetApp(meter).run_test(size=(80, 3)) as pilot:
        meter.show(Level(Source.MIC, -20, -3, clipped=True))
        await pilot.pause()
        assert meter.peak_hold_db == -3 and meter.clipping
        line = "".join(seg.text for seg in meter.render_line(0))
        assert "-20.0 dBFS" in line and "CLIP" in line and "█" in line and "▏" in line
        # Peak holds, then falls; the clip mark goes away.
        clock.t += PEAK_HOLD_S / 2
        meter.show(Level(Source.MIC, -40, -35))
        assert meter._held_peak(clock.t) == -3
        clock.t += PEAK_HOLD_S + CLIP_HOLD_S
        meter.show(Level(Source.MIC, -40, -35))
        assert meter._held_peak(clock.t) < -3 and not meter.clipping
        line = "".join(seg.text for seg in meter.render_line(0))
        assert "CLIP" not in line
        # The same reading again: nothing to repaint.
        await pilot.pause()
        drawn = meter.frames_drawn
        for _ in range(5):
            meter.show(Level(Source.MIC, -40, -35))
            await pilot.pause()
        assert meter.frames_drawn == drawn
        # No data: a dead meter.
        meter.show(None)
        line = "".join(seg.text for seg in meter.render_line(0))
        assert "--" in line and "█" not in line


def test_hints_name_next_mode_and_key():
    silent = Health(Source.MIC, HealthState.SILENT, "digital silence")
    keys = {"devices": "d", "mode.loopback": "2", "mode.meeting_ffmpeg": "4"}
    hint = hint_for(silent, Mode.MEETING, keys, ffmpeg_available=False)
    assert "Loopback only (2)" in hint and "(d)" in hint
    hint = hint_for(silent, Mode.MEETING, keys, ffmpeg_available=True)
    assert "Meeting via FFmpeg (4)" in hint
    assert hint_for(Health(Source.MIC, HealthState.LIVE), Mode.MEETING, keys) == ""
    assert hint_for(Health(Source.LOOPBACK, HealthState.IDLE), Mode.MEETING, keys) == ""  # idle is not dead
    for state in (HealthState.STALLED, HealthState.CRASHED, HealthState.WRONG_SOURCE):
        assert hint_for(Health(Source.LOOPBACK, state), Mode.MEETING, keys)


# --- transcript ---------------------------------------------------------------------------------------


async def test_transcript_partial_replaced_by_final_in_time_order():
    view = TranscriptView()
    async with WidgetApp(view).run_test(size=(80, 20)) as pilot:
        view.add_batch([Segment(Source.MIC, 1.0, 2.0, "hello wor", final=False, id=1)])
        assert view.partials[Source.MIC].text == "hello wor" and view.segments == []
        view.add_batch([Segment(Source.MIC, 1.0, 2.5, "hello world", final=True, id=1),
                        Segment(Source.LOOPBACK, 0.5, 1.5, "earlier them"),
                        Gap(Source.LOOPBACK, 3.0, 4.0, "restart"),
                        Note(5.0, "mode: Mic only")])
        await pilot.pause()
        assert view.partials == {}
        assert [s.text for s in view.segments] == ["earlier them", "hello world"]
        text = ["".join(s.text for s in view.render_line(y)) for y in range(view.line_count)]
        assert "Them" in text[0] and "You" in text[1] and "no audio from Them" in text[2] and "mode: Mic only" in text[3]
        # A retracted partial (empty text) leaves nothing behind.
        view.add_batch([Segment(Source.LOOPBACK, 6, 7, "uh", final=False), Segment(Source.LOOPBACK, 6, 7, "", final=False)])
        assert view.line_count == 4


async def test_transcript_follows_unless_scrolled_up():
    view = TranscriptView()
    async with WidgetApp(view).run_test(size=(80, 12)) as pilot:
        view.add_batch([Segment(Source.MIC, i, i + 1, f"line {i}") for i in range(100)])
        await pilot.pause()
        assert view.following and view.scroll_y == view.max_scroll_y > 0
        view.focus()
        await pilot.press("pageup")
        await pilot.pause()
        assert not view.following
        y = view.scroll_y
        view.add_batch([Segment(Source.LOOPBACK, 200 + i, 201 + i, f"new {i}") for i in range(5)])
        await pilot.pause()
        assert view.scroll_y == y and view.new_below == 5
        assert "5 new lines" in str(view.border_subtitle)
        await pilot.press("end")
        await pilot.pause()
        assert view.following and view.new_below == 0
        view.add_batch([Segment(Source.MIC, 300, 301, "latest")])
        await pilot.pause()
        assert view.scroll_y == view.max_scroll_y


async def test_keys_leave_the_end_even_while_lines_arrive():
    """Home, PageUp and Up scroll at once: a line that arrived before an animated scroll had left the end
    put the view back at the end, and the key did nothing (Home, in a loaded CI run)."""
    view = TranscriptView()
    async with WidgetApp(view).run_test(size=(80, 12)) as pilot:
        view.add_batch([Segment(Source.MIC, i, i + 1, f"line {i}") for i in range(100)])
        await pilot.pause()
        view.focus()
        for n, action in enumerate(("scroll_home", "page_up", "scroll_up")):
            view.action_follow()
            assert view.following
            await view.run_action(action)  # as its key does
            view.add_batch([Segment(Source.LOOPBACK, 200 + n, 201 + n, f"arrived {n}")])  # the next line, at once
            await pilot.pause(0.5)
            assert not view.following, action
            assert view.new_below == 1, action


async def test_transcript_thousands_of_lines_in_batches_is_fast():
    # Not a wall-clock limit (a loaded machine decides that): ten times the lines may cost at most about
    # ten times the time, measured in one run; a view that redraws everything per batch grows quadratically.
    async def add(batches: int) -> float:
        view = TranscriptView()
        async with WidgetApp(view).run_test(size=(100, 30)) as pilot:
            t0 = time.perf_counter()
            for batch in range(batches):  # frames of 30 lines
                view.add_batch([Segment(Source.MIC if i % 2 else Source.LOOPBACK, batch * 30 + i, batch * 30 + i + 1,
                                        f"segment {batch}-{i} with a few words of text") for i in range(30)])
            await pilot.pause()
            elapsed = time.perf_counter() - t0
            assert len(view.segments) == 30 * batches and view.batches == batches
            return elapsed

    small, large = await add(10), await add(100)
    assert large < 25 * small, (small, large)


# --- themes -------------------------------------------------------------------------------------------


def test_builtin_themes_load_with_app_variables():
    loaded = load_themes([package_theme_dir()])
    names = {t.name for t in loaded.themes}
    assert {"meeting-dark", "meeting-light", "meeting-high-contrast"} <= names and not loaded.errors
    by_name = {t.name: t for t in loaded.themes}
    assert by_name["meeting-light"].dark is False and by_name["meeting-dark"].dark is True
    for theme in loaded.themes:
        assert set(VARIABLE_DEFAULTS) <= set(theme.variables)


def test_bad_theme_file_is_reported(tmp_path):
    (tmp_path / "broken.toml").write_text("name = 'x'\nprimary = 'not-a-colour'\n")
    (tmp_path / "garbage.toml").write_text("this is [ not toml")
    (tmp_path / "ok.toml").write_text("primary = '#112233'\n[variables]\nvu-low = '#00ff00'\n")
    loaded = load_themes([tmp_path])
    assert [t.name for t in loaded.themes] == ["ok"]
    assert len(loaded.errors) == 2 and any("broken.toml" in e for e in loaded.errors)
    assert load_theme_file(tmp_path / "ok.toml").variables["vu-low"] == "#00ff00"


async def test_user_theme_dir_and_broken_theme_fallback(monkeypatch, tmp_path):
    from meeting_tui import paths
    from tests.ui_conftest_helpers import write_settings

    user_dir = paths.config_dir() / "themes"
    user_dir.mkdir(parents=True)
    (user_dir / "mine.toml").write_text("name = 'mine'\nprimary = '#aa5500'\n[variables]\nspeaker-you = '#123456'\n")
    (user_dir / "bad.toml").write_text("name = 'bad'\nprimary = 12\n")
    write_settings('[ui]\ntheme = "bad"\n')
    app = snapshot_app()
    notes = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.theme == DEFAULT_THEME  # the saved theme is broken: fall back
        assert "mine" in app.available_themes
        assert len(notes) == 1 and "bad.toml" in notes[0]
        app.theme = "mine"
        await pilot.pause()
        assert app.get_css_variables()["speaker-you"] == "#123456"


async def test_transcript_marks_echo_segments():
    view = TranscriptView()
    async with WidgetApp(view).run_test(size=(80, 10)) as pilot:
        view.add_batch([Segment(Source.MIC, 1, 2, "ask not what your country", echo_score=0.9)])
        await pilot.pause()
        assert "(echo?)" in "".join(s.text for s in view.render_line(0))


async def test_reserved_key_in_keymap_is_flagged(monkeypatch):
    from tests.ui_conftest_helpers import write_settings

    write_settings('[ui.keymap]\nhelp = "ctrl+shift+p,f1"\n')
    app = snapshot_app()
    notes = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert any("ctrl+shift+p" in n and "Windows Terminal" in n for n in notes)


async def test_ctrl_shift_letters_and_more_terminal_keys_in_the_keymap_are_flagged(monkeypatch):
    """Windows reads ctrl+shift+<letter> as ctrl+<letter> (Textual #872); Windows Terminal also keeps
    alt+shift+d, ctrl+shift+tab and ctrl+alt+<digit> by default."""
    from tests.ui_conftest_helpers import write_settings

    write_settings('[ui.keymap]\nhelp = "ctrl+shift+k,f1"\nsave = "alt+shift+d,s"\n"export.format" = "ctrl+alt+2,e"\n')
    app = snapshot_app()
    notes = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert any("alt+shift+d" in n and "ctrl+alt+2" in n and "Windows Terminal" in n for n in notes), notes
        assert any("ctrl+shift+k arrive as ctrl+k" in n for n in notes), notes
        await pilot.press("ctrl+q")


async def test_the_meter_uses_half_blocks_in_the_legacy_windows_console(monkeypatch):
    """conhost with Consolas shows the eighth blocks as boxes; without Windows Terminal (no WT_SESSION) the
    meter draws with full and half blocks only."""
    from meeting_tui.ui import console

    assert console.fine_blocks({}, "linux") and console.fine_blocks({"WT_SESSION": "x"}, "win32")
    assert not console.fine_blocks({}, "win32")
    monkeypatch.setenv("MEETING_TUI_BLOCKS", "coarse")
    meter = VUMeter(clock=Clock())
    async with WidgetApp(meter).run_test(size=(80, 3)) as pilot:
        for db in (-20.0, -21.3, -33.7, -45.1):
            meter.show(Level(Source.MIC, db, db + 6))
            await pilot.pause()
            line = "".join(seg.text for seg in meter.render_line(0))
            assert "█" in line and not set(line) & set("▏▎▍▋▊▉"), line


async def test_text_prompts_fold_spaces_and_a_rename_to_the_same_name_is_none():
    """The note and rename modals share one prompt: Enter gives the text with its spaces folded, Escape None;
    renaming a voice to the name it has is no rename."""
    from textual.app import App

    from meeting_tui.ui.screens.note_input import NoteInput
    from meeting_tui.ui.screens.rename_speaker import RenameSpeaker

    got: list = []

    class Host(App):
        pass

    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        for screen, keys in ((NoteInput("00:01:02"), ["space", "a", "space", "space", "b", "enter"]),
                             (RenameSpeaker("Them 2"), ["enter"]),
                             (RenameSpeaker("Them 2"), ["ctrl+u", "S", "a", "m", "enter"]),
                             (NoteInput("00:01:03"), ["x", "escape"])):
            app.push_screen(screen, got.append)
            await pilot.pause()
            await pilot.press(*keys)
            await pilot.pause()
    assert got == ["a b", None, "Sam", None]
