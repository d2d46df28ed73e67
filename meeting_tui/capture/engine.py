"""The capture engine: supervised workers in, meters, health, per-source 16 kHz audio and the mix out.

Runs on an asyncio loop (Textual's own, or ``asyncio.run`` for the headless commands). It opens no
audio device itself; see docs/architecture.md for the listener contract.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Protocol, runtime_checkable

import numpy as np

from meeting_tui.capture.default_device import DefaultFollower
from meeting_tui.capture.playback_watch import LoopbackWatch
from meeting_tui.capture.devices import PULSE_DEFAULT_MONITOR
from meeting_tui.capture.frames import Frame
from meeting_tui.capture.gate import StreamTail
from meeting_tui.capture.health import HealthMonitor
from meeting_tui.capture.levels import FLOOR_DB, LevelMeter, dbfs
from meeting_tui.capture.mixer import MixBus, Track, downmix
from meeting_tui.capture.similarity import similarity
from meeting_tui.capture.supervisor import STALL_RESTART_S, WorkerEvents, WorkerSupervisor, worker_argv, worker_env
from meeting_tui.types import SESSION_RATE, AudioChunk, DeviceRef, Gap, Health, Level, Mode, Source

log = logging.getLogger("meeting_tui.capture")

TICK_HZ = 25  # meters and health: above the 20 Hz the UI needs
SIMILARITY_EVERY_S = 1.0  # ~3 ms a check: 0.3 % of a core
SIMILARITY_WINDOW = 2 * SESSION_RATE
SIMILARITY_MAX_LAG = SESSION_RATE // 2  # the two streams' latencies may differ by a few hundred ms
SIMILAR_ABOVE = 0.95  # "near-identical" on the low band: an acoustic echo through a room stays well below
SIMILAR_MIN_DB = -50.0
ABSENT_AFTER_S = 0.3  # a source silent on the pipe this long (wall time) no longer holds the mix back
# A meter holds its last reading until then too: a worker delayed by a busy machine is not a source gone quiet
# (the health monitor says when it is dead).
LEVEL_HOLD_S = ABSENT_AFTER_S


# The engine's listener contracts. A listener implements one or more; ``add_listener`` checks which once.
# Every method runs on the event-loop thread: keep it cheap, hand heavy work to a thread.


@runtime_checkable
class AudioListener(Protocol):
    """Per-source 16 kHz mono chunks on the session clock, before gain."""

    def on_audio(self, chunk: AudioChunk) -> None: ...


@runtime_checkable
class MixListener(Protocol):
    """The gain-weighted, soft-limited mix, in fixed-size chunks."""

    def on_mix(self, chunk: AudioChunk) -> None: ...


@runtime_checkable
class MeterListener(Protocol):
    """Receives meters about 25 times a second and each health change (event-loop thread)."""

    def on_levels(self, levels: dict[Source, Level]) -> None: ...
    def on_health(self, health: Health) -> None: ...


@runtime_checkable
class GapListener(Protocol):
    def on_gap(self, gap: Gap) -> None: ...


@runtime_checkable
class WarningListener(Protocol):
    """Something about the devices the user should read once (the communications default differs)."""

    def on_warning(self, text: str) -> None: ...


class CaptureConfigError(ValueError):
    """The requested mode cannot run on this platform/configuration; the message says what to do."""


@dataclass
class WorkerSpec:
    """How to run one worker. ``sources``: one, or (MIC, LOOPBACK) for a worker whose channel 0 is the
    mic and channel 1 the loopback (the FFmpeg mode)."""

    sources: tuple[Source, ...]
    backend: str = "sounddevice"
    device: DeviceRef | None = None
    path: str | None = None
    channel: int = -1
    speed: float = 1.0
    loop: bool = False
    drift_ppm: float = 0.0
    lead_silence: float = 0.0
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    restart: bool = True

    @classmethod
    def file(cls, source: Source, path: str, **kw) -> "WorkerSpec":
        return cls((source,), backend="file", path=str(path), **kw)

    @property
    def name(self) -> str:
        return "+".join(s.value for s in self.sources)

    def argv(self) -> list[str]:
        args: list[str] = []
        if self.device is not None:
            args += ["--device", self.device.name, "--hostapi", self.device.hostapi]
        if self.backend == "file":
            args += ["--path", str(self.path), "--speed", str(self.speed), "--channel", str(self.channel),
                     "--drift-ppm", str(self.drift_ppm), "--lead-silence", str(self.lead_silence)]
            if self.loop:
                args.append("--loop")
        return worker_argv(self.backend, args + list(self.extra_args))


def specs_for_mode(mode: Mode, mic: DeviceRef | None = None, loopback: DeviceRef | None = None,
                   *, platform: str = sys.platform, ffmpeg_args: list[str] | None = None) -> list[WorkerSpec]:
    """The workers a mode needs on this platform (devices None = the system defaults)."""
    if mode is Mode.MEETING_FFMPEG:
        if ffmpeg_args is None:
            ffmpeg_args = []
            # Pulse source names work as FFmpeg -f pulse inputs; on Windows only names FFmpeg listed itself
            # (hostapi "ffmpeg dshow", saved by `doctor`) do: a WASAPI render name is no dshow device.
            usable = lambda ref: ref is not None and (ref.hostapi.startswith("ffmpeg") or
                                                      (ref.hostapi == "PulseAudio" and platform != "win32"))
            if usable(mic):
                ffmpeg_args += ["--ffmpeg-mic", mic.name]
            if usable(loopback):
                ffmpeg_args += ["--ffmpeg-loopback", loopback.name]
        return [WorkerSpec((Source.MIC, Source.LOOPBACK), backend="ffmpeg", extra_args=list(ffmpeg_args))]
    specs = []
    if Source.MIC in mode.sources:
        specs.append(WorkerSpec((Source.MIC,), backend="sounddevice", device=mic))
    if Source.LOOPBACK in mode.sources:
        if platform == "win32":
            specs.append(WorkerSpec((Source.LOOPBACK,), backend="pyaudiowpatch", device=loopback))
        elif platform.startswith("linux"):
            specs.append(WorkerSpec((Source.LOOPBACK,), backend="sounddevice", device=loopback or PULSE_DEFAULT_MONITOR))
        elif loopback is not None:  # macOS: a virtual device such as BlackHole is the loopback
            specs.append(WorkerSpec((Source.LOOPBACK,), backend="sounddevice", device=loopback))
        else:
            raise CaptureConfigError("this OS has no built-in loopback capture: install BlackHole and choose it "
                                     "as the loopback device, or use mic-only mode")
    return specs


class _Recent:
    """The last couple of seconds of one source, for the wrong-source check."""

    def __init__(self, keep: int = 3 * SESSION_RATE) -> None:
        self.keep = keep
        self.chunks: collections.deque = collections.deque()
        self.end = 0

    def add(self, start: int, samples: np.ndarray) -> None:
        self.chunks.append((start, samples))
        self.end = start + len(samples)
        while self.chunks and self.chunks[0][0] + len(self.chunks[0][1]) < self.end - self.keep:
            self.chunks.popleft()

    def window(self, end: int, n: int) -> np.ndarray | None:
        out = np.zeros(n, np.float32)
        covered = 0
        for start, s in self.chunks:
            lo, hi = max(start, end - n), min(start + len(s), end)
            if hi > lo:
                out[lo - (end - n):hi - (end - n)] = s[lo - start:hi - start]
                covered += hi - lo
        return out if covered >= n * 0.9 else None


class CaptureEngine:
    def __init__(self, specs: list[WorkerSpec], gains_db: dict[Source, float] | None = None, *,
                 clock: Callable[[], float] = time.monotonic, tick_hz: float = TICK_HZ,
                 mix_chunk: int = SESSION_RATE // 10) -> None:
        self.specs = specs
        self.sources: tuple[Source, ...] = tuple(s for spec in specs for s in spec.sources)
        self.clock = clock
        self.tick_hz = tick_hz
        self.gains_db = {s: 0.0 for s in self.sources}
        self.gains_db.update({s: g for s, g in (gains_db or {}).items() if s in self.gains_db})
        self._audio: list[AudioListener] = []
        self._mix: list[MixListener] = []
        self._meters_out: list[MeterListener] = []
        self._gaps: list[GapListener] = []
        self._warnings: list[WarningListener] = []
        self._meters = {s: LevelMeter(s) for s in self.sources}
        self._tails = {s: StreamTail() for s in self.sources}
        self._health = {s: HealthMonitor(s) for s in self.sources}
        self._last_health: dict[Source, Health] = {}
        self._recent = {s: _Recent() for s in self.sources}
        self._similar_hits = 0
        self._mix_chunk = mix_chunk
        self._last_block: dict[Source, float | None] = {s: None for s in self.sources}
        self._held_level: dict[Source, Level] = {}
        self._workers: list[WorkerSupervisor] = []
        self._finished: set[str] = set()
        self._all_finished = asyncio.Event()
        self._tick_task: asyncio.Task | None = None
        self.t0 = 0.0
        self.running = False

    # -- listeners ---------------------------------------------------------------------------------
    def add_listener(self, listener: AudioListener | MixListener | MeterListener | GapListener | WarningListener) -> None:
        """Register for each contract the listener implements (checked once, here: no per-call lookups)."""
        roles = [(AudioListener, self._audio), (MixListener, self._mix), (MeterListener, self._meters_out),
                 (GapListener, self._gaps), (WarningListener, self._warnings)]
        matched = [group for proto, group in roles if isinstance(listener, proto)]
        if not matched:
            raise TypeError(f"{listener!r} implements none of the engine's listener contracts")
        for group in matched:
            group.append(listener)

    @staticmethod
    def _call(group: list, fn: Callable[[object], None], what: str) -> None:
        for listener in list(group):
            try:
                fn(listener)
            except Exception:  # a faulty client must not stop capture
                log.exception("listener %r failed in %s", listener, what)

    def _emit_audio(self, chunk: AudioChunk) -> None:
        self._call(self._audio, lambda lst: lst.on_audio(chunk), "on_audio")

    def _emit_mix(self, chunk: AudioChunk) -> None:
        self._call(self._mix, lambda lst: lst.on_mix(chunk), "on_mix")

    def _emit_gap(self, gap: Gap) -> None:
        self._call(self._gaps, lambda lst: lst.on_gap(gap), "on_gap")

    def _emit_levels(self, levels: dict[Source, Level]) -> None:
        self._call(self._meters_out, lambda lst: lst.on_levels(levels), "on_levels")

    def _emit_health(self, health: Health) -> None:
        self._call(self._meters_out, lambda lst: lst.on_health(health), "on_health")

    # -- life cycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self.t0 = self.clock()
        self._tracks = {s: Track(s, self.t0) for s in self.sources}
        self._bus = MixBus(self.sources, chunk=self._mix_chunk)
        for s, db in self.gains_db.items():
            self._bus.set_gain_db(s, db)
        for spec in self.specs:
            # A worker that is not restarted (a replayed file) is not killed for being slow either: starved of
            # CPU it is late, not dead, and killing it would lose the rest of the file.
            sup = WorkerSupervisor(spec.name, spec.argv(), self._events_for(spec), env=worker_env(spec.env),
                                   restart=spec.restart, stall_restart_s=STALL_RESTART_S if spec.restart else None)
            self._workers.append(sup)
            sup.start()
        self.running = True
        self._tick_task = asyncio.create_task(self._tick_loop(), name="capture-tick")
        # Workers on "the default" device reopen when the user switches it (headset plugged in).
        self.default_follower = DefaultFollower.start_for(self.specs, self._workers, self._default_warning)
        # A quiet loopback: nothing plays, or it is dead or on another output than the call's.
        self.playback_watch = LoopbackWatch.start_for(self.specs, self._workers, lambda: self.health,
                                                      self._default_warning, self.clock)

    def _default_warning(self, text: str) -> None:
        # INFO: a front end shows it from on_warning; at WARNING Python's last-resort handler printed it again
        log.info("%s", text)
        self._call(self._warnings, lambda lst: lst.on_warning(text), "on_warning")

    async def stop(self) -> None:
        """Stop the workers, then hand out every sample still in the pipeline (the tail of the mix)."""
        if not self.running:
            return
        self.running = False
        if getattr(self, "default_follower", None) is not None:
            await self.default_follower.stop()
        if getattr(self, "playback_watch", None) is not None:
            await self.playback_watch.stop()
        await asyncio.gather(*(w.stop() for w in self._workers), return_exceptions=True)
        if self._tick_task:
            self._tick_task.cancel()
        self._flush_tracks(self.sources)
        for mix in self._bus.pull(flush=True):
            self._emit_mix(mix)
        for s in self.sources:
            self._health[s].stopped()
        self._publish_health(self.clock())

    @property
    def finished(self) -> bool:
        """For finite sources (files): every worker reached its end (or failed and is not restarted)."""
        return self._all_finished.is_set()

    async def wait_finished(self, timeout: float | None = None) -> bool:
        """For finite sources (files): True once every worker reached its end."""
        try:
            await asyncio.wait_for(self._all_finished.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    def _events_for(self, spec: WorkerSpec) -> WorkerEvents:
        return WorkerEvents(
            on_spawned=lambda: self._on_spawned(spec),
            on_started=lambda info: [self._health[s].device_opened(self.clock()) for s in spec.sources],
            on_frames=lambda frames: self._on_frames(spec, frames),
            on_exit=lambda reason: self._on_exit(spec, reason),
            on_finished=lambda: self._on_finished(spec),
            on_given_up=lambda: self._on_ended(spec),
        )

    # -- worker events ----------------------------------------------------------------------------
    def _on_spawned(self, spec: WorkerSpec) -> None:
        now = self.clock()
        for s in spec.sources:
            self._health[s].worker_started(now)
            self._tracks[s].restart()

    def _on_exit(self, spec: WorkerSpec, reason: str) -> None:
        for s in spec.sources:
            self._health[s].worker_exited(reason, restarting=spec.restart)
        self._publish_health(self.clock())

    def _flush_tracks(self, sources) -> None:
        for s in sources:
            chunk = self._tracks[s].flush()
            if chunk is not None:
                self._bus.add(chunk)
                self._emit_audio(chunk)

    def _on_finished(self, spec: WorkerSpec) -> None:
        for s in spec.sources:
            self._health[s].worker_finished()
        self._on_ended(spec)

    def _on_ended(self, spec: WorkerSpec) -> None:
        """No more audio from this worker: its file ended, or it failed and is not restarted."""
        self._flush_tracks(spec.sources)
        self._finished.add(spec.name)
        if len(self._finished) == len(self.specs):
            self._all_finished.set()

    def _on_frames(self, spec: WorkerSpec, frames: list[Frame]) -> None:
        now = self.clock()
        split = len(spec.sources) > 1
        for s in spec.sources:
            self._last_block[s] = now
        for frame in frames:
            for i, source in enumerate(spec.sources):
                raw = frame.samples[:, i:i + 1] if split else frame.samples
                _, peak = self._meters[source].feed(raw)
                tail = self._tails[source].feed(raw, frame.samplerate)
                self._health[source].block(now, dbfs(peak), frame.synthesized, tail)
                chunk, gap = self._tracks[source].push(downmix(raw), frame.samplerate, frame.capture_time)
                if gap is not None:
                    self._emit_gap(gap)
                if chunk is not None:
                    self._recent[source].add(chunk.start, chunk.samples)
                    self._bus.add(chunk)
                    self._emit_audio(chunk)
        self._pull_mix(now)

    def _pull_mix(self, now: float) -> None:
        absent = {s for s, t in self._last_block.items()
                  if (now - self.t0 if t is None else now - t) > ABSENT_AFTER_S}
        for mix in self._bus.pull(absent=absent):
            self._emit_mix(mix)

    # -- periodic: meters, health, wrong source --------------------------------------------------
    async def _tick_loop(self) -> None:
        period = 1.0 / self.tick_hz
        next_similarity = 0.0
        while True:
            await asyncio.sleep(period)
            now = self.clock()
            levels = {}
            for s, meter in self._meters.items():
                level = meter.read()
                if level is not None:
                    self._held_level[s] = level
                else:
                    # Workers send a frame every few ticks (worker.COALESCE_S): between frames the meter
                    # holds its last reading, without the clip flag, instead of flickering to the floor.
                    last, held = self._last_block.get(s), self._held_level.get(s)
                    recent = last is not None and now - last <= LEVEL_HOLD_S and held is not None
                    level = replace(held, clipped=False) if recent else Level(s, FLOOR_DB, FLOOR_DB, False)
                levels[s] = level
            self._emit_levels(levels)
            if now >= next_similarity and Source.MIC in self.sources and Source.LOOPBACK in self.sources:
                next_similarity = now + SIMILARITY_EVERY_S
                self._check_same_signal()
            self._publish_health(now)
            self._pull_mix(now)

    def _publish_health(self, now: float) -> None:
        for s, monitor in self._health.items():
            h = monitor.evaluate(now)
            if self._last_health.get(s) != h:
                self._last_health[s] = h
                self._emit_health(h)

    def _check_same_signal(self) -> None:
        mic, loop = self._recent[Source.MIC], self._recent[Source.LOOPBACK]
        end = min(mic.end, loop.end)
        a, b = mic.window(end, SIMILARITY_WINDOW), loop.window(end, SIMILARITY_WINDOW)
        score = 0.0
        if a is not None and b is not None:
            loud = min(dbfs(float(np.sqrt(np.mean(a * a)))), dbfs(float(np.sqrt(np.mean(b * b)))))
            if loud > SIMILAR_MIN_DB:
                score = similarity(a, b, SIMILARITY_MAX_LAG)
        self._similar_hits = self._similar_hits + 1 if score > SIMILAR_ABOVE else 0
        monitor = self._health[Source.MIC]
        if self._similar_hits >= 2:
            monitor.wrong_source = ("the mic carries the same signal as the loopback: its device was probably "
                                    "removed and the system moved the stream; pick the mic again")
        elif score < 0.8:
            monitor.wrong_source = None

    # -- controls and introspection ---------------------------------------------------------------
    def set_gain(self, source: Source, db: float) -> None:
        self.gains_db[source] = db
        if hasattr(self, "_bus"):
            self._bus.set_gain_db(source, db)

    @property
    def health(self) -> dict[Source, Health]:
        now = self.clock()
        return {s: m.evaluate(now) for s, m in self._health.items()}

    def worker_pids(self) -> list[int]:
        return [w.pid for w in self._workers if w.pid is not None]

    def stats(self) -> dict:
        out: dict = {"sources": {}}
        for spec, w in zip(self.specs, self._workers):
            for s in spec.sources:
                track = self._tracks[s]
                out["sources"][s.value] = {
                    "device": w.stats.info.get("device"), "samplerate": w.stats.info.get("samplerate"),
                    "channels": w.stats.info.get("channels"), "pid": w.pid, "starts": w.stats.starts,
                    "restarts": w.stats.restarts, "frames": w.stats.frames, "bytes": w.stats.bytes,
                    "last_error": w.stats.last_error, "hint": w.stats.hint,
                    "drift_ppm": round(track.drift_ppm, 1), "drift_corrections": track.corrections,
                    "position_s": track.end / SESSION_RATE,
                }
        if hasattr(self, "_bus"):
            out["mix"] = {"position_s": self._bus.pos / SESSION_RATE, "late_samples": self._bus.late_samples}
        return out
