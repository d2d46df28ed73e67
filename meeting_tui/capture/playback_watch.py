"""Is the output we capture the one that is playing? A flat "Them" meter means either nothing plays (idle,
fine) or the loopback is dead or on the wrong output, and the two look the same from the samples alone.

While the loopback is idle, the output endpoints' own activity is read:
- Windows: each render endpoint's peak meter (``IAudioMeterInformation::GetPeakValue``, the value the volume
  mixer shows), through ``default_device.WindowsEndpoints``;
- Linux: the sinks with a running (uncorked) stream (``pactl --format=json list``, read again when the
  server's events say it changed), each one's monitor peeked for a quarter second by ``parec`` (a
  subprocess: this process opens no audio device), since a stream may be open and silent (a browser tab,
  a keep-alive).

Then (``LoopbackCheck``): the captured output plays but the loopback gets only silence (a WASAPI loopback
that never started; endpoints that deliver nothing until playback, PortAudio #875/#935): the worker is
reopened and the user told. Another output plays while ours is quiet (a call on the communications
endpoint, a headset in hands-free mode): the user is told which one, and how to pick it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable

from meeting_tui.capture.backends import registry
from meeting_tui.capture.default_device import Endpoint
from meeting_tui.capture.polling import OneThreadPoller
from meeting_tui.capture.pulse_events import PactlSubscription
from meeting_tui.types import DeviceRef, HealthState, Source

log = logging.getLogger("meeting_tui.capture")

POLL_S = 3.0  # only while the loopback is idle
CONFIRM_S = 4.0  # a condition must hold this long before we act (a notification sound is shorter)
RESTART_EVERY_S = 30.0
RESTARTS_PER_EPISODE = 2  # then it is said once and left alone (protected playback is silent on purpose)
PLAYING_PEAK = 0.001  # -60 dBFS on the endpoint's meter
LOOPBACK_SUFFIX = " [Loopback]"  # PyAudioWPatch's name for a render endpoint's loopback


@dataclass(frozen=True)
class Activity:
    endpoint: Endpoint
    playing: bool
    default: bool = False  # the system's default output


@dataclass(frozen=True)
class Action:
    warning: str
    restart: bool = False


def captured_endpoint(device: DeviceRef | None, activity: list[Activity]) -> Activity | None:
    """The output a loopback device listens to: its monitor's sink, the endpoint its name was made from, or
    the default output."""
    name = device.name if device is not None else ""
    if not name or name == "@DEFAULT_MONITOR@":
        return next((a for a in activity if a.default), None)
    for suffix in (".monitor", LOOPBACK_SUFFIX):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    name = name.removeprefix("Monitor of ")
    for a in activity:
        if name in (a.endpoint.id, a.endpoint.name):
            return a
    # PortAudio cuts names at 127 bytes: a unique prefix still names the endpoint.
    matches = [a for a in activity if a.endpoint.name.startswith(name) or name.startswith(a.endpoint.name)]
    return matches[0] if len(matches) == 1 else None


class LoopbackCheck:
    """The decisions, fed one observation per poll; no I/O (tests drive it with a clock)."""

    def __init__(self, confirm_s: float = CONFIRM_S, restart_every_s: float = RESTART_EVERY_S) -> None:
        self.confirm_s, self.restart_every_s = confirm_s, restart_every_s
        self._dead_since: float | None = None
        self._elsewhere_since: float | None = None
        self._last_restart = -float("inf")
        self._restarts = 0  # in the current episode of a playing output and a silent loopback
        self._told: set[str] = set()

    def step(self, now: float, captured: Activity | None, activity: list[Activity], idle: bool) -> list[Action]:
        out: list[Action] = []
        dead = idle and captured is not None and captured.playing
        self._dead_since = (self._dead_since if self._dead_since is not None else now) if dead else None
        if not dead:
            self._restarts = 0
        if dead and now - self._dead_since >= self.confirm_s and now - self._last_restart >= self.restart_every_s:
            self._last_restart = now
            self._restarts += 1
            name = captured.endpoint.name
            if self._restarts <= RESTARTS_PER_EPISODE:
                out.append(Action(f"{name!r} is playing, but its loopback delivers only silence: reopening it (if "
                                  "Them stays silent, pick the output again with d)", restart=True))
            elif self._restarts == RESTARTS_PER_EPISODE + 1:
                out.append(Action(f"{name!r} still delivers only silence after reopening: protected playback stays "
                                  "silent on purpose; otherwise pick another output with d"))
        others = [a for a in activity if a.playing and (captured is None or a.endpoint.id != captured.endpoint.id)]
        elsewhere = idle and not dead and bool(others)
        self._elsewhere_since = (self._elsewhere_since if self._elsewhere_since is not None else now) \
            if elsewhere else None
        if elsewhere and now - self._elsewhere_since >= self.confirm_s:
            names = ", ".join(repr(a.endpoint.name) for a in others)
            ours = repr(captured.endpoint.name) if captured else "the chosen output"
            text = (f"sound is playing on {names}, but meeting-tui records {ours}: choose the output the call "
                    "plays on with d (devices) to hear Them")
            if text not in self._told:
                self._told.add(text)
                out.append(Action(text))
        return out


# --- reading the outputs' activity ------------------------------------------------------------------------

def _pactl_json(*args: str):
    out = subprocess.run(["pactl", "--format=json", *args], capture_output=True, text=True, timeout=3,
                         stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        raise OSError(out.stderr.strip() or f"pactl {' '.join(args)} failed")
    return json.loads(out.stdout or "{}")


PEEK_S = 0.25
PEEK_CLIENT = "meeting-tui-peek"  # so a watcher of who uses audio can tell these streams are ours


def monitor_peak(sink: str, seconds: float = PEEK_S) -> float:
    """The peak of what ``sink`` plays over ``seconds`` (0..1), read from its monitor."""
    import numpy as np

    proc = subprocess.Popen(["parec", f"--device={sink}.monitor", "--raw", "--format=float32le", "--channels=1",
                             "--rate=8000", "--latency-msec=50", f"--client-name={PEEK_CLIENT}"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        data, _ = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        data, _ = proc.communicate()
    samples = np.frombuffer(data[: len(data) // 4 * 4], dtype="<f4")
    return float(np.abs(samples).max()) if len(samples) else 0.0


def read_pulse_server() -> tuple[dict, str]:
    """The server's lists and its default output (two pactl runs, about 4-5 ms of CPU each)."""
    server = _pactl_json("list")  # one run for every list: sinks, sources, streams
    default = subprocess.run(["pactl", "get-default-sink"], capture_output=True, text=True, timeout=3,
                             stdin=subprocess.DEVNULL).stdout.strip()
    return server, default


def pulse_activity(silent_pid: int | None = None, listing: tuple[dict, str] | None = None) -> list[Activity]:
    """Each output (sink) and whether it plays. ``silent_pid``: a worker whose stream has heard only silence;
    a sink whose monitor that stream records (the server's own list says so) is not playing, and is not
    peeked: a peek would read the same monitor again (a parec run, ~7 ms of CPU, every poll). ``listing``:
    ``read_pulse_server()``'s answer, when the caller knows it is still true."""
    server, default = listing or read_pulse_server()
    # A sink whose monitor feeds a virtual microphone (module-remap-source, a virtual cable) is an input
    # path, not an output anyone listens to.
    sources = server.get("sources", [])
    feeds_a_mic = {src.get("properties", {}).get("device.master_device") for src in sources}
    sinks = [s for s in server.get("sinks", []) if f"{s['name']}.monitor" not in feeds_a_mic]
    running = {i.get("sink") for i in server.get("sink_inputs", []) if not i.get("corked")}
    heard = _recorded_by(server, silent_pid)
    return [Activity(Endpoint(s["name"], s.get("description") or s["name"]),
                     s.get("index") in running and s.get("monitor_source") not in heard
                     and monitor_peak(s["name"]) > PLAYING_PEAK, s["name"] == default)
            for s in sinks]


# Read the lists again after this long whatever the events said: what they do not tell (a record stream
# moved to another source by the user) is seen within it.
RELIST_S = 30.0


def changes_outputs(what: bytes, on: bytes) -> bool:
    """Whether a server event can change ``pulse_activity``'s lists: an output, a stream playing to one, the
    defaults, a source come or gone (a virtual mic). Not clients (every pactl run is one), record streams
    (every peek is one) nor a source's state (a peek wakes the monitor it reads); the loopback worker's own
    stream is told apart by its pid, which changes when it is reopened."""
    return on in (b"sink", b"sink-input", b"server") or (on == b"source" and what != b"change")


class PulseOutputs:
    """``pulse_activity`` for the loopback watch, reading the server's lists again only when the server said
    something they hold changed (``events``: a ``pulse_events.PactlSubscription`` the watch starts and
    follows), the worker was reopened, or ``RELIST_S`` passed; at every call where there are no events.
    While nothing else plays, most polls then run no pactl at all (two runs, about 10 ms of CPU, every 3 s
    before; docs/cost.md)."""

    def __init__(self, silent_pid: Callable[[], int | None], events=None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.silent_pid, self.events, self.clock = silent_pid, events, clock
        self.listings = 0  # how many times the server's lists were read (tests count them)
        self._listing: tuple[dict, str] | None = None
        self._seen: tuple[int, int | None] | None = None
        self._listed_at = -float("inf")

    def __call__(self) -> list[Activity]:  # on the watch's thread
        pid = self.silent_pid()
        events, now = self.events, self.clock()
        seen = (events.changes, pid) if events is not None and events.following else None
        if seen is None or seen != self._seen or self._listing is None or now - self._listed_at >= RELIST_S:
            self._listing = read_pulse_server()  # an event during this read moves the count: read again next time
            self._listed_at = now
            # Our worker's record stream not listed yet (it is opening): read again next time, or the
            # output it records would be peeked until some other event.
            self._seen = seen if pid is None or _recorded_by(self._listing[0], pid) else None
            self.listings += 1
        return pulse_activity(pid, self._listing)


def _recorded_by(server: dict, pid: int | None) -> set[str]:
    """The names of the sources that process ``pid``'s record streams read (through the ALSA plugin or not)."""
    if pid is None:
        return set()
    by_index = {src.get("index"): src.get("name") for src in server.get("sources", [])}
    return {by_index.get(out.get("source")) for out in server.get("source_outputs", [])
            if str(out.get("properties", {}).get("application.process.id")) == str(pid)} - {None}


def activity_reader(silent_pid: Callable[[], int | None] = lambda: None) -> Callable[[], list[Activity]] | None:
    """How to read the outputs' activity on this OS; ``silent_pid`` gives the pid of the loopback's worker,
    asked only while its stream hears silence (``pulse_activity``)."""
    if sys.platform == "win32":
        state: dict = {}

        def windows_activity() -> list[Activity]:  # on the watcher's one thread: COM lives there
            from meeting_tui.capture.default_device import E_MULTIMEDIA, E_RENDER, WindowsEndpoints

            if "ep" not in state:
                state["ep"] = WindowsEndpoints()
            ep = state["ep"]
            default = ep.default(E_RENDER, E_MULTIMEDIA)
            return [Activity(e, peak > PLAYING_PEAK, default is not None and e.id == default.id)
                    for e, peak in ep.render_peaks()]

        return windows_activity
    if sys.platform.startswith("linux"):
        import shutil

        if not (shutil.which("pactl") and shutil.which("parec")):
            return None
        return PulseOutputs(silent_pid, PactlSubscription())
    return None


class LoopbackWatch(OneThreadPoller):
    """Polls while the loopback is idle and acts on ``LoopbackCheck``'s decisions (event-loop side)."""

    def __init__(self, device: DeviceRef | None, worker, idle: Callable[[], bool], on_warning: Callable[[str], None],
                 read: Callable[[], list[Activity]], *, clock: Callable[[], float], poll_s: float = POLL_S) -> None:
        self.device, self.worker, self.idle, self.on_warning = device, worker, idle, on_warning
        self.read, self.clock, self.poll_s = read, clock, poll_s
        self.check = LoopbackCheck()

    @classmethod
    def start_for(cls, specs, workers, health: Callable[[], dict], on_warning: Callable[[str], None],
                  clock: Callable[[], float]) -> "LoopbackWatch | None":
        for spec, worker in zip(specs, workers):
            if spec.sources != (Source.LOOPBACK,) or not registry.follows_default(spec.backend):
                continue
            read = activity_reader(lambda: worker.pid)  # polled only while the loopback is idle
            if read is not None:
                watch = cls(spec.device, worker, lambda: health()[Source.LOOPBACK].state is HealthState.IDLE,
                            on_warning, read, clock=clock)
                watch.start()
                return watch
        return None

    def start(self) -> None:
        self._start_polling("playback-watch")

    async def stop(self) -> None:
        await super().stop()
        events = getattr(self.read, "events", None)
        if events is not None:
            await events.close()

    async def _run(self) -> None:
        events = getattr(self.read, "events", None)  # Linux: the server's change events (PulseOutputs)
        if events is not None and await events.start():
            events.follow(changes_outputs)
        while True:
            await asyncio.sleep(self.poll_s)
            idle = self.idle()
            if not idle:  # sound arrives: nothing to check, nothing to spend
                self.check.step(self.clock(), None, [], False)
                continue
            try:
                activity = await self._on_thread(self.read)
            except Exception as exc:  # a failed read must not stop capture
                log.debug("reading the outputs' activity failed: %s", exc)
                continue
            for action in self.check.step(self.clock(), captured_endpoint(self.device, activity), activity, idle):
                self.on_warning(action.warning)
                if action.restart:
                    self.worker.restart_now(action.warning)

