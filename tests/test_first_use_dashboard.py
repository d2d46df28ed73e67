"""What a new user meets in the dashboard (issue 19), driven through Pilot: what is on screen (toasts,
labels, status line, footer, pickers) and the files written."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Footer, Label
from textual.widgets._footer import FooterKey
from textual.widgets._toast import Toast

from meeting_tui.types import Mode, Segment, Source
from meeting_tui.ui.app import MeetingApp
from meeting_tui.ui.notices import TIMEOUT_CAPS
from meeting_tui.ui.screens.mode_picker import ModePicker
from tests.ui_conftest_helpers import feed_meeting, quit_app, snapshot_app, wait_for, write_settings

SIZE = (110, 34)
SMALL = (80, 24)

BAD_KEYS = """\
[capture]
mdoe = "mic"
foo = 1
mic_device = { name = "Mic [USB] [b]Pro", hostapi = "ALSA" }
[ui]
them = "nord"
[ui.labels]
mic = "Ana [host]"
[session]
format = "md"
"""


def toasts(app) -> list[str]:
    """The text of each toast on screen, title first (as drawn, markup applied)."""
    return [toast.render().plain for toast in app.screen.query(Toast)]


def shown(widget) -> str:
    return widget.render().plain


def footer_keys(app) -> dict:
    """Each key shown in the footer ("f1 Help") and where it is drawn."""
    keys = app.screen.query_one(Footer).query(FooterKey)
    return {f"{k.key_display} {k.description}".strip(): k.region for k in keys if k.region.width}


# --- markup in user data, toasts coalesced and brief (items 7, 11) --------------------------------------


async def test_settings_problems_keep_their_sections_in_one_brief_toast():
    write_settings(BAD_KEYS)
    app = snapshot_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        assert await wait_for(pilot, lambda: toasts(app), timeout=5)
        await pilot.pause(0.3)
        [toast] = toasts(app)  # four problems, one toast
        assert toast.startswith("Settings · settings.toml\n"), toast
        for text in ('"capture.mdoe" in [capture]', '"capture.foo" in [capture]', '"ui.them" in [ui]',
                     '"session.format" in [session]', 'Did you mean "session.export_format"?'):
            assert text in toast, (text, toast)
        # Device names and labels come from the user too: their brackets are text, not markup.
        who, device = (shown(w) for w in app.panel(Source.MIC).query(Label)[:2])
        assert who == "Ana [host] · mic" and device == "Mic [USB] [b]Pro (ALSA)", (who, device)
        # It leaves the status line (REC, lag, save format) and the footer readable...
        [rack_toast] = app.screen.query(Toast)
        assert rack_toast.region.bottom <= app.status.region.y, (rack_toast.region, app.status.region)
        # ...and leaves on its own, well before a reader would call it in the way: within its cap once shown
        # (measured from when it was seen, not from the app's start, which a loaded machine stretches).
        assert await wait_for(pilot, lambda: not toasts(app), timeout=TIMEOUT_CAPS["warning"] + 2)


async def test_saving_in_every_format_shows_one_saved_toast_and_one_format_toast(tmp_path):
    app = snapshot_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.feed_items([Segment(Source.MIC, 0.5, 2.0, "Only one line [b]here[/b].")])
        await pilot.pause(0.2)
        saved = []
        for _ in range(5):  # md, srt, vtt, json, txt
            await pilot.press("s")
            assert await wait_for(pilot, lambda: app.last_saved is not None and app.last_saved not in saved)
            saved.append(app.last_saved)
            await pilot.press("e")
            await pilot.pause(0.1)
        await pilot.pause(0.3)
        on_screen = toasts(app)
        assert len(on_screen) == 2, on_screen
        saved_toast = next(t for t in on_screen if t.startswith("Saved"))
        assert saved_toast.count("Saved 1 line as") == 5 and "lines" not in saved_toast, saved_toast
        assert [t for t in on_screen if t.startswith("Save format:")] == ["Save format: md"]  # md -> ... -> md again
        assert {p.suffix for p in saved} == {".md", ".srt", ".vtt", ".json", ".txt"}
    # The Markdown export says when, as `meeting-tui export` does (no session here: the time of saving).
    md = next(p for p in saved if p.suffix == ".md").read_text()
    assert md.startswith("# Meeting 20") and "\nSaved 20" in md and "Meeting (two subprocesses)" in md, md
    assert "Only one line \\[b\\]here\\[/b\\]." in md


def test_a_long_run_of_notices_keeps_at_most_three_toasts():
    from textual.notifications import Notification

    from meeting_tui.ui.notices import MAX_LINES, as_notice, merge

    first = as_notice(Notification("a: one", "Settings", "warning", 8))
    merged = first
    for n in range(2, 10):
        merged = merge(merged, as_notice(Notification(f"a: line {n}", "Settings", "information", 4)))
    assert merged.severity == "warning" and merged.title == "Settings · a"
    lines = merged.message.splitlines()
    assert lines[0] == "… and 3 earlier" and lines[1:] == [f"line {n}" for n in range(4, 10)] and len(lines) == MAX_LINES + 1


async def test_a_burst_of_different_notices_leaves_three_toasts_errors_last_to_go():
    app = snapshot_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.notify("Capture could not start: [Errno 2]", title="Capture", severity="error")
        for n in range(5):
            app.notify(f"note {n}", title=f"Topic {n}")
        await pilot.pause(0.5)
        on_screen = toasts(app)
        assert len(on_screen) == 3, on_screen
        assert any("Capture could not start: [Errno 2]" in t for t in on_screen)  # kept, brackets intact
        assert any(t.endswith("note 4") for t in on_screen)  # the newest is shown


# --- 80x24: the essentials fit (item 12) -------------------------------------------------------------------


async def test_at_80x24_the_footer_shows_help_and_the_status_line_lag_and_save_format():
    app = snapshot_app()
    async with app.run_test(size=SMALL) as pilot:
        feed_meeting(app)
        await pilot.pause(0.5)
        assert await wait_for(pilot, lambda: len(footer_keys(app)) >= 6)  # the footer is composed after a refresh
        texts = footer_keys(app)
        assert "f1 Help" in texts and "^p palette" in texts, texts
        assert "n Note" not in texts and "M Minutes" not in texts, texts  # in help and the palette only
        for region in texts.values():  # every key shown is whole, inside the screen, none under another
            assert region.x >= 0 and region.right <= SMALL[0], texts
        ordered = sorted(texts.values(), key=lambda r: r.x)
        assert all(a.right <= b.x for a, b in zip(ordered, ordered[1:])), texts
        line = app.status.renderable_text
        assert len(line) <= SMALL[0] - 2, line
        assert "lag 1.4s" in line and "save as md" in line and line.startswith("○ not recording"), line
        await pilot.press("e")
        await pilot.pause(0.6)
        assert "save as srt" in app.status.renderable_text
    wide = snapshot_app()
    async with wide.run_test(size=(120, 30)) as pilot:  # wide enough: everything, gains in the footer too
        feed_meeting(wide)
        await pilot.pause(0.5)
        assert "RTF 0.21" in wide.status.renderable_text and "model tiny.en" in wide.status.renderable_text
        assert await wait_for(pilot, lambda: len(footer_keys(wide)) >= 6)
        labels = [shown(label) for label in wide.screen.query_one(Footer).query("FooterLabel") if label.region.width]
        assert labels == ["Mic gain", "Them gain"], labels
        texts = footer_keys(wide)
        assert "n Note" in texts and "M Minutes" in texts, texts  # the keys the minutes need, whole and apart
        ordered = sorted(texts.values(), key=lambda r: r.x)
        assert all(a.right <= b.x for a, b in zip(ordered, ordered[1:])) and ordered[-1].right <= 120, texts


def test_status_line_drops_the_least_useful_facts_first():
    from meeting_tui.ui.widgets.status_line import StatusInfo, fit

    info = StatusInfo(mode="Meeting (two subprocesses) (demo)", recording=True, model="small.en",
                      model_state="loading", model_progress=0.42, rtf=0.3, lag_s=2.5, queue=3,
                      session_file="/home/ana/.local/share/meeting-tui/sessions/2026-11-28_05-00-00/journal.jsonl",
                      export_format="vtt")
    full = fit(info, None).plain
    assert "RTF 0.30" in full and "journal.jsonl" in full
    for width in (120, 100, 78, 60, 40):
        line = fit(info, width).plain
        assert len(line) <= width, (width, line)
        assert line.startswith("● REC") and "lag 2.5s" in line and "save" in line and "vtt" in line, line
        if width >= 60:
            assert "loading 42%" in line, line  # the model still loading matters more than its name or RTF
    assert fit(info, 78).plain.count("(demo)") == 1


# --- the mode picker names this platform's FFmpeg input (item 13) -------------------------------------


async def test_mode_picker_names_the_ffmpeg_input_this_platform_uses():
    import sys

    expected = {"win32": "dshow", "darwin": "avfoundation"}.get(sys.platform, "pulse")
    app = MeetingApp(capture=False, ffmpeg=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ModePicker))
        options = app.screen.query_one("#mode-list")
        prompts = [options.get_option_at_index(i).prompt.plain for i in range(options.option_count)]
        ffmpeg_line = next(p for p in prompts if "Meeting via FFmpeg" in p)
        assert f"one FFmpeg process ({expected})" in ffmpeg_line and "DirectShow" not in ffmpeg_line, ffmpeg_line
        await pilot.press("escape")
    for platform, name in (("win32", "dshow"), ("linux", "pulse"), ("darwin", "avfoundation")):
        picker = ModePicker(Mode.MEETING, ffmpeg=True, platform=platform)
        app = MeetingApp(capture=False, ffmpeg=True)
        async with app.run_test(size=SIZE) as pilot:
            app.push_screen(picker)
            await pilot.pause(0.2)
            options = picker.query_one("#mode-list")
            assert f"({name})" in options.get_option_at_index(3).prompt.plain


# --- the dashboard's Markdown export has the session's date and id, like `export` (item 14) -------------


@pytest.mark.model
@pytest.mark.slow
async def test_saving_a_session_writes_its_date_and_id_like_export(tiny_model_path):
    write_settings("[session]\nexport_format = \"md\"\n")
    app = MeetingApp(demo=True, model=tiny_model_path)
    app.animation_level = "none"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        assert await wait_for(pilot, lambda: app.core.recording and app.core.session is not None, timeout=30)
        session_id = app.core.session.path.name
        await pilot.press("s")
        assert await wait_for(pilot, lambda: app.last_saved is not None)
        md = app.last_saved.read_text()
        for _ in range(3):  # md -> srt -> vtt -> json
            await pilot.press("e")
        await pilot.pause(0.2)
        first = app.last_saved
        await pilot.press("s")
        assert await wait_for(pilot, lambda: app.last_saved != first)
        doc = json.loads(app.last_saved.read_text())
        await quit_app(app, pilot)
    started = doc["meta"]["started"]
    assert doc["meta"]["session"] == session_id and started[:2] == "20"
    assert md.startswith(f"# Meeting {started[:16].replace('T', ' ')}\n"), md
    assert f"Started {started[:16].replace('T', ' ')}" in md and "unfinished" not in md, md


async def test_a_theme_name_with_brackets_reads_the_same_in_the_palette():
    from textual.command import CommandList

    from meeting_tui import paths

    user_dir = paths.config_dir() / "themes"
    user_dir.mkdir(parents=True)
    (user_dir / "night.toml").write_text("name = '[b]night[/b] owl'\nprimary = '#335577'\n")
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        assert await wait_for(pilot, lambda: app.screen.query(CommandList)
                              and app.screen.query_one(CommandList).option_count > 10)
        commands = app.screen.query_one(CommandList)
        prompts = [commands.get_option_at_index(i).prompt for i in range(commands.option_count)]
        plain = [p.plain if hasattr(p, "plain") else str(p) for p in prompts]
        assert any(p.startswith("Theme: [b]night[/b] owl") for p in plain), plain
        await pilot.press("escape")


# --- a broken settings file: one backup, however often the dashboard starts and saves (item 10) ---------


async def test_a_broken_settings_file_gets_one_backup_across_launches_and_saves():
    from tests.ui_conftest_helpers import config_path, read_settings

    broken = '[capture]\nmode = "mic"\ngains_db = {mic = \n'
    write_settings(broken)
    for _ in range(2):  # launched twice while the file stays broken
        app = snapshot_app()
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            assert await wait_for(pilot, lambda: any("could not be parsed" in t for t in toasts(app)), timeout=5)
        assert config_path().read_text() == broken
    backups = list(config_path().parent.glob("settings.toml.*-*"))
    assert len(backups) == 1 and backups[0].read_text() == broken, backups
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right_square_bracket")  # a gain change saves the settings over the broken file
        assert await wait_for(pilot, lambda: config_path().read_text() != broken, timeout=5)
    assert read_settings()["capture"]["gains_db"]["mic"] == 1.0
    assert list(config_path().parent.glob("settings.toml.*-*")) == backups  # its text was already kept
