"""One meeting-tui at a time captures: a second one would capture the same devices, load a second model
(twice the CPU on a laptop) and race the first over the settings file. The first holds a lock (filelock,
under the data dir; the OS drops it when the process dies, even on SIGKILL); a later one sees who holds it."""

from __future__ import annotations

import json
import os
import time

from filelock import FileLock, Timeout

from meeting_tui import paths


class InstanceLock:
    def __init__(self) -> None:
        self._lock = FileLock(str(paths.lock_file("instance")), timeout=0)
        self._info = paths.data_dir() / "locks" / "instance.json"

    def acquire(self, what: str) -> bool:
        """Take the lock without waiting; False when another meeting-tui holds it. ``what``: "dashboard" ..."""
        try:
            self._lock.acquire()
        except Timeout:
            return False
        try:
            paths.atomic_write(self._info, json.dumps({"pid": os.getpid(), "what": what, "since": time.time()}))
        except OSError:
            pass  # the lock is what counts; the note only names the holder
        return True

    def holder(self) -> str:
        """Who holds it, as a user reads it: "the dashboard (pid 4242, since 14:02)"."""
        try:
            info = json.loads(self._info.read_text(encoding="utf-8"))
            since = time.strftime("%H:%M", time.localtime(float(info["since"])))
            return f"the {info['what']} (pid {int(info['pid'])}, since {since})"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def release(self) -> None:
        self._lock.release()


def running_note(holder: str) -> str:
    return (f"Another meeting-tui is running: {holder}. Two would capture the same devices, transcribe twice "
            "and race over the settings file.")
