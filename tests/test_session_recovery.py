"""A real process opens a session, appends, and is SIGKILLed; recovery finds it and exports what was fsynced."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from meeting_tui.session.exports import export_file
from meeting_tui.session.journal import JOURNAL_NAME, read_journal
from meeting_tui.session.recovery import TORN_NAME, SessionBusy, find_unfinished, recover_session
from meeting_tui.session.store import Session, list_sessions, load_session
from meeting_tui.types import Segment, Source

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

# The child: appends segments as fast as it can and acknowledges each one on stdout only after
# append_segment returned (i.e. after fsync). With TORN=1 it stops after N segments and leaves half a
# record at the end of the journal, as a kill in the middle of write() would, then waits to be killed.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    from meeting_tui.session.journal import encode, segment_to_record
    from meeting_tui.session.store import Session
    from meeting_tui.types import AudioChunk, Segment, Source

    torn = os.environ.get("TORN") == "1"
    session = Session.open(sys.argv[1], mode="meeting", record_audio=os.environ.get("AUDIO") == "1")
    print("OPEN", session.path, flush=True)
    n = 0
    while True:
        n += 1
        seg = Segment(Source.MIC if n % 2 else Source.LOOPBACK, n * 1.0, n * 1.0 + 0.8, f"line {n} " + "word " * (n % 40), id=n)
        if session.recorder is not None:
            session.on_audio(AudioChunk(Source.MIC, (n - 1) * 1600, np.full(1600, 0.25, np.float32)))
        session.append_segment(seg)
        print("ACK", n, flush=True)
        if torn and n == 25:
            half = encode(segment_to_record(Segment(Source.MIC, 99.0, 100.0, "never finished", id=26)))
            with open(session.path / "journal.jsonl", "ab") as fh:
                fh.write(half[: len(half) // 2])
            print("TORN", flush=True)
            time.sleep(60)
    """
)


def _run_and_kill(root: Path, *, after_acks: int, env_extra: dict[str, str], wait_for: str = "ACK") -> tuple[Path, int]:
    env = {**os.environ, "PYTHONPATH": str(REPO), **env_extra}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(root)], stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
    folder, acked = None, 0
    try:
        for line in proc.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "OPEN":
                folder = Path(rest)
            elif word == "ACK":
                acked = int(rest)
            if (wait_for == "ACK" and acked >= after_acks) or word == wait_for == "TORN":
                os.kill(proc.pid, signal.SIGKILL)  # mid-stream: the child is busy appending
                break
        # Drain anything already printed before the kill: those appends were fsynced too.
        for line in proc.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "ACK":
                acked = int(rest)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert folder is not None
    return folder, acked


def test_sigkill_mid_stream_loses_nothing_fsynced(tmp_path):
    root = tmp_path / "sessions"
    folder, acked = _run_and_kill(root, after_acks=40, env_extra={})
    assert acked >= 40

    [info] = find_unfinished(root)
    assert info.path == folder and info.recoverable and not info.live and info.status == "unfinished"

    loaded = load_session(folder)  # exportable as it is, before any recovery
    ids = [s.id for s in loaded.journal.segments]
    assert ids == list(range(1, len(ids) + 1))  # complete and in order up to the last intact line
    assert len(ids) >= acked  # every acknowledged (fsynced) segment is there
    out = export_file(loaded.items, tmp_path / "before.txt", labels={Source.MIC: "You"}, meta=loaded.export_meta())
    text = out.read_text()
    for n in range(1, len(ids) + 1):
        assert f": line {n} " in text or f": line {n}\n" in text

    report = recover_session(folder)
    assert report.info.finished and report.info.status == "recovered"
    assert report.info.segment_count == len(ids)
    assert find_unfinished(root) == []
    recovered = load_session(folder)
    assert [s.id for s in recovered.journal.segments] == ids and recovered.journal.bad_lines == 0
    assert recovered.journal.end["reason"] == "recovered"


def test_sigkill_mid_line_torn_tail_is_tolerated_and_set_aside(tmp_path):
    root = tmp_path / "sessions"
    folder, acked = _run_and_kill(root, after_acks=0, env_extra={"TORN": "1"}, wait_for="TORN")
    assert acked == 25
    journal = folder / JOURNAL_NAME
    assert not journal.read_bytes().endswith(b"\n")  # really torn

    contents = read_journal(journal)
    assert [s.id for s in contents.segments] == list(range(1, 26))
    assert contents.torn_tail and contents.bad_lines == 0 and not contents.finished
    [info] = list_sessions(root)
    assert info.torn and info.recoverable

    # Export it as it is; then recover it and export again: the same 25 lines, no partial one.
    export_file(load_session(folder).items, tmp_path / "a.srt")
    torn_tail = contents.torn_tail
    report = recover_session(folder)
    assert report.torn_bytes == len(torn_tail)
    assert (folder / TORN_NAME).read_bytes() == torn_tail + b"\n"
    assert journal.read_bytes().endswith(b"\n")
    lines = journal.read_bytes().splitlines()
    assert all(json.loads(line) for line in lines)  # every line whole now
    assert json.loads(lines[-1])["t"] == "end" and json.loads(lines[-1])["torn_bytes"] == len(torn_tail)
    export_file(load_session(folder).items, tmp_path / "b.srt")
    srt = (tmp_path / "b.srt").read_text()
    assert srt == (tmp_path / "a.srt").read_text()
    assert "never finished" not in srt and srt.count(" --> ") == 25

    recover_session(folder)  # a second recovery changes nothing
    assert journal.read_bytes().splitlines() == lines


def test_sigkill_with_audio_recording_leaves_readable_wav(tmp_path):
    root = tmp_path / "sessions"
    folder, acked = _run_and_kill(root, after_acks=30, env_extra={"AUDIO": "1"})
    wav = folder / "audio" / "mic.wav"
    assert sf.info(wav).frames >= 0  # libsndfile opens it straight away
    recover_session(folder)
    data, rate = sf.read(wav, dtype="float32")
    assert rate == 16_000
    # The child queued one 0.1 s chunk per segment; the writer thread may lag the kill by a few chunks.
    assert 0 < len(data) <= (acked + 5) * 1600
    assert np.allclose(data[: len(data) // 1600 * 1600], 0.25, atol=1e-3)


def test_recover_refuses_a_live_session(tmp_path):
    session = Session.open(tmp_path, mode="mic")
    session.append_segment(Segment(Source.MIC, 0.0, 1.0, "still talking"))
    assert find_unfinished(tmp_path) == []
    with pytest.raises(SessionBusy):
        recover_session(session.path)
    session.close()


def test_recovery_adds_missing_newline_after_a_whole_record(tmp_path):
    session = Session.open(tmp_path, mode="mic")
    session.append_segment(Segment(Source.MIC, 0.0, 1.0, "whole"))
    session._journal.close()  # simulate the process dying right after writing a record minus "\n"
    session._lock.release()
    journal = session.path / JOURNAL_NAME
    journal.write_bytes(journal.read_bytes().rstrip(b"\n"))
    assert [s.text for s in read_journal(journal).segments] == ["whole"]
    recover_session(session.path)
    contents = read_journal(journal)
    assert [s.text for s in contents.segments] == ["whole"] and contents.finished and contents.bad_lines == 0
