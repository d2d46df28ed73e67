"""A poll loop on the event loop whose reads run on one thread of their own (COM state lives on the thread
that initialised it; pactl and parec block): the default-device watcher and the loopback watch use it."""

from __future__ import annotations

import asyncio
from typing import Any, Callable


class OneThreadPoller:
    """Subclasses define ``async _run()`` and call ``await self._on_thread(fn)`` for their blocking reads."""

    _task: asyncio.Task | None = None
    _executor: Any = None

    def _start_polling(self, name: str) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._task = asyncio.create_task(self._run(), name=name)

    async def _run(self) -> None:  # pragma: no cover - subclasses
        raise NotImplementedError

    async def _on_thread(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
