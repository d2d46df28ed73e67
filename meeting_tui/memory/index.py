"""The search index: SQLite FTS5 in the data folder, one file per sessions folder.

It follows the session files: each refresh reads only what was appended to a journal since the last one
(by byte offset), re-reads a document that changed, forgets sessions whose folder is gone, and starts a
file over when it shrank or was replaced. The index holds nothing the sessions do not: when it is missing,
from another version, or damaged, it is deleted and rebuilt from them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from meeting_tui import paths
from meeting_tui.memory.extract import DOCUMENTS, LINE_FILES, Changes, Row, read_document, read_lines
from meeting_tui.session.journal import JOURNAL_NAME

SCHEMA_VERSION = "1"
HEAD_BYTES = 64  # a replaced file is told from a grown one by its first bytes
BUSY_TIMEOUT_S = 5.0

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE sessions(session TEXT PRIMARY KEY, started_wall REAL, polished INTEGER NOT NULL DEFAULT 0);
CREATE TABLE files(session TEXT, name TEXT, size INTEGER, mtime_ns INTEGER, offset INTEGER, head BLOB,
                   PRIMARY KEY(session, name));
CREATE TABLE aliases(session TEXT, old TEXT, new TEXT, PRIMARY KEY(session, old));
CREATE TABLE segs(id INTEGER PRIMARY KEY, session TEXT, file TEXT, kind TEXT, start REAL, end_s REAL,
                  source TEXT, speaker TEXT, seg_id INTEGER, text TEXT);
CREATE INDEX segs_session ON segs(session, file);
CREATE VIRTUAL TABLE segs_fts USING fts5(text, content='segs', content_rowid='id',
                                         tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER segs_ai AFTER INSERT ON segs BEGIN
  INSERT INTO segs_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER segs_ad AFTER DELETE ON segs BEGIN
  INSERT INTO segs_fts(segs_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""


class IndexBusy(RuntimeError):
    """Another process holds the index longer than we wait."""


class IndexUnavailable(RuntimeError):
    """The index cannot be created or written (its folder is not writable)."""


@dataclass
class RefreshReport:
    sessions: int = 0  # sessions in the folder
    added: int = 0  # rows added
    forgotten: int = 0  # sessions whose folder went away
    rebuilt: str | None = None  # why the index was rebuilt from scratch, when it was


def index_path(root: Path) -> Path:
    """``<data dir>/search/index-<hash of the sessions folder>.sqlite3``."""
    key = hashlib.sha1(str(Path(root).expanduser().resolve()).encode("utf-8")).hexdigest()[:12]
    return paths.data_dir() / "search" / f"index-{key}.sqlite3"


class SearchIndex:
    """``SearchIndex(sessions_root)``; ``refresh()`` before ``connection`` is queried; ``close()``."""

    def __init__(self, root: str | os.PathLike[str], path: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root)
        self.path = Path(path) if path else index_path(self.root)
        self._db: sqlite3.Connection | None = None

    @property
    def connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._open()
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- opening, and starting over ---------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            paths.private_dir(self.path.parent)
            fresh = not self.path.exists()
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.OperationalError) as exc:
            raise IndexUnavailable(f"cannot create the search index {self.path}: {exc}. Set "
                                   f"{paths.DATA_ENV} to a writable folder") from exc
        if fresh:
            paths.make_private(self.path)
        return db

    def _schema_ok(self, db: sqlite3.Connection) -> str | None:
        """None when the index is usable; else why it is rebuilt."""
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            return "new"
        if "meta" not in tables:
            return "not a search index"
        version = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if not version or version[0] != SCHEMA_VERSION:
            return "made by another version"
        return None

    def _reset(self) -> None:
        self.close()
        for suffix in ("", "-journal", "-wal", "-shm"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise IndexUnavailable(f"the search index {self.path} is damaged and cannot be deleted ({exc}); "
                                       "delete it by hand and search again") from exc
        db = self.connection
        db.executescript(_SCHEMA)
        db.execute("INSERT INTO meta VALUES ('schema', ?), ('root', ?)", (SCHEMA_VERSION, str(self.root)))

    # --- refresh --------------------------------------------------------------------------------------

    def refresh(self) -> RefreshReport:
        """Bring the index up to date with the sessions folder. Raises IndexBusy, IndexUnavailable."""
        rebuilt = None
        try:
            why = self._schema_ok(self.connection)
            if why is not None:
                rebuilt = None if why == "new" else why
                self._reset()
            report = self._refresh()
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise IndexBusy(_busy_message(self.path)) from exc
            if "readonly" in str(exc) or "unable to open" in str(exc):
                raise IndexUnavailable(f"cannot write the search index {self.path}: {exc}. Set "
                                       f"{paths.DATA_ENV} to a writable folder") from exc
            rebuilt = f"damaged ({exc})"
            report = self._rebuild()
        except sqlite3.DatabaseError as exc:  # not a database, malformed image, ...
            rebuilt = f"damaged ({exc})"
            report = self._rebuild()
        report.rebuilt = rebuilt
        return report

    def _rebuild(self) -> RefreshReport:
        try:
            self._reset()
            return self._refresh()
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise IndexBusy(_busy_message(self.path)) from exc
            raise IndexUnavailable(f"cannot rebuild the search index {self.path}: {exc}") from exc

    def _refresh(self) -> RefreshReport:
        db = self.connection
        report = RefreshReport()
        present = _session_folders(self.root)
        report.sessions = len(present)
        db.execute("BEGIN IMMEDIATE")
        try:
            known = {r[0] for r in db.execute("SELECT session FROM sessions")}
            for gone in known - set(present):
                self._forget(db, gone)
                report.forgotten += 1
            for name, folder in present.items():
                if name not in known:
                    db.execute("INSERT INTO sessions(session, started_wall) VALUES (?, ?)",
                               (name, _started_wall(folder)))
                try:
                    report.added += self._refresh_session(db, name, folder)
                except FileNotFoundError:  # the folder was deleted while we read it
                    self._forget(db, name)
                    report.forgotten += 1
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return report

    def _forget(self, db: sqlite3.Connection, session: str) -> None:
        for table in ("segs", "files", "aliases", "sessions"):
            db.execute(f"DELETE FROM {table} WHERE session=?", (session,))

    def _refresh_session(self, db: sqlite3.Connection, session: str, folder: Path) -> int:
        added = 0
        for spec in LINE_FILES:
            added += self._refresh_lines(db, session, folder / spec.name, spec.kind)
        for doc in DOCUMENTS:
            added += self._refresh_document(db, session, folder / doc.name, doc.kind)
        return added

    def _tracked(self, db: sqlite3.Connection, session: str, name: str):
        return db.execute("SELECT size, mtime_ns, offset, head FROM files WHERE session=? AND name=?",
                          (session, name)).fetchone()

    def _drop_file(self, db: sqlite3.Connection, session: str, name: str) -> None:
        db.execute("DELETE FROM segs WHERE session=? AND file=?", (session, name))
        db.execute("DELETE FROM files WHERE session=? AND name=?", (session, name))
        if name != JOURNAL_NAME and any(spec.name == name and spec.kind == "polished" for spec in LINE_FILES):
            db.execute("UPDATE sessions SET polished=0 WHERE session=?", (session,))

    def _changed(self, db: sqlite3.Connection, session: str, path: Path):
        """(its row, its stat) when ``path`` changed since it was indexed; None when it did not, or is gone
        (its rows dropped; a missing journal raises FileNotFoundError: the session went)."""
        tracked = self._tracked(db, session, path.name)
        try:
            st = path.stat()
        except FileNotFoundError:
            if tracked:
                self._drop_file(db, session, path.name)
            if path.name == JOURNAL_NAME:
                raise
            return None
        if tracked and (st.st_size, st.st_mtime_ns) == (tracked[0], tracked[1]):
            return None
        return tracked, st

    def _refresh_lines(self, db: sqlite3.Connection, session: str, path: Path, kind: str) -> int:
        changed = self._changed(db, session, path)
        if changed is None:
            return 0
        tracked, st = changed
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
            offset = 0
            if tracked:
                offset = tracked[2]
                if st.st_size < offset or head[: len(tracked[3])] != tracked[3]:
                    self._drop_file(db, session, path.name)  # shrunk or replaced: start it over
                    offset = 0
            fh.seek(offset)
            data = fh.read()
        changes = read_lines(data, kind)
        added = self._apply(db, session, path.name, changes)
        db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                   (session, path.name, st.st_size, st.st_mtime_ns, offset + changes.consumed, head))
        return added

    def _refresh_document(self, db: sqlite3.Connection, session: str, path: Path, kind: str) -> int:
        changed = self._changed(db, session, path)
        if changed is None:
            return 0
        _, st = changed
        rows = read_document(path, kind)
        db.execute("DELETE FROM segs WHERE session=? AND file=?", (session, path.name))
        self._insert(db, session, path.name, rows, {})
        db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                   (session, path.name, st.st_size, st.st_mtime_ns, st.st_size, b""))
        return len(rows)

    def _apply(self, db: sqlite3.Connection, session: str, name: str, changes: Changes) -> int:
        for seg_id, source in changes.drops:
            db.execute("DELETE FROM segs WHERE session=? AND file=? AND seg_id=? AND source=?",
                       (session, name, seg_id, source))
        aliases = dict(db.execute("SELECT old, new FROM aliases WHERE session=?", (session,)).fetchall())
        for old, new in changes.renames:  # as journal.apply_speaker_events: later renames follow earlier ones
            for k, v in list(aliases.items()):
                if v == old:
                    aliases[k] = new
            aliases.setdefault(old, new)
        if changes.renames:
            db.execute("DELETE FROM aliases WHERE session=?", (session,))
            db.executemany("INSERT INTO aliases VALUES (?, ?, ?)", [(session, o, n) for o, n in aliases.items()])
            for old, new in aliases.items():
                db.execute("UPDATE segs SET speaker=? WHERE session=? AND speaker=?", (new, session, old))
        self._insert(db, session, name, changes.rows, aliases)
        if changes.complete and any(s.name == name and s.kind == "polished" for s in LINE_FILES):
            db.execute("UPDATE sessions SET polished=1 WHERE session=?", (session,))
        return len(changes.rows)

    def _insert(self, db: sqlite3.Connection, session: str, name: str, rows: list[Row],
                aliases: dict[str, str]) -> None:
        db.executemany(
            "INSERT INTO segs(session, file, kind, start, end_s, source, speaker, seg_id, text) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(session, name, r.kind, r.start, r.end, r.source, aliases.get(r.speaker, r.speaker) if r.speaker else None,
              r.seg_id, r.text) for r in rows])


def _session_folders(root: Path) -> dict[str, Path]:
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    return {e.name: Path(e.path) for e in entries if e.is_dir() and os.path.isfile(os.path.join(e.path, JOURNAL_NAME))}


def _started_wall(folder: Path) -> float | None:
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        wall = meta.get("started_wall")
        if isinstance(wall, (int, float)):
            return float(wall)
    except (OSError, ValueError, AttributeError):
        pass
    try:
        with open(folder / JOURNAL_NAME, "rb") as fh:
            first = json.loads(fh.readline().decode("utf-8"))
        return float(first["wall"]) if first.get("t") == "start" else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def _busy_message(path: Path) -> str:
    return (f"the search index {path} is busy (another meeting-tui is updating it); search again in a moment, "
            "or delete that file to have it rebuilt")
