"""`meeting-tui speakers ...`: name a voice in a session, list a session's voices, forget remembered voices.

Also the helpers the `record` and `transcribe` commands use for `--speakers`.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("speakers", help="name the voices of a session, or forget remembered voices",
                              description="Speaker labels on the system-audio side (docs/speakers.md).")
    sub = p.add_subparsers(dest="speakers_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="the voices of a session and how many lines each has")
    ls.add_argument("session", metavar="SESSION", help='a session id (or a unique start of one), a folder, or "latest"')
    ls.add_argument("--sessions-dir", metavar="DIR")
    ls.set_defaults(func=cmd_list)
    rn = sub.add_parser("rename", help='call a voice by a name in a session and its exports ("Them 2" "Sales lead")')
    rn.add_argument("session", metavar="SESSION")
    rn.add_argument("old", metavar="LABEL", help='the voice\'s label now, e.g. "Them 2"')
    rn.add_argument("new", metavar="NAME")
    rn.add_argument("--sessions-dir", metavar="DIR")
    rn.set_defaults(func=cmd_rename)
    vs = sub.add_parser("voices", help="the voices remembered across sessions ([speakers] remember_voices)")
    vs.set_defaults(func=cmd_voices)
    fg = sub.add_parser("forget", help="delete a remembered voice, or all of them")
    fg.add_argument("name", nargs="?", metavar="NAME")
    fg.add_argument("--all", action="store_true", help="forget every remembered voice (deletes voices.json)")
    fg.set_defaults(func=cmd_forget)


ACTIONS = ("list", "rename", "voices", "forget")


def list_by_default(argv: list[str]) -> list[str]:
    """``speakers latest`` reads as ``speakers list latest``: a session where the action goes means list."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):  # the options before the command
        i += 2 if argv[i] == "--config" else 1
    if argv[i:i + 1] != ["speakers"]:
        return argv
    rest = argv[i + 1:i + 2]
    if rest and not rest[0].startswith("-") and rest[0] not in ACTIONS:
        return [*argv[:i + 1], "list", *argv[i + 1:]]
    return argv


def _err(message: str) -> None:
    print(f"meeting-tui: {message}", file=sys.stderr)


def _session_folder(args):
    from meeting_tui.session.store import find_session
    from meeting_tui.settings import load_settings

    settings = load_settings(getattr(args, "config", None)).settings
    from pathlib import Path

    root = Path(args.sessions_dir).expanduser() if args.sessions_dir else settings.sessions_dir()
    return find_session(args.session, root)


def _voices(folder) -> Counter:
    from meeting_tui.session.store import load_session

    return Counter(s.speaker for s in load_session(folder).journal.segments if s.speaker)


def cmd_list(args) -> int:
    from meeting_tui.session.store import SessionNotFound

    try:
        counts = _voices(_session_folder(args))
    except SessionNotFound as exc:
        _err(str(exc))
        return EXIT_USAGE
    if not counts:
        print("No speaker labels in this session (record with --speakers, or [speakers] enabled = true).")
        return EXIT_OK
    for name, n in counts.items():
        print(f"{name}\t{n} line{'s' if n != 1 else ''}")
    return EXIT_OK


def cmd_rename(args) -> int:
    from meeting_tui.session.journal import JOURNAL_NAME, JournalWriter, speaker_event_record
    from meeting_tui.session.store import SessionNotFound

    new = " ".join(args.new.split())
    if not new:
        _err("the new name is empty; give a name, e.g. \"Sales lead\"")
        return EXIT_USAGE
    try:
        folder = _session_folder(args)
        counts = _voices(folder)
    except SessionNotFound as exc:
        _err(str(exc))
        return EXIT_USAGE
    if args.old not in counts:
        known = ", ".join(f'"{v}"' for v in counts) or "none"
        _err(f'no voice labelled "{args.old}" in session {folder.name} (its voices: {known}); '
             "see `meeting-tui speakers list SESSION`")
        return EXIT_USAGE
    try:
        writer = JournalWriter(folder / JOURNAL_NAME)
        try:
            writer.append(speaker_event_record("rename", args.old, new))
        finally:
            writer.close()
    except OSError as exc:
        _err(f"cannot write to session {folder.name}: {exc}")
        return EXIT_FAIL
    print(f'Renamed "{args.old}" to "{new}" on {counts[args.old]} lines of session {folder.name}; exports use the new name.')
    if _remember_from_session(args, folder, args.old, new):
        print(f'Remembered the voice of "{new}": later sessions will name it (forget: meeting-tui speakers forget "{new}").')
    return EXIT_OK


def _remember_from_session(args, folder, old: str, new: str) -> bool:
    """With [speakers] remember_voices on, keep the session's voice ``old`` in the memory as ``new``."""
    import numpy as np

    from meeting_tui.settings import load_settings
    from meeting_tui.speakers.memory import FILENAME, VoiceMemory

    if not load_settings(getattr(args, "config", None)).settings.speakers.remember_voices:
        return False
    voice = VoiceMemory(folder / FILENAME).voices.get(old)
    if voice is None:
        return False
    VoiceMemory().remember(new, np.asarray(voice["embedding"], np.float32), float(voice.get("seconds", 1.0)))
    return True


def cmd_voices(args) -> int:
    from meeting_tui.speakers.memory import VoiceMemory

    memory = VoiceMemory()
    if not memory.names():
        print(f"No voices remembered ({memory.path}). Turn on [speakers] remember_voices and name a voice to keep it.")
        return EXIT_OK
    for name in memory.names():
        print(f"{name}\t{memory.voices[name].get('seconds', 0)} s of speech\t{memory.voices[name].get('updated', '')}")
    return EXIT_OK


def cmd_forget(args) -> int:
    from meeting_tui.speakers.memory import VoiceMemory

    if not args.all and not args.name:
        _err("name a voice to forget, or --all (see `meeting-tui speakers voices`)")
        return EXIT_USAGE
    memory = VoiceMemory()
    gone = memory.forget(None if args.all else args.name)
    if not gone and not args.all:
        _err(f'no remembered voice "{args.name}" (remembered: {", ".join(memory.names()) or "none"})')
        return EXIT_USAGE
    print(f"Forgot {len(gone)} voice{'s' if len(gone) != 1 else ''}" + (f": {', '.join(gone)}" if gone else "") + ".")
    return EXIT_OK


# --- helpers for `record --speakers` and `transcribe --speakers` ----------------------------------------


def make_labeller(settings, *, prefix: str = "Them"):
    """A SpeakerLabeller from the settings, or raise EmbedderUnavailable (message names the fix)."""
    from meeting_tui.settings import SpeakerSettings
    from meeting_tui.speakers.labeller import SpeakerLabeller

    speakers = settings.speakers if settings is not None else SpeakerSettings()
    return SpeakerLabeller.from_settings(speakers, prefix=prefix)


def label_file_segments(labeller, segments, audio, source) -> None:
    """Label a transcribed file's ``source`` lines in time order, as live would; merges relabel in place."""
    from meeting_tui.types import SESSION_RATE

    by_id = {}
    for i, seg in enumerate(segments):
        if seg.source is not source or not seg.text.strip():
            continue
        seg.id = seg.id or i + 1
        a, b = int(seg.start * SESSION_RATE), int(seg.end * SESSION_RATE)
        segments[i] = by_id[seg.id] = labeller.label(seg, audio[a:b])
        for ev in labeller.events:
            for line_id in ev.line_ids:
                if line_id in by_id and by_id[line_id].speaker == ev.old:
                    by_id[line_id].speaker = ev.new
        labeller.events.clear()
