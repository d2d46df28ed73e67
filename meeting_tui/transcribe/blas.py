"""One BLAS thread per process while we transcribe.

numpy's OpenBLAS starts a pool of one worker thread per extra core at import, and those workers spin
for a while after every matrix product. The live path makes many small products (the mel filter bank of
every decode, the echo and speaker maths), so on a 2-core laptop the spinning worker cost more CPU than
the Whisper encoder (docs/transcription.md, "CPU"). Whisper's own threads are CTranslate2's
(``cpu_threads``), not BLAS's, so one BLAS thread loses nothing.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)
_done = False


def limit_blas_threads() -> None:
    """Limit every BLAS library loaded in this process to one thread (idempotent)."""
    global _done
    if _done:
        return
    _done = True
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a dependency, but a missing one must not stop transcription
        log.warning("threadpoolctl is missing: BLAS keeps its thread pool (more CPU)")
        return
    import numpy  # noqa: F401  -- load numpy's BLAS first, so that the limit reaches it

    try:
        threadpool_limits(limits=1, user_api="blas")
    except Exception as exc:  # an unknown BLAS build costs CPU, not transcription
        log.warning("could not limit BLAS threads: %s", exc)
