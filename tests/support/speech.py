"""Speech made offline with espeak-ng, for the vocabulary, language and polish tests and benches."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from meeting_tui.types import SESSION_RATE

# Sentences with names tiny.en gets wrong without help (measured: "cube beneath", "post your SQL",
# "connect cloud"); the glossary for them; sentences of everyday words for the WER that must not suffer.
JARGON = [
    "The Kubernetes cluster is running out of memory.",
    "Ask Siobhan about the Grafana dashboards.",
    "Move the data into PostgreSQL tonight.",
    "We should migrate to Nextcloud soon.",
]
# What ../shared/audio/jfk.flac says (its reference transcript)
JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
GLOSSARY = ["Kubernetes", "Siobhan", "Grafana", "PostgreSQL", "Nextcloud"]
COMMON = [
    "Good morning everyone, thanks for joining the call.",
    "Let us start with the budget for next quarter.",
    "I think we should hire two more people for support.",
    "The customer wants the report by Friday afternoon.",
    "Can you send me the slides after the meeting?",
    "We will meet again next week at the same time.",
]
GERMAN = [
    "Guten Morgen, wir besprechen heute den Zeitplan für das neue Projekt.",
    "Die Kunden möchten die Ergebnisse bis Freitag sehen.",
    "Ich schicke dir die Unterlagen nach der Besprechung.",
    "Wir treffen uns nächste Woche wieder um zehn Uhr.",
]


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


def say(text: str, voice: str = "en-us", speed: int = 150) -> np.ndarray:
    """One sentence as 16 kHz mono float32."""
    import soundfile as sf

    from meeting_tui.transcribe.audio_io import resample

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return resample(data.mean(axis=1), int(rate)) * 0.8


def conversation(sentences: list[str], voice: str = "en-us", pause_s: float = 1.5, lead_s: float = 0.5) -> np.ndarray:
    """The sentences one after another with pauses, as one 16 kHz mono array."""
    gap = np.zeros(int(pause_s * SESSION_RATE), np.float32)
    parts = [np.zeros(int(lead_s * SESSION_RATE), np.float32)]
    for s in sentences:
        parts += [say(s, voice), gap]
    return np.concatenate(parts)


def write_wav(path: Path, audio: np.ndarray) -> Path:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio, SESSION_RATE, subtype="PCM_16")
    return path
