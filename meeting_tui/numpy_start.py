"""numpy loaded with a one-thread BLAS pool, at the front end's start (cli.main), before any import loads it.

The front end limits BLAS to one thread anyway (transcribe/blas.py); loaded with more, OpenBLAS starts a
thread per extra core at import, about 0.06 s of CPU at every start on two cores (docs/cost.md). Only
this process is affected: the environment is put back, so children (workers, hooks) keep the user's."""

from __future__ import annotations

import os
import sys


def import_numpy_with_one_blas_thread() -> None:
    if "numpy" in sys.modules:
        return
    old = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        import numpy  # noqa: F401
    finally:
        if old is None:
            os.environ.pop("OPENBLAS_NUM_THREADS", None)
        else:
            os.environ["OPENBLAS_NUM_THREADS"] = old
