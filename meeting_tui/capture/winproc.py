r"""Windows process hardening for capture children (workers, FFmpeg, doctor probes).

- ``creationflags()``: ``CREATE_NO_WINDOW`` on Windows, so a child never opens a console window or
  paints over the TUI; 0 elsewhere (``subprocess.Popen`` accepts 0 on POSIX).
- ``attach_to_job(pid)``: put the child in one Job Object per parent process, created with
  ``JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE``. The job handle is never closed explicitly: when the parent
  exits, crashes or is killed from Task Manager, Windows closes the handle and kills every process still
  in the job. Only processes the child starts *after* it was attached inherit the job (FFmpeg started by
  a worker, say). A process that itself creates a job for its child first is the exception: the venv
  launcher (a venv's Scripts\python.exe) starts the real python.exe in a job of its own before we can
  attach, so that python is not in ours; it still dies with the launcher through the launcher's own
  kill-on-close job (tests/windows/test_winproc_wine.py). Workers avoid the launcher altogether:
  supervisor.worker_python() starts the base interpreter, as multiprocessing does.
  A no-op returning False on POSIX, where workers exit on stdin EOF instead.
- ``opt_out_of_power_throttling()``: Windows 11 runs processes without a visible window (our workers,
  and the app while its terminal is in the background) under EcoQoS, which slows them; a process opts
  out with ``SetProcessInformation(ProcessPowerThrottling)``, ControlMask = execution speed, StateMask 0.

Usage (subprocess or asyncio)::

    proc = subprocess.Popen(argv, stdin=PIPE, stdout=PIPE, stderr=PIPE, creationflags=winproc.creationflags())
    winproc.attach_to_job(proc.pid)

The structures and constants below follow the Win32 documentation (winnt.h / jobapi2.h); their layout
is checked on every OS by tests/test_winproc.py (ctypes sizes for 64- and 32-bit Windows).
"""

from __future__ import annotations

import ctypes
import sys
import threading
from ctypes import wintypes

CREATE_NO_WINDOW = 0x08000000
CREATE_NEW_PROCESS_GROUP = 0x00000200
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x00002000
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS = 9  # JobObjectExtendedLimitInformation
PROCESS_TERMINATE = 0x0001
PROCESS_SET_QUOTA = 0x0100

IS_WINDOWS = sys.platform == "win32"


class IO_COUNTERS(ctypes.Structure):
    _fields_ = [
        ("ReadOperationCount", ctypes.c_ulonglong),
        ("WriteOperationCount", ctypes.c_ulonglong),
        ("OtherOperationCount", ctypes.c_ulonglong),
        ("ReadTransferCount", ctypes.c_ulonglong),
        ("WriteTransferCount", ctypes.c_ulonglong),
        ("OtherTransferCount", ctypes.c_ulonglong),
    ]


class JOBOBJECT_BASIC_LIMIT_INFORMATION(ctypes.Structure):
    _fields_ = [
        ("PerProcessUserTimeLimit", ctypes.c_int64),  # LARGE_INTEGER
        ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", ctypes.c_uint32),  # DWORD
        ("MinimumWorkingSetSize", ctypes.c_size_t),  # SIZE_T
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", ctypes.c_uint32),
        ("Affinity", ctypes.c_size_t),  # ULONG_PTR
        ("PriorityClass", ctypes.c_uint32),
        ("SchedulingClass", ctypes.c_uint32),
    ]


class JOBOBJECT_EXTENDED_LIMIT_INFORMATION(ctypes.Structure):
    _fields_ = [
        ("BasicLimitInformation", JOBOBJECT_BASIC_LIMIT_INFORMATION),
        ("IoInfo", IO_COUNTERS),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


def creationflags() -> int:
    """Flags for every capture child: no console window on Windows; 0 on POSIX."""
    return CREATE_NO_WINDOW if IS_WINDOWS else 0


def kill_on_close_limits() -> JOBOBJECT_EXTENDED_LIMIT_INFORMATION:
    info = JOBOBJECT_EXTENDED_LIMIT_INFORMATION()
    info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    return info


_job_lock = threading.Lock()
_job_handle = None  # kept for the life of the process on purpose: closing it kills the children


def _kernel32():
    k32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    k32.CreateJobObjectW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
    k32.CreateJobObjectW.restype = wintypes.HANDLE
    k32.SetInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD]
    k32.SetInformationJobObject.restype = wintypes.BOOL
    k32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
    k32.OpenProcess.restype = wintypes.HANDLE
    k32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
    k32.AssignProcessToJobObject.restype = wintypes.BOOL
    k32.CloseHandle.argtypes = [wintypes.HANDLE]
    k32.CloseHandle.restype = wintypes.BOOL
    return k32


def _job(k32):
    global _job_handle
    with _job_lock:
        if _job_handle is None:
            handle = k32.CreateJobObjectW(None, None)
            if not handle:
                raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
            info = kill_on_close_limits()
            if not k32.SetInformationJobObject(handle, JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS,
                                               ctypes.byref(info), ctypes.sizeof(info)):
                err = ctypes.get_last_error()  # type: ignore[attr-defined]
                k32.CloseHandle(handle)
                raise ctypes.WinError(err)  # type: ignore[attr-defined]
            _job_handle = handle
        return _job_handle


def attach_to_job(pid: int) -> bool:
    """Make ``pid`` die with this process. True when attached; False on POSIX or when Windows refused.

    Never raises: a child outside the job still works, it just may outlive a crashed parent (workers also
    exit on stdin EOF, which covers a clean exit).
    """
    if not IS_WINDOWS:
        return False
    try:
        k32 = _kernel32()
        job = _job(k32)
        proc = k32.OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, False, int(pid))
        if not proc:
            return False
        try:
            return bool(k32.AssignProcessToJobObject(job, proc))
        finally:
            k32.CloseHandle(proc)
    except OSError:
        return False


def popen_kwargs() -> dict:
    """Keyword arguments for subprocess.Popen / asyncio.create_subprocess_exec on every OS."""
    return {"creationflags": creationflags()} if IS_WINDOWS else {}


class PROCESS_POWER_THROTTLING_STATE(ctypes.Structure):
    _fields_ = [("Version", ctypes.c_uint32), ("ControlMask", ctypes.c_uint32), ("StateMask", ctypes.c_uint32)]  # ULONGs


PROCESS_POWER_THROTTLING_CURRENT_VERSION = 1
PROCESS_POWER_THROTTLING_EXECUTION_SPEED = 0x1
PROCESS_POWER_THROTTLING_CLASS = 4  # PROCESS_INFORMATION_CLASS.ProcessPowerThrottling


def no_throttling_state() -> PROCESS_POWER_THROTTLING_STATE:
    """Control execution speed, state off: never EcoQoS, whatever the window state."""
    return PROCESS_POWER_THROTTLING_STATE(PROCESS_POWER_THROTTLING_CURRENT_VERSION,
                                          PROCESS_POWER_THROTTLING_EXECUTION_SPEED, 0)


def opt_out_of_power_throttling() -> bool:
    """Ask Windows not to throttle this process; False on POSIX or where the call is not there (before
    Windows 10 1709, or Wine), which changes nothing else."""
    if not IS_WINDOWS:
        return False
    try:
        k32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        set_info = k32.SetProcessInformation
    except (OSError, AttributeError):
        return False
    set_info.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD]
    set_info.restype = wintypes.BOOL
    k32.GetCurrentProcess.restype = wintypes.HANDLE
    state = no_throttling_state()
    return bool(set_info(k32.GetCurrentProcess(), PROCESS_POWER_THROTTLING_CLASS, ctypes.byref(state),
                         ctypes.sizeof(state)))
