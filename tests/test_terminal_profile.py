"""`meeting-tui terminal-profile` from the user's seat on Linux (--print, and the refusal to write a Windows
Terminal file here), and the fragment's documented shape (the write itself runs under Wine:
tests/windows/test_terminal_profile_wine.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from meeting_tui.commands.terminal_profile import fragment, fragments_dir
from tests.test_record_cli import REPO, env_for


def test_print_shows_a_fragment_with_a_named_profile_and_a_command_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "meeting_tui", "terminal-profile", "--print"], capture_output=True,
                         text=True, env=env_for(tmp_path), cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert set(body) == {"profiles"} and body["profiles"][0]["name"] == "meeting-tui"
    assert body["profiles"][0]["commandline"]


def test_writing_a_profile_off_windows_is_refused_once_with_the_alternative(tmp_path):
    out = subprocess.run([sys.executable, "-m", "meeting_tui", "terminal-profile"], capture_output=True, text=True,
                         env=env_for(tmp_path, LOCALAPPDATA=str(tmp_path / "local")), cwd=REPO, timeout=60)
    assert out.returncode == 2 and out.stderr.count("error:") == 1 and "--print" in out.stderr
    assert not (tmp_path / "local").exists()


def test_fragment_shape_and_folder_follow_microsofts_documentation():
    # "For new profiles added via fragments, the new profile must, at a minimum, define a name for itself";
    # per-user fragments go in %LOCALAPPDATA%\Microsoft\Windows Terminal\Fragments\{app-name}.
    assert fragment("x.exe") == {"profiles": [{"name": "meeting-tui", "commandline": "x.exe", "tabTitle": "meeting-tui",
                                               "startingDirectory": "%USERPROFILE%"}]}
    folder = fragments_dir({"LOCALAPPDATA": "C:/Users/a/AppData/Local"})
    assert folder.parts[-4:] == ("Microsoft", "Windows Terminal", "Fragments", "meeting-tui")
