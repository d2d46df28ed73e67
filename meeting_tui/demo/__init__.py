"""Bundled speech recordings for ``meeting-tui --demo`` (see PROVENANCE.md). No Textual here.

The demo offers each recording as a "device" so that the device picker, mode switching and restarts
work exactly as with sound cards, through file workers.
"""

from __future__ import annotations

from pathlib import Path

from meeting_tui.types import DeviceInfo, DeviceRef, Source

DEMO_DIR = Path(__file__).resolve().parent
DEMO_HOSTAPI = "demo"

#: (file stem, kind, description); the first of each kind is the default.
_RECORDINGS = [
    ("demo-you", Source.MIC, "the local speaker (faster-whisper test data)"),
    ("demo-them", Source.LOOPBACK, "the remote speaker (JFK, faster-whisper test data)"),
    ("demo-them-short", Source.LOOPBACK, "a short remote line (faster-whisper test data)"),
]


def demo_path(ref: DeviceRef | None, kind: Source) -> Path:
    """The file behind a demo device (the default one for ``kind`` when ``ref`` is None or unknown)."""
    for stem, k, _ in _RECORDINGS:
        if k == kind and ref is not None and ref.name == stem:
            return DEMO_DIR / f"{stem}.flac"
    return DEMO_DIR / f"{next(s for s, k, _ in _RECORDINGS if k == kind)}.flac"


def demo_devices() -> list[DeviceInfo]:
    seen: set[Source] = set()
    out = []
    for stem, kind, desc in _RECORDINGS:
        out.append(DeviceInfo(ref=DeviceRef(stem, DEMO_HOSTAPI), kind=kind, channels=1, samplerate=16000.0,
                              is_default=kind not in seen, description=desc))
        seen.add(kind)
    return out


def default_ref(kind: Source) -> DeviceRef:
    return next(d.ref for d in demo_devices() if d.kind == kind and d.is_default)
