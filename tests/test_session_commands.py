"""`meeting-tui export` and `meeting-tui sessions`, run through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from meeting_tui.cli import main
from meeting_tui.session.journal import JOURNAL_NAME
from meeting_tui.session.store import Session
from meeting_tui.settings import Settings, save_settings
from meeting_tui.types import Gap, Segment, Source

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def two_sessions():
    done = Session.open(mode="meeting", now=1_700_000_000.0)
    done.append_segment(Segment(Source.MIC, 1.0, 2.0, "Hello from me."))
    done.append_segment(Segment(Source.LOOPBACK, 2.5, 4.0, "Hello from them."))
    done.append_gap(Gap(Source.LOOPBACK, 5.0, 8.0, "worker restarted"))
    done.close(duration_s=3725.0)
    crashed = Session.open(mode="mic", now=1_700_000_900.0)
    crashed.append_segment(Segment(Source.MIC, 0.0, 1.0, "Unfinished business."))
    crashed._journal.close()  # as if the process had died: no end marker, lock released
    crashed._lock.release()
    return done, crashed


def test_export_help_works_as_a_module():
    out = subprocess.run([sys.executable, "-m", "meeting_tui", "export", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--format" in out.stdout and "SESSION" in out.stdout


def test_sessions_lists_and_marks_unfinished(two_sessions, capsys):
    done, crashed = two_sessions
    assert main(["sessions"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["SESSION", "STARTED", "DURATION", "MODE", "SEGMENTS", "STATUS"]
    assert lines[1].startswith(crashed.id) and "UNFINISHED (recoverable)" in lines[1] and " mic " in lines[1]
    assert lines[2].startswith(done.id) and "1:02:05" in lines[2] and lines[2].rstrip().endswith("done")
    assert lines[2].split()[-2] == "2"  # segment count
    assert "1 unfinished session: " in out and "closes it." in out

    assert main(["sessions", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["status"], r["segments"]) for r in rows] == [(crashed.id, "unfinished", 1), (done.id, "done", 2)]


def test_sessions_recover(two_sessions, capsys):
    done, crashed = two_sessions
    assert main(["sessions", "--recover"]) == 0
    out = capsys.readouterr().out
    assert f"Recovered {crashed.id}: 1 segment." in out and "recovered" in out
    assert "UNFINISHED" not in out


def test_sessions_empty(capsys):
    assert main(["sessions"]) == 0
    assert "No sessions yet" in capsys.readouterr().out


def test_export_default_name_and_format_from_settings(two_sessions, tmp_path, monkeypatch, capsys):
    done, _ = two_sessions
    s = Settings()
    s.session.export_format = "vtt"
    s.ui.labels.mic = "Ana"
    save_settings(s)
    monkeypatch.chdir(tmp_path)
    assert main(["export", done.id]) == 0
    out_file = tmp_path / f"meeting-{done.id}.vtt"
    assert str(out_file) in capsys.readouterr().out
    text = out_file.read_text()
    assert text.startswith("WEBVTT") and "<v Ana>Hello from me." in text and "<v Them>Hello from them." in text


def test_export_srt_to_file_with_label_override(two_sessions, tmp_path, capsys):
    done, _ = two_sessions
    target = tmp_path / "out.srt"
    assert main(["export", done.id[:16], "--format", "srt", "-o", str(target), "--label", "loopback=Bob"]) == 0
    srt = target.read_text()
    assert srt.startswith("1\n00:00:01,000 --> 00:00:02,000\nYou: Hello from me.\n")
    assert "Bob: Hello from them." in srt and "[no audio from Bob for 3 s: worker restarted]" in srt


def test_export_unfinished_to_stdout_with_format_from_extension(two_sessions, capsys):
    _, crashed = two_sessions
    assert main(["export", "latest", "-o", "-", "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["meta"]["status"] == "unfinished" and doc["items"][0]["text"] == "Unfinished business."


def test_export_to_unwritable_path_fails_clearly_and_leaves_session(two_sessions, tmp_path, capsys):
    done, _ = two_sessions
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    journal_before = (done.path / JOURNAL_NAME).read_bytes()
    listing_before = sorted(p.name for p in done.path.iterdir())
    assert main(["export", done.id, "-o", str(blocker / "sub" / "out.srt")]) == 1
    err = capsys.readouterr().err
    assert "Cannot write the export" in err and "-o/--output" in err and "is a file, not a folder" in err
    assert (done.path / JOURNAL_NAME).read_bytes() == journal_before
    assert sorted(p.name for p in done.path.iterdir()) == listing_before


def test_export_unknown_session_and_bad_label(two_sessions, capsys):
    assert main(["export", "nope"]) == 2
    assert 'No session "nope"' in capsys.readouterr().err
    assert main(["export", "latest", "--label", "speaker=Bob"]) == 2
    assert "SOURCE=NAME" in capsys.readouterr().err


def test_export_reports_settings_problems_but_works(two_sessions, tmp_path, capsys):
    done, _ = two_sessions
    config = tmp_path / "custom.toml"
    config.write_text('[session]\nexport_fromat = "srt"\n')
    assert main(["--config", str(config), "export", done.id, "-o", str(tmp_path / "t.txt")]) == 0
    err = capsys.readouterr().err
    assert 'Did you mean "session.export_format"?' in err
    assert (tmp_path / "t.txt").read_text().splitlines()[2] == "[00:00:01] You: Hello from me."
