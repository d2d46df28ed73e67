"""Issue 31 item 10, from the user's seat: the smaller things a new user met (help, status line, badges,
toasts, and the command line's edges)."""

from __future__ import annotations

import re

from meeting_tui.types import Health, HealthState, Source

from tests.test_record_cli import REPO, meeting_tui


def screen_lines(app) -> list[str]:
    """The terminal's rows as the user reads them."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


# --- the dashboard --------------------------------------------------------------------------------------


async def test_help_says_how_to_close_it_at_the_top_and_explains_rtf_lag_queue_and_load():
    from meeting_tui.ui.screens.help import HelpScreen
    from tests.ui_conftest_helpers import snapshot_app, wait_for

    app = snapshot_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        assert await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause(0.1)
        first = screen_lines(app)
        assert any("Esc closes" in line for line in first), first  # without scrolling
        app.screen.query_one("#help").scroll_end(animate=False)
        await pilot.pause(0.1)
        last = "\n".join(screen_lines(app))
        for name, meaning in (("RTF", "real-time factor"), ("lag", "oldest speech not yet transcribed"),
                              ("queue", "waiting for the transcriber"), ("load", "stepped down to keep up")):
            assert re.search(rf"\b{name}\b.*{meaning}", last), (name, last)
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_the_load_step_names_the_lag_that_made_it_step_not_a_second_lag():
    from meeting_tui.meeting.events import TranscriptionStatus
    from meeting_tui.transcribe.governor import Governor, GovernorConfig
    from tests.ui_conftest_helpers import snapshot_app

    governor = Governor(GovernorConfig(), partial_interval_s=1.0, beam_size=5, partials=True, model="tiny.en",
                        smaller_model=None)
    governor.update(0.0, busy=0.5, lag_s=0.0)
    assert governor.update(5.0, busy=0.5, lag_s=3.1)  # fell behind: one step down
    app = snapshot_app()
    async with app.run_test(size=(140, 34)) as pilot:
        app.set_transcriber_stats(TranscriptionStatus(model="tiny.en", state="ready", rtf=0.4, lag_s=0.0,
                                                      load=governor.state.summary()))
        await pilot.pause(0.1)
        line = app.status.renderable_text
    assert "lag 0.0s" in line and "load: slower partials (after lag 3.1 s)" in line, line


async def test_the_health_badge_says_its_whole_reason_at_120_columns():
    from tests.ui_conftest_helpers import snapshot_app

    reasons = {Source.MIC: (HealthState.SILENT, "digital silence for 12.3 s: muted, or blocked by the OS"),
               Source.LOOPBACK: (HealthState.STALLED, "no audio from the device for 12.3 s since it opened")}
    app = snapshot_app()
    async with app.run_test(size=(120, 34)) as pilot:
        for source, (state, reason) in reasons.items():
            app.panel(source).set_health(Health(source, state, reason))
        await pilot.pause(0.1)
        rows = screen_lines(app)
    for _, reason in reasons.values():
        assert any(reason in row for row in rows), (reason, rows[:6])


async def test_the_save_toast_breaks_its_path_only_between_folders(tmp_path):
    from textual.widgets._toast import Toast

    from meeting_tui.types import Segment
    from tests.test_ui_app import SIZE
    from tests.ui_conftest_helpers import snapshot_app, wait_for

    app = snapshot_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.feed_items([Segment(Source.MIC, 0.5, 2.0, "One line.")])
        await pilot.pause(0.2)
        await pilot.press("s")
        assert await wait_for(pilot, lambda: app.last_saved is not None and app.screen.query(Toast))
        await pilot.pause(0.2)
        [toast] = app.screen.query(Toast)
        region = toast.region
        rows = [row[region.x:region.right].strip(" ▎▊▌▋▍▏▐│") for row in screen_lines(app)[region.y:region.bottom]]
    text = [r.strip() for r in rows if r.strip()]
    start = next((i for i, r in enumerate(text) if r.startswith("Saved 1 line as md to")), None)
    assert start is not None, text
    path_rows = text[start + 1:]
    assert "".join(path_rows) == str(app.last_saved), text
    assert len(path_rows) > 1 and all(r.endswith("/") for r in path_rows[:-1]), path_rows


async def test_e_cycles_the_save_formats_in_the_order_the_readme_gives():
    from tests.test_ui_app import SIZE
    from tests.ui_conftest_helpers import snapshot_app

    row = next(line for line in (REPO / "README.md").read_text().splitlines() if line.startswith("| `s`, `e` |"))
    order = re.search(r"\(([^)]*)\)", row).group(1).replace("→", ",").replace(" ", "").split(",")
    app = snapshot_app()
    seen = []
    async with app.run_test(size=SIZE) as pilot:
        seen.append(app.settings.session.export_format)
        for _ in range(len(order) - 1):
            await pilot.press("e")
            await pilot.pause(0.05)
            seen.append(re.search(r"save as (\w+)", app.status.renderable_text).group(1))
    assert seen == order, (seen, row)


# --- the command line -------------------------------------------------------------------------------------


def test_transcribe_to_standard_output_with_dash_as_export_does(shared_audio, tmp_path, tiny_model_path):
    res = meeting_tui(tmp_path, "transcribe", str(shared_audio / "jfk.flac"), "--model", tiny_model_path, "-o", "-",
                      "--quiet", timeout=120)
    assert res.returncode == 0, res.stderr
    assert "Speaker: What your country can do for you." in res.stdout, res.stdout  # the lines, as without -o
    assert not (REPO / "-").exists() and not (tmp_path / "-").exists()


def test_config_naming_no_file_is_one_error_naming_it(tmp_path):
    for args in (["sessions"], []):  # a command, and the dashboard
        res = meeting_tui(tmp_path, "--config", "/no/such/file", *args, timeout=60)
        assert res.returncode == 2, (args, res.stderr)
        assert res.stderr.count("error:") == 1 and "/no/such/file" in res.stderr, res.stderr
        assert "leave --config out" in res.stderr and res.stdout == ""
    assert not (tmp_path / "data").exists()


def test_speakers_with_a_session_lists_its_voices(tmp_path):
    short = meeting_tui(tmp_path, "speakers", "latest")
    full = meeting_tui(tmp_path, "speakers", "list", "latest")
    assert "invalid choice" not in short.stderr, short.stderr
    assert (short.returncode, short.stdout, short.stderr) == (full.returncode, full.stdout, full.stderr)


def test_settings_warnings_have_one_prefix_and_list_the_choices_once(tmp_path):
    cfg = tmp_path / "cfg" / "settings.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[capture]\nmode = "bogus"\n[session]\nexport_format = "doc"\n')
    for args in (["sessions"], ["transcribe", str(tmp_path / "no-such.wav")], ["search", "budget"]):
        res = meeting_tui(tmp_path, *args, timeout=60)
        warnings = [ln for ln in res.stderr.splitlines() if "is not valid" in ln]
        assert len(warnings) == 2, (args, res.stderr)
        for line in warnings:
            assert line.startswith("warning: settings.toml: "), (args, line)
            assert line.count("mic") <= 1 and line.count('"md"') <= 1 and "Input should be" not in line, line
        assert "settings: " not in res.stderr.replace("warning: settings.toml", "") and "meeting-tui: warning" not in res.stderr
