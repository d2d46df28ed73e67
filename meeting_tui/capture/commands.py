"""Subcommands of the capture core: `worker`, `devices`, `monitor`."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time

from meeting_tui.types import DeviceRef, Mode, Source


def register(sub: argparse._SubParsersAction) -> None:
    # `meeting-tui worker ...` is dispatched by cli.main before argparse; listed here for --help.
    sub.add_parser("worker", help="capture one stream to stdout (started by the app; see --help)")

    d = sub.add_parser("devices", help="list microphones and loopback sources")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=cmd_devices)

    m = sub.add_parser("monitor", help="run capture headless and print levels and health")
    m.add_argument("--mode", choices=[x.value for x in Mode if x is not Mode.MEETING_FFMPEG] + ["meeting-ffmpeg"],
                   default=None, help="capture mode (default: from settings, else meeting)")
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


def cmd_devices(args) -> int:
    from meeting_tui.capture.devices import DeviceListError, list_devices

    try:
        devices = list_devices()
    except DeviceListError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("hint: is a sound server running, and is PortAudio installed (libportaudio2)?", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([{"name": d.ref.name, "hostapi": d.ref.hostapi, "kind": d.kind.value,
                           "channels": d.channels, "samplerate": d.samplerate, "default": d.is_default,
                           "virtual": d.virtual} for d in devices], indent=2))
        return 0
    for kind, title in ((Source.MIC, "Microphones"), (Source.LOOPBACK, "Loopback sources (what you hear)")):
        print(f"{title}:")
        rows = [d for d in devices if d.kind is kind]
        if not rows:
            print("  (none found)")
        for d in rows:
            marks = ("* " if d.is_default else "  ")
            extra = f"  [{d.virtual}]" if d.virtual else ""
            print(f"{marks}{d.ref.name}  ({d.ref.hostapi}, {d.channels} ch, {d.samplerate:g} Hz){extra}")
        print()
    print("* = default. Devices are stored by name and host API.")
    return 0


def _specs_from_args(args):
    from meeting_tui.capture.engine import WorkerSpec, specs_for_mode

    mode = Mode(args.mode or "meeting")
    if args.mic_file or args.loopback_file:
        specs = []
        if args.mic_file:
            specs.append(WorkerSpec.file(Source.MIC, args.mic_file, loop=True))
        if args.loopback_file:
            specs.append(WorkerSpec.file(Source.LOOPBACK, args.loopback_file, loop=True))
        return specs
    mic = DeviceRef(args.mic, args.mic_hostapi or "") if args.mic else None
    loop = DeviceRef(args.loopback, args.loopback_hostapi or "") if args.loopback else None
    if mic and not mic.hostapi:
        mic = DeviceRef(mic.name, "PulseAudio" if sys.platform.startswith("linux") else "")
    if loop and not loop.hostapi:
        loop = DeviceRef(loop.name, "PulseAudio" if sys.platform.startswith("linux") else "")
    return specs_for_mode(mode, mic, loop)


class _Printer:
    def __init__(self, engine, as_json: bool, every: float) -> None:
        self.engine, self.as_json, self.every = engine, as_json, every
        self.peak: dict[Source, float] = {}
        self.rms: dict[Source, float] = {}
        self.next = 0.0

    def on_levels(self, levels) -> None:
        for s, lv in levels.items():
            self.rms[s] = lv.rms_db
            self.peak[s] = max(self.peak.get(s, -math.inf), lv.peak_db)
        now = time.monotonic()
        if now < self.next:
            return
        self.next = now + self.every
        health = self.engine.health
        if self.as_json:
            print(json.dumps({"t": round(now - self.engine.t0, 2), **{
                s.value: {"rms_db": round(self.rms[s], 1), "peak_db": round(self.peak[s], 1),
                          "state": health[s].state.value, "reason": health[s].reason} for s in self.rms}}), flush=True)
        else:
            parts = [f"{s.value:>8}: rms {self.rms[s]:6.1f} dBFS peak {self.peak[s]:6.1f}  {health[s].state.value}"
                     + (f" ({health[s].reason})" if health[s].reason else "") for s in self.rms]
            print(f"{now - self.engine.t0:7.2f}s  " + " | ".join(parts), flush=True)
        self.peak.clear()

    def on_health(self, h) -> None:
        if not self.as_json and h.state.is_problem:
            print(f"  ! {h.source.value}: {h.state.value}: {h.reason}", flush=True)


def cmd_monitor(args) -> int:
    from meeting_tui.capture.engine import CaptureConfigError, CaptureEngine
    from meeting_tui.stop_signals import stop_event

    try:
        specs = _specs_from_args(args)
    except CaptureConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def main() -> None:
        engine = CaptureEngine(specs)
        engine.add_listener(_Printer(engine, args.json, 1.0 / max(0.1, args.rate)))
        stop = stop_event()
        await engine.start()
        try:
            await asyncio.wait_for(stop.wait(), args.duration or None)
        except asyncio.TimeoutError:
            pass
        finally:
            await engine.stop()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    return 0
