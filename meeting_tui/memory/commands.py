"""`meeting-tui search`: find what was said, across every session."""

from __future__ import annotations

import argparse
import json
import sys

EXIT_FOUND, EXIT_NONE, EXIT_USAGE, EXIT_FAIL = 0, 1, 2, 3


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "search",
        help="find words in every session's transcript, notes and minutes",
        description="Search every session (polished text where a session was polished, notes and minutes where "
                    "there are any). QUERY takes words (all must occur), \"a phrase\", OR, NOT and prefix*. "
                    "Exit status: 0 hits, 1 none, 2 bad input, 3 the index could not be used.",
    )
    p.add_argument("query", metavar="QUERY", nargs="+", help="words to find")
    p.add_argument("--speaker", metavar="LABEL", help="only lines by this speaker (You, Them, Them 2, a renamed voice, mic, loopback)")
    p.add_argument("--since", metavar="AGE", help="only what was said since: 30d, 12h, 2w, 90m, or a date 2024-05-01")
    p.add_argument("--session", metavar="ID", help='only this session (an id, a unique start of one, or "latest")')
    p.add_argument("--limit", type=int, default=20, metavar="N", help="at most N hits (default 20)")
    p.add_argument("--json", action="store_true", help="print the hits as a JSON list")
    p.add_argument("--sessions-dir", metavar="DIR", help="where sessions live (default: settings, else the user data dir)")
    p.set_defaults(func=cmd_search)
    export = subparsers.choices.get("export")  # `export --to FOLDER`: the note, as at the end of a session
    if export is not None:
        export.add_argument("--to", metavar="FOLDER", help="write the session's Markdown note (front matter, "
                            "minutes, transcript) into this folder, e.g. an Obsidian vault")
        export.set_defaults(func=_export_or_note(export.get_default("func")))


def _export_or_note(cmd_export):
    def run(args: argparse.Namespace) -> int:
        return cmd_note(args) if args.to else cmd_export(args)

    return run


def cmd_note(args: argparse.Namespace) -> int:
    from pathlib import Path

    from meeting_tui.memory.vault import VaultError, write_note
    from meeting_tui.session.store import SessionNotFound, find_session
    from meeting_tui.settings import load_settings

    loaded = load_settings(getattr(args, "config", None))
    settings = loaded.settings
    if args.output or args.format or args.live or args.label:
        _err("--to writes the session's note; leave out -o, -f, --live and --label (or use them without --to)")
        return EXIT_USAGE
    root = Path(args.sessions_dir).expanduser() if args.sessions_dir else settings.sessions_dir()
    try:
        folder = find_session(args.session, root)
    except SessionNotFound as exc:
        _err(str(exc))
        return EXIT_USAGE
    try:
        note = write_note(folder, args.to, labels=settings.ui.labels.as_dict(), tags=settings.export.tags)
    except VaultError as exc:
        _err(str(exc).replace("[export] folder in the settings file (or --to)", "--to"))
        return 1
    print(f"Wrote the note of {folder.name} to {note}")
    return 0


def _err(message: str) -> None:
    print(f"meeting-tui: {message}", file=sys.stderr)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--:--"
    total = int(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def cmd_search(args: argparse.Namespace) -> int:
    from pathlib import Path

    from meeting_tui.memory.index import IndexBusy, IndexUnavailable, SearchIndex
    from meeting_tui.memory.query import MARK_END, MARK_START, QueryError, check_query, parse_since, search
    from meeting_tui.session.store import SessionNotFound, find_session
    from meeting_tui.settings import load_settings

    loaded = load_settings(getattr(args, "config", None))
    from meeting_tui.wording import print_settings_warnings

    print_settings_warnings(loaded.warnings)
    settings = loaded.settings
    root = Path(args.sessions_dir).expanduser() if args.sessions_dir else settings.sessions_dir()
    query = " ".join(args.query)
    try:  # every check before the index is touched
        check_query(query)
        since = parse_since(args.since) if args.since else None
        if args.limit < 1:
            raise QueryError("--limit must be 1 or more")
        session = find_session(args.session, root).name if args.session else None
    except (QueryError, SessionNotFound) as exc:
        _err(str(exc))
        return EXIT_USAGE
    with SearchIndex(root) as index:
        try:
            report = index.refresh()
            if report.rebuilt:
                _err(f"note: the search index was {report.rebuilt}; rebuilt it from the sessions")
            hits = search(index, query, labels=settings.ui.labels.as_dict(), speaker=args.speaker, since=since,
                          session=session, limit=args.limit)
        except QueryError as exc:
            _err(str(exc))
            return EXIT_USAGE
        except (IndexBusy, IndexUnavailable) as exc:
            _err(str(exc))
            return EXIT_FAIL
    if args.json:
        print(json.dumps([h.as_json() for h in hits], indent=2, ensure_ascii=False))
        return EXIT_FOUND if hits else EXIT_NONE
    if not hits:
        from meeting_tui.wording import plural

        scope = f" in {session}" if session else f" in {plural(report.sessions, 'session')}"
        print(f"No match for {query!r}{scope}.")
        return EXIT_NONE
    for h in hits:
        context = " ".join(h.snippet.split()).replace(MARK_START, "[").replace(MARK_END, "]")
        where = f"{h.kind}:" if h.start is None else f"{_clock(h.start)}  {h.speaker}:"
        print(f"{h.session}  {where} {context}")
    return EXIT_FOUND
