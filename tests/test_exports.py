"""Exporters against expected files for a known journal (two sources, the mix, gaps, past an hour)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from meeting_tui.session.exports import (
    FORMATS,
    ExportError,
    default_filename,
    export_file,
    format_for_path,
    render,
)
from meeting_tui.session.store import load_session
from meeting_tui.types import Gap, Segment, Source

DATA = Path(__file__).resolve().parent / "data" / "exports"
# Set MEETING_TUI_REGENERATE=1 to rewrite the expected files after a deliberate format change (then review the diff).
REGENERATE = os.environ.get("MEETING_TUI_REGENERATE") == "1"


@pytest.fixture
def session_dir(tmp_path) -> Path:
    folder = tmp_path / "2024-05-01_14-03-22"
    shutil.copytree(DATA / "session", folder)
    return folder


def _snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_matches_expected_file(session_dir, tmp_path, fmt):
    loaded = load_session(session_dir)
    out = export_file(loaded.items, tmp_path / f"out.{fmt}", labels=None, meta=loaded.export_meta())
    expected = DATA / f"expected.{fmt}"
    if REGENERATE:
        shutil.copyfile(out, expected)
    assert out.read_text(encoding="utf-8") == expected.read_text(encoding="utf-8")


def test_known_journal_reads_completely(session_dir):
    loaded = load_session(session_dir)
    assert loaded.info.finished and loaded.info.status == "done"
    assert loaded.info.segment_count == 9 and loaded.info.gap_count == 2
    assert loaded.journal.bad_lines == 0 and loaded.journal.torn_tail == b""


def test_srt_and_vtt_timestamps_past_an_hour():
    items = [
        Segment(Source.MIC, 3599.9996, 3600.0004, "edge"),  # rounds to the full hour
        Segment(Source.LOOPBACK, 3725.5, 3726.25, "later"),
        Segment(Source.MIC, 12 * 3600 + 34 * 60 + 56.789, 12 * 3600 + 35 * 60, "much later"),
    ]
    srt = render(items, "srt")
    assert "01:00:00,000 --> 01:00:00,001\nYou: edge" in srt  # never a zero-length cue
    assert "01:02:05,500 --> 01:02:06,250\nThem: later" in srt
    assert "12:34:56,789 --> 12:35:00,000" in srt
    vtt = render(items, "vtt")
    assert vtt.startswith("WEBVTT\n\n")
    assert "01:02:05.500 --> 01:02:06.250\n<v Them>later" in vtt
    assert "12:34:56.789 --> 12:35:00.000" in vtt
    txt = render(items, "txt")
    assert "[01:02:05] Them: later" in txt and "[12:34:56] You: much later" in txt


def test_labels_are_configurable_and_partials_skipped():
    items = [
        Segment(Source.MIC, 1.0, 2.0, "mine"),
        Segment(Source.LOOPBACK, 1.5, 2.5, "theirs"),
        Segment(Source.MIC, 3.0, 4.0, "not final yet", final=False),
        Gap(Source.LOOPBACK, 5.0, 65.0, "stalled"),
    ]
    text = render(items, "txt", labels={Source.MIC: "Ana", "loopback": "Guests"})
    assert text == (
        "[00:00:01] Ana: mine\n"
        "[00:00:01] Guests: theirs\n"
        "[00:00:05] [no audio from Guests for 1 min 0 s: stalled]\n"
    )
    doc = json.loads(render(items, "json"))
    assert [i["speaker"] for i in doc["items"]] == ["You", "Them", "Them"]
    assert doc["items"][2]["type"] == "gap"


def test_unknown_format_and_extension():
    with pytest.raises(ValueError, match="choose one of"):
        render([], "docx")
    assert format_for_path("a/b.SRT") == "srt" and format_for_path("x.markdown") == "md"
    assert format_for_path("noext") is None
    assert default_filename("2024-05-01_14-03-22", "vtt") == "meeting-2024-05-01_14-03-22.vtt"


def test_export_path_under_a_regular_file_is_a_clear_error(session_dir, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("I am a file")
    before = _snapshot(session_dir)
    loaded = load_session(session_dir)
    with pytest.raises(ExportError) as err:
        export_file(loaded.items, blocker / "sub" / "out.srt")
    message = str(err.value)
    assert str(blocker) in message and "is a file, not a folder" in message and "-o" in message
    assert _snapshot(session_dir) == before  # the session is untouched
    assert blocker.read_text() == "I am a file"


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc")
def test_export_into_proc_is_a_clear_error(session_dir):
    before = _snapshot(session_dir)
    with pytest.raises(ExportError) as err:
        export_file(load_session(session_dir).items, "/proc/meeting-tui-out.txt")
    assert "/proc/meeting-tui-out.txt" in str(err.value) and "-o/--output" in str(err.value)
    assert _snapshot(session_dir) == before


def test_export_missing_folder_and_folder_target(tmp_path):
    items = [Segment(Source.MIC, 0.0, 1.0, "hi")]
    with pytest.raises(ExportError, match="does not exist"):
        export_file(items, tmp_path / "nope" / "out.txt")
    with pytest.raises(ExportError, match="it is a folder"):
        export_file(items, tmp_path, "txt")
    with pytest.raises(ExportError, match="--format"):
        export_file(items, tmp_path / "out.docx")
    assert list(tmp_path.iterdir()) == []  # no temp files left behind


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_export_file_is_private(tmp_path):
    out = export_file([Segment(Source.MIC, 0.0, 1.0, "hi")], tmp_path / "t.md")
    assert out.stat().st_mode & 0o777 == 0o600
