"""One meeting-tui at a time captures: a second one would capture the same devices and load a second model
(twice the CPU on a laptop). The first holds a lock (filelock, under the data dir; the OS drops it when the
process dies, even on SIGKILL); a later one sees who holds it. Settings writes need no lock of their own
here: meeting_tui/toml_edit.py writes only the changed keys, under a lock of its own."""

from __future__ import annotations

import json
import os
import time

from filelock import FileLock, Timeout

from meeting_tui import paths


class InstanceLock:
    def __init__(self) -> None:
        self._lock: FileLock | None = None
        self._info = paths.data_dir() / "locks" / "instance.json"

    def acquire(self, what: str) -> bool:
        """Take the lock without waiting; False when another meeting-tui holds it. ``what`` names this one
        as a user reads it: "the dashboard", "`meeting-tui record`". A data dir that cannot be written
        counts as free: the dashboard and `record` say what is wrong with it themselves."""
        try:
            self._lock = FileLock(str(paths.lock_file("instance")), timeout=0)
            self._lock.acquire()
        except Timeout:
            return False
        except OSError:
            self._lock = None
            return True
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
            return f"{info['what']} (pid {int(info['pid'])}, since {since})"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()


def running_note(holder: str) -> str:
    return f"Another meeting-tui is running: {holder}."


def record_beside_note(holder: str) -> str:
    """What `record` says when it starts beside another instance (it goes on: a script may mean it)."""
    return (f"{running_note(holder)} This one records too: the same devices are captured twice and two models "
            "transcribe (twice the CPU). Stop one of them (the dashboard: Ctrl+Q; record: Ctrl+C) unless you mean both.")
