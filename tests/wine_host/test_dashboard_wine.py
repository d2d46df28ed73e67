"""The dashboard as a Windows console program under Wine, driven by keys from outside (tmux), in demo mode
and on the lane's devices: start, mode, devices, start and stop a session, save, quit. Asserted: the journal
and the export under the Windows data folder, the settings holding the choices (and the demo keeping its
own), the exit code, no worker left behind, and the screen where Wine's console can be read back."""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import psutil
import pytest

WINE = os.environ.get("WINE", "/usr/lib/wine/wine64")
PY = Path(os.environ.get("WINE_LANE_PY", ""))
PREFIX = Path(os.environ.get("WINEPREFIX", ""))
REPO = Path(__file__).resolve().parents[2]
TMUX = ["tmux", "-L", "meeting-tui-wine"]  # a server of our own: its sessions get our environment


def _local_appdata() -> Path:
    return PREFIX / "drive_c" / "users" / getpass.getuser() / "AppData" / "Local" / "meeting-tui"


class Dashboard:
    """One run of `python -m meeting_tui` under Wine in a tmux pane."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.name = f"mt{os.getpid()}{int(time.monotonic() * 1000) % 100000}"
        self.rc_file = tmp / "rc"
        script = tmp / "run.sh"
        script.write_text(f"cd {shlex.quote(str(REPO))}\n{shlex.quote(WINE)} {shlex.quote(str(PY / 'python.exe'))} "
                          f"-m meeting_tui {' '.join(map(shlex.quote, args))}\necho $? > {shlex.quote(str(self.rc_file))}\n")
        # The user's own folders: %LOCALAPPDATA% of the lane's prefix, not the test harness's overrides.
        env = {k: v for k, v in os.environ.items() if k not in ("MEETING_TUI_CONFIG", "MEETING_TUI_DATA_DIR")}
        subprocess.run([*TMUX, "new-session", "-d", "-s", self.name, "-x", "120", "-y", "36", f"bash {script}"],
                       check=True, env=dict(env, HF_HUB_OFFLINE="1"))

    def keys(self, *keys: str) -> None:
        for k in keys:
            subprocess.run([*TMUX, "send-keys", "-t", self.name, k], check=True)
            time.sleep(0.4)

    def screen(self) -> str:
        out = subprocess.run([*TMUX, "capture-pane", "-p", "-t", self.name], capture_output=True, text=True)
        return out.stdout

    def wait_exit(self, timeout: float) -> int | None:
        return _wait(lambda: self.rc_file.exists() and self.rc_file.read_text().strip(), timeout) and \
            int(self.rc_file.read_text().strip())

    def close(self) -> None:
        subprocess.run([*TMUX, "kill-session", "-t", self.name], capture_output=True)


def _wait(cond, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.3)
    return None


def _sessions() -> list[Path]:
    root = _local_appdata() / "sessions"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _journal(folder: Path) -> list[dict]:
    path = folder / "journal.jsonl"
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _workers() -> list[str]:
    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info.get("cmdline") or [])
        if "python.exe" in cmd and "meeting_tui.capture.worker" in cmd:
            out.append(cmd)
    return out


@pytest.fixture
def clean_user(tmp_path):
    assert PY.is_dir() and PREFIX.is_dir(), "run through .ci/wine-lane"
    assert shutil.which("tmux"), "tmux is needed (apt-get install tmux)"
    shutil.rmtree(_local_appdata(), ignore_errors=True)
    yield tmp_path
    subprocess.run([*TMUX, "kill-server"], capture_output=True)


def test_the_demo_dashboard_records_saves_stops_and_quits_under_wine(clean_user):
    dash = Dashboard(clean_user, "--demo", "--demo-save")
    try:
        # The demo records by itself: its journal fills under %LOCALAPPDATA%\meeting-tui\sessions.
        assert _wait(lambda: _sessions() and any(r.get("text") for r in _journal(_sessions()[0])), 120), dash.screen()
        folder = _sessions()[0]
        assert "dBFS" in dash.screen()  # the meters' readouts are on screen
        assert len(_workers()) >= 2  # the check below can see Windows workers at all
        dash.keys("s")
        assert _wait(lambda: list(folder.glob("*.md")), 30), dash.screen()
        dash.keys("r")  # stop: drained, then the journal closed
        assert _wait(lambda: any(r.get("t") == "end" for r in _journal(folder)), 60), dash.screen()
        dash.keys("C-q")
        assert dash.wait_exit(60) == 0, dash.screen()
    finally:
        dash.close()
    assert not _wait(_workers, 5)
    texts = [r["text"] for r in _journal(folder) if r.get("text")]
    assert texts and len(texts) == len(set((r.get("id"), r.get("text")) for r in _journal(folder) if r.get("text")))
    assert not (_local_appdata() / "settings.toml").exists()  # the demo keeps its choices to itself


def test_the_dashboard_on_the_lanes_devices_keeps_the_mode_and_gain_chosen_by_key(clean_user):
    dash = Dashboard(clean_user)
    try:
        assert _wait(lambda: "dBFS" in dash.screen(), 90), dash.screen()
        dash.keys("1")  # mic only (Wine 8 cannot open a loopback)
        dash.keys("]", "]")  # mic gain +2 dB
        dash.keys("d")
        # The device list is read by a worker process: wait for the picker's count line. Arrow keys sent
        # through tmux did not reach the app under Wine's console, so the pick is the current one (Enter).
        assert _wait(lambda: re.search(r"\d+ microphones?, \d+ loopback", dash.screen()), 60), dash.screen()
        dash.keys("Enter")
        settings = _local_appdata() / "settings.toml"
        assert _wait(lambda: settings.exists() and 'mode = "mic"' in settings.read_text(encoding="utf-8")
                     and "mic = 2.0" in settings.read_text(encoding="utf-8"), 30), dash.screen()
        dash.keys("r")
        assert _wait(lambda: _sessions() and _journal(_sessions()[0]), 120), dash.screen()
        time.sleep(3)
        dash.keys("r")
        folder = _sessions()[0]
        assert _wait(lambda: any(r.get("t") == "end" for r in _journal(folder)), 90), dash.screen()
        dash.keys("s")
        assert _wait(lambda: list(folder.glob("*.md")), 30), dash.screen()
        dash.keys("C-q")
        assert dash.wait_exit(60) == 0, dash.screen()
    finally:
        dash.close()
    assert not _wait(_workers, 5)
    text = settings.read_text(encoding="utf-8")
    assert 'mode = "mic"' in text and "mic = 2.0" in text, text
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta.get("mode") == "mic", meta
