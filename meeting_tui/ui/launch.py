"""Entry point for `meeting-tui` without a subcommand (see cli.py)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


def _log_to_file() -> None:
    """Core warnings (worker errors...) go to a log file: anything written to the terminal would paint
    over the dashboard."""
    from meeting_tui import paths

    try:
        folder = paths.private_dir(paths.log_dir())
        handler: logging.Handler = logging.FileHandler(folder / "meeting-tui.log", encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def run_app(args: argparse.Namespace) -> int:
    _log_to_file()
    app = build_app(args)
    result = app.run()
    if app.last_session is not None and app.last_session.exists():
        from meeting_tui.paths import shown

        print(f"Session saved in {shown(app.last_session)}")
    return int(result or 0)


def build_app(args: argparse.Namespace):
    """The dashboard as `meeting-tui [--demo] [--config FILE]` builds it."""
    from meeting_tui.ui.app import MeetingApp

    demo = bool(getattr(args, "demo", False))
    kw = {}
    if demo:
        # The demo shows the product working: it records at once, into a folder of its own (not the user's
        # session list) unless asked to keep it.
        kw["record_on_launch"] = True
        if not getattr(args, "demo_save", False):
            import tempfile

            kw["sessions_dir"] = Path(tempfile.mkdtemp(prefix="meeting-tui-demo-"))
    app = MeetingApp(settings_path=getattr(args, "config", None), demo=demo, **kw)
    if demo:  # its devices (host API "demo"), theme and gains are the demo's: the user's file stays as it is
        app.store.persist = False
    return app
