"""Runs one worker subprocess, reads its frames, and restarts it when it exits, stalls or garbles.

asyncio only: ``asyncio.create_subprocess_exec`` with argument lists and pipes on all three streams
(the Proactor loop on Windows supports this; never swap the loop policy). stderr is drained all the
time, both for the log and because a full pipe would block the worker.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from meeting_tui.capture.frames import Frame, FrameDecoder, FrameError

log = logging.getLogger("meeting_tui.capture")

BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
HEALTHY_RUN_S = 10.0  # a worker that ran this long resets the backoff
STALL_RESTART_S = 4.0  # no frames this long once started: kill and restart (health says "stalled" after 1 s)
# Opening a device is slow on Windows (FFmpeg's dshow open waits up to 8 s, IMMDevice::Activate can take
# ~4 s): until the worker reports "started" only this longer limit applies.
STARTUP_TIMEOUT_S = 15.0
STOP_GRACE_S = 2.0
KILL_WAIT_S = 5.0
READ_SIZE = 1 << 16


@dataclass
class WorkerEvents:
    """Callbacks into the engine, all on the event loop."""

    on_spawned: Callable[[], None]  # a new process, before any of its frames: reset per-process state
    on_started: Callable[[dict], None]  # its "started" status line (device, rate), whenever it arrives
    on_frames: Callable[[list[Frame]], None]
    on_exit: Callable[[str], None]  # reason; restarted unless the supervisor was made with restart=False
    on_finished: Callable[[], None]  # clean end of a finite source: not restarted
    on_given_up: Callable[[], None] = lambda: None  # exited and not restarted (restart=False): no more audio
    on_message: Callable[[dict], None] = lambda msg: None  # status lines; non-JSON stderr as event "stderr"


@dataclass
class WorkerStats:
    starts: int = 0
    restarts: int = 0
    frames: int = 0
    bytes: int = 0
    last_error: str | None = None
    hint: str = ""
    info: dict = field(default_factory=dict)


class WorkerSupervisor:
    def __init__(self, name: str, argv: list[str], events: WorkerEvents, *, env: dict[str, str] | None = None,
                 restart: bool = True, stall_restart_s: float | None = STALL_RESTART_S,
                 startup_timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.events = events
        self.restart = restart
        self.stall_restart_s = stall_restart_s
        self.startup_timeout_s = startup_timeout_s
        self.stats = WorkerStats()
        self.proc: asyncio.subprocess.Process | None = None
        self._stopping = False
        self._task: asyncio.Task | None = None
        self._last_frame = 0.0
        self._eof_announced = False
        self._stalled: str | None = None
        self._opened_at: float | None = None  # when this process said "started"
        self._requested: str | None = None  # restart_now's reason, for the current process
        self._last_error_message: str | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"worker-{self.name}")

    def restart_now(self, reason: str) -> bool:
        """Replace the running worker at once (no backoff, not counted as a crash): the default device
        changed, so a new process opens the new one. False when there is no live worker to replace."""
        proc = self.proc
        if self._stopping or proc is None or proc.returncode is not None:
            return False
        self._requested = reason
        try:
            proc.kill()
        except ProcessLookupError:
            return False
        return True

    async def _spawn(self) -> asyncio.subprocess.Process:
        kwargs = {}
        if sys.platform == "win32":
            from meeting_tui.capture import winproc

            kwargs["creationflags"] = winproc.creationflags()  # no console window painting over the TUI
        proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=self.env, **kwargs)
        if sys.platform == "win32":
            from meeting_tui.capture import winproc

            winproc.attach_to_job(proc.pid)  # dies with us even if we are killed
        return proc

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            started = time.monotonic()
            reason = await self._run_once()
            if self._stopping:
                break
            if self._requested is not None:
                log.info("%s worker: %s", self.name, self._requested)
                self.events.on_message({"event": "restart", "message": self._requested})
                self._requested = None
                self.stats.restarts += 1
                continue
            if reason is None:  # finished cleanly (end of a replayed file)
                self.events.on_finished()
                return
            self.stats.last_error = reason
            log.info("%s worker: %s", self.name, reason)  # the user reads it as the source's health, once
            self.events.on_exit(reason)
            if not self.restart:  # a replayed file is not restarted: waiting for its end would wait forever
                self.events.on_given_up()
                return
            attempt = 0 if time.monotonic() - started >= HEALTHY_RUN_S else attempt + 1
            delay = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
            self.stats.restarts += 1
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                return

    async def _run_once(self) -> str | None:
        """Run one worker process to its end. Returns None for a clean finish, else the reason."""
        self._eof_announced = False
        self._opened_at = None
        try:
            self.proc = await self._spawn()
        except OSError as exc:
            return f"cannot start the worker: {exc}"
        if self._stopping:  # stop() ran while it was being created: it saw the previous process
            await self._end(self.proc)
            return None
        self.stats.starts += 1
        self.events.on_spawned()
        self._last_frame = time.monotonic()
        stderr_task = asyncio.create_task(self._drain_stderr(self.proc))
        watchdog = asyncio.create_task(self._watchdog(self.proc))
        decoder = FrameDecoder()
        reason: str | None = None
        try:
            while True:
                data = await self.proc.stdout.read(READ_SIZE)
                if not data:
                    decoder.finish()
                    break
                self.stats.bytes += len(data)
                frames = decoder.feed(data)
                if frames:
                    self._last_frame = time.monotonic()
                    self.stats.frames += len(frames)
                    self.events.on_frames(frames)
        except FrameError as exc:
            reason = f"garbled output from the worker ({exc})"
            await self._kill(self.proc)
        finally:
            watchdog.cancel()
        code = await self.proc.wait()
        await asyncio.wait([stderr_task], timeout=1.0)
        if self._stopping:
            return None
        if reason:
            return reason
        if self._stalled:
            stalled, self._stalled = self._stalled, None
            return stalled
        if code == 0 and self._eof_announced:
            return None
        return f"{self._last_error_message or 'exited unexpectedly'} (exit code {code})"

    async def _drain_stderr(self, proc: asyncio.subprocess.Process) -> None:
        self._last_error_message = None
        while True:
            line = await proc.stderr.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").strip()
            if not text:
                continue
            try:
                msg = json.loads(text)
                if not isinstance(msg, dict):
                    raise ValueError
            except ValueError:
                log.debug("%s worker stderr: %s", self.name, text)  # PortAudio/ALSA chatter, or a traceback
                self.events.on_message({"event": "stderr", "message": text})
                continue
            event = msg.get("event")
            if event == "started":
                self._opened_at = time.monotonic()
                self.stats.info = msg
                self.events.on_started(msg)
            elif event == "eof":
                self._eof_announced = True
            elif event == "error":
                self._last_error_message = str(msg.get("message"))
                self.stats.hint = str(msg.get("hint") or "")
                log.info("%s worker error: %s %s", self.name, msg.get("message"), msg.get("hint") or "")
            elif event == "warning":
                log.info("%s worker: %s", self.name, msg.get("message"))
            self.events.on_message(msg)

    async def _watchdog(self, proc: asyncio.subprocess.Process) -> None:
        spawned = time.monotonic()
        while proc.returncode is None:
            await asyncio.sleep(0.25)
            now = time.monotonic()
            if self._eof_announced:
                continue
            if self._opened_at is None:  # still opening the device: only the start-up limit applies
                if now - spawned > self.startup_timeout_s:
                    self._stalled = f"the device did not open within {self.startup_timeout_s:.0f} s"
                    await self._kill(proc)
                    return
            elif (self.stall_restart_s is not None
                  and now - max(self._last_frame, self._opened_at) > self.stall_restart_s):
                self._stalled = f"no audio for {self.stall_restart_s:.0f} s"
                await self._kill(proc)
                return

    async def _kill(self, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            try:
                proc.kill()
            except ProcessLookupError:
                pass

    async def stop(self) -> None:
        """Close the worker's stdin (its stop signal), wait, then terminate, then kill; also a worker whose
        start was under way when we were asked to stop."""
        self._stopping = True
        await self._end(self.proc)
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 3.0)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            await self._end(self.proc)

    async def _end(self, proc: asyncio.subprocess.Process | None) -> None:
        if proc is None or proc.returncode is not None:
            return
        try:
            proc.stdin.close()
        except (OSError, RuntimeError):
            pass
        for step, wait_s in ((None, STOP_GRACE_S), (proc.terminate, 1.0), (proc.kill, KILL_WAIT_S)):
            if step is not None:
                try:
                    step()
                except ProcessLookupError:
                    return
            try:
                await asyncio.wait_for(proc.wait(), wait_s)
                return
            except asyncio.TimeoutError:
                continue
        # Not gone even after a kill: leave it (on Windows our job object ends it when we exit), but never
        # keep the session from being saved waiting for it.
        log.info("%s worker (pid %s) did not exit when killed", self.name, proc.pid)


def worker_python() -> tuple[str, dict[str, str]]:
    """The interpreter to start workers with, and the environment it needs.

    In a Windows venv ``sys.executable`` is a launcher that starts the real python.exe as its own child
    (in a job of its own): the PID we get and put in our job would be the launcher's, not the worker's.
    Like multiprocessing (bpo-35797), start the base interpreter and tell it the venv through
    ``__PYVENV_LAUNCHER__``, so the worker is our direct child.
    """
    base = getattr(sys, "_base_executable", None)
    if sys.platform == "win32" and base and os.path.normcase(base) != os.path.normcase(sys.executable) \
            and os.path.exists(base):
        return base, {"__PYVENV_LAUNCHER__": sys.executable}
    return sys.executable, {}


def worker_argv(backend: str, args: list[str]) -> list[str]:
    return [worker_python()[0], "-m", "meeting_tui.capture.worker", "--backend", backend, *args]


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    # A worker does no matrix maths: without this, numpy's OpenBLAS starts a thread per core at import,
    # half of a file or WASAPI worker's start-up CPU (docs/cost.md).
    env["OPENBLAS_NUM_THREADS"] = "1"
    env.update(worker_python()[1])
    if extra:
        env.update(extra)
    return env
