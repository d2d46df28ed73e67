"""Every capture backend, once: a ``Backend`` entry names its module and what the rest of capture may do with it.

A backend module provides ``add_arguments(parser)`` (its worker options), ``create(args)`` (the object, a
``CaptureBackend``: ``base.py``) and ``list_devices()``; it is imported only by the worker process that
runs it (``worker.py``), so a library missing here (PyAudioWPatch off Windows) costs nothing.
``tests/test_capture_backends.py`` checks each entry's module and class against that contract.

Adding a backend: its module beside the others and one ``Backend`` entry in ``BACKENDS``; then
``--backend NAME`` runs it, and ``engine.specs_for_mode`` may choose it for a mode.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Backend:
    name: str  # the worker's --backend NAME and WorkerSpec.backend
    module: str  # under meeting_tui.capture.backends
    cls: str  # the class its create() returns
    lists_devices_on: tuple[str, ...] = ()  # sys.platform prefixes where --list-devices asks it ("": all)
    follows_default: bool = False  # one stream on a system device: the default-device and playback watches follow it

    def load(self) -> ModuleType:
        return importlib.import_module(f"meeting_tui.capture.backends.{self.module}")

    def backend_class(self) -> type:
        return getattr(self.load(), self.cls)

    def lists_devices(self, platform: str = sys.platform) -> bool:
        return any(platform.startswith(p) for p in self.lists_devices_on)


BACKENDS: tuple[Backend, ...] = (
    Backend("sounddevice", "sounddevice_backend", "SoundDeviceBackend", lists_devices_on=("",), follows_default=True),
    Backend("file", "file_backend", "FileBackend"),  # replays a recording (demo, tests, benchmarks)
    Backend("pyaudiowpatch", "pyaudiowpatch_backend", "PyAudioWPatchBackend", lists_devices_on=("win32",),
            follows_default=True),  # WASAPI loopback on Windows
    Backend("ffmpeg", "ffmpeg_backend", "FfmpegBackend"),  # both sources through one FFmpeg child
)

NAMES: tuple[str, ...] = tuple(b.name for b in BACKENDS)
_BY_NAME = {b.name: b for b in BACKENDS}


def backend(name: str) -> Backend:
    """The entry for ``name``; KeyError for a name no entry has."""
    return _BY_NAME[name]


def follows_default(name: str) -> bool:
    entry = _BY_NAME.get(name)
    return entry is not None and entry.follows_default
