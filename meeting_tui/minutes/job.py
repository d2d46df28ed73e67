"""Minutes in the background (the dashboard's): ``MinutesJob(folder, settings, ...).start()``, then
``cancel()``. Everything that can be wrong (session, template, engine) is found on the job's thread before
any work and reported once through ``on_done``; the minutes are written only at the end, atomically, so a
cancelled or killed run leaves the earlier minutes or none. The thread runs at the lowest CPU priority it
can have (threads a local model starts inherit it), so that a meeting being recorded gets the CPU first.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from meeting_tui.minutes.build import Minutes
from meeting_tui.minutes.errors import Cancelled, MinutesError

log = logging.getLogger(__name__)


@dataclass
class MinutesResult:
    ok: bool
    message: str
    minutes: Minutes | None = None
    path: Path | None = None
    cancelled: bool = False


def lower_thread_priority() -> None:
    """This thread only (Linux: a thread has its own nice value; Windows: the thread priority)."""
    try:
        if sys.platform.startswith("linux"):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        elif sys.platform == "win32":
            import ctypes

            kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
            kernel32.SetThreadPriority(kernel32.GetCurrentThread(), -2)  # THREAD_PRIORITY_LOWEST
    except (OSError, AttributeError):
        pass


def summary_of(minutes: Minutes) -> str:
    from meeting_tui.minutes.render import plural

    kinds = {k: sum(i.kind == k for i in minutes.items) for k in ("decision", "action", "question")}
    return (f"{plural(kinds['decision'], 'decision')}, {plural(kinds['action'], 'action item')}, "
            f"{plural(kinds['question'], 'open question')} ({plural(minutes.dropped, 'item')} dropped: their line did "
            "not say them)")


class MinutesJob:
    """One run on a daemon thread; ``on_progress(fraction, text)`` and ``on_done(result)`` run on it."""

    def __init__(self, folder: Path, settings: Any, *, template: str = "default", engine: str | None = None,
                 on_progress: Callable[[float, str], None] | None = None,
                 on_done: Callable[[MinutesResult], None] | None = None, low_priority: bool = True) -> None:
        self.folder = Path(folder)
        self.settings = settings
        self.template, self.engine = template, engine
        self.on_progress, self.on_done = on_progress, on_done
        self.low_priority = low_priority
        self.fraction = 0.0
        self.result: MinutesResult | None = None
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> MinutesJob:
        self._thread = threading.Thread(target=self.run, name="minutes", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def wait(self, timeout: float | None = None) -> MinutesResult | None:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result

    def _progress(self, fraction: float, text: str) -> None:
        self.fraction = fraction
        if self.on_progress is not None:
            try:
                self.on_progress(fraction, text)
            except Exception:
                log.exception("minutes progress callback failed")

    def run(self) -> MinutesResult:
        if self.low_priority:
            lower_thread_priority()
        self.result = self._make()
        if self.on_done is not None:
            self.on_done(self.result)
        return self.result

    def _make(self) -> MinutesResult:
        from meeting_tui.minutes.build import check_session, make_minutes, write_minutes
        from meeting_tui.minutes.engines import engine_from_settings
        from meeting_tui.minutes.templates import TemplateError, load_template

        try:
            template = load_template(self.template)
            meeting = check_session(self.folder, self.settings.ui.labels.as_dict())
            self._progress(0.0, "reaching the engine")
            engine = engine_from_settings(self.settings.minutes, self.engine)
            minutes = make_minutes(self.folder, template, engine=engine, progress=self._progress,
                                   cancelled=self._cancel.is_set, meeting=meeting)
            if self._cancel.is_set():
                raise Cancelled("minutes cancelled; nothing was written")
            path = write_minutes(minutes)
        except Cancelled:
            return MinutesResult(False, "Minutes cancelled; nothing was written.", cancelled=True)
        except (MinutesError, TemplateError) as exc:
            return MinutesResult(False, f"{exc}. Nothing was written.")
        except OSError as exc:
            return MinutesResult(False, f"Cannot write the minutes into {self.folder}: {exc.strerror or exc}.")
        except Exception as exc:  # a bug: say it, write nothing
            log.exception("minutes failed")
            return MinutesResult(False, f"Minutes failed: {type(exc).__name__}: {exc}. Nothing was written.")
        return MinutesResult(True, summary_of(minutes), minutes, path)
