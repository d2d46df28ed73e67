"""The vault: one Markdown note per session in a folder of the user's notes app (an Obsidian vault).

YAML front matter (date, duration, mode, speakers, model, tags), the minutes when there are any, then the
transcript (polished when the session was). The note's place is remembered in the session folder
(``vault.json``), so that a polish or new minutes rewrite the same note wherever it was first written.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from meeting_tui import paths
from meeting_tui.session.exports import render
from meeting_tui.session.polished import transcript_for_export
from meeting_tui.session.store import load_session
from meeting_tui.types import Segment, Source

VAULT_RECORD = "vault.json"
MINUTES_NAME = "minutes.md"
_NOT_ON_WINDOWS = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


class VaultError(OSError):
    """The note cannot be written; the message names the folder and the fix."""


def safe_filename(name: str) -> str:
    """``name`` made valid on Windows (and so everywhere): no reserved characters or device names, no
    trailing dot or space, at most 120 characters."""
    name = _NOT_ON_WINDOWS.sub("-", name).strip(" .")[:120].rstrip(" .") or "meeting"
    return f"_{name}" if name.split(".")[0].upper() in _RESERVED else name


def note_filename(session_id: str, title: str = "meeting") -> str:
    """The session id first (``2024-05-01_14-03-22``), so the notes sort by date."""
    return safe_filename(f"{session_id} {title}") + ".md"


def vault_problem(folder: str | os.PathLike[str]) -> str | None:
    """Why notes cannot be written to ``folder`` (it is created if missing), or None."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create the vault folder {folder}: {exc.strerror or exc}"
    if not folder.is_dir():
        return f"the vault folder {folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot write to the vault folder {folder} (permission denied)"
    return None


def build_note(session_folder: Path, *, labels: Mapping[Source, str] | None = None,
               tags: Sequence[str] = ()) -> str:
    loaded = load_session(session_folder)
    names = {Source.MIC: "You", Source.LOOPBACK: "Them", Source.MIX: "Mixed", **dict(labels or {})}
    items, transcript = transcript_for_export(loaded)
    meta = loaded.export_meta()
    if transcript:
        meta["transcript"] = transcript
    speakers = []
    for item in sorted((i for i in items if isinstance(i, Segment)), key=lambda s: s.start):
        who = item.speaker or names.get(item.source, item.source.value)
        if who not in speakers:
            speakers.append(who)
    model = loaded.meta.get("model") or {}
    front: dict[str, Any] = {
        "date": loaded.info.started_at.isoformat(timespec="seconds") if loaded.info.started_at else None,
        "duration": _duration(loaded.info.duration_s),
        "duration_s": round(loaded.info.duration_s, 1),
        "mode": loaded.meta.get("mode"),
        "speakers": speakers,
        "model": model.get("name") if isinstance(model, dict) else str(model),
        "transcript": "polished" if transcript and transcript.startswith("polished") else "live",
        "session": loaded.info.id,
        "tags": list(tags),
    }
    head = render([], "md", labels=names, meta=meta).rstrip("\n")
    body = render(items, "md", labels=names, meta={"title": "Transcript"}).replace("# Transcript", "## Transcript", 1)
    parts = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip("\n"), "---", "", head, ""]
    minutes = _minutes(session_folder)
    if minutes:
        parts += ["## Minutes", "", minutes, ""]
    return "\n".join(parts) + "\n" + body


def write_note(session_folder: str | os.PathLike[str], vault_folder: str | os.PathLike[str], *,
               labels: Mapping[Source, str] | None = None, tags: Sequence[str] = ()) -> Path:
    """Write (or rewrite) the session's note in ``vault_folder``; remember where. Raises VaultError."""
    session_folder, vault_folder = Path(session_folder), Path(vault_folder).expanduser()
    problem = vault_problem(vault_folder)
    if problem:
        raise VaultError(f"{problem}; set [export] folder in the settings file (or --to) to a writable folder. "
                         f"The session is kept in {session_folder}")
    target = vault_folder / note_filename(session_folder.name)
    text = build_note(session_folder, labels=labels, tags=tags)
    try:
        paths.atomic_write(target, text.encode("utf-8"))
    except OSError as exc:
        raise VaultError(f"cannot write the note {target}: {exc.strerror or exc}; the session is kept in "
                         f"{session_folder}") from exc
    record = {"markdown": str(target), "labels": {s.value: n for s, n in (labels or {}).items()}, "tags": list(tags)}
    try:
        paths.atomic_write(session_folder / VAULT_RECORD, json.dumps(record, indent=2))
    except OSError:
        pass  # the note is written; only a later rewrite would miss it
    return target


def rewrite_note(session_folder: str | os.PathLike[str]) -> Path | None:
    """Rewrite the session's note where it was written (after a polish or new minutes); None when it has
    none. Raises VaultError."""
    session_folder = Path(session_folder)
    try:
        record = json.loads((session_folder / VAULT_RECORD).read_text(encoding="utf-8"))
        target = Path(record["markdown"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    labels = {Source(k): v for k, v in (record.get("labels") or {}).items() if k in {s.value for s in Source}}
    return write_note(session_folder, target.parent, labels=labels, tags=record.get("tags") or [])


def _minutes(folder: Path) -> str:
    try:
        text = (folder / MINUTES_NAME).read_text(encoding="utf-8")
    except OSError:
        return ""
    if text.startswith("---\n"):  # its own front matter: ours says it
        close = text.find("\n---", 4)
        text = text[close + 4:] if close != -1 else text
    lines = text.strip().splitlines()
    if lines and lines[0].startswith("# "):  # its own title: the note has one
        lines = lines[1:]
    return "\n".join(lines).strip()


def _duration(seconds: float) -> str:
    total = int(round(seconds))
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"
