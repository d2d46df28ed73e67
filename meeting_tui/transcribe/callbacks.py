"""Calling a client's callback from the transcriber's threads: a failing client is logged, never fatal."""

from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger("meeting_tui.transcribe")


def call(cb: Callable[..., Any] | None, *args: Any) -> None:
    if cb is None:
        return
    try:
        cb(*args)
    except Exception:
        log.exception("transcriber callback failed")
