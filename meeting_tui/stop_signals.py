"""Ctrl+C, SIGTERM, SIGHUP and Windows console events as an asyncio event, for the headless commands (monitor, record).

On Windows the event loop has no signal handlers. There Ctrl+C and Ctrl+Break go through ``signal.signal``
(a handler that wakes the loop), and closing the terminal tab, logging off or shutting down arrive as console
control events on a thread of their own (``SetConsoleCtrlHandler``): the process is ended when that handler
returns, or about 5 s after the event, so the handler waits for the command to say it has closed the
session (``closed``) for at most ``CLOSE_WAIT_S``, and ``closing`` tells the command to bound its drain.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT = 2, 5, 6
CLOSE_WAIT_S = 4.5  # Windows ends the process about 5 s after a close event
CLOSE_DRAIN_S = 3.0  # the share of that spent transcribing queued audio; the rest closes the journal


def close_drain_s() -> float:
    """CLOSE_DRAIN_S, or MEETING_TUI_CLOSE_DRAIN_S (seconds; 0 closes the journal at once: tests use it)."""
    try:
        return max(0.0, float(os.environ.get("MEETING_TUI_CLOSE_DRAIN_S", CLOSE_DRAIN_S)))
    except ValueError:
        return CLOSE_DRAIN_S


@dataclass
class StopSignals:
    event: asyncio.Event
    closing: threading.Event = field(default_factory=threading.Event)  # a console close: drain briefly
    closed: threading.Event = field(default_factory=threading.Event)  # set by the command when it is done
    closing_at: float | None = None  # time.monotonic() of the close event
    _handler: object = None  # the ctypes callback, kept alive while it is registered
    _restore: dict = field(default_factory=dict)  # signal -> the handler before ours (Windows branch)

    def drain_left(self, budget_s: float) -> float | None:
        """Seconds of ``budget_s`` left since the close event; None while no close came."""
        return None if self.closing_at is None else self.closing_at + budget_s - time.monotonic()

    def close(self) -> None:
        """Take our handlers back out (the loop they wake is about to go)."""
        for sig, previous in self._restore.items():
            try:
                signal.signal(sig, previous)
            except (ValueError, OSError):
                pass
        self._restore.clear()
        if self._handler is not None and sys.platform == "win32":
            import ctypes

            ctypes.WinDLL("kernel32").SetConsoleCtrlHandler(self._handler, False)

    async def wait(self) -> None:
        await self.event.wait()

    def hang_up(self) -> None:
        self.closing_at = self.closing_at or time.monotonic()
        for fd in (1, 2):  # a hung-up terminal answers writes with EIO: what is left to say goes nowhere
            try:
                if os.isatty(fd):
                    os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
            except OSError:
                pass
        self.closing.set()
        self.event.set()

    def console_event(self, loop: asyncio.AbstractEventLoop, ctrl_type: int) -> bool:
        """The console control handler's body (a system thread). True: handled, do not end us yet."""
        if ctrl_type in (CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT):
            self.closing_at = self.closing_at or time.monotonic()
            self.closing.set()
            loop.call_soon_threadsafe(self.event.set)
            self.closed.wait(CLOSE_WAIT_S)
            return True
        loop.call_soon_threadsafe(self.event.set)  # Ctrl+C / Ctrl+Break
        return True


def _windows_branch() -> bool:
    # MEETING_TUI_WINDOWS_SIGNALS=1 takes the Windows branch on Linux, for its test.
    return sys.platform == "win32" or os.environ.get("MEETING_TUI_WINDOWS_SIGNALS") == "1"


def stop_signals() -> StopSignals:
    """Call inside the running loop."""
    stop = StopSignals(asyncio.Event())
    loop = asyncio.get_running_loop()
    if not _windows_branch():
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.event.set)
            except (NotImplementedError, RuntimeError):
                pass
        try:  # the terminal went away (its window closed, ssh dropped): as a console close on Windows
            loop.add_signal_handler(signal.SIGHUP, stop.hang_up)
        except (NotImplementedError, RuntimeError, AttributeError):
            pass
        return stop
    # Replaces asyncio.run's own SIGINT handler, which would cancel the command mid-drain and then raise
    # KeyboardInterrupt after it.
    for name in ("SIGINT", "SIGBREAK", "SIGTERM"):
        sig = getattr(signal, name, None)
        if sig is not None:
            stop._restore[sig] = signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.event.set))
    if sys.platform == "win32":
        _register_console_handler(stop, loop)
    return stop


def _register_console_handler(stop: StopSignals, loop: asyncio.AbstractEventLoop) -> None:
    import ctypes
    from ctypes import wintypes

    routine = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.DWORD)
    stop._handler = routine(lambda ctrl_type: bool(stop.console_event(loop, int(ctrl_type))))
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.SetConsoleCtrlHandler(stop._handler, True)


def stop_event() -> asyncio.Event:
    """An event set by Ctrl+C or SIGTERM (call inside the running loop)."""
    return stop_signals().event
