"""Searching the index: ranked hits with their session, time, speaker and a line of context."""

from __future__ import annotations

import re
import shlex
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from meeting_tui.memory.index import SearchIndex
from meeting_tui.types import Source

MARK_START, MARK_END = "\x02", "\x03"  # snippet() markers, turned into the front end's highlight


class QueryError(ValueError):
    """A query FTS5 cannot parse, or a bad filter; the message names the fix."""


@dataclass
class Hit:
    session: str
    path: Path
    kind: str  # live, polished, note, minutes
    start: float | None  # seconds on the session clock
    end: float | None
    speaker: str  # the label shown (a renamed voice, else the source's label)
    source: str | None
    text: str  # the whole line
    snippet: str  # the matched words between MARK_START and MARK_END
    rank: float  # bm25: lower is better
    wall: float | None  # when it was said (epoch seconds), if known

    def as_json(self) -> dict:
        out = asdict(self)
        out["path"] = str(self.path)
        out["snippet"] = self.snippet.replace(MARK_START, "[").replace(MARK_END, "]")
        out["when"] = datetime.fromtimestamp(self.wall).astimezone().isoformat(timespec="seconds") if self.wall else None
        return out


def check_query(query: str) -> str:
    """The query as FTS5 reads it; raises QueryError with the fix when FTS5 cannot parse it."""
    query = query.strip()
    if not query:
        raise QueryError("the search query is empty: give a word or a phrase, e.g. meeting-tui search budget")
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE q USING fts5(text)")
        db.execute("SELECT * FROM q WHERE q MATCH ?", (query,)).fetchall()
    except sqlite3.OperationalError as exc:
        quoted = '"' + query.replace('"', '""') + '"'
        raise QueryError(f"cannot read the query {query!r} ({exc}); to search for these words as they are, "
                         f"put them in double quotes: meeting-tui search {shlex.quote(quoted)}") from exc
    finally:
        db.close()
    return query


_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: float | None = None) -> float:
    """``30d``, ``12h``, ``2w``, ``90m`` (ago) or a date ``2024-05-01`` (local midnight) -> epoch seconds."""
    now = time.time() if now is None else now
    m = _SINCE.match(text)
    if m:
        return now - float(m.group(1)) * _UNITS[m.group(2).lower()]
    try:
        return datetime.fromisoformat(text.strip()).astimezone().timestamp()
    except ValueError:
        raise QueryError(f"--since {text!r}: give an age like 30d, 12h, 2w, 90m, or a date like 2024-05-01") from None


def search(index: SearchIndex, query: str, *, labels: Mapping[Source, str] | None = None,
           speaker: str | None = None, since: float | None = None, session: str | None = None,
           limit: int = 50) -> list[Hit]:
    """Ranked hits for ``query`` (FTS5 syntax: words, "a phrase", OR, NOT, prefix*). Call
    ``index.refresh()`` first. A polished session answers from its polished text only."""
    query = check_query(query)
    names = {Source.MIC: "You", Source.LOOPBACK: "Them", Source.MIX: "Mixed", **dict(labels or {})}
    sql = ["SELECT s.session, s.kind, s.start, s.end_s, s.speaker, s.source, s.text,",
           f"snippet(segs_fts, 0, '{MARK_START}', '{MARK_END}', '…', 24), bm25(segs_fts), ss.started_wall",
           "FROM segs_fts JOIN segs s ON s.id = segs_fts.rowid JOIN sessions ss ON ss.session = s.session",
           "WHERE segs_fts MATCH ? AND NOT (s.kind = 'live' AND ss.polished = 1)"]
    params: list = [query]
    if speaker:
        sources = [src.value for src, name in names.items() if speaker.casefold() in (name.casefold(), src.value)]
        marks = ",".join("?" * len(sources)) or "NULL"
        sql.append(f"AND (s.speaker = ? COLLATE NOCASE OR (s.speaker IS NULL AND s.source IN ({marks})))")
        params += [speaker, *sources]
    if since is not None:
        sql.append("AND ss.started_wall + COALESCE(s.start, 0) >= ?")
        params.append(since)
    if session:
        sql.append("AND s.session = ?")
        params.append(session)
    sql.append("ORDER BY bm25(segs_fts) LIMIT ?")
    params.append(limit)
    try:
        rows = index.connection.execute(" ".join(sql), params).fetchall()
    except sqlite3.OperationalError as exc:  # what the in-memory check let through
        raise QueryError(f"cannot search for {query!r}: {exc}; put the words in double quotes") from exc
    hits = []
    for name, kind, start, end, spk, source, text, snip, rank, started in rows:
        label = spk or (names.get(Source(source)) if source in {s.value for s in Source} else None) or kind
        wall = started + (start or 0.0) if started is not None else None
        hits.append(Hit(name, index.root / name, kind, start, end, label, source, text, snip, rank, wall))
    return hits
