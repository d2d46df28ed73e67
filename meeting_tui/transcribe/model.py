"""Loading a faster-whisper model: names or local folders, device and compute type, progress, clear errors.

``load_model(config, progress)`` blocks (call it from a thread; ``Transcriber`` does). ``ModelLoader`` runs
it in a background thread for clients that want the model before a session starts. What a model is before
it loads (``ModelConfig``, devices, files, ``ModelLoadError``) is in model_spec.py, re-exported here.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Any

from meeting_tui.transcribe import model_select
from meeting_tui.transcribe.blas import limit_blas_threads
from meeting_tui.transcribe.model_spec import (  # noqa: F401  (re-exported: the names callers know)
    BUNDLED_NAME,
    LoadedModel,
    LoadProgress,
    ModelConfig,
    ModelLoadError,
    ProgressCallback,
    _english_only,
    _safe,
    bundled_model_path,
    default_cpu_threads,
    resolve_compute_type,
    resolve_device,
    resolve_model_path,
)

log = logging.getLogger(__name__)


def _load_bundled_tiny(config: ModelConfig, progress: ProgressCallback | None, path: str) -> LoadedModel:
    return load_model(dataclasses.replace(config, name=path), progress)


def load_model(config: ModelConfig, progress: ProgressCallback | None = None) -> LoadedModel:
    """Resolve, (download,) and load the model. Raises ModelLoadError. Blocking."""
    if config.server is not None:
        return _load_server(config, progress)
    t0 = time.monotonic()
    notes: list[str] = []
    auto = None
    if (config.name or "").strip() == "auto":
        auto = _auto_choice(config, progress)
        notes.append(f"auto: {auto.reason}")
        config = dataclasses.replace(config, name=auto.name if auto.name == "bundled" else auto.path,
                                     bundled_fallback=False)
    try:
        path = resolve_model_path(config, progress)
    except ModelLoadError as exc:
        bundled = bundled_model_path() if exc.unavailable else None
        if bundled is not None and config.name == "tiny.en":  # the same model, shipped: no fallback to announce
            return _load_bundled_tiny(config, progress, bundled)
        if bundled is None or not config.bundled_fallback:
            raise
        note = f"{exc.model} is not available ({exc.problem}); transcribing with {BUNDLED_NAME}. Fix: {exc.fix}"
        notes.append(note)
        _safe(progress, LoadProgress("fallback", note))
        path = bundled
        config = dataclasses.replace(config, name=BUNDLED_NAME)
    device = resolve_device(config.device)
    compute_type = resolve_compute_type(device, config.compute_type)
    limit_blas_threads()
    threads = config.cpu_threads or default_cpu_threads()
    from faster_whisper import WhisperModel

    def _load(dev: str, ct: str) -> Any:
        _safe(progress, LoadProgress("loading", f"loading {config.name} on {dev} ({ct})"))
        return WhisperModel(path, device=dev, compute_type=ct, cpu_threads=threads)

    try:
        model = _load(device, compute_type)
    except Exception as exc:
        if device == "cuda" and (config.device or "auto") == "auto":
            note = f"CUDA failed ({type(exc).__name__}: {exc}); using the CPU"
            notes.append(note)
            _safe(progress, LoadProgress("fallback", note))
            device, compute_type = "cpu", resolve_compute_type("cpu", config.compute_type)
            try:
                model = _load(device, compute_type)
            except Exception as exc2:
                raise ModelLoadError(config.name, f"{type(exc2).__name__}: {exc2}",
                                     "try compute_type = \"int8\" or another model") from exc2
        else:
            fix = ("install the CUDA 12 cuBLAS/cuDNN libraries or set device = \"cpu\"" if device == "cuda"
                   else "use compute_type = \"default\" (int8 on CPU) or re-download the model")
            raise ModelLoadError(config.name, f"{type(exc).__name__}: {exc}", fix) from exc
    shown = auto.name if auto is not None else config.name
    loaded = LoadedModel(model=model, name=shown, path=path, device=device, compute_type=compute_type,
                         cpu_threads=threads, load_s=time.monotonic() - t0,
                         english_only=_english_only(model, path, shown), notes=notes, auto=auto)
    why = f" (auto: {auto.reason})" if auto is not None and auto.reason else ""
    _safe(progress, LoadProgress("ready", f"{shown} ready on {device} ({compute_type}) in {loaded.load_s:.1f} s{why}",
                                 1.0, model=shown))
    return loaded


def _auto_choice(config: ModelConfig, progress: ProgressCallback | None) -> Any:
    """The remembered choice while it still applies (same machine, model present), else a new one."""
    device = resolve_device(config.device)
    if config.auto_choice and config.auto_machine == model_select.machine_key(device):
        path = model_select.local_path(config.auto_choice, config.download_root)
        if path:
            return model_select.AutoChoice(config.auto_choice, path, config.auto_reason or "remembered",
                                           config.auto_machine)
    _safe(progress, LoadProgress("choosing", "model auto: measuring which model this machine can carry"))
    choice = model_select.choose(config, progress)
    try:
        if config.remember is not None:
            config.remember(choice)
        else:
            from meeting_tui.settings import remember_model_choice

            remember_model_choice(choice)
    except Exception as exc:  # not remembering costs a benchmark next time, nothing more
        log.warning("could not remember the model choice: %s", exc)
    return choice


def _load_server(config: ModelConfig, progress: ProgressCallback | None) -> LoadedModel:
    """A speech server (transcribe/server.py), with the configured local model standing in while it is away."""
    from meeting_tui.transcribe.server import FailoverWhisper, RemoteWhisper, url_problem
    from meeting_tui.transcribe.window import install

    server = config.server
    t0 = time.monotonic()
    problem = url_problem(server.url, server.allow_plain_http)
    if problem:
        raise ModelLoadError(server.url or "the speech server", problem.split("; ")[0], problem.split("; ")[-1])
    local, notes = None, []
    if server.local_fallback:
        try:
            stand_in = load_model(dataclasses.replace(config, server=None))
            local = install(stand_in.model)  # its encoder window sized as a live decode's
            notes.append(f"{stand_in.name} transcribes while the server is away")
        except ModelLoadError as exc:
            notes.append(f"no local model stands in while the server is away ({exc.problem})")

    def changed(text: str, severity: str) -> None:
        _safe(progress, LoadProgress("server-down" if severity == "warning" else "server-up", text))

    model = FailoverWhisper(RemoteWhisper(server), local, changed)
    name = f"{server.model} on {server.host}"
    _safe(progress, LoadProgress("ready", f"transcribing on {server.host}", 1.0, model=name))
    return LoadedModel(model=model, name=name, path=server.url, device="server", compute_type="-", cpu_threads=0,
                       load_s=time.monotonic() - t0, english_only=model.english_only, notes=notes)


class ModelLoader:
    """Loads a model in a daemon thread; ``result()`` waits and returns it or raises ModelLoadError."""

    def __init__(self, config: ModelConfig, progress: ProgressCallback | None = None) -> None:
        self.config, self.progress = config, progress
        self._done = threading.Event()
        self._loaded: LoadedModel | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="whisper-load", daemon=True)

    def start(self) -> "ModelLoader":
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._loaded = load_model(self.config, self.progress)
        except ModelLoadError as exc:
            self._error = exc
            _safe(self.progress, LoadProgress("error", str(exc)))
        except Exception as exc:  # anything else still becomes a clear error
            self._error = ModelLoadError(self.config.name, f"{type(exc).__name__}: {exc}",
                                         "check the model settings")
            _safe(self.progress, LoadProgress("error", str(self._error)))
        finally:
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float | None = None) -> LoadedModel:
        if not self._done.wait(timeout):
            raise TimeoutError(f"model {self.config.name!r} still loading")
        if self._error is not None:
            raise self._error
        assert self._loaded is not None
        return self._loaded
