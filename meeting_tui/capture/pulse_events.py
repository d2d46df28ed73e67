"""The sound server's change events, from one long-lived ``pactl subscribe``: the default-device watcher
reads the defaults when the server says they may have changed, instead of running ``pactl`` twice a second
(about 4 ms of CPU a run: 0.8 % of a core spent asking; docs/cost.md).

``pactl subscribe`` prints one line per event ("Event 'change' on server #4294967295"); a change of the
default sink or source is a change on the server. Other events (streams, clients: our own workers'
connections among them) are read and ignored.
"""

from __future__ import annotations

import asyncio
import logging
import shutil

log = logging.getLogger("meeting_tui.capture")

SERVER_EVENT = b" on server"


class PactlSubscription:
    """Start inside a running loop; ``await wait(timeout)``; ``await close()``."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = env
        self._proc: asyncio.subprocess.Process | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("pactl") is not None

    async def start(self) -> bool:
        """False when ``pactl subscribe`` cannot run (the caller then polls)."""
        try:
            self._proc = await asyncio.create_subprocess_exec(
                "pactl", "subscribe", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL, env=self.env)
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
            if SERVER_EVENT in line:
                return True

    async def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            try:
                proc.kill()
            except ProcessLookupError:
                pass
            await proc.wait()
