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
    read_only = None
    if not getattr(args, "demo", False):  # the demo captures no device and saves nothing: it may run beside one
        from meeting_tui.meeting.instance import InstanceLock, running_note

        lock = InstanceLock()
        if not lock.acquire("the dashboard"):
            read_only = running_note(lock.holder())
            if not _continue_read_only(read_only):
                return 1
    app = build_app(args, read_only=read_only)
    result = app.run()
    if app.last_session is not None and app.last_session.exists():
        from meeting_tui.paths import shown

        print(f"Session saved in {shown(app.last_session)}")
    return int(result or 0)


def _continue_read_only(note: str) -> bool:
    import sys

    print(note, file=sys.stderr)
    if not sys.stdin.isatty():
        print("Quit the other one first (the dashboard: Ctrl+Q; record: Ctrl+C), or run this one in a terminal to "
              "open it read-only.", file=sys.stderr)
        return False
    try:
        answer = input("Open this one read-only (no capture, no recording, settings not saved)? [y/N] ")
    except (EOFError, KeyboardInterrupt):  # Ctrl+D / Ctrl+C at the question: quit, without a traceback
        print(file=sys.stderr)
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def build_app(args: argparse.Namespace, *, read_only: str | None = None):
    """The dashboard as `meeting-tui [--demo] [--config FILE]` builds it; ``read_only`` (why): another
    instance runs, so this one captures nothing and saves no settings."""
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
    if read_only:
        kw["capture"] = False
    app = MeetingApp(settings_path=getattr(args, "config", None), demo=demo, **kw)
    if demo or read_only:  # the demo's devices (host API "demo"), theme and gains are its own: the file stays
        app.store.persist = False
    if read_only:
        app.read_only_note = f"{read_only} This one is read-only: it captures nothing and saves no settings."
    return app
