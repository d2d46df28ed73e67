"""A poll loop on the event loop whose reads run on one thread of their own (COM state lives on the thread
that initialised it; pactl and parec block): the default-device watcher and the loopback watch use it.

The thread is a daemon: a read that never returns (a sound driver that hangs a COM call) must not keep the
program from exiting once its session is saved. ``ThreadPoolExecutor`` joins its threads at exit, so it
is not used here."""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any, Callable


class _DaemonThread:
    """Runs submitted calls one after another on one daemon thread; results come back as loop futures."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._serve, name=name, daemon=True).start()

    def submit(self, fn: Callable[[], Any]) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._calls.put((loop, future, fn))
        return future

    def close(self) -> None:
        self._calls.put(None)

    def _serve(self) -> None:
        while (item := self._calls.get()) is not None:
            loop, future, fn = item
            try:
                result, error = fn(), None
            except Exception as exc:  # handed to the awaiting coroutine
                result, error = None, exc
            try:
                loop.call_soon_threadsafe(_settle, future, result, error)
            except RuntimeError:  # the loop closed while the call ran: nobody waits for it
                pass


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class OneThreadPoller:
    """Subclasses define ``async _run()`` and call ``await self._on_thread(fn)`` for their blocking reads."""

    _task: asyncio.Task | None = None
    _thread: _DaemonThread | None = None

    def _start_polling(self, name: str) -> None:
        self._thread = _DaemonThread(name)
        self._task = asyncio.create_task(self._run(), name=name)

    async def _run(self) -> None:  # pragma: no cover - subclasses
        raise NotImplementedError

    async def _on_thread(self, fn: Callable[[], Any]) -> Any:
        return await self._thread.submit(fn)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        if self._thread is not None:
            self._thread.close()
            self._thread = None
