"""CLI: ``meeting-tui doctor`` (see meeting_tui/doctor/probes.py)."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    from meeting_tui.doctor.probes import PROBES

    p = subparsers.add_parser(
        "doctor", help="try each capture mode for a few seconds and recommend the one that works",
        description="Probe mic alone, loopback alone, both in one process, both in two worker processes, and FFmpeg; "
                    "print levels per source and recommend a mode.")
    p.add_argument("--mic", metavar="NAME", help="mic device (default: the system default)")
    p.add_argument("--loopback", metavar="NAME", help="loopback device / monitor source (default: the default output's)")
    p.add_argument("--seconds", type=float, default=3.0, help="capture time per probe (default 3)")
    p.add_argument("--no-tone", action="store_true", help="do not play the quiet test signal on the output")
    p.add_argument("--only", metavar="PROBES", help=f"comma-separated subset of: {', '.join(PROBES)}")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--save", action="store_true", help="write the recommended mode and devices to the settings file")
    p.add_argument("--server", action="store_true",
                   help="check only the speech server of [transcription.server] (reachable, model, round trip)")
    p.set_defaults(func=run)


SPEAK_PROMPT = ("Speak (or keep talking) while the doctor listens: a headset that sends nothing between words "
                "is then told from a muted one.")


def _server(args: argparse.Namespace, as_json: bool):
    """The speech server's check when transcription runs on one (or --server asks), else None."""
    from meeting_tui.settings import load_settings
    from meeting_tui.transcribe.config import server_config

    tr = load_settings(getattr(args, "config", None)).settings.transcription
    server = server_config(tr)
    if server is None:
        if args.server:
            print('meeting-tui doctor: no speech server configured: set [transcription] engine = "server" and '
                  "[transcription.server] url in the settings file", file=sys.stderr)
        return None
    from meeting_tui.doctor.server_check import check_server
    from meeting_tui.transcribe.model_select import speech_sample

    return check_server(server, speech_sample())


def run(args: argparse.Namespace) -> int:
    from meeting_tui.doctor import probes as doctor

    if args.server:
        check = _server(args, args.json)
        if check is None:
            return 2
        print(json.dumps(check.to_json(), indent=2) if args.json else check.format())
        return 0 if check.ok else 1

    only = tuple(x.strip() for x in args.only.split(",")) if args.only else doctor.PROBES
    unknown = [x for x in only if x not in doctor.PROBES]
    if unknown:
        print(f"meeting-tui doctor: unknown probe(s) {', '.join(unknown)}; choose from {', '.join(doctor.PROBES)}",
              file=sys.stderr)
        return 2
    progress = None if args.json else (lambda msg: print(msg, file=sys.stderr, flush=True))
    if progress is not None:
        progress(SPEAK_PROMPT)
    report = doctor.run_doctor(mic=args.mic, loopback=args.loopback, seconds=args.seconds, tone=not args.no_tone,
                               only=only, progress=progress)
    check = _server(args, args.json)
    if args.json:
        print(json.dumps(report.to_json() | ({"server": check.to_json()} if check else {}), indent=2))
    else:
        print(doctor.format_report(report) + (f"\n\n{check.format()}" if check else ""))
    if report.recommendation.mode is None:
        from meeting_tui.capture.preflight import sound_server_problem

        cause = sound_server_problem()
        if cause:
            print(f"cause: {cause}", file=sys.stderr)
    if args.save:
        if report.recommendation.mode is None:
            print("nothing saved: no mode works", file=sys.stderr)
            return 1
        try:
            path = doctor.save_recommendation(report.recommendation, getattr(args, "config", None))
        except Exception as exc:  # SettingsSaveError and friends: say why, keep the exit code meaningful
            print(f"could not save settings: {exc}", file=sys.stderr)
            return 1
        print(f"saved mode {report.recommendation.mode.value} to {path}", file=sys.stderr)
    return 0 if report.recommendation.mode is not None else 1
