"""Hand glibc's freed heap pages back to the system after final decodes.

A final decode allocates and frees tens of MB in native code (CTranslate2's buffers, Silero VAD's
onnxruntime, numpy) from several threads. glibc keeps what is freed in its arenas for reuse, resident:
the front end held each backlog's peak to the end of the meeting and its RSS crept up while what was in
use stayed flat (docs/cost.md, "glibc's kept heap"). ``malloc_trim(0)`` returns the free pages of every
arena. Other C libraries (Windows, macOS, musl) have no such call: there
this does nothing, and it never fails the program.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform
import sys
import time
from typing import Callable

log = logging.getLogger(__name__)

#: At most one trim this often: finals drained back to back (a backlog, the end of a meeting) need one.
TRIM_EVERY_S = 2.0


def find_malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        fn = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError) as exc:
        log.debug("no malloc_trim: %s", exc)
        return None
    fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
    return fn


class HeapTrimmer:
    """Trims the heap after a final decode, at most every ``every_s`` seconds."""

    def __init__(self, every_s: float = TRIM_EVERY_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._trim = find_malloc_trim()
        self._every_s, self._clock = every_s, clock
        self._last = float("-inf")
        self.trims = 0

    @property
    def available(self) -> bool:
        return self._trim is not None

    def after_decode(self) -> bool:
        """Trim if the C library can and the last trim is old enough; True if it trimmed."""
        now = self._clock()
        if self._trim is None or now - self._last < self._every_s:
            return False
        self._last = now
        self._trim(0)
        self.trims += 1
        return True
