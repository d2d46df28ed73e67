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
from meeting_tui.capture.frames import Frame
from meeting_tui.capture.supervisor import WorkerEvents, WorkerSupervisor, worker_env, worker_python
from meeting_tui.types import Source

# the probes' findings, plan and verdict are their own modules; the names stay reachable here, where the
# doctor's callers (CLI, dashboard, the Windows lane's --play) have always found them
from meeting_tui.doctor.findings import (  # noqa: F401
    ECHO_CORR, LIVE_DB, SKIP_S, TONE_AMP, TONE_RATE, DoctorReport, ProbeResult, Recommendation, SourceResult,
    analyze_frames, classify, echo_correlation, level_db, test_signal, write_test_signal,
)
from meeting_tui.doctor.plan import Plan, make_plan  # noqa: F401
from meeting_tui.doctor.verdict import (  # noqa: F401
    format_report, recommend, save_recommendation, warnings_for,
)

PROBES = ("mic", "loopback", "same-process", "separate", "ffmpeg")
STARTUP_TIMEOUT = 10.0


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
