"""What a new user meets at the command line (issue 19): the CLI run as a subprocess, as a user runs it,
asserting what they see (messages, exit codes) and the files written or not written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
