"""`record` stopped the ways a terminal stops it, from the user's seat: Ctrl+C through the Windows branch
(no asyncio signal handlers there), and the terminal going away (SIGHUP here, a console close event on
Windows): the queued audio is transcribed (within the few seconds a close leaves), the journal closed with
its end marker, and the summary names the session."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading

import pytest

from meeting_tui import stop_signals as stops
from tests.test_record_cli import REPO, env_for


def _record_until_first_line(shared_audio, tmp_path, tiny_model_path, **env) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "meeting_tui", "record", "--mic-file",
                             str(shared_audio / "jfk.flac"), "--model", tiny_model_path, "--json", "--no-partials"],
                            env=env_for(tmp_path, **env), cwd=REPO, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # the first transcribed line: the session is open and has content
    assert json.loads(line)["type"] == "segment", proc.stderr.read() if proc.poll() is not None else line
    return proc


def _finish(proc: subprocess.Popen) -> tuple[list[dict], str]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return [json.loads(x) for x in out.splitlines() if x.strip()], err


def _journal_end(session: str) -> dict:
    from pathlib import Path

    last = (Path(session) / "journal.jsonl").read_text(encoding="utf-8").splitlines()[-1]
    return json.loads(last)


@pytest.mark.model
def test_ctrl_c_through_the_windows_branch_drains_and_names_the_session(shared_audio, tmp_path, tiny_model_path):
    proc = _record_until_first_line(shared_audio, tmp_path, tiny_model_path, MEETING_TUI_WINDOWS_SIGNALS="1")
    proc.send_signal(signal.SIGINT)
    rows, err = _finish(proc)
    summary = rows[-1]
    assert summary["type"] == "summary" and summary["session"], rows  # was null: the path was lost
    end = _journal_end(summary["session"])
    assert end["t"] == "end" and end["reason"] == "stopped"
    assert "[stopping]" in err


@pytest.mark.model
def test_the_terminal_going_away_closes_the_session_instead_of_leaving_it_unfinished(shared_audio, tmp_path,
                                                                                      tiny_model_path):
    proc = _record_until_first_line(shared_audio, tmp_path, tiny_model_path)
    proc.send_signal(signal.SIGHUP)
    rows, _ = _finish(proc)
    summary = rows[-1]
    assert summary["type"] == "summary" and summary["session"]
    end = _journal_end(summary["session"])
    assert end["t"] == "end" and end["reason"] in ("stopped", "console closed")


@pytest.mark.model
def test_a_closed_terminal_gets_a_bounded_drain_and_the_journal_says_so(shared_audio, tmp_path, tiny_model_path):
    """With no time left for the queue (MEETING_TUI_CLOSE_DRAIN_S=0), what was not transcribed is left and the
    journal is closed at once, with the reason; the workers did not die with the terminal's SIGHUP first."""
    proc = _record_until_first_line(shared_audio, tmp_path, tiny_model_path, MEETING_TUI_CLOSE_DRAIN_S="0")
    proc.send_signal(signal.SIGHUP)
    rows, err = _finish(proc)
    end = _journal_end(rows[-1]["session"])
    assert end["t"] == "end" and end["reason"] == "console closed", err
    assert err.count("[closed] the terminal was closed") == 1


def test_a_console_close_event_stops_the_command_and_holds_windows_until_it_has_closed(monkeypatch):
    """The console control handler's contract (SetConsoleCtrlHandler's routine, run on a system thread):
    it stops the command, says to drain briefly, and returns TRUE only once the command has closed, within
    the ~5 s Windows allows."""
    monkeypatch.setenv("MEETING_TUI_WINDOWS_SIGNALS", "1")
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    answers: list[bool] = []

    async def main() -> None:
        stop = stops.stop_signals()
        loop = asyncio.get_running_loop()
        handler = threading.Thread(target=lambda: answers.append(stop.console_event(loop, stops.CTRL_CLOSE_EVENT)))
        handler.start()
        await asyncio.wait_for(stop.event.wait(), 5)
        assert stop.closing.is_set()
        await asyncio.sleep(0.2)
        assert handler.is_alive() and not answers  # Windows would end us the moment it returned
        stop.closed.set()
        await asyncio.to_thread(handler.join, 5)

    try:
        asyncio.run(main())
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    assert answers == [True]
    assert stops.CLOSE_DRAIN_S < stops.CLOSE_WAIT_S < 5.0
