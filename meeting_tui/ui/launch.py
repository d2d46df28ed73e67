"""Entry point for `meeting-tui` without a subcommand (see cli.py)."""

from __future__ import annotations

import argparse


def run_app(args: argparse.Namespace) -> int:
    from meeting_tui.ui.app import MeetingApp

    app = MeetingApp(settings_path=getattr(args, "config", None), demo=bool(getattr(args, "demo", False)))
    result = app.run()
    return int(result or 0)
