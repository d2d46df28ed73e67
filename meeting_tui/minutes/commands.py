"""`meeting-tui minutes SESSION [--template NAME] [-o FILE]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
EXIT_CANCELLED = 130
LLM_NOTICE = ("minutes: no LLM engine is configured, so these minutes come from the rule-based extractor "
              "(decisions, commitments, requests, questions; see docs/minutes.md). For a language model's minutes set "
              '[minutes] engine = "openai" (an endpoint: Ollama, LM Studio, llama-server, a hosted one) or "local" '
              '(a GGUF model file; pip install "meeting-tui[llm]") in the settings, or pass --engine.')


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("minutes", help="decisions, action items and open questions of a session, each citing its line",
                       description="Write a session's minutes (minutes.md beside its journal): a summary, decisions, "
                                   "action items with owner and due date, open questions and your notes; every item "
                                   "cites the transcript line it rests on.")
    p.add_argument("session", metavar="SESSION", help='a session id (or a unique start of one), a folder, or "latest"')
    p.add_argument("--template", default="default", metavar="NAME",
                   help="default, standup, one-to-one, planning, interview, or NAME.toml in the config dir's templates/")
    p.add_argument("-o", "--output", metavar="FILE", help="also write the minutes here")
    p.add_argument("--engine", choices=["rules", "openai", "local"],
                   help="default: [minutes] engine in the settings (rules: no language model)")
    p.add_argument("--sessions-dir", metavar="DIR", help="where sessions live (default: settings, else the user data dir)")
    p.set_defaults(func=cmd_minutes)


def _err(message: str) -> None:
    print(f"meeting-tui: {message}", file=sys.stderr)


def cmd_minutes(args: argparse.Namespace) -> int:
    from meeting_tui.minutes.build import Cancelled, MinutesError, check_session, make_minutes, write_minutes
    from meeting_tui.minutes.engines import engine_from_settings
    from meeting_tui.minutes.render import plural
    from meeting_tui.minutes.templates import TemplateError, load_template
    from meeting_tui.paths import shown
    from meeting_tui.session.store import SessionNotFound, find_session
    from meeting_tui.settings import load_settings

    loaded = load_settings(getattr(args, "config", None))
    settings = loaded.settings
    root = Path(args.sessions_dir).expanduser() if args.sessions_dir else settings.sessions_dir()
    try:
        folder = find_session(args.session, root)
    except SessionNotFound as exc:
        _err(f"{exc}")
        return EXIT_USAGE
    try:
        template = load_template(args.template)
    except TemplateError as exc:
        _err(f"{exc}. Nothing was written.")
        return EXIT_USAGE
    extra = Path(args.output).expanduser() if args.output else None
    if extra is not None and (extra.is_dir() or not extra.parent.is_dir()):
        what = "is a folder" if extra.is_dir() else f"is in a folder that does not exist ({extra.parent})"
        _err(f"-o {extra} {what}: give a file name in an existing folder. Nothing was written.")
        return EXIT_USAGE
    said = {"text": ""}

    def progress(fraction: float, what: str) -> None:
        if what != said["text"]:
            said["text"] = what
            print(f"[minutes] {int(fraction * 100):3d}% {what}", file=sys.stderr, flush=True)

    try:
        meeting = check_session(folder, settings.ui.labels.as_dict())
        engine = engine_from_settings(settings.minutes, args.engine)
        minutes = make_minutes(folder, template, engine=engine, progress=progress, meeting=meeting)
    except Cancelled:
        _err("minutes cancelled. Nothing was written.")
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        _err("minutes cancelled (Ctrl+C). Nothing was written.")
        return EXIT_CANCELLED
    except MinutesError as exc:
        _err(f"{exc}. Nothing was written.")
        return EXIT_FAIL
    if engine is None:
        print(LLM_NOTICE, file=sys.stderr)
    elif minutes.unreadable:
        _err(f"warning: {plural(minutes.unreadable, 'part')} of the transcript got an answer from {engine.model} "
             "that was not JSON, so it gave no items; a larger model answers better (docs/minutes.md)")
    try:
        target = write_minutes(minutes, extra)
    except OSError as exc:
        _err(f"cannot write the minutes: {exc.strerror or exc}; choose another -o, or check {folder}")
        return EXIT_FAIL
    _rewrite_vault_note(folder)
    counts = {k: sum(i.kind == k for i in minutes.items) for k in ("decision", "action", "question")}
    by = "the rule-based extractor" if engine is None else f"{engine.name} ({engine.model})"
    print(f"minutes by {by}: {plural(counts['decision'], 'decision')}, {plural(counts['action'], 'action item')}, "
          f"{plural(counts['question'], 'open question')}; {plural(minutes.dropped, 'item')} dropped (the cited "
          "line did not support them)", file=sys.stderr)
    print(shown(target))
    if extra is not None:
        print(shown(extra))
    return EXIT_OK


def _rewrite_vault_note(folder: Path) -> None:
    """The session's vault note, where one was written, gets the minutes too."""
    try:
        from meeting_tui.memory.vault import VaultError, rewrite_note
    except ImportError:
        return
    try:
        rewrite_note(folder)
    except VaultError as exc:
        _err(f"warning: the minutes are written, but the vault note was not updated: {exc}")
