"""What a meeting captures: the mode, devices, gains, and the worker specs they give on this platform."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from meeting_tui.capture.engine import CaptureConfigError, WorkerSpec, specs_for_mode
from meeting_tui.types import DeviceInfo, DeviceRef, Mode, Source

log = logging.getLogger("meeting_tui.meeting")


@dataclass
class CaptureSetup:
    """``files``: replay these recordings instead of devices (`record --mic-file`, tests); ``demo``: the
    bundled demo recordings stand in for the devices, looped."""

    mode: Mode
    mic: DeviceRef | None = None
    loopback: DeviceRef | None = None
    gains_db: dict[Source, float] = field(default_factory=dict)
    demo: bool = False
    files: list[WorkerSpec] | None = None

    def specs(self) -> list[WorkerSpec]:
        """The workers to run. Raises CaptureConfigError with the fix for a mode this platform lacks."""
        if self.files is not None:
            return list(self.files)
        if self.demo:
            from meeting_tui.demo import demo_path

            return [WorkerSpec.file(src, str(demo_path(ref, src)), loop=True)
                    for src, ref in ((Source.MIC, self.mic), (Source.LOOPBACK, self.loopback))
                    if src in self.mode.sources]
        return specs_for_mode(self.mode, self.mic, self.loopback)


def replay_problem(path: str, channel: int = -1) -> str | None:
    """Why a file cannot be replayed as a source (None if it can): said before anything starts, since a
    worker that fails on it would only be restarted on the same file."""
    import os

    import soundfile as sf

    if not os.path.isfile(path):
        return f"no such file: {path} (check the path)"
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises its own LibsndfileError / RuntimeError
        reason = str(exc).replace(f"Error opening {str(path)!r}: ", "").strip()
        return f"cannot read {path}: {reason} (give a WAV, FLAC or OGG file)"
    if channel >= info.channels:
        return f"{path} has {info.channels} channel(s): no channel {channel} (channels count from 0)"
    return None


def file_specs(files: dict[Source, str], *, speed: float = 1.0, channels: dict[Source, int] | None = None,
               loop: bool = False) -> list[WorkerSpec]:
    """Workers replaying recordings as sources (at ``speed`` times real time). Raises CaptureConfigError
    for a file that cannot be replayed."""
    channels = channels or {}
    for src, path in files.items():
        problem = path and replay_problem(path, channels.get(src, -1))
        if problem:
            raise CaptureConfigError(problem)
    return [WorkerSpec.file(src, path, speed=speed, channel=channels.get(src, -1), loop=loop, restart=False)
            for src, path in files.items() if path]


def mode_of(specs: list[WorkerSpec]) -> Mode:
    sources = {s for spec in specs for s in spec.sources}
    if sources == {Source.MIC}:
        return Mode.MIC
    if sources == {Source.LOOPBACK}:
        return Mode.LOOPBACK
    return Mode.MEETING


def ffmpeg_mode_available() -> tuple[bool, str]:
    """Whether "Meeting via FFmpeg" can run here: (True, ffmpeg path) or (False, how to get it)."""
    from meeting_tui.capture.ffmpeg import ffmpeg_available

    try:
        return ffmpeg_available()
    except Exception as exc:  # pragma: no cover - a broken check must not stop the dashboard
        log.exception("ffmpeg check failed")
        return False, str(exc)


def list_devices(demo: bool) -> list[DeviceInfo]:
    """Blocking (a subprocess lists the devices): call from a thread. Raises RuntimeError with a reason."""
    if demo:
        from meeting_tui.demo import demo_devices

        return demo_devices()
    from meeting_tui.capture.devices import list_devices as core_list, virtual_label

    return [d if d.virtual else replace(d, virtual=virtual_label(d.ref.name)) for d in core_list()]
