"""Ctrl+C and SIGTERM as an asyncio event, for the headless commands (monitor, record)."""

from __future__ import annotations

import asyncio
import signal


def stop_event() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (call inside the running loop). On Windows the loop has no
    signal handlers: Ctrl+C arrives as KeyboardInterrupt, which the commands catch themselves."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    return stop
