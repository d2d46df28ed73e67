"""The Session API, the journal format, listing, locking and file permissions."""

from __future__ import annotations

import json
import os
import threading

import pytest

from meeting_tui import paths
from meeting_tui.session.journal import JOURNAL_NAME, read_journal
from meeting_tui.session.lock import is_locked
from meeting_tui.session.store import (
    META_NAME,
    DrainProgress,
    Session,
    SessionNotFound,
    find_session,
    list_sessions,
    load_session,
)
from meeting_tui.types import DeviceRef, Gap, Mode, Segment, Source

POSIX = os.name == "posix"


def _open(**kw) -> Session:
    kw.setdefault("mode", Mode.MEETING)
    return Session.open(**kw)


def test_open_writes_meta_and_start_line(tmp_path):
    session = _open(
        devices={Source.MIC: DeviceRef("Headset", "ALSA"), Source.LOOPBACK: None},
        model={"name": "tiny.en", "device": "cpu", "compute_type": "int8"},
        gains_db={Source.MIC: 3.0, Source.LOOPBACK: -2.0},
        now=1_714_565_002.0,
    )
    assert session.path.parent == paths.sessions_dir() == tmp_path / "data" / "sessions"
    meta = json.loads((session.path / META_NAME).read_text())
    assert meta["mode"] == "meeting" and meta["app_version"]
    assert meta["devices"] == {"mic": {"name": "Headset", "hostapi": "ALSA"}, "loopback": None}
    assert meta["gains_db"] == {"mic": 3.0, "loopback": -2.0} and meta["model"]["name"] == "tiny.en"
    assert meta["started_wall"] == 1_714_565_002.0 and meta["started_at"].startswith("2024-05-0")
    first = json.loads((session.path / JOURNAL_NAME).read_text().splitlines()[0])
    assert first["t"] == "start"
    session.close()


def test_every_final_segment_is_on_disk_when_append_returns():
    session = _open()
    seg = Segment(Source.MIC, 1.0, 2.5, "hello", confidence=0.8, wall_start=1e9, id=7, extra={"echo": "kept"})
    assert session.append_segment(seg) is True
    assert session.append_segment(Segment(Source.MIC, 2.5, 3.0, "hel", final=False)) is False  # partial
    session.append_gap(Gap(Source.LOOPBACK, 4.0, 9.0, "worker restarted"))
    # Read back by another file handle while the session is still open: nothing is buffered in memory.
    contents = read_journal(session.path / JOURNAL_NAME)
    assert contents.items == [seg, Gap(Source.LOOPBACK, 4.0, 9.0, "worker restarted")]
    assert not contents.finished
    session.close()


def test_close_writes_end_marker_and_summary_and_is_idempotent():
    session = _open()
    session.append_segment(Segment(Source.LOOPBACK, 0.0, 4.0, "hi"))
    session.close(duration_s=12.5)
    session.close()
    contents = read_journal(session.path / JOURNAL_NAME)
    assert contents.end is not None and contents.end["reason"] == "stopped"
    assert contents.end["duration_s"] == 12.5 and contents.end["segments"] == 1
    meta = json.loads((session.path / META_NAME).read_text())
    assert meta["end_reason"] == "stopped" and meta["segments"] == 1 and "ended_at" in meta
    assert not (session.path / "session.lock").exists()
    with pytest.raises(ValueError):
        session.append_segment(Segment(Source.MIC, 5.0, 6.0, "too late"))


def test_context_manager_marks_errors():
    with pytest.raises(RuntimeError):
        with _open() as session:
            raise RuntimeError("boom")
    assert read_journal(session.path / JOURNAL_NAME).end["reason"] == "error"


def test_progress_hooks_report_draining():
    session = _open()
    seen: list[DrainProgress] = []
    session.add_progress_listener(seen.append)
    session.report_progress(3.0, 12.0)
    session.report_progress(12.0, 12.0)
    assert session.state == "draining"
    assert [p.fraction for p in seen] == [0.25, 1.0]
    session.close()
    assert session.state == "closed"


def test_appends_from_several_threads_stay_whole_lines():
    session = _open()

    def worker(source: Source) -> None:
        for n in range(100):
            session.append_segment(Segment(source, n, n + 0.5, f"{source.value} line {n} " + "x" * 300))

    threads = [threading.Thread(target=worker, args=(s,)) for s in (Source.MIC, Source.LOOPBACK)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session.close()
    contents = read_journal(session.path / JOURNAL_NAME)
    assert contents.bad_lines == 0 and len(contents.segments) == 200


def test_live_session_is_locked_until_closed():
    session = _open()
    assert is_locked(session.path)
    [info] = list_sessions()
    assert info.live and info.status == "recording" and not info.recoverable
    session.close()
    assert not is_locked(session.path)
    [info] = list_sessions()
    assert info.finished and info.status == "done"


def test_listing_newest_first_with_counts():
    old = _open(mode=Mode.MIC, now=1_700_000_000.0)
    old.append_segment(Segment(Source.MIC, 0.0, 65.0, "long"))
    old.close()
    new = _open(now=1_700_000_600.0)
    new.append_segment(Segment(Source.MIC, 0.0, 1.0, "a"))
    new.append_segment(Segment(Source.LOOPBACK, 1.0, 2.0, "b"))
    new.append_gap(Gap(Source.MIC, 2.0, 3.0, "stall"))
    infos = list_sessions()
    assert [i.id for i in infos] == [new.id, old.id]
    assert (infos[0].segment_count, infos[0].gap_count, infos[0].mode) == (2, 1, "meeting")
    assert (infos[1].segment_count, infos[1].duration_s, infos[1].mode) == (1, 65.0, "mic")
    new.close()


def test_find_session_by_id_prefix_path_latest(tmp_path):
    a = _open(now=1_700_000_000.0)
    a.close()
    b = _open(now=1_700_086_400.0)  # a day later
    b.close()
    assert find_session(a.id) == a.path
    assert find_session(str(b.path)) == b.path
    assert find_session("latest") == b.path
    assert find_session(a.id[:10]) == a.path
    with pytest.raises(SessionNotFound, match="meeting-tui sessions"):
        find_session("1999")


def test_two_sessions_in_the_same_second_get_distinct_folders():
    a, b = _open(now=1_700_000_000.0), _open(now=1_700_000_000.0)
    assert a.path != b.path and b.path.name == a.path.name + "-2"
    a.close()
    b.close()


@pytest.mark.skipif(not POSIX, reason="POSIX permissions")
def test_session_files_are_private():
    session = _open(record_audio=True)
    session.append_segment(Segment(Source.MIC, 0.0, 1.0, "secret"))
    session.close()
    assert paths.sessions_dir().stat().st_mode & 0o777 == 0o700
    assert session.path.stat().st_mode & 0o777 == 0o700
    for name in (JOURNAL_NAME, META_NAME, "audio/mic.wav", "audio/loopback.wav", "audio/mix.wav"):
        assert (session.path / name).stat().st_mode & 0o777 == 0o600, name
    assert (session.path / "audio").stat().st_mode & 0o777 == 0o700


def test_load_session_changes_nothing():
    session = _open()
    session.append_segment(Segment(Source.MIC, 0.0, 1.0, "x"))
    before = {p.name: p.read_bytes() for p in session.path.iterdir()}
    loaded = load_session(session.path)
    assert loaded.info.segment_count == 1 and loaded.info.live
    assert {p.name: p.read_bytes() for p in session.path.iterdir()} == before
    session.close()
