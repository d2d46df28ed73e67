"""`meeting-tui export` and `meeting-tui sessions`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    from meeting_tui.export_formats import FORMAT_NAMES, extensions, titles

    export = subparsers.add_parser(
        "export",
        help=f"write a session's transcript as {titles()}",
        description="Write a session's transcript to a file. Unfinished sessions export everything up to their last complete line.",
    )
    export.add_argument("session", metavar="SESSION", help='a session id (or a unique start of one), a session folder, or "latest"')
    export.add_argument("-f", "--format", choices=FORMAT_NAMES, help="default: from the output's extension, else the settings' session.export_format")
    export.add_argument("-o", "--output", metavar="FILE", help=f'output file, its extension naming the format ({extensions()}); "-" for standard output (default: meeting-<id>.<ext> here)')
    export.add_argument("--label", action="append", default=[], metavar="SOURCE=NAME", help="rename a speaker, e.g. --label mic=Alice (mic, loopback, mix)")
    export.add_argument("--sessions-dir", metavar="DIR", help="where sessions live (default: settings, else the user data dir)")
    export.add_argument("--live", action="store_true", help="export the live transcript even when a polished one exists")
    export.set_defaults(func=cmd_export)

    sessions = subparsers.add_parser(
        "sessions",
        help="list past sessions, marking unfinished (recoverable) ones",
        description="List past sessions, newest first. Unfinished ones (the app stopped before the end) can be exported as they are or closed with --recover.",
    )
    sessions.add_argument("--recover", action="store_true", help="close every unfinished session (keeps each complete line)")
    sessions.add_argument("--json", action="store_true", help="print the list as JSON")
    sessions.add_argument("--sessions-dir", metavar="DIR", help="where sessions live (default: settings, else the user data dir)")
    sessions.set_defaults(func=cmd_sessions)


def _err(message: str) -> None:
    print(f"meeting-tui: {message}", file=sys.stderr)


def _settings(args: argparse.Namespace):
    from meeting_tui.settings import load_settings

    loaded = load_settings(getattr(args, "config", None))
    from meeting_tui.wording import print_settings_warnings

    print_settings_warnings(loaded.warnings)
    return loaded.settings


def _root(args: argparse.Namespace, settings) -> Path:
    return Path(args.sessions_dir).expanduser() if args.sessions_dir else settings.sessions_dir()


def write_output(items, output: str, fmt: str, *, labels=None, meta=None, note: str = "", stream=None) -> int:
    """Write a transcript for a command (``export``, ``transcribe -o``) through the export writers; says
    what was written (on ``stream``: default stdout, ``False`` for nowhere) or why not (on stderr).
    Returns the exit code."""
    from meeting_tui.session.exports import ExportError, export_file, ordered
    from meeting_tui.types import Segment
    from meeting_tui.wording import plural

    try:
        written = export_file(items, output, fmt, labels=labels, meta=meta)
    except ExportError as exc:
        _err(str(exc))
        return EXIT_FAIL
    if stream is not False:
        count = sum(isinstance(i, Segment) for i in ordered(items))
        print(f"Wrote {plural(count, 'segment')} to {written}{note}", file=stream or sys.stdout)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from meeting_tui.session.exports import ExportError, UnknownFormatError, check_output, default_filename, render
    from meeting_tui.session.store import SessionNotFound, find_session, load_session
    from meeting_tui.types import Segment, Source

    settings = _settings(args)
    fmt = args.format
    if args.output and args.output != "-":
        try:  # before anything else: a name that says no format, or a folder that is not there, stops here
            fmt = check_output(args.output, fmt)
        except ExportError as exc:
            _err(str(exc))
            return EXIT_USAGE if isinstance(exc, UnknownFormatError) else EXIT_FAIL
    fmt = fmt or settings.session.export_format
    labels = settings.ui.labels.as_dict()
    for entry in args.label:
        key, sep, name = entry.partition("=")
        try:
            labels[Source(key.strip())] = name.strip()
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            _err(f'--label "{entry}": expected SOURCE=NAME with SOURCE one of mic, loopback, mix')
            return EXIT_USAGE
    try:
        loaded = load_session(find_session(args.session, _root(args, settings)))
    except SessionNotFound as exc:
        _err(str(exc))
        return EXIT_USAGE
    except OSError as exc:
        _err(f"cannot read session {args.session}: {exc}")
        return EXIT_FAIL
    meta = loaded.export_meta()
    from meeting_tui.session.polished import transcript_for_export

    items, transcript = transcript_for_export(loaded, prefer_live=args.live)
    items = [*items, *loaded.journal.notes]  # the user's notes and flags, in time order with the lines
    if transcript:
        meta["transcript"] = transcript
    from meeting_tui.session.exports import minutes_of

    meta.update(minutes_of(loaded.info.path))
    if args.output == "-":
        sys.stdout.write(render(items, fmt, labels=labels, meta=meta))
        return EXIT_OK
    target = Path(args.output) if args.output else Path.cwd() / default_filename(loaded.info.id, fmt)
    note = " (unfinished session: everything up to its last complete line)" if not loaded.info.finished else ""
    note += f" ({transcript})" if transcript else ""
    return write_output(items, str(target), fmt, labels=labels, meta=meta, note=note)


def _clock(seconds: float) -> str:
    total = int(round(seconds))
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def cmd_sessions(args: argparse.Namespace) -> int:
    from meeting_tui.session.recovery import SessionBusy, recover_session
    from meeting_tui.session.store import list_sessions
    from meeting_tui.wording import plural

    root = _root(args, _settings(args))
    status = EXIT_OK
    if args.recover:
        for info in list_sessions(root):
            if not info.recoverable:
                continue
            try:
                report = recover_session(info.path)
            except (SessionBusy, OSError) as exc:
                _err(f"could not recover {info.id}: {exc}")
                status = EXIT_FAIL
                continue
            torn = f", set aside a partial last line ({report.torn_bytes} bytes)" if report.torn_bytes else ""
            print(f"Recovered {info.id}: {plural(report.info.segment_count, 'segment')}{torn}.")
            for note in report.notes:
                _err(f"warning: {info.id}: audio {note}")
    infos = list_sessions(root)
    if args.json:
        rows = [
            {
                "id": i.id,
                "path": str(i.path),
                "started_at": i.started_at.isoformat(timespec="seconds") if i.started_at else None,
                "duration_s": round(i.duration_s, 3),
                "mode": i.mode,
                "segments": i.segment_count,
                "gaps": i.gap_count,
                "status": i.status,
                "recoverable": i.recoverable,
            }
            for i in infos
        ]
        print(json.dumps(rows, indent=2))
        return status
    if not infos:
        print(f"No sessions yet in {root}.")
        return status
    width = max(len(i.id) for i in infos)
    print(f"{'SESSION':<{width}}  {'STARTED':<16}  {'DURATION':>8}  {'MODE':<14}  {'SEGMENTS':>8}  STATUS")
    for i in infos:
        started = i.started_at.strftime("%Y-%m-%d %H:%M") if i.started_at else "?"
        state = "UNFINISHED (recoverable)" if i.recoverable else i.status
        print(f"{i.id:<{width}}  {started:<16}  {_clock(i.duration_s):>8}  {i.mode:<14}  {i.segment_count:>8}  {state}")
    unfinished = sum(i.recoverable for i in infos)
    if unfinished:
        print(
            f"\n{plural(unfinished, 'unfinished session')}: `meeting-tui export ID` exports one as it is; "
            f"`meeting-tui sessions --recover` closes {'it' if unfinished == 1 else 'them'}."
        )
    return status
