"""``meeting-tui doctor``: find out which capture mode works on this machine, by trying each for a few seconds.

Probes (each a subprocess, so a crash or a hung driver never takes the doctor down):
1. ``mic``: the mic alone, in a worker (``python -m meeting_tui.capture.worker``), run by the capture
   engine's ``WorkerSupervisor`` (without restarts), as the app runs it.
2. ``loopback``: the loopback alone, in a worker, while a quiet test signal plays on the output, so
   there is something to hear (WASAPI loopback delivers nothing while nothing plays).
3. ``same-process``: mic and loopback opened in ONE process and one PortAudio instance: the set-up that
   fails on affected Windows machines. Diagnostic only: the app never runs this way.
4. ``separate``: mic and loopback in two workers at once: Mode.MEETING.
5. ``ffmpeg``: both through one FFmpeg child: Mode.MEETING_FFMPEG.

Each probe reports per-source level (dBFS) and whether signal was present. The recommendation is the
first mode in which both sources are live (meeting, then meeting-ffmpeg), else the VoiceMeeter route (one
virtual input mixing both, docs/fallbacks.md), else whatever single source works. It also warns about
Bluetooth hands-free endpoints and about echo (the mic hears the speakers: the test signal shows up in
the mic, measured with capture.similarity's cross-correlation against the loopback).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from meeting_tui.capture import winproc
from meeting_tui.capture.frames import FLAG_SYNTH_SILENCE, Frame
from meeting_tui.capture.similarity import cross_correlation
from meeting_tui.capture.supervisor import WorkerEvents, WorkerSupervisor, worker_env, worker_python
from meeting_tui.capture.wasapi_names import WASAPI, is_hands_free
from meeting_tui.types import Mode, Source

PROBES = ("mic", "loopback", "same-process", "separate", "ffmpeg")
LIVE_DB = -80.0  # below this (or digital zeros) a source carries no usable signal
ECHO_CORR = 0.3  # normalized cross-correlation above which the mic hears the speakers
SKIP_S = 0.3  # start-up transient ignored in every probe
TONE_AMP = 0.1  # -20 dBFS peak: audible but quiet
TONE_RATE = 48_000
STARTUP_TIMEOUT = 10.0


# ------------------------------------------------------------------------------------------- results

@dataclass
class SourceResult:
    source: str
    state: str  # "live", "silent" (digital zeros), "low", "idle" (only synthesized silence), "no data"
    rms_db: float = float("-inf")
    peak_db: float = float("-inf")
    seconds: float = 0.0  # captured (real) audio
    synthesized_s: float = 0.0

    @property
    def live(self) -> bool:
        return self.state == "live"


@dataclass
class ProbeResult:
    name: str
    sources: dict[str, SourceResult] = field(default_factory=dict)
    error: str | None = None
    hint: str | None = None
    echo_corr: float | None = None
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def both_live(self) -> bool:
        return (not self.error and all(s in self.sources and self.sources[s].live
                                       for s in (Source.MIC.value, Source.LOOPBACK.value)))

    def live(self, source: Source) -> bool:
        s = self.sources.get(source.value)
        return bool(s and s.live and not self.error)


@dataclass
class Recommendation:
    route: str  # "meeting", "meeting-ffmpeg", "voicemeeter", "mic", "loopback", "none"
    mode: Mode | None
    text: str
    mic_device: str | None = None
    loopback_device: str | None = None
    hostapi: str = ""  # of the mic device
    loopback_hostapi: str = ""


@dataclass
class DoctorReport:
    probes: list[ProbeResult]
    recommendation: Recommendation
    warnings: list[str] = field(default_factory=list)
    plan: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        def clean(v):
            if isinstance(v, float) and math.isinf(v):
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            if isinstance(v, Mode):
                return v.value
            return v
        rec = asdict(self.recommendation)
        rec["mode"] = self.recommendation.mode.value if self.recommendation.mode else None
        return clean({"probes": [asdict(p) for p in self.probes], "recommendation": rec,
                      "warnings": self.warnings, "plan": self.plan})


# ------------------------------------------------------------------------------------------- analysis

def level_db(x: np.ndarray) -> tuple[float, float]:
    if x.size == 0:
        return float("-inf"), float("-inf")
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    peak = float(np.max(np.abs(x)))
    return (20 * math.log10(rms) if rms > 0 else float("-inf"), 20 * math.log10(peak) if peak > 0 else float("-inf"))


def classify(real: np.ndarray, rate: int, synth_frames: int, source: str) -> SourceResult:
    rms, peak = level_db(real)
    seconds = len(real) / rate if rate else 0.0
    synth = synth_frames / rate if rate else 0.0
    if len(real) == 0:
        state = "idle" if synth_frames else "no data"
    elif not np.any(real):
        state = "silent"
    elif rms < LIVE_DB:
        state = "low"
    else:
        state = "live"
    return SourceResult(source, state, rms, peak, round(seconds, 3), round(synth, 3))


def analyze_frames(frames: list[Frame], channel_sources: list[str], skip_s: float = SKIP_S) -> tuple[dict[str, SourceResult], dict[str, np.ndarray], int]:
    """Per-source results from a worker's frames; also the real audio per source (for correlation)."""
    if not frames:
        return {s: SourceResult(s, "no data") for s in channel_sources}, {}, 0
    rate = frames[0].samplerate
    t0 = frames[0].capture_time + skip_s
    real: dict[str, list[np.ndarray]] = {s: [] for s in channel_sources}
    synth = 0
    for f in frames:
        if f.capture_time < t0:
            continue
        if f.flags & FLAG_SYNTH_SILENCE:
            synth += len(f.samples)
            continue
        for ch, s in enumerate(channel_sources):
            col = f.samples[:, ch] if f.samples.shape[1] > ch else f.samples.mean(axis=1)
            real[s].append(col)
    audio = {s: (np.concatenate(v) if v else np.zeros(0, np.float32)) for s, v in real.items()}
    return {s: classify(audio[s], rate, synth, s) for s in channel_sources}, audio, rate


def _to_rate(x: np.ndarray, rate: int, target: int = 16_000) -> np.ndarray:
    if rate == target or len(x) == 0:
        return x.astype(np.float64)
    n = int(len(x) * target / rate)
    return np.interp(np.arange(n) * rate / target, np.arange(len(x)), x).astype(np.float64)


def echo_correlation(mic: np.ndarray, mic_rate: int, loop: np.ndarray, loop_rate: int, max_lag_s: float = 0.5) -> float | None:
    """Peak normalized cross-correlation of mic and loopback within ±max_lag_s (None: too little audio)."""
    a, b = _to_rate(mic, mic_rate), _to_rate(loop, loop_rate)
    n = min(len(a), len(b))
    if n < 16_000 // 2:
        return None
    a, b = a[-n:] - a[-n:].mean(), b[-n:] - b[-n:].mean()
    ea, eb = float(np.dot(a, a)), float(np.dot(b, b))
    if ea <= 0 or eb <= 0:
        return 0.0
    window, _ = cross_correlation(a, b, int(max_lag_s * 16_000))
    return float(np.max(np.abs(window)) / math.sqrt(ea * eb))


def test_signal(seconds: float, rate: int = TONE_RATE, amp: float = TONE_AMP) -> np.ndarray:
    """A quiet 300 → 3000 Hz sweep repeated every second: unmistakable in a cross-correlation."""
    t = np.arange(rate) / rate
    f0, f1 = 300.0, 3000.0
    sweep = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t * t / 2))
    fade = np.minimum(1.0, np.minimum(t, 1 - t) / 0.01)
    one = (amp * sweep * fade).astype(np.float32)
    reps = int(math.ceil(seconds))
    return np.tile(one, reps)[: int(seconds * rate)]


def write_test_signal(path: str | os.PathLike, seconds: float, rate: int = TONE_RATE, channels: int = 2) -> Path:
    x = (test_signal(seconds, rate) * 32767).astype("<i2")
    if channels > 1:
        x = np.repeat(x[:, None], channels, axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.tobytes())
    return Path(path)


# ------------------------------------------------------------------------------------------- the plan

@dataclass
class Plan:
    """How each probe opens the devices on this OS."""

    platform: str
    mic: str | None  # device name (None: the system default)
    loopback: str | None
    mic_hostapi: str = ""
    loopback_hostapi: str = ""
    tone_sink: str | None = None  # Linux: the sink whose monitor is the loopback
    ffmpeg_mic: str | None = None
    ffmpeg_loopback: str | None = None
    samplerate: int = 48_000

    def worker_args(self, source: Source) -> list[str]:
        if source is Source.MIC:
            args = ["--backend", "sounddevice"]
            if self.mic:
                args += ["--device", self.mic]
            if self.mic_hostapi:
                args += ["--hostapi", self.mic_hostapi]
            if self.platform.startswith("linux"):
                args += ["--samplerate", str(self.samplerate)]
            return args + ["--channels", "1"]
        if self.platform == "win32":
            args = ["--backend", "pyaudiowpatch", "--channels", "1"]
            return args + (["--device", self.loopback] if self.loopback else [])
        args = ["--backend", "sounddevice", "--channels", "1", "--samplerate", str(self.samplerate)]
        if self.loopback:
            args += ["--device", self.loopback]
        if self.loopback_hostapi:
            args += ["--hostapi", self.loopback_hostapi]
        return args

    def ffmpeg_args(self) -> list[str]:
        args = ["--backend", "ffmpeg"]
        if self.ffmpeg_mic:
            args += ["--ffmpeg-mic", self.ffmpeg_mic]
        if self.ffmpeg_loopback:
            args += ["--ffmpeg-loopback", self.ffmpeg_loopback]
        return args


def _pactl(*args: str) -> str:
    if shutil.which("pactl") is None:
        return ""
    try:
        out = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def make_plan(mic: str | None = None, loopback: str | None = None, *, platform: str | None = None) -> Plan:
    platform = platform or sys.platform
    if platform.startswith("linux"):
        mic = mic or _pactl("get-default-source") or None
        if not loopback:
            sink = _pactl("get-default-sink")
            loopback = f"{sink}.monitor" if sink else None
        sink = loopback[: -len(".monitor")] if loopback and loopback.endswith(".monitor") else None
        return Plan(platform, mic, loopback, "PulseAudio", "PulseAudio", tone_sink=sink,
                    ffmpeg_mic=mic or "default", ffmpeg_loopback=loopback or "@DEFAULT_MONITOR@")
    if platform == "win32":
        return Plan(platform, mic, loopback, WASAPI if mic else "", WASAPI)
    return Plan(platform, mic, loopback)


# ------------------------------------------------------------------------------------------- running probes

@dataclass
class WorkerRun:
    """What one worker did during a probe: its frames (native rate, as sent), status lines and exit."""

    frames: list[Frame] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    exit_reason: str | None = None  # the supervisor's account of an unplanned exit
    stderr_tail: list[str] = field(default_factory=list)  # its last lines of non-JSON stderr (a traceback)

    def started(self) -> dict | None:
        return next((e for e in self.events if e.get("event") == "started"), None)

    def error(self) -> tuple[str | None, str | None]:
        for e in self.events:
            if e.get("event") == "error":
                return e.get("message"), e.get("hint")
        if self.exit_reason is None:
            return None, None
        tail = " | ".join(self.stderr_tail)
        return self.exit_reason + (f": {tail}" if tail else ""), None


_PROBE_WORKER = "doctor-probe"


def _not_a_probe(record: logging.LogRecord) -> bool:
    """The supervisor logs each worker failure; a probe's failures belong in the doctor's report only."""
    return not (isinstance(record.args, tuple) and record.args[:1] == (_PROBE_WORKER,))


logging.getLogger("meeting_tui.capture").addFilter(_not_a_probe)


def _supervised(args: list[str], run: WorkerRun, settled: asyncio.Event, seconds: float) -> WorkerSupervisor:
    """A worker under the capture engine's supervisor, told not to restart: a probe reports the first
    failure as it is, and never kills a worker that is slow to open (it times the start-up itself)."""
    def message(msg: dict) -> None:
        if msg.get("event") == "stderr":  # not a status line: keep the last few for a crash's message
            run.stderr_tail = [*run.stderr_tail[-2:], str(msg.get("message"))]
            return
        run.events.append(msg)
        if msg.get("event") in ("started", "error", "stopped"):
            settled.set()

    def ended(reason: str | None) -> None:
        run.exit_reason = reason
        settled.set()

    events = WorkerEvents(on_spawned=lambda: None, on_started=lambda info: None, on_frames=run.frames.extend,
                          on_exit=ended, on_finished=lambda: ended(None), on_message=message)
    argv = [worker_python()[0], "-m", "meeting_tui.capture.worker", *args]
    never = STARTUP_TIMEOUT + seconds + 60.0
    return WorkerSupervisor(_PROBE_WORKER, argv, events, env=worker_env(), restart=False, stall_restart_s=never,
                            startup_timeout_s=never)


async def _run_workers(arg_lists: list[list[str]], seconds: float) -> list[WorkerRun]:
    runs = [WorkerRun() for _ in arg_lists]
    settled = [asyncio.Event() for _ in arg_lists]
    workers = [_supervised(a, r, e, seconds) for a, r, e in zip(arg_lists, runs, settled)]
    for w in workers:
        w.start()
    try:
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in settled)), STARTUP_TIMEOUT)
    except asyncio.TimeoutError:
        pass  # a worker that never opened is reported from what it did (no data, or its error)
    await asyncio.sleep(seconds + SKIP_S)
    await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)
    return runs


def run_workers(arg_lists: list[list[str]], seconds: float) -> list[WorkerRun]:
    """Start the workers together, capture ``seconds`` after they have all started, stop them. Blocking:
    called from the CLI or a UI worker thread, neither of which runs an event loop in this thread."""
    return asyncio.run(_run_workers(arg_lists, seconds))


class TonePlayer:
    """Plays the test signal on the output the loopback captures, in a subprocess."""

    def __init__(self, plan: Plan, seconds: float, workdir: Path) -> None:
        self.proc: subprocess.Popen | None = None
        self.wav = write_test_signal(workdir / "doctor-tone.wav", seconds)
        self.plan = plan

    def start(self) -> str:
        if self.plan.platform.startswith("linux") and shutil.which("paplay"):
            argv = ["paplay", "--latency-msec=50", str(self.wav)]
            if self.plan.tone_sink:
                argv.insert(1, f"--device={self.plan.tone_sink}")
        else:
            argv = [sys.executable, "-m", "meeting_tui.doctor.probes", "--play", str(self.wav)]
            if self.plan.loopback:  # the probed output, not whatever is the default
                argv += ["--play-device", self.plan.loopback.removesuffix(" [Loopback]")]
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, **winproc.popen_kwargs())
        except OSError as exc:
            return f"cannot play the test signal: {exc}"
        winproc.attach_to_job(self.proc.pid)
        time.sleep(0.2)
        return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _worker_probe(name: str, runs: list[WorkerRun], sources: list[list[str]]) -> tuple[ProbeResult, dict[str, tuple[np.ndarray, int]]]:
    probe = ProbeResult(name)
    audio: dict[str, tuple[np.ndarray, int]] = {}
    for run, srcs in zip(runs, sources):
        err, hint = run.error()
        if err and not probe.error:
            probe.error, probe.hint = err, hint
        started = run.started() or {}
        ch_sources = started.get("channel_sources") or srcs
        if ch_sources == ["mix"]:
            ch_sources = srcs
        results, pcm, rate = analyze_frames(run.frames, list(ch_sources))
        probe.sources.update(results)
        audio.update({s: (x, rate) for s, x in pcm.items()})
        if started.get("device"):
            probe.notes.append(f"{'/'.join(srcs)}: {started.get('device')} ({started.get('hostapi', '')}, "
                               f"{started.get('samplerate')} Hz)")
    return probe, audio


def _with_echo(probe: ProbeResult, audio: dict[str, tuple[np.ndarray, int]]) -> None:
    if "mic" in audio and "loopback" in audio:
        (m, mr), (lb, lr) = audio["mic"], audio["loopback"]
        if probe.sources.get("loopback") and probe.sources["loopback"].live and len(m) and np.any(m):
            probe.echo_corr = echo_correlation(m, mr, lb, lr)


def probe_same_process(plan: Plan, seconds: float, workdir: Path) -> ProbeResult:
    """Both sources in one process (see ``_same_process_main``)."""
    probe = ProbeResult("same-process")
    env = dict(os.environ)
    args = [sys.executable, "-m", "meeting_tui.doctor.probes", "--same-process", "--seconds", str(seconds)]
    if plan.platform.startswith("linux"):
        # One process, one PortAudio: name each Pulse source as its own ALSA PCM in a private asoundrc.
        xdg = workdir / "xdg"
        (xdg / "alsa").mkdir(parents=True, exist_ok=True)
        lines = []
        for pcm, dev in (("mt_doctor_mic", plan.mic), ("mt_doctor_loopback", plan.loopback)):
            target = f' device "{dev}"' if dev else ""
            lines.append(f'pcm.{pcm} {{ type pulse{target} hint {{ show on description "{pcm}" }} }}')
        (xdg / "alsa" / "asoundrc").write_text("\n".join(lines) + "\n")
        env["XDG_CONFIG_HOME"] = str(xdg)
        args += ["--mic", "mt_doctor_mic", "--loopback", "mt_doctor_loopback", "--api", "sounddevice"]
    elif plan.platform == "win32":
        args += ["--api", "pyaudiowpatch"]
        if plan.mic:
            args += ["--mic", plan.mic]
        if plan.loopback:
            args += ["--loopback", plan.loopback]
    else:
        probe.skipped = "no loopback device to open in-process on this OS"
        return probe
    try:
        out = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                             timeout=seconds + STARTUP_TIMEOUT + 10, **winproc.popen_kwargs())
    except subprocess.TimeoutExpired:
        probe.error = "the same-process probe hung (a driver did not return)"
        return probe
    last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    try:
        data = json.loads(last)
    except ValueError:
        probe.error = f"probe crashed (exit {out.returncode}): {out.stderr.strip()[-300:]}"
        return probe
    if data.get("error"):
        probe.error, probe.hint = data["error"], data.get("hint")
    for s, r in (data.get("sources") or {}).items():
        probe.sources[s] = SourceResult(**{k: (float("-inf") if v is None and k.endswith("_db") else v) for k, v in r.items()})
    probe.echo_corr = data.get("echo_corr")
    return probe


def _probe_ffmpeg_available() -> tuple[bool, str]:
    from meeting_tui.capture.ffmpeg import ffmpeg_available

    return ffmpeg_available()


def run_probes(plan: Plan, *, seconds: float = 3.0, tone: bool = True, only: tuple[str, ...] = PROBES,
               progress=None) -> list[ProbeResult]:
    results: list[ProbeResult] = []
    say = progress or (lambda msg: None)
    with tempfile.TemporaryDirectory(prefix="mt-doctor-") as tmp:
        workdir = Path(tmp)
        player = TonePlayer(plan, seconds + SKIP_S + STARTUP_TIMEOUT + 5, workdir) if tone else None

        def with_tone(fn):
            if player is None:
                return fn()
            note = player.start()
            try:
                r = fn()
            finally:
                player.stop()
            if note:
                r.notes.append(note)
            return r

        for name in only:
            say(f"probe: {name}")
            if name == "mic":
                runs = run_workers([plan.worker_args(Source.MIC)], seconds)
                results.append(_worker_probe("mic", runs, [["mic"]])[0])
            elif name == "loopback":
                def lb():
                    return _worker_probe("loopback", run_workers([plan.worker_args(Source.LOOPBACK)], seconds), [["loopback"]])[0]
                results.append(with_tone(lb))
            elif name == "same-process":
                results.append(with_tone(lambda: probe_same_process(plan, seconds, workdir)))
            elif name == "separate":
                def sep():
                    runs = run_workers([plan.worker_args(Source.MIC), plan.worker_args(Source.LOOPBACK)], seconds)
                    probe, audio = _worker_probe("separate", runs, [["mic"], ["loopback"]])
                    _with_echo(probe, audio)
                    return probe
                results.append(with_tone(sep))
            elif name == "ffmpeg":
                ok, hint = _probe_ffmpeg_available()
                if not ok:
                    results.append(ProbeResult("ffmpeg", skipped="FFmpeg is not installed", hint=hint))
                    continue

                def ffp():
                    runs = run_workers([plan.ffmpeg_args()], seconds)
                    probe, audio = _worker_probe("ffmpeg", runs, [["mic", "loopback"]])
                    _with_echo(probe, audio)
                    return probe
                results.append(with_tone(ffp))
    if not tone:
        for p in results:
            lb = p.sources.get("loopback")
            if lb and lb.state in ("idle", "silent"):
                p.notes.append("loopback heard nothing, but nothing was played (--no-tone): it may still work")
    return results


# ------------------------------------------------------------------------------------------- verdict

def _virtual_mix_device(names: list[str]) -> str | None:
    for n in names:
        low = n.lower()
        if "voicemeeter out" in low or "voicemeeter output" in low:
            return n
    return None


def recommend(probes: list[ProbeResult], plan: Plan, *, tone: bool = True, device_names: list[str] | None = None) -> Recommendation:
    by = {p.name: p for p in probes}

    def loop_ok(p: ProbeResult) -> bool:
        if p.live(Source.LOOPBACK):
            return True
        lb = p.sources.get("loopback")
        return not tone and not p.error and lb is not None and lb.state in ("idle", "silent")

    def mic_opened(p: ProbeResult) -> bool:
        # Exact zeros from an open mic: muted, or a noise gate while nobody spoke. The mode works either way
        # (warnings_for says so); calling it broken made the advice flip with a pause in the room.
        m = p.sources.get("mic")
        return p.live(Source.MIC) or (not p.error and m is not None and m.state in ("silent", "low"))

    sep = by.get("separate")
    if sep and not sep.error and mic_opened(sep) and loop_ok(sep):
        return Recommendation("meeting", Mode.MEETING, "Meeting (two subprocesses): mic and system audio both live, each "
                              "in its own capture process.", plan.mic, plan.loopback, plan.mic_hostapi,
                              plan.loopback_hostapi)
    ffp = by.get("ffmpeg")
    ff_api = "ffmpeg " + ("dshow" if plan.platform == "win32" else "avfoundation" if plan.platform == "darwin" else "pulse")
    if ffp and not ffp.error and mic_opened(ffp) and loop_ok(ffp):
        return Recommendation("meeting-ffmpeg", Mode.MEETING_FFMPEG, "Meeting via FFmpeg: one FFmpeg process captures "
                              "both sources.", plan.ffmpeg_mic, plan.ffmpeg_loopback, ff_api, ff_api)
    mic_ok = any(p.live(Source.MIC) for p in probes)
    lb_ok = any(p.live(Source.LOOPBACK) for p in probes)
    vm = _virtual_mix_device(device_names or [])
    if vm or (mic_ok and lb_ok) or (mic_ok and not lb_ok and plan.platform == "win32"):
        return Recommendation("voicemeeter", Mode.MIC,
                              "VoiceMeeter route: mix mic and system audio in VoiceMeeter and capture its output as one "
                              "device in Mic-only mode (see docs/fallbacks.md). Both sources land in one transcript "
                              "line, with no You/Them labels." + (" Each source works alone but not both together."
                                                                  if mic_ok and lb_ok else ""),
                              vm, None, WASAPI if vm else "")
    if mic_ok:
        return Recommendation("mic", Mode.MIC, "Only the microphone works: Mic only. System audio could not be "
                              "captured (see the loopback probe's error).", plan.mic, None, plan.mic_hostapi)
    if lb_ok:
        return Recommendation("loopback", Mode.LOOPBACK, "Only system audio works: Loopback only. The microphone gave "
                              "no signal (muted? blocked by privacy settings? wrong device?).", None, plan.loopback,
                              "", plan.loopback_hostapi)
    return Recommendation("none", None, "Nothing captured audio. Check that a sound device is enabled, the mic is not "
                          "muted, and the OS privacy settings let this terminal use the microphone.")


def warnings_for(probes: list[ProbeResult], plan: Plan, device_names: list[str]) -> list[str]:
    out = []
    names = [n for n in [plan.mic, plan.loopback, *device_names] if n]
    hf = sorted({n for n in names if is_hands_free(n) or "headset_head_unit" in n or "handsfree_head_unit" in n})
    if hf:
        out.append("Bluetooth hands-free endpoint(s): " + ", ".join(hf) + ". Opening a headset's mic switches it to "
                   "call quality and can move the output to another device; prefer the laptop/USB mic and keep the "
                   "headset in stereo (A2DP) mode.")
    corr = max((p.echo_corr for p in probes if p.echo_corr is not None), default=None)
    if corr is not None and corr >= ECHO_CORR:
        out.append(f"Echo: the mic hears the speakers (correlation {corr:.2f} with the test signal). The remote side "
                   "may be transcribed twice: use headphones, or keep echo handling on.")
    for p in probes:
        mic = p.sources.get("mic")
        if mic and mic.state == "silent" and not p.error:
            out.append(f"{p.name}: the mic delivered digital silence (exact zeros): it is muted, blocked by privacy "
                       "settings, or its noise suppression waited for a voice. Speak while the doctor listens to "
                       "tell which.")
            break
    return out


def list_device_names() -> list[str]:
    """Every device name the worker can list (for hands-free and VoiceMeeter detection)."""
    try:
        out = subprocess.run([sys.executable, "-m", "meeting_tui.capture.worker", "--list-devices"], capture_output=True,
                             text=True, timeout=30, stdin=subprocess.DEVNULL, **winproc.popen_kwargs())
        rows = json.loads(out.stdout or "[]")
    except (OSError, subprocess.SubprocessError, ValueError):
        return []
    return [f"{r.get('name', '')}" + (f" {r['description']}" if r.get("description") else "") for r in rows]


def run_doctor(*, mic: str | None = None, loopback: str | None = None, seconds: float = 3.0, tone: bool = True,
               only: tuple[str, ...] = PROBES, progress=None) -> DoctorReport:
    plan = make_plan(mic, loopback)
    names = list_device_names()
    probes = run_probes(plan, seconds=seconds, tone=tone, only=only, progress=progress)
    rec = recommend(probes, plan, tone=tone, device_names=names)
    return DoctorReport(probes, rec, warnings_for(probes, plan, names), plan=asdict(plan))


# ------------------------------------------------------------------------------------------- saving

def save_recommendation(rec: Recommendation, config: str | None = None) -> Path:
    """Write the recommended mode (and devices) to the settings file. Isolated so the settings API can change."""
    from meeting_tui import settings as st

    if rec.mode is None:
        raise ValueError("nothing to save: no mode works")
    loaded = st.load_settings(config)
    s = loaded.settings
    s.capture.mode = rec.mode
    if rec.mic_device:
        s.capture.mic_device = st.DeviceSetting(name=rec.mic_device, hostapi=rec.hostapi)
    if rec.loopback_device:
        s.capture.loopback_device = st.DeviceSetting(name=rec.loopback_device, hostapi=rec.loopback_hostapi)
    return st.save_settings(s, config)


# ------------------------------------------------------------------------------------------- printing

def _fmt_db(v: float) -> str:
    return "  -inf" if v == float("-inf") else f"{v:6.1f}"


def format_report(report: DoctorReport) -> str:
    lines = ["meeting-tui doctor", ""]
    for p in report.probes:
        head = f"[{p.name}]"
        if p.skipped:
            lines.append(f"{head} skipped: {p.skipped}" + (f" ({p.hint})" if p.hint else ""))
            continue
        status = "OK (both live)" if p.both_live else ("FAILED" if p.error else "")
        lines.append(f"{head} {status}".rstrip())
        for s in p.sources.values():
            lines.append(f"    {s.source:<9} {s.state:<8} rms {_fmt_db(s.rms_db)} dBFS  peak {_fmt_db(s.peak_db)} dBFS  "
                         f"{s.seconds:.1f} s" + (f" (+{s.synthesized_s:.1f} s idle)" if s.synthesized_s else ""))
        if p.echo_corr is not None:
            lines.append(f"    echo correlation {p.echo_corr:.2f}")
        if p.error:
            lines.append(f"    error: {p.error}")
        if p.hint:
            lines.append(f"    hint: {p.hint}")
        for n in p.notes:
            lines.append(f"    {n}")
    lines.append("")
    for w in report.warnings:
        lines.append(f"warning: {w}")
    r = report.recommendation
    lines.append(f"recommended: {r.mode.label if r.mode else 'nothing works yet'} [{r.route}]")
    lines.append(f"    {r.text}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- subprocess entries

def _same_process_main(args: argparse.Namespace) -> int:
    """Open mic and loopback in THIS process, one PortAudio, for ``seconds``; print one JSON line."""
    blocks: dict[str, list[np.ndarray]] = {"mic": [], "loopback": []}
    lock = threading.Lock()
    rates: dict[str, int] = {}

    def sink(source):
        def put(x):
            with lock:
                blocks[source].append(np.asarray(x, dtype=np.float32).mean(axis=1) if np.ndim(x) == 2 else np.asarray(x))
        return put

    streams = []
    try:
        if args.api == "sounddevice":
            import sounddevice as sd

            for source, dev in (("mic", args.mic), ("loopback", args.loopback)):
                info = sd.query_devices(dev, "input")
                rate = int(info["default_samplerate"])
                rates[source] = rate
                put = sink(source)
                st = sd.InputStream(device=dev, channels=1, samplerate=rate, dtype="float32",
                                    callback=lambda indata, frames, t, status, put=put: put(indata.copy()))
                st.start()
                streams.append(st)
        else:
            import pyaudiowpatch as pyaudio

            from meeting_tui.capture.backends import pyaudiowpatch_backend as pawp

            pa = pyaudio.PyAudio()
            devices = list(pa.get_device_info_generator_by_host_api(host_api_type=pyaudio.paWASAPI))
            if args.mic:
                mic = next((d for d in devices if not d["isLoopbackDevice"] and d["maxInputChannels"] > 0
                            and d["name"] == args.mic), None)
                if mic is None:
                    raise LookupError(f"no WASAPI input named {args.mic!r}")
            else:
                mic = pa.get_default_wasapi_device(d_in=True)
            lb = pawp.find_loopback(devices, args.loopback, default_output=None if args.loopback else pa.get_default_wasapi_device(d_out=True))
            for source, dev in (("mic", mic), ("loopback", lb)):
                rate, ch = pawp.stream_params(dev)
                rates[source] = rate
                put = sink(source)

                def cb(in_data, n, ti, status, put=put, ch=ch):
                    put(np.frombuffer(in_data, dtype=np.float32).reshape(-1, ch))
                    return (None, pyaudio.paContinue)
                streams.append(pa.open(format=pyaudio.paFloat32, channels=ch, rate=rate, input=True,
                                       input_device_index=dev["index"], stream_callback=cb))
        time.sleep(args.seconds + SKIP_S)
    except Exception as exc:
        hint = getattr(exc, "hint", None)
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}", "hint": hint}))
        return 0
    finally:
        for st in streams:
            try:
                st.close()
            except Exception:
                pass
    result: dict = {"sources": {}}
    audio = {}
    for s in ("mic", "loopback"):
        with lock:
            x = np.concatenate(blocks[s]) if blocks[s] else np.zeros(0, np.float32)
        rate = rates.get(s, TONE_RATE)
        x = x[int(SKIP_S * rate):]
        audio[s] = (x, rate)
        r = classify(x, rate, 0, s)
        result["sources"][s] = {k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in asdict(r).items()}
    if len(audio["mic"][0]) and len(audio["loopback"][0]) and np.any(audio["loopback"][0]):
        result["echo_corr"] = echo_correlation(*audio["mic"], *audio["loopback"])
    print(json.dumps(result))
    return 0


def _play_main(path: str, device: str | None = None) -> int:
    """Play a WAV with sounddevice (Windows/macOS tone player) on ``device`` (an output's name; on Windows
    its WASAPI entry), else on the default output."""
    import sounddevice as sd

    with wave.open(path, "rb") as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, w.getnchannels())
        rate = w.getframerate()
    if device and sys.platform == "win32":
        device = f"{device}, Windows WASAPI"
        mix_rate = int(sd.query_devices(device, "output")["default_samplerate"])  # shared mode: the mix rate only
        if mix_rate != rate:
            import soxr

            data, rate = soxr.resample(data.astype(np.float32), rate, mix_rate), mix_rate
    sd.play(data.astype(np.float32) / 32768, rate, device=device or None)
    sd.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m meeting_tui.doctor.probes")
    p.add_argument("--same-process", action="store_true")
    p.add_argument("--play")
    p.add_argument("--play-device")
    p.add_argument("--api", default="sounddevice")
    p.add_argument("--mic")
    p.add_argument("--loopback")
    p.add_argument("--seconds", type=float, default=3.0)
    args = p.parse_args(argv)
    if args.play:
        return _play_main(args.play, args.play_device)
    if args.same_process:
        return _same_process_main(args)
    report = run_doctor(seconds=args.seconds)
    print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
