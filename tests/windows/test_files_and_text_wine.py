"""Files and text on Windows: platformdirs paths, the session lock, the journal, atomic replace while
another process holds the file, and output redirected to a file without PYTHONUTF8."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import threading
import time
from ctypes import wintypes
from pathlib import Path

import pytest

from meeting_tui import paths
from meeting_tui.capture import winproc
from meeting_tui.session.lock import SessionLock, is_locked
from meeting_tui.session.store import Session, read_meta
from meeting_tui.types import Mode
from tests.windows.conftest import NON_ASCII_OUTPUT

REPO = Path(__file__).resolve().parents[2]


def test_platformdirs_paths_are_the_users_appdata(monkeypatch):
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    monkeypatch.delenv(paths.CONFIG_ENV, raising=False)
    local = os.environ["LOCALAPPDATA"]
    for p in (paths.data_dir(), paths.config_dir(), paths.log_dir()):
        assert str(p).lower().startswith(local.lower()) and "meeting-tui" in str(p)
    assert paths.sessions_dir() == paths.data_dir() / "sessions"


def test_the_session_lock_is_held_against_another_process(tmp_path):
    lock = SessionLock(tmp_path)
    assert lock.acquire()
    probe = "import sys; from meeting_tui.session.lock import is_locked; print(is_locked(sys.argv[1]))"
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL, creationflags=winproc.creationflags())
    assert out.stdout.strip() == "True", out.stderr
    lock.release(remove=True)
    assert not is_locked(tmp_path) and not (tmp_path / "session.lock").exists()


def _hold(path: Path, seconds: float, started: threading.Event) -> None:
    """Open ``path`` as an indexer or antivirus would: shared read/write, but not delete."""
    k32 = ctypes.WinDLL("kernel32", use_last_error=True)
    k32.CreateFileW.restype = wintypes.HANDLE
    k32.CreateFileW.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD, ctypes.c_void_p,
                                wintypes.DWORD, wintypes.DWORD, wintypes.HANDLE]
    h = k32.CreateFileW(str(path), 0x80000000, 0x1 | 0x2, None, 3, 0x80, None)  # GENERIC_READ, no FILE_SHARE_DELETE
    started.set()
    time.sleep(seconds)
    k32.CloseHandle(h)


def test_atomic_replace_waits_out_a_process_holding_the_target(tmp_path):
    target = tmp_path / "meta.json"
    target.write_text("old", encoding="utf-8")
    started = threading.Event()
    holder = threading.Thread(target=_hold, args=(target, 0.4, started))
    holder.start()
    started.wait(5)
    with pytest.raises(PermissionError) as err:  # what a plain os.replace does meanwhile
        tmp = tmp_path / "x.tmp"
        tmp.write_text("new", encoding="utf-8")
        os.replace(tmp, target)
    assert getattr(err.value, "winerror", None) in (5, 32)
    paths.atomic_write(target, "new")  # retried until the holder lets go
    holder.join()
    assert target.read_text(encoding="utf-8") == "new"


def test_a_session_is_journaled_and_closed_completely(tmp_path):
    s = Session.open(tmp_path, mode=Mode.MIC)
    folder = s.path
    assert is_locked(folder)
    s.close("stopped", duration_s=1.5)
    assert not is_locked(folder) and not (folder / "session.lock").exists()
    journal = (folder / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    assert '"t": "end"' in journal[-1] or '"t":"end"' in journal[-1]
    assert read_meta(folder)["end_reason"] == "stopped"


def test_output_redirected_to_a_file_survives_non_ascii_text_without_pythonutf8(tmp_path, win_rig):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONUTF8", "PYTHONIOENCODING")}
    out_path = tmp_path / "devices.txt"
    with open(out_path, "wb") as out:
        proc = subprocess.run([sys.executable, "-m", "meeting_tui", "devices"], stdout=out,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, timeout=120,
                              creationflags=winproc.creationflags())
    text = out_path.read_bytes().decode("utf-8")
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert NON_ASCII_OUTPUT in text


def test_doctor_plays_its_tone_on_the_named_output_not_the_default(tmp_path, win_rig):
    """Defect 7: `--play-device` puts the test signal on that output (the default is "Speakers")."""
    from meeting_tui.doctor.probes import write_test_signal
    from tests.windows.helpers import WorkerRun, worker_cmd

    wav = write_test_signal(tmp_path / "tone.wav", 4.0)
    rec = WorkerRun(worker_cmd("sounddevice", "--device", "Monitor of Quiet Out", "--hostapi", "Windows WASAPI"))
    try:
        rec.wait_seconds(0.5, timeout=30)
        player = subprocess.run([sys.executable, "-m", "meeting_tui.doctor.probes", "--play", str(wav),
                                 "--play-device", "Quiet Out"], capture_output=True, timeout=60,
                                stdin=subprocess.DEVNULL, creationflags=winproc.creationflags())
    finally:
        rec.stop()
    assert player.returncode == 0, player.stderr.decode("utf-8", "replace")
    import numpy as np

    peak = float(np.abs(rec.samples()).max())
    assert peak > 0.05, rec.describe()
