"""`meeting-tui terminal-profile` on Windows: the JSON fragment lands in the current user's Windows Terminal
Fragments folder (Microsoft's "JSON fragment extensions"), names the profile and a command line that runs
this install, and --remove takes it away again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from meeting_tui.capture import winproc


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meeting_tui", "terminal-profile", *args], capture_output=True,
                          text=True, encoding="utf-8", stdin=subprocess.DEVNULL, timeout=120,
                          creationflags=winproc.creationflags())


def test_the_profile_fragment_is_written_under_localappdata_and_removed():
    target = (Path(os.environ["LOCALAPPDATA"]) / "Microsoft" / "Windows Terminal" / "Fragments" / "meeting-tui"
              / "meeting-tui.json")
    out = _run()
    assert out.returncode == 0, out.stderr
    assert str(target) in out.stdout and target.is_file()
    profile = json.loads(target.read_text(encoding="utf-8"))["profiles"][0]
    assert profile["name"] == "meeting-tui"
    assert "meeting" in profile["commandline"].lower()
    removed = _run("--remove")
    assert removed.returncode == 0 and not target.exists() and not target.parent.exists()
