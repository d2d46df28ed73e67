"""soak_bench's heap experiments, loaded in `record`'s front end through PYTHONPATH (never by the product).

SOAK_HEAP picks what runs before anything else in the process: ``trim`` (glibc's ``malloc_trim(0)`` every
SOAK_HEAP_TRIM_S seconds, from a thread), ``arena2`` (``mallopt(M_ARENA_MAX, 2)``), anything else nothing.
SOAK_HEAP_LOG names a file that gets glibc's ``mallinfo2`` every 15 s: the heap's size, what is in use,
what is free but kept, and what is mapped apart (large blocks), in MB, then the trims so far and their seconds.
"""

import ctypes
import os
import sys
import threading
import time

M_ARENA_MAX = -8


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                 "fsmblks", "uordblks", "fordblks", "keepcost")]


def _start() -> None:
    libc = ctypes.CDLL("libc.so.6")
    mode = os.environ.get("SOAK_HEAP", "")
    if mode == "arena2":
        libc.mallopt(M_ARENA_MAX, 2)
    log = os.environ.get("SOAK_HEAP_LOG")
    every = float(os.environ.get("SOAK_HEAP_TRIM_S", "2"))
    libc.mallinfo2.restype = _MallInfo2

    def loop() -> None:
        t0 = last_log = time.monotonic()
        trims, trim_s = 0, 0.0
        while True:
            time.sleep(every if mode == "trim" else 15)
            if mode == "trim":
                t = time.perf_counter()
                libc.malloc_trim(0)
                trims, trim_s = trims + 1, trim_s + time.perf_counter() - t
            now = time.monotonic()
            if log and now - last_log >= 15:
                last_log = now
                m = libc.mallinfo2()
                mb = 2**20
                with open(log, "a") as f:
                    f.write(f"{now - t0:.0f} {m.arena / mb:.1f} {m.uordblks / mb:.1f} {m.fordblks / mb:.1f} "
                            f"{m.hblkhd / mb:.1f} {trims} {trim_s:.3f}\n")

    threading.Thread(target=loop, daemon=True, name="soak-heap").start()


if "record" in sys.argv and os.environ.get("SOAK_HEAP") != "jemalloc":  # the front end, not its workers
    _start()
