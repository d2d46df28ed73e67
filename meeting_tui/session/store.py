"""Session folders: opening a live session, listing and loading past ones.

A session folder (``<sessions dir>/<id>/``) holds ``meta.json`` (how it was recorded, plus a summary
once closed), ``journal.jsonl`` (the transcript, see ``journal.py``), ``session.lock`` while recording,
and ``audio/*.wav`` when recording audio.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from meeting_tui import __version__, paths
from meeting_tui.session.journal import (
    FORMAT_VERSION,
    JOURNAL_NAME,
    Item,
    JournalContents,
    JournalWriter,
    Note,
    apply_retraction,
    gap_to_record,
    note_record,
    read_journal,
    retraction_to_record,
    segment_to_record,
)
from meeting_tui.session.lock import SessionLock, is_locked
from meeting_tui.types import AudioChunk, DeviceRef, DrainProgress, Gap, Mode, Segment, Source

META_NAME = "meta.json"


class Session:
    """A recording session: create with ``Session.open(...)``, then append and close.

    ``append_segment``/``append_gap`` are thread-safe and durable (fsynced) when they return. The object is
    also a capture-engine listener: ``on_gap`` journals gaps and ``on_audio``/``on_mix`` feed the audio
    recorder when recording audio.
    """

    def __init__(self, path: Path, meta: dict[str, Any], journal: JournalWriter, lock: SessionLock) -> None:
        self.path = path
        self.id = path.name
        self.meta = meta
        self.items: list[Item] = []
        self.notes: list[Note] = []
        self.recorder = None  # an AudioRecorder when recording audio
        self.state = "recording"  # then "draining" (progress reported), then "closed"
        self.last_progress: DrainProgress | None = None
        self._journal = journal
        self._lock = lock
        self._mutex = threading.Lock()
        self._progress_listeners: list[Callable[[DrainProgress], None]] = []

    # --- opening --------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        root: str | os.PathLike[str] | None = None,
        *,
        mode: Mode | str = Mode.MEETING,
        devices: Mapping[Source, DeviceRef | None] | None = None,
        model: Mapping[str, Any] | None = None,
        gains_db: Mapping[Source, float] | None = None,
        record_audio: bool = False,
        audio_sources: Iterable[Source] | None = None,
        extra: Mapping[str, Any] | None = None,
        now: float | None = None,
    ) -> Session:
        """Create a new session folder under ``root`` (default: ``paths.sessions_dir()``). Raises OSError.

        ``model`` is free-form (name, device, compute_type, language, beam_size...). ``audio_sources``
        defaults to the mode's sources plus the mix.
        """
        now = time.time() if now is None else now
        mode = Mode(mode)
        root_dir = paths.private_dir(paths.sessions_dir(root))
        folder = _new_folder(root_dir, now)
        lock = SessionLock(folder)
        lock.acquire()
        started = datetime.fromtimestamp(now, timezone.utc).astimezone()
        meta: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "id": folder.name,
            "app_version": __version__,
            "started_at": started.isoformat(timespec="seconds"),
            "started_wall": round(now, 3),
            "mode": mode.value,
            "devices": {s.value: _device_dict(r) for s, r in (devices or {}).items()},
            "model": dict(model or {}),
            "gains_db": {Source(s).value: float(g) for s, g in (gains_db or {}).items()},
            "record_audio": bool(record_audio),
            "audio": {},
            **dict(extra or {}),
        }
        journal = JournalWriter(folder / JOURNAL_NAME)
        session = cls(folder, meta, journal, lock)
        try:
            if record_audio:
                from meeting_tui.session.recorder import AudioRecorder  # soundfile only when needed

                sources = list(audio_sources) if audio_sources is not None else [*mode.sources, Source.MIX]
                session.recorder = AudioRecorder(folder / "audio", sources)
                meta["audio"] = {s.value: p.relative_to(folder).as_posix() for s, p in session.recorder.files.items()}
            write_meta(folder, meta)
            journal.append({"t": "start", "v": FORMAT_VERSION, "id": folder.name, "wall": meta["started_wall"]})
        except BaseException:
            if session.recorder is not None:
                session.recorder.close()
            journal.close()
            lock.release()  # the folder stays, listed as unfinished, rather than looking live forever
            raise
        return session

    # --- writing --------------------------------------------------------------------------------------

    def append_segment(self, segment: Segment) -> bool:
        """Journal a final segment (fsynced on return). Partials are not journaled: returns False."""
        if not segment.final:
            return False
        self._journal.append(segment_to_record(segment))
        with self._mutex:
            self.items.append(segment)
        return True

    def append_retraction(self, segment: Segment, action: str, score: float) -> None:
        """Journal that the echo filter judged a journaled "You" segment an echo (``action`` drop or mark)."""
        rec = retraction_to_record(segment, action, score)
        self._journal.append(rec)
        with self._mutex:
            apply_retraction(self.items, rec)

    def append_gap(self, gap: Gap) -> None:
        """Journal a span with no audio from a source, so that the transcript shows it."""
        self._journal.append(gap_to_record(gap))
        with self._mutex:
            self.items.append(gap)

    def append_note(self, note: Note) -> None:
        """Journal a note, mark or flag (fsynced on return)."""
        self._journal.append(note_record(note))
        with self._mutex:
            self.notes.append(note)

    def append_event(self, record: Mapping[str, Any]) -> None:
        """Journal another record (e.g. ``journal.speaker_event_record``): fsynced on return."""
        self._journal.append(dict(record))

    # Capture-engine listener contracts (AudioListener, MixListener, GapListener: engine.add_listener(session)).
    def on_gap(self, gap: Gap) -> None:
        self.append_gap(gap)

    def on_audio(self, chunk: AudioChunk) -> None:
        if self.recorder is not None:
            self.recorder.write(chunk)

    def on_mix(self, chunk: AudioChunk) -> None:
        if self.recorder is not None:
            self.recorder.write(chunk)

    # --- draining and closing -------------------------------------------------------------------------

    def add_progress_listener(self, callback: Callable[[DrainProgress], None]) -> None:
        """``callback(DrainProgress)`` runs on the reporting thread (the transcriber's): keep it cheap."""
        self._progress_listeners.append(callback)

    def report_progress(self, done_s: float, total_s: float) -> None:
        """For the transcriber while it drains the queue after Stop."""
        self.state = "draining"
        self.last_progress = DrainProgress(done_s, total_s)
        for callback in list(self._progress_listeners):
            callback(self.last_progress)

    @property
    def closed(self) -> bool:
        return self.state == "closed"

    @property
    def segment_count(self) -> int:
        return sum(isinstance(i, Segment) for i in self.items)

    @property
    def duration_s(self) -> float:
        return max((item_end(i) for i in self.items), default=0.0)

    def close(self, reason: str = "stopped", *, duration_s: float | None = None) -> None:
        """Write the end marker and the summary, stop recording audio, release the folder. Idempotent.

        Call it after the transcriber has drained; ``duration_s`` is the session clock at stop.
        """
        if self.closed:
            return
        if self.recorder is not None:
            self.recorder.close()
        duration = max(self.duration_s, duration_s or 0.0)
        now = time.time()
        end = {"t": "end", "reason": reason, "wall": round(now, 3), "duration_s": round(duration, 3), "segments": self.segment_count}
        try:
            self._journal.append(end)
            self._journal.close()
            self.meta.update(end_summary(end, now))
            write_meta(self.path, self.meta)  # retried while Windows holds meta.json (paths.replace)
        finally:
            # Never half closed: the folder is released even if meta.json could not be rewritten (the
            # journal's end marker is the record; recovery rebuilds the summary from it).
            self._lock.release(remove=True)
            self.state = "closed"

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close("stopped" if exc_type is None else "error")


def _new_folder(root: Path, now: float) -> Path:
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(now))
    for n in range(1, 1000):
        folder = root / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir(mode=paths.DIR_MODE)
        except FileExistsError:
            continue
        paths.private_dir(folder)
        return folder
    raise FileExistsError(f"too many sessions named {stamp} in {root}")


def _device_dict(ref: DeviceRef | None) -> dict[str, str] | None:
    return None if ref is None else {"name": ref.name, "hostapi": ref.hostapi}


def item_end(item: Item) -> float:
    return item.end if isinstance(item, Segment) else item.end_s


def end_summary(end: Mapping[str, Any], now: float) -> dict[str, Any]:
    ended = datetime.fromtimestamp(now, timezone.utc).astimezone()
    return {
        "ended_at": ended.isoformat(timespec="seconds"),
        "end_reason": end.get("reason"),
        "duration_s": end.get("duration_s"),
        "segments": end.get("segments"),
    }


def write_meta(folder: Path, meta: Mapping[str, Any]) -> None:
    paths.atomic_write(folder / META_NAME, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")


def read_meta(folder: Path) -> dict[str, Any]:
    try:
        meta = json.loads((folder / META_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


# --- past sessions --------------------------------------------------------------------------------------


@dataclass
class SessionInfo:
    id: str
    path: Path
    started_at: datetime | None
    duration_s: float
    mode: str
    segment_count: int
    gap_count: int
    finished: bool  # has an end marker
    live: bool  # another process is recording it right now
    end_reason: str | None = None  # "stopped", "recovered", "error"
    torn: bool = False  # the journal ends in a partial line (killed mid-write)

    @property
    def recoverable(self) -> bool:
        return not self.finished and not self.live

    @property
    def status(self) -> str:
        if self.live:
            return "recording"
        if not self.finished:
            return "unfinished"
        return "recovered" if self.end_reason == "recovered" else "done"


@dataclass
class LoadedSession:
    info: SessionInfo
    meta: dict[str, Any]
    journal: JournalContents

    @property
    def items(self) -> list[Item]:
        return self.journal.items

    def export_meta(self) -> dict[str, Any]:
        """The ``meta`` argument for ``exports.render``/``export_file``."""
        started = str(self.meta.get("started_at") or "")
        out: dict[str, Any] = {"title": f"Meeting {started[:16].replace('T', ' ')}" if started else f"Meeting {self.info.id}"}
        out.update(session=self.info.id, started=started or None, mode=self.meta.get("mode"))
        out.update(duration_s=round(self.info.duration_s, 3), status=self.info.status)
        return {k: v for k, v in out.items() if v is not None}


class SessionNotFound(LookupError):
    pass


def load_session(folder: str | os.PathLike[str]) -> LoadedSession:
    """Read a session folder (finished or not) without changing it. Raises OSError if it has no journal."""
    folder = Path(folder)
    meta = read_meta(folder)
    journal = read_journal(folder / JOURNAL_NAME)
    return LoadedSession(_info(folder, meta, journal), meta, journal)


def _info(folder: Path, meta: Mapping[str, Any], journal: JournalContents) -> SessionInfo:
    started = None
    wall = meta.get("started_wall") or (journal.start or {}).get("wall")
    if isinstance(wall, (int, float)):
        started = datetime.fromtimestamp(wall, timezone.utc).astimezone()
    duration = max((item_end(i) for i in journal.items), default=0.0)
    if journal.end and isinstance(journal.end.get("duration_s"), (int, float)):
        duration = max(duration, float(journal.end["duration_s"]))
    return SessionInfo(
        id=folder.name,
        path=folder,
        started_at=started,
        duration_s=duration,
        mode=str(meta.get("mode", "?")),
        segment_count=len(journal.segments),
        gap_count=len(journal.items) - len(journal.segments),
        finished=journal.finished,
        live=not journal.finished and is_locked(folder),
        end_reason=(journal.end or {}).get("reason"),
        torn=bool(journal.torn_tail),
    )


def list_sessions(root: str | os.PathLike[str] | None = None) -> list[SessionInfo]:
    """Every session under ``root`` (default: ``paths.sessions_dir()``), newest first."""
    root_dir = paths.sessions_dir(root)
    if not root_dir.is_dir():
        return []
    infos = []
    for folder in root_dir.iterdir():
        if not (folder / JOURNAL_NAME).is_file():
            continue
        try:
            infos.append(load_session(folder).info)
        except OSError:
            continue  # unreadable folder: not ours to judge
    return sorted(infos, key=lambda i: (i.started_at.timestamp() if i.started_at else 0.0, i.id), reverse=True)


def find_session(ref: str, root: str | os.PathLike[str] | None = None) -> Path:
    """A session folder from a path, an id, a unique id prefix, or "latest". Raises SessionNotFound."""
    as_path = Path(ref).expanduser()
    if (as_path / JOURNAL_NAME).is_file():
        return as_path
    sessions = list_sessions(root)
    if ref in ("latest", "last") and sessions:
        return sessions[0].path
    exact = [s for s in sessions if s.id == ref]
    matches = exact or [s for s in sessions if s.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0].path
    where = paths.sessions_dir(root)
    if not matches:
        hint = f" Recent: {', '.join(s.id for s in sessions[:3])}." if sessions else ""
        raise SessionNotFound(f'No session "{ref}" in {where}.{hint} See `meeting-tui sessions`.')
    raise SessionNotFound(f'"{ref}" matches {len(matches)} sessions in {where}: {", ".join(s.id for s in matches[:5])}.')
