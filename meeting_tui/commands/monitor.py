"""`meeting-tui monitor`: capture headless, print levels and health transitions (text or JSON lines)."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time

from meeting_tui.commands.health import Transitions, health_json, health_text
from meeting_tui.commands.output import Stdout, err
from meeting_tui.meeting.events import HealthEvent, LevelsEvent, MeetingEvent, NoticeEvent
from meeting_tui.types import DeviceRef, Mode, Source


def register(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("monitor", help="run capture headless and print levels and health")
    m.add_argument("--mode", choices=[x.value for x in Mode], default=None,
                   help="capture mode (default: from settings, else meeting)")
    m.add_argument("--mic", metavar="NAME", help="mic device name (see `meeting-tui devices`)")
    m.add_argument("--mic-hostapi", metavar="API", help="host API of --mic")
    m.add_argument("--loopback", metavar="NAME", help="loopback device name")
    m.add_argument("--loopback-hostapi", metavar="API", help="host API of --loopback")
    m.add_argument("--mic-file", metavar="FILE", help="replay a file as the mic instead of a device")
    m.add_argument("--loopback-file", metavar="FILE", help="replay a file as the loopback instead of a device")
    m.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0: Ctrl+C)")
    m.add_argument("--rate", type=float, default=4, help="lines per second")
    m.add_argument("--json", action="store_true", help="one JSON object per line")
    m.set_defaults(func=cmd_monitor)


def _setup(args):
    from meeting_tui.capture.engine import CaptureConfigError, WorkerSpec
    from meeting_tui.meeting.setup import CaptureSetup, mode_of, replay_problem

    if args.mic_file or args.loopback_file:
        files = [(s, p) for s, p in ((Source.MIC, args.mic_file), (Source.LOOPBACK, args.loopback_file)) if p]
        problem = next(filter(None, (replay_problem(p) for _, p in files)), None)
        if problem:
            raise CaptureConfigError(problem)
        specs = [WorkerSpec.file(s, p, loop=True) for s, p in files]
        return CaptureSetup(mode_of(specs), files=specs)
    api = "PulseAudio" if sys.platform.startswith("linux") else ""
    mic = DeviceRef(args.mic, args.mic_hostapi or api) if args.mic else None
    loop = DeviceRef(args.loopback, args.loopback_hostapi or api) if args.loopback else None
    setup = CaptureSetup(Mode(args.mode or "meeting"), mic, loop)
    setup.specs()  # raises CaptureConfigError with the fix
    return setup


class _Printer:
    def __init__(self, as_json: bool, every: float) -> None:
        self.as_json, self.every = as_json, every
        self.stdout = Stdout()
        self.transition = Transitions()
        self.meeting = None
        self.peak: dict[Source, float] = {}
        self.rms: dict[Source, float] = {}
        self.next = 0.0

    def on_event(self, event: MeetingEvent) -> None:
        if isinstance(event, LevelsEvent):
            self._levels(event)
        elif isinstance(event, HealthEvent):
            what = self.transition(event)
            if what is None:
                return
            line = json.dumps(health_json(event, what)) if self.as_json else "  ! " + health_text(event, what)
            self.stdout.line(line)
        elif isinstance(event, NoticeEvent):  # device warnings: a quiet output that is not the call's
            self.stdout.line(json.dumps({"type": "notice", "title": event.title, "text": event.text}) if self.as_json
                             else f"  ! [{event.title.lower()}] {event.text}")

    def _levels(self, event: LevelsEvent) -> None:
        for s, lv in event.levels.items():
            self.rms[s] = lv.rms_db
            self.peak[s] = max(self.peak.get(s, -math.inf), lv.peak_db)
        now = time.monotonic()
        engine = self.meeting.engine
        if now < self.next or engine is None:
            return
        self.next = now + self.every
        health = engine.health
        t = now - engine.t0
        if self.as_json:
            self.stdout.line(json.dumps({"t": round(t, 2), **{
                s.value: {"rms_db": round(self.rms[s], 1), "peak_db": round(self.peak[s], 1),
                          "state": health[s].state.value, "reason": health[s].reason} for s in self.rms}}))
        else:
            parts = [f"{s.value:>8}: rms {self.rms[s]:6.1f} dBFS peak {self.peak[s]:6.1f}  {health[s].state.value}"
                     + (f" ({health[s].reason})" if health[s].reason else "") for s in self.rms]
            self.stdout.line(f"{t:7.2f}s  " + " | ".join(parts))
        self.peak.clear()


def cmd_monitor(args) -> int:
    from meeting_tui.capture.engine import CaptureConfigError
    from meeting_tui.meeting.meeting import Meeting
    from meeting_tui.stop_signals import stop_event

    try:
        setup = _setup(args)
    except CaptureConfigError as exc:
        err(f"error: {exc}")
        return 2
    if setup.files is None and (args.mic or args.loopback):
        from meeting_tui.capture.devices import list_devices
        from meeting_tui.capture.preflight import capture_problem
        from meeting_tui.commands.devices_check import check_devices

        devices, problem = capture_problem(list_devices)
        problem = problem or check_devices(setup, devices, {Source.MIC: bool(args.mic), Source.LOOPBACK: bool(args.loopback)})
        if problem:
            err(f"error: {problem}")
            return 2
    printer = _Printer(args.json, 1.0 / max(0.1, args.rate))
    meeting = Meeting(printer)
    meeting.meter_hz = max(5.0, args.rate)  # a level per printed line is enough (docs/cost.md)
    printer.meeting = meeting

    async def main() -> None:
        stop = stop_event()
        await meeting.start_capture(setup)
        closed = asyncio.create_task(_closed(printer.stdout))
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([closed, stopped], timeout=args.duration or None,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            stopped.cancel()
            await meeting.stop_capture()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    return 0


async def _closed(stdout: Stdout) -> None:
    while not stdout.closed.is_set():
        await asyncio.sleep(0.1)
