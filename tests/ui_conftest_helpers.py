"""Fixtures and helpers shared by the UI tests (imported by tests/test_ui_*.py and tests/test_snapshots.py).

- SVG snapshots go to the top-level ``snapshots/`` folder (STYLE.md recipe).
- ``settings_file`` writes a settings file into the test's own config dir (``isolated_user_dirs`` in
  conftest.py already points MEETING_TUI_CONFIG / MEETING_TUI_DATA_DIR into tmp_path).
- ``snapshot_app`` builds a dashboard that starts no engine and no model, with a fixed clock; tests feed it
  plain Level/Health/Segment data (the same doors the core uses).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
import pytest_textual_snapshot
from textual.app import App, ComposeResult

from meeting_tui.types import Gap, Health, HealthState, Level, Segment, Source

SNAPSHOT_ROOT = Path(__file__).resolve().parent.parent / "snapshots"
SNAPSHOT_SIZE = (110, 34)
FIXED_NOW = 1000.0


class TopLevelSVGExtension(pytest_textual_snapshot.SVGImageExtension):
    @classmethod
    def dirname(cls, *, test_location) -> str:
        return str(SNAPSHOT_ROOT / test_location.basename)


@pytest.fixture
def snapshots_in_top_level_dir(monkeypatch):
    monkeypatch.setattr(pytest_textual_snapshot, "SVGImageExtension", TopLevelSVGExtension)


def config_path() -> Path:
    return Path(os.environ["MEETING_TUI_CONFIG"])


def write_settings(text: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def read_settings() -> dict:
    import tomllib

    return tomllib.loads(config_path().read_text(encoding="utf-8"))


def fixed_clock() -> float:
    return FIXED_NOW


def snapshot_app(**kw):
    from meeting_tui.ui.app import MeetingApp

    app = MeetingApp(capture=False, clock=fixed_clock, ffmpeg=False, **kw)
    app.animation_level = "none"
    return app


LIVE_LEVELS = {
    Source.MIC: Level(Source.MIC, -21.5, -9.0, False),
    Source.LOOPBACK: Level(Source.LOOPBACK, -2.0, 0.0, True),
}

SAMPLE_ITEMS = [
    Segment(Source.MIC, 0.7, 6.2, "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."),
    Segment(Source.LOOPBACK, 11.3, 15.1, "And so my fellow Americans, ask not what your country can do for you."),
    Gap(Source.LOOPBACK, 15.5, 17.9, "capture process restarted"),
    Segment(Source.MIC, 18.2, 20.0, "Can you hear me", final=False),
]


def feed_meeting(app, *, dead_loopback: bool = False) -> None:
    """Meeting mode with live meters (or a dead loopback), health badges and a short transcript."""
    levels = dict(LIVE_LEVELS)
    app.feed_health(Health(Source.MIC, HealthState.LIVE, "speech"))
    if dead_loopback:
        levels[Source.LOOPBACK] = Level(Source.LOOPBACK, float("-inf"), float("-inf"), False)
        app.feed_health(Health(Source.LOOPBACK, HealthState.STALLED, "no frames for 3.0 s", "device unplugged"))
    else:
        app.feed_health(Health(Source.LOOPBACK, HealthState.LIVE, "speech"))
    app.feed_levels(levels)
    app.feed_items(SAMPLE_ITEMS)
    from meeting_tui.meeting import TranscriptionStatus

    app.set_transcriber_stats(TranscriptionStatus(model="tiny.en", state="ready", rtf=0.21, lag_s=1.4, queue=2))


async def wait_for(pilot, predicate, timeout: float = 30.0, step: float = 0.1) -> bool:
    """Pump the app until ``predicate()`` is true (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await pilot.pause(step)
    return bool(predicate())


def app_state(app) -> str:
    """What a dashboard that did not do what a test waited for was busy with: its screens, its workers,
    every asyncio task's stack and every thread's (for a failure that cannot be reproduced at will)."""
    import sys
    import threading
    import traceback

    lines = [f"screens: {[type(s).__name__ for s in app.screen_stack]}",
             f"workers: {[(w.name, w.group, w.state.name) for w in app.workers]}"]
    for task in asyncio.all_tasks():
        frames = task.get_stack(limit=8)
        if [f.f_code.co_name for f in frames] == ["_process_messages"]:
            continue  # a widget's idle message pump
        lines.append(f"task {task.get_name()}: " + " <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in frames))
    names = {t.ident: t.name for t in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        stack = traceback.extract_stack(frame, limit=6)
        lines.append(f"thread {names.get(ident, ident)}: " + " <- ".join(f"{f.name}:{f.lineno}" for f in stack))
    return "\n".join(lines)


async def quit_app(app, pilot, timeout: float = 90.0) -> None:
    """ctrl+q as the user quits, then wait till the app has drained and left. Leaving ``run_test`` sooner
    cancels the drain: a capture worker still stopping outlives the test's event loop, and its transport's
    finalizer fails in a later test ("Event loop is closed")."""
    await pilot.press("ctrl+q")
    assert await wait_for(pilot, lambda: not app.is_running, timeout=timeout) or app.return_value is not None, \
        app_state(app)


async def wait_workers(app) -> None:
    await asyncio.wait_for(app.workers.wait_for_complete(), 30)


def recorded_notifications(app, monkeypatch) -> list[str]:
    """Every notification's text, in order (the real notify still runs)."""
    notes: list[str] = []
    real_notify = app.notify
    monkeypatch.setattr(app, "notify", lambda message, **kw: (notes.append(message), real_notify(message, **kw)))
    return notes


class WidgetApp(App):
    """One widget alone in an app with the project's theme variables (widget tests)."""

    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget

    def get_theme_variable_defaults(self) -> dict[str, str]:
        from meeting_tui.ui.themes import VARIABLE_DEFAULTS

        return dict(VARIABLE_DEFAULTS)

    def compose(self) -> ComposeResult:
        yield self.widget


async def run_from_palette(pilot, title: str, timeout: float = 30.0) -> None:
    """Open the command palette, paste ``title`` into its search (as a terminal paste does: one search,
    not one per key; typing is covered once, in tests/test_ui_app.py) and run the command once it is the
    highlighted match."""
    from textual import events
    from textual.command import CommandInput, CommandList, CommandPalette

    app = pilot.app
    await pilot.press("ctrl+p")
    assert await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), timeout), app_state(app)
    app.screen.query_one(CommandInput).post_message(events.Paste(title))

    def top_is_title() -> bool:
        results = app.screen.query_one(CommandList)
        if results.highlighted is None or results.option_count == 0:
            return False
        return title.lower() in str(results.get_option_at_index(results.highlighted).prompt).lower()

    assert await wait_for(pilot, top_is_title, timeout), (title, app_state(app))
    await pilot.press("enter")
