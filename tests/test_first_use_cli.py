"""What a new user meets at the command line (issue 19): the CLI run as a subprocess, as a user runs it,
asserting what they see (messages, exit codes) and the files written or not written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from meeting_tui.transcribe.wer import wer
from tests.support.speech import JFK

REPO = Path(__file__).resolve().parent.parent
SHARED_AUDIO = REPO.parent / "shared" / "audio"


def cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`meeting-tui ARGS` in a fresh interpreter, stdin closed and stderr not a terminal (as in a pipe or CI)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "meeting_tui.cli", *args], cwd=cwd or REPO, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


# --- a broken settings file: one backup per distinct content (item 10) -----------------------------------


def test_broken_settings_file_is_backed_up_once_per_content(tmp_path):
    config = Path(os.environ["MEETING_TUI_CONFIG"])
    config.parent.mkdir(parents=True)
    config.write_text('[capture]\nmode = "mic"\ngains_db = {mic = \n')
    first = cli("sessions")
    second = cli("sessions")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    backups = sorted(config.parent.glob("settings.toml.broken-*"))
    assert len(backups) == 1, backups
    for run in (first, second):  # each run still says what happened and where the copy is
        assert "could not be parsed" in run.stderr and str(backups[0]) in run.stderr, run.stderr
    assert backups[0].read_text() == config.read_text()

    config.write_text('[capture]\nmode = \n')  # broken differently: that text is kept too
    third = cli("sessions")
    assert third.returncode == 0
    backups = sorted(config.parent.glob("settings.toml.broken-*"))
    assert len(backups) == 2, backups
    assert {b.read_text() for b in backups} == {'[capture]\nmode = "mic"\ngains_db = {mic = \n', '[capture]\nmode = \n'}
    cli("sessions")
    assert len(list(config.parent.glob("settings.toml.*-*"))) == 2


# --- output formats from the extension, through the writers `export` uses (item 4) -----------------------

FORMAT_LIST = ".txt, .md, .srt, .vtt, .json"


@pytest.fixture
def one_session():
    from meeting_tui.session.store import Session
    from meeting_tui.types import Segment, Source

    session = Session.open(mode="meeting", now=1_700_000_000.0)
    session.append_segment(Segment(Source.MIC, 1.0, 2.0, "Hello from me."))
    session.close(duration_s=3.0)
    return session


def test_export_writes_the_format_its_extension_names(one_session, tmp_path):
    for ext, check in ((".srt", lambda t: t.startswith("1\n00:00:01,000 --> 00:00:02,000\nYou: Hello from me.")),
                       (".vtt", lambda t: t.startswith("WEBVTT") and "<v You>Hello from me." in t),
                       (".json", lambda t: json.loads(t)["items"][0]["text"] == "Hello from me."),
                       (".md", lambda t: t.startswith("# Meeting 20") and "**You**" in t)):
        target = tmp_path / f"out{ext}"
        run = cli("export", "latest", "-o", str(target))
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == f"Wrote 1 segment to {target}"  # "1 segment", not "1 segments"
        assert check(target.read_text()), target.read_text()


def test_export_to_an_unknown_extension_is_an_error_listing_the_formats(one_session, tmp_path):
    for name in ("out.docx", "notes"):
        run = cli("export", "latest", "-o", str(tmp_path / name))
        assert run.returncode == 2, run
        assert FORMAT_LIST in run.stderr and "--format" in run.stderr and "Nothing was written" in run.stderr
        assert run.stdout == "" and run.stderr.count("\n") == 1, run.stderr  # one message
    assert list(tmp_path.iterdir()) == [tmp_path / "data"]  # no out.docx, no notes


@pytest.mark.model
def test_transcribe_writes_srt_for_an_srt_name_and_progress_lines_stay_apart(tiny_model_path, tmp_path):
    jfk = SHARED_AUDIO / "jfk.flac"
    if not jfk.exists():
        pytest.fail(f"speech fixture missing: {jfk}")
    target = tmp_path / "jfk.srt"
    run = cli("transcribe", str(jfk), "--model", tiny_model_path, "-o", str(target))
    assert run.returncode == 0, run.stderr
    srt = target.read_text()
    cues = [block.splitlines() for block in srt.strip().split("\n\n")]
    assert [c[0] for c in cues] == [str(n) for n in range(1, len(cues) + 1)], srt
    assert all(" --> " in c[1] and c[1].startswith("00:00:") and c[2].startswith("Speaker: ") for c in cues), srt
    words = " ".join(c[2].removeprefix("Speaker: ") for c in cues)
    # Every cue's words, in order: a lost cue costs at least 0.23 here. One clean-clone CI run heard the first
    # sentence as "And so I fell in America." (0.18; the same file gave the usual text 57 times of 57 on this
    # machine: docs/transcription.md, "Same file, same text"), which is not what this test is about.
    assert wer(JFK, words) <= 0.2, srt
    assert "[00:" not in srt  # not the plain "[00:00.3] Speaker: ..." lines
    assert f"to {target}" in run.stderr and "Wrote " in run.stderr
    # stderr is a pipe here: each progress report is a line of its own, nothing runs together
    assert "\r" not in run.stderr
    progress = [line for line in run.stderr.splitlines() if "[transcribing]" in line]
    assert progress and all(line.startswith("[transcribing]") for line in progress), run.stderr
    assert progress[-1] == "[transcribing] 100%"
    assert any(line.startswith("[done]") for line in run.stderr.splitlines())


def test_transcribe_to_an_unknown_extension_fails_before_any_work(tmp_path):
    jfk = SHARED_AUDIO / "jfk.flac"
    run = cli("transcribe", str(jfk), "--model", "small.en", "-o", str(tmp_path / "jfk.docx"))
    assert run.returncode == 2
    assert f"{FORMAT_LIST}, .jsonl" in run.stderr and ".docx" in run.stderr and "Nothing was written" in run.stderr
    assert "[loading]" not in run.stderr and "--format" not in run.stderr  # no model touched; no such option here
    run = cli("transcribe", str(jfk), "-o", str(tmp_path / "missing" / "jfk.srt"))
    assert run.returncode == 2 and "does not exist" in run.stderr and "[loading]" not in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_progress_redraws_in_place_on_a_terminal_and_prints_whole_lines_elsewhere():
    import io

    from meeting_tui.wording import ProgressLine

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    fractions = [0.0, 0.05, 0.12, 0.12, 0.5, 0.99, 1.0, 1.0]
    pipe, term = io.StringIO(), Terminal()
    for stream in (pipe, term):
        line = ProgressLine("transcribing", stream)
        for f in fractions:
            line(f)
        line.end()
    assert pipe.getvalue().splitlines() == [f"[transcribing] {p:3d}%" for p in (0, 10, 50, 90, 100)]
    assert term.getvalue() == "".join(f"\r[transcribing] {p:3d}%" for p in (0, 5, 12, 50, 99, 100)) + "\n"
    stopped = Terminal()
    early = ProgressLine("transcribing", stopped)
    early(0.3)
    early.end()  # stopped before the end: the next message starts on its own line
    assert stopped.getvalue() == "\r[transcribing]  30%\n"
