"""The sound server's change events, from one long-lived ``pactl subscribe``: the default-device watcher
reads the defaults when the server says they may have changed, instead of running ``pactl`` twice a second
(about 4 ms of CPU a run: 0.8 % of a core spent asking; docs/cost.md).

``pactl subscribe`` prints one line per event ("Event 'change' on server #4294967295"); a change of the
default sink or source is a change on the server. Other events (streams, clients: our own workers'
connections among them) are read and ignored. The loopback watch follows the same events another way: it
counts those on outputs, their streams and the defaults (``follow``), and reads the server's lists again only
when that count moved.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from typing import Callable

log = logging.getLogger("meeting_tui.capture")

def parse_event(line: bytes) -> tuple[bytes, bytes]:
    """b"Event 'new' on sink-input #12" -> (b"new", b"sink-input")."""
    head, _, rest = line.partition(b" on ")
    return head.removeprefix(b"Event ").strip(b"' "), rest.split(b" #", 1)[0].strip()


class PactlSubscription:
    """Start inside a running loop; then ``await wait(timeout)`` for each server event, or ``follow`` to count
    events of some kinds; ``await close()``."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = env
        self._proc: asyncio.subprocess.Process | None = None
        self._counting: asyncio.Task | None = None
        self.changes = 0  # with ``follow``: events counted so far (read from any thread)
        self.following = False  # ... and whether the count still follows the server

    @staticmethod
    def available() -> bool:
        return shutil.which("pactl") is not None

    async def start(self) -> bool:
        """False when ``pactl subscribe`` cannot run (the caller then polls)."""
        try:
            # pactl translates its event lines ("Ereignis »neu« auf Ziel-Eingabe #4"): C, which also
            # overrides LANGUAGE, keeps them the English ones read here.
            env = dict(os.environ if self.env is None else self.env, LC_ALL="C")
            self._proc = await asyncio.create_subprocess_exec(
                "pactl", "subscribe", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL, env=env)
        except OSError as exc:
            log.debug("pactl subscribe did not start: %s", exc)
            return False
        return True

    async def wait(self, timeout: float) -> bool | None:
        """True when a server event came, False when ``timeout`` passed without one, None when the
        subscription ended (no server, or it went away): the caller polls from then on."""
        proc = self._proc
        if proc is None or proc.stdout is None:
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                return False
            try:
                line = await asyncio.wait_for(proc.stdout.readline(), left)
            except asyncio.TimeoutError:
                return False
            if not line:
                await self.close()
                return None
            if parse_event(line)[1] == b"server":
                return True

    def follow(self, counts: Callable[[bytes, bytes], bool]) -> None:
        """Count in ``changes`` the events ``counts(what, on)`` accepts (b"new", b"sink-input"), in a task of
        the running loop, instead of ``wait``ing for them; ``following`` turns False if the subscription ends."""
        self.following = self._proc is not None
        self._counting = asyncio.create_task(self._count(counts), name="pactl-subscribe")

    async def _count(self, counts: Callable[[bytes, bytes], bool]) -> None:
        try:
            while (proc := self._proc) is not None and proc.stdout is not None:
                line = await proc.stdout.readline()
                if not line:
                    break
                if counts(*parse_event(line)):
                    self.changes += 1
        finally:
            self.following = False

    async def close(self) -> None:
        task, self._counting = self._counting, None
        if task is not None:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            try:
                proc.kill()
            except ProcessLookupError:
                pass
            await proc.wait()
