"""A bound on CTranslate2's oneDNN primitive cache, set before the first decode.

oneDNN keeps up to 1024 compiled primitives, one per input shape, each with its scratch buffers (about
2 MB for Whisper's encoder). Live decodes size the encoder window to the audio (window.py), so nearly
every long utterance is a new shape and the cache grew the front end's RSS for as long as a meeting ran
(docs/cost.md, "An hour at real time"). A few entries keep the shapes that repeat (the minimum windows)
at the same CPU. A value the user set in the environment is kept.
"""

from __future__ import annotations

import os

PRIMITIVE_CACHE_CAPACITY = 8


def bound_native_caches() -> None:
    """Set the capacity in this process's environment; oneDNN reads it when it makes its first primitive."""
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(PRIMITIVE_CACHE_CAPACITY))
