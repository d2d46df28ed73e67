"""Job Objects and CREATE_NO_WINDOW for real: the parent killed -> no worker left."""

from __future__ import annotations

import ctypes
from ctypes import wintypes
import subprocess
import sys
import time

import psutil

from meeting_tui.capture import winproc

PARENT = r"""
import subprocess, sys, time
from meeting_tui.capture import winproc
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdin=subprocess.DEVNULL,
                         creationflags=winproc.creationflags())
print(child.pid, winproc.attach_to_job(child.pid), flush=True)
time.sleep(60)
"""

# A stand-in for the venv launcher: it puts the real interpreter in a kill-on-close job of its own before
# anyone else can attach it, then waits (what a venv's Scripts\python.exe does).
LAUNCHER = r"""
import ctypes, subprocess, sys, time
from meeting_tui.capture import winproc
k32 = winproc._kernel32()
job = k32.CreateJobObjectW(None, None)
info = winproc.kill_on_close_limits()
k32.SetInformationJobObject(job, 9, ctypes.byref(info), ctypes.sizeof(info))
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdin=subprocess.DEVNULL)
h = k32.OpenProcess(0x0101, False, child.pid)
k32.AssignProcessToJobObject(job, h)
print(child.pid, flush=True)
time.sleep(60)
"""

CONSOLE = "import ctypes; print(ctypes.windll.kernel32.GetConsoleWindow(), " \
          "ctypes.windll.kernel32.GetConsoleProcessList((ctypes.c_uint32 * 8)(), 8))"


def _gone(pid: int, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not psutil.pid_exists(pid):
            return True
        time.sleep(0.1)
    return False


def _in_our_job(pid: int) -> bool:
    k32 = winproc._kernel32()
    k32.IsProcessInJob.argtypes = [wintypes.HANDLE, wintypes.HANDLE, ctypes.POINTER(wintypes.BOOL)]
    h = k32.OpenProcess(0x0400 | 0x1000, False, pid)  # PROCESS_QUERY_(LIMITED_)INFORMATION
    assert h, ctypes.get_last_error()
    result = wintypes.BOOL()
    ok = k32.IsProcessInJob(h, winproc._job_handle, ctypes.byref(result))
    k32.CloseHandle(h)
    assert ok, ctypes.get_last_error()
    return bool(result.value)


def test_killing_the_parent_kills_the_worker_through_the_job():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, creationflags=winproc.creationflags())
    pid, attached = parent.stdout.readline().split()
    pid = int(pid)
    assert attached == "True" and psutil.pid_exists(pid)
    parent.kill()  # TerminateProcess: no cleanup code runs in the parent
    parent.wait(10)
    assert _gone(pid), "the worker outlived its killed parent"


def test_create_no_window_gives_the_child_no_console():
    assert winproc.creationflags() == winproc.CREATE_NO_WINDOW == 0x08000000
    out = subprocess.run([sys.executable, "-c", CONSOLE], capture_output=True, text=True, timeout=30,
                         stdin=subprocess.DEVNULL, creationflags=winproc.creationflags())
    window, processes = map(int, out.stdout.split())
    # No console window, and a console of its own (only itself in it), not the parent's: nothing the child
    # writes can paint over the TUI.
    assert window == 0 and processes == 1


def test_a_launcher_that_jobs_its_child_first_keeps_it_out_of_our_job_yet_it_dies_with_the_launcher():
    """Why supervisor.worker_python() bypasses a venv's launcher (winproc's docstring says this)."""
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True, creationflags=winproc.creationflags())
    real = int(launcher.stdout.readline())
    assert winproc.attach_to_job(launcher.pid)
    assert _in_our_job(launcher.pid) and not _in_our_job(real)
    launcher.kill()
    launcher.wait(10)
    assert _gone(real)  # through the launcher's own kill-on-close job


def test_workers_start_on_the_base_interpreter_under_a_venv(monkeypatch):
    from meeting_tui.capture import supervisor

    monkeypatch.setattr(sys, "_base_executable", sys.executable)
    assert supervisor.worker_python() == (sys.executable, {})
    venv_python = r"C:\venv\Scripts\python.exe"
    monkeypatch.setattr(sys, "executable", venv_python)
    monkeypatch.setattr(sys, "_base_executable", sys.__dict__.get("_base_executable"))
    exe, env = supervisor.worker_python()
    assert exe != venv_python and env == {"__PYVENV_LAUNCHER__": venv_python}
    assert supervisor.worker_argv("sounddevice", [])[0] == exe
