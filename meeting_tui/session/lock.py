"""A per-session lock file, held while a session is recording.

It tells "unfinished because the app died" (recoverable) from "unfinished because another instance is
still recording it" (leave alone). The OS drops the lock when the process dies, even on SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from meeting_tui import paths

LOCK_NAME = "session.lock"

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


class SessionLock:
    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self, *, write_pid: bool = True) -> bool:
        """Take the lock without waiting; False when another process (or handle) holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, paths.FILE_MODE)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            os.close(fd)
            return False
        if write_pid:  # for people looking at the folder
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def release(self, *, remove: bool = False) -> None:
        """Drop the lock; ``remove`` deletes the file too (a closed session needs none)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            else:
                os.lseek(self._fd, 0, os.SEEK_SET)
                msvcrt.locking(self._fd, msvcrt.LK_UNLCK, 1)
        os.close(self._fd)
        self._fd = None
        if remove:  # after closing: Windows cannot delete an open file
            with contextlib.suppress(OSError):
                self.path.unlink()


def is_locked(folder: str | os.PathLike[str]) -> bool:
    """True while some process records into ``folder``."""
    if not (Path(folder) / LOCK_NAME).exists():
        return False
    probe = SessionLock(folder)
    try:
        if probe.acquire(write_pid=False):
            probe.release()
            return False
    except OSError:  # read-only folder: nobody can be recording into it
        return False
    return True
