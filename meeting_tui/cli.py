"""The `meeting-tui` command line.

Without a subcommand it launches the dashboard. Each feature package contributes its subcommands through
a `register(subparsers)` function so this file stays a thin index; imports are lazy so that
`meeting-tui worker` (started once per source) does not pay for Textual or faster-whisper.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (module, function) pairs; each function adds its subparsers and sets `func` on them.
_COMMAND_MODULES = [
    "meeting_tui.capture.commands",  # worker, devices
    "meeting_tui.commands.transcribe",  # transcribe
    "meeting_tui.commands.record",  # record
    "meeting_tui.commands.monitor",  # monitor
    "meeting_tui.session.commands",  # export, sessions
    "meeting_tui.doctor.commands",  # doctor
    "meeting_tui.commands.polish",  # polish
    "meeting_tui.speakers.commands",  # speakers list/rename/voices/forget
    "meeting_tui.commands.terminal_profile",  # terminal-profile (Windows Terminal)
    "meeting_tui.memory.commands",  # search
    "meeting_tui.callwatch.commands",  # watch
    "meeting_tui.minutes.commands",  # minutes
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meeting-tui",
        description="Live meeting transcription: your mic and the system audio, each in its own capture process.",
    )
    parser.add_argument("--demo", action="store_true", help="run the dashboard on bundled recordings (no sound card needed)")
    parser.add_argument("--demo-save", action="store_true",
                        help="with --demo: keep the demo's session in your session list (default: a temporary folder)")
    parser.add_argument("--config", metavar="FILE", help="settings file (default: the user config dir; env MEETING_TUI_CONFIG)")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency inside the module: say so
                raise
            continue
        module.register(sub)
    return parser


def utf8_when_redirected() -> None:
    """Text to a file or pipe: UTF-8 with replacement. Without this, Windows encodes non-console stdio with
    the ANSI code page and the first device name or transcript line outside it raises UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if not stream.isatty() and hasattr(stream, "reconfigure"):
                stream.reconfigure(encoding="utf-8", errors="replace")
        except (OSError, ValueError, AttributeError):
            pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    utf8_when_redirected()
    if argv[:1] == ["worker"]:  # hot path, started once per source: skip every other import
        from meeting_tui.capture.worker import run

        return run(argv[1:])
    from meeting_tui.capture.winproc import opt_out_of_power_throttling

    opt_out_of_power_throttling()  # the app too: its terminal is often in the background during a call
    from meeting_tui.numpy_start import import_numpy_with_one_blas_thread

    import_numpy_with_one_blas_thread()  # before the commands' imports load it with a pool per core
    parser = build_parser()
    from meeting_tui.speakers.commands import list_by_default

    args = parser.parse_args(list_by_default(argv))
    if args.version:
        from meeting_tui import __version__

        print(f"meeting-tui {__version__}")
        return 0
    from meeting_tui.paths import config_arg_problem

    problem = config_arg_problem(args.config, creates=args.command == "doctor" and bool(getattr(args, "save", False)))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.command is None:
        from meeting_tui.ui.launch import run_app

        return run_app(args)
    from meeting_tui.commands.output import run_quietly_into_a_pipe

    return run_quietly_into_a_pipe(args.func, args)


EXIT_GRACE_S = 20.0


def entry() -> int:
    """The `meeting-tui` program (console script, ``python -m meeting_tui``): ``main``, then a guard on the
    exit itself. Tests call ``main`` in their own process, without the guard."""
    rc = main()
    _end_within(EXIT_GRACE_S)
    return rc


def _end_within(seconds: float) -> None:
    """The command is done and its session saved: from here the process must end. A thread a device library
    left blocked (a COM call that never returns) would keep it alive at the interpreter's exit; past
    ``seconds`` faulthandler prints every thread's stack (which call hung) and ends the process."""
    import faulthandler

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    try:
        faulthandler.dump_traceback_later(seconds, exit=True)
    except (AttributeError, OSError, RuntimeError, ValueError):  # no stderr to write to (pythonw)
        pass


if __name__ == "__main__":
    sys.exit(entry())
