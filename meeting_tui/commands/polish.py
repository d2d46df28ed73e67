"""`meeting-tui polish SESSION`: re-transcribe a session's recorded audio with a larger model."""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def register(sub: argparse._SubParsersAction) -> None:
    from meeting_tui.transcribe.decode_options import language_arg, vocabulary_arg

    p = sub.add_parser(
        "polish",
        help="re-transcribe a session's recorded audio with a larger model (after the meeting)",
        description="Re-transcribe a session's recorded audio, each source on its own, with a larger model and "
                    "beam search. The polished transcript is kept beside the live one; exports use it and say so. "
                    "Interrupted (Ctrl+C, a crash)? Run it again: it resumes.",
    )
    p.add_argument("session", metavar="SESSION", help='a session id (or a unique start of one), a folder, or "latest"')
    p.add_argument("--model", metavar="NAME|DIR",
                   help="default: [transcription.polish] model; auto = one size up from the live model "
                        "(on a server: [transcription.server] polish_model)")
    p.add_argument("--engine", choices=["local", "server"],
                   help="where to transcribe: this machine, or the speech server of [transcription.server] "
                        "(default: [transcription] engine)")
    p.add_argument("--beam-size", type=int, metavar="N", help="default: [transcription.polish] beam_size (5)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])
    p.add_argument("--cpu-threads", type=int, default=0, metavar="N", help="0: every core")
    p.add_argument("--vocabulary", metavar="TERMS", type=vocabulary_arg, help="default: the settings' vocabulary")
    p.add_argument("--language", metavar="CODE", type=language_arg,
                   help="e.g. de, or mic=de,loopback=en (default: the settings, else what the live run detected)")
    p.add_argument("--restart", action="store_true", help="polish again from the start (discard an earlier polish)")
    p.add_argument("--sessions-dir", metavar="DIR", help="where sessions live (default: settings, else the user data dir)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_polish)


def cmd_polish(args: argparse.Namespace) -> int:
    from pathlib import Path

    from meeting_tui.session.store import SessionNotFound, find_session
    from meeting_tui.settings import load_settings
    from meeting_tui.meeting.polish import PolishConfig, PolishError, PolishJob, check_polishable

    loaded = load_settings(getattr(args, "config", None))
    from meeting_tui.wording import print_settings_warnings

    print_settings_warnings(loaded.warnings)
    settings = loaded.settings
    root = Path(args.sessions_dir).expanduser() if args.sessions_dir else settings.sessions_dir()
    try:
        folder = find_session(args.session, root)
        check_polishable(folder)
    except SessionNotFound as exc:
        print(f"meeting-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PolishError as exc:
        print(f"meeting-tui: {exc}", file=sys.stderr)
        return EXIT_FAIL
    default, per = args.language or (None, {})
    cfg = PolishConfig.from_settings(settings, args.engine, model=args.model, explicit_model=bool(args.model),
                                     beam_size=args.beam_size, device=args.device,
                                     cpu_threads=args.cpu_threads or None, language=default,
                                     vocabulary=tuple(args.vocabulary) if args.vocabulary is not None else None,
                                     restart=args.restart)
    cfg.languages.update({k: v for k, v in per.items() if v})
    last = {"pct": -1}

    def progress(p) -> None:
        if args.quiet or p.stage in ("error", "cancelled"):
            return  # the result below says it, once
        pct = int(p.fraction * 100)
        if p.stage == "transcribing" and pct == last["pct"]:
            return
        last["pct"] = pct
        where = f" {pct:3d}% ({p.done_s:.0f}/{p.total_s:.0f} s)" if p.stage == "transcribing" else ""
        print(f"[{p.stage}]{where} {p.message}", file=sys.stderr, flush=True)

    job = PolishJob(folder, cfg, on_progress=progress).start()
    try:
        while job.wait(0.2) is None:
            pass
    except KeyboardInterrupt:
        job.cancel()
        job.wait()
    result = job.result
    assert result is not None
    print(result.message, file=sys.stdout if result.ok else sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAIL
