"""What every capture backend provides to the worker process.

A backend opens exactly one stream. Its audio callback (on the library's own thread) calls ``emit`` with
a block of float32 samples shaped (frames, channels), or a ``RawBlock`` of the same samples as bytes, and
the block's capture time; the worker queues the block and a separate writer thread puts it on the pipe, so
the callback never blocks on I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, NamedTuple, Protocol, Union, runtime_checkable

if TYPE_CHECKING:
    import numpy as np


class RawBlock(NamedTuple):
    """Interleaved little-endian float32 samples as the audio library gave them: no numpy needed."""

    data: bytes
    channels: int


# emit(samples (frames, channels) float32 or a RawBlock, capture_time: monotonic seconds, flags)
Emit = Callable[[Union["np.ndarray", RawBlock], float, int], None]


class CaptureError(RuntimeError):
    """A stream could not be opened or died. ``hint`` tells the user what to do about it."""

    def __init__(self, message: str, *, hint: str = "", code: int | None = None) -> None:
        super().__init__(message)
        self.hint = hint
        self.code = code


@dataclass
class StreamInfo:
    device: str
    hostapi: str
    samplerate: int
    channels: int
    extra: dict = field(default_factory=dict)


@runtime_checkable
class CaptureBackend(Protocol):
    """What ``create(args)`` of each backend module returns (registry.py lists them; a test checks each).

    Optional: a class attribute ``blocking_emit = True`` for sources with no real-time thread (file replay):
    the worker then hands ``open`` an emit that waits for the pipe instead of dropping blocks."""

    def open(self, emit: Emit) -> StreamInfo:
        """Open and start the stream; raise CaptureError with a hint on failure."""

    def poll(self) -> str | None:
        """Called about ten times a second from the worker's main thread.

        Return None while the stream is healthy, or a reason string when it has died (the worker then
        exits non-zero and the parent restarts it). Backends that must synthesize data (idle WASAPI
        loopback) do it here.
        """

    def close(self) -> None: ...
