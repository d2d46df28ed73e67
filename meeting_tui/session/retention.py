"""How long a session's recorded audio is kept: ``[session] keep_audio_days`` (0 keeps it for ever).

The audio is what ``polish`` re-transcribes; the transcript, notes and minutes stay when it goes. Pruning runs
when a session starts (``Meeting.start_session``): folders that ended more than the given days ago lose their
WAV files, and ``meta.json`` records when (``audio_pruned``) so that polish can say why there is nothing to
polish. A folder still being recorded or polished (its lock) is left alone."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from meeting_tui.types import SESSION_RATE

log = logging.getLogger(__name__)

DAY_S = 86400.0
# A source's audio is 16-bit mono WAV at SESSION_RATE; meetings record the mic, the loopback and their mix.
MB_PER_HOUR_PER_SOURCE = SESSION_RATE * 2 * 3600 / 1e6
MEETING_SOURCES = 3


def disk_cost() -> str:
    """What recording a meeting's audio costs, as polish says it where it is offered."""
    return f"about {MB_PER_HOUR_PER_SOURCE * MEETING_SOURCES:.0f} MB per hour of meeting"


@dataclass
class Pruned:
    sessions: int = 0
    bytes: int = 0


def prune_audio(root: Path, days: int, now: float | None = None) -> Pruned:
    """Delete the audio of sessions that ended more than ``days`` ago under ``root`` (0: keep everything)."""
    from meeting_tui.session.lock import is_locked
    from meeting_tui.session.store import read_meta, write_meta

    out = Pruned()
    if days <= 0 or not root.is_dir():
        return out
    now = time.time() if now is None else now
    for folder in root.iterdir():
        audio = folder / "audio"
        if not audio.is_dir() or is_locked(folder) or _polishing(folder):
            continue
        meta = read_meta(folder)
        ended = float(meta.get("started_wall") or 0) + float(meta.get("duration_s") or 0)
        if not meta or not ended or now - ended < days * DAY_S:
            continue
        for wav in audio.glob("*.wav"):
            try:
                size = wav.stat().st_size
                wav.unlink()
            except OSError as exc:
                log.warning("could not prune %s: %s", wav, exc)
                continue
            out.bytes += size
        meta["audio"] = {}
        meta["audio_pruned"] = time.strftime("%Y-%m-%d", time.localtime(now))
        write_meta(folder, meta)
        out.sessions += 1
    return out


def _polishing(folder: Path) -> bool:
    from meeting_tui.session.lock import SessionLock
    from meeting_tui.session.polished import POLISH_LOCK

    if not (folder / POLISH_LOCK).exists():
        return False
    probe = SessionLock(folder)
    probe.path = folder / POLISH_LOCK
    try:
        if probe.acquire(write_pid=False):
            probe.release()
            return False
    except OSError:
        return False
    return True


def prune_at_start(root: Path, days: int) -> None:
    """At a session's start: the audio past ``days`` goes (0 keeps it), said in the log; a failure only logged."""
    if not days:
        return
    try:
        pruned = prune_audio(root, days)
    except OSError:
        log.exception("pruning old audio failed")
        return
    if pruned.sessions:
        log.info("deleted the audio of %d sessions older than %d days (%.0f MB)", pruned.sessions, days,
                 pruned.bytes / 1e6)
