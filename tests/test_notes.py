"""Notes during the meeting: `record` turns stdin lines into journaled notes that every export carries;
the journal reads them back (recovery and exports see them)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from meeting_tui.session.exports import render
from meeting_tui.session.journal import JOURNAL_NAME, Note, read_journal
from meeting_tui.session.store import Session, load_session
from meeting_tui.types import Segment, Source
from tests.test_record_cli import REPO, env_for, meeting_tui


def test_notes_are_journaled_read_back_and_in_every_export(tmp_path):
    session = Session.open(tmp_path / "s")
    session.append_segment(Segment(Source.MIC, 1.0, 2.0, "hello there", final=True, id=1))
    session.append_note(Note("note", "budget is tight", 1.5))
    session.append_note(Note("mark", "", 2.5))
    session.append_note(Note("action", "hello there", 3.0, ref=1))
    session.close()
    journal = read_journal(session.path / JOURNAL_NAME)
    assert [(n.kind, n.text, n.at, n.ref) for n in journal.notes] == [
        ("note", "budget is tight", 1.5, None), ("mark", "", 2.5, None), ("action", "hello there", 3.0, 1)]
    assert len(journal.segments) == 1  # notes are not lines
    items = [*load_session(session.path).items, *journal.notes]
    txt = render(items, "txt")
    assert txt.index("hello there") < txt.index("[Note: budget is tight]") < txt.index("[Mark]") \
        < txt.index("[Action item: hello there]")
    assert "> `00:00:01` **Note**: budget is tight" in render(items, "md")
    srt = render(items, "srt")
    assert "[Note: budget is tight]" in srt and "[Mark]" not in srt  # a bare mark says nothing in subtitles
    assert "[Note: budget is tight]" in render(items, "vtt")
    doc = json.loads(render(items, "json"))
    assert {"type": "note", "kind": "action", "text": "hello there", "start": 3.0, "ref": 1} in doc["items"]


@pytest.mark.model
def test_record_takes_notes_typed_on_stdin_and_export_shows_them(tmp_path, shared_audio, tiny_model_path):
    proc = subprocess.run(
        [sys.executable, "-m", "meeting_tui", "record", "--mic-file", str(shared_audio / "jfk.flac"),
         "--speed", "2", "--model", tiny_model_path, "--no-partials"],
        env=env_for(tmp_path), cwd=REPO, capture_output=True, text=True, timeout=180,
        input="ask about the moon budget\n\nfollow up with Ted\n")
    assert proc.returncode == 0, proc.stderr
    assert "[note] ask about the moon budget" in proc.stdout and "[note] follow up with Ted" in proc.stdout
    folder = next((tmp_path / "data" / "sessions").iterdir())
    notes = read_journal(folder / JOURNAL_NAME).notes
    assert [n.text for n in notes] == ["ask about the moon budget", "follow up with Ted"]  # the blank line: none
    assert all(n.kind == "note" and n.at >= 0 for n in notes)
    out = tmp_path / "t.md"
    res = meeting_tui(tmp_path, "export", "latest", "-o", str(out))
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert text.count("**Note**: ask about the moon budget") == 1 and "follow up with Ted" in text


@pytest.mark.model
def test_record_with_stdin_from_dev_null_takes_no_notes(tmp_path, shared_audio, tiny_model_path):
    res = meeting_tui(tmp_path, "record", "--mic-file", str(shared_audio / "jfk.flac"), "--speed", "4",
                      "--model", tiny_model_path, "--no-partials", "--quiet", timeout=180)
    assert res.returncode == 0, res.stderr
    folder = next((tmp_path / "data" / "sessions").iterdir())
    assert read_journal(folder / JOURNAL_NAME).notes == []


def test_notes_survive_a_crash_and_recovery(tmp_path):
    from meeting_tui.session.recovery import recover_session

    session = Session.open(tmp_path / "s")
    session.append_segment(Segment(Source.LOOPBACK, 0.0, 1.0, "I will send it", final=True, id=1))
    session.append_note(Note("decision", "I will send it", 1.2, ref=1))
    session._journal.close()  # the app dies: no end marker, the lock let go by the dead process
    session._lock.release()
    recover_session(session.path)
    journal = read_journal(session.path / JOURNAL_NAME)
    assert journal.finished and [(n.kind, n.ref) for n in journal.notes] == [("decision", 1)]
