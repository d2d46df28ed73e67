"""Subcommands of the capture core: `worker`, `devices` (`monitor` drives a meeting: meeting_tui/commands)."""

from __future__ import annotations

import argparse
import json
import sys

from meeting_tui.types import Source


def register(sub: argparse._SubParsersAction) -> None:
    # `meeting-tui worker ...` is dispatched by cli.main before argparse; listed here for --help.
    sub.add_parser("worker", help="capture one stream to stdout (started by the app; see --help)")

    d = sub.add_parser("devices", help="list microphones and loopback sources")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=cmd_devices)


def cmd_devices(args) -> int:
    from meeting_tui.capture.devices import DeviceListError, list_devices

    try:
        devices = list_devices()
    except DeviceListError as exc:
        from meeting_tui.capture.preflight import sound_server_problem

        print(f"error: {sound_server_problem() or exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([{"name": d.ref.name, "hostapi": d.ref.hostapi, "kind": d.kind.value,
                           "channels": d.channels, "samplerate": d.samplerate, "default": d.is_default,
                           "virtual": d.virtual, "description": d.description} for d in devices], indent=2))
        return 0
    if not devices:
        from meeting_tui.capture.preflight import no_devices_reason

        print(f"No audio devices found: {no_devices_reason()}", file=sys.stderr)
        return 1
    for kind, title in ((Source.MIC, "Microphones"), (Source.LOOPBACK, "Loopback sources (what you hear)")):
        print(f"{title}:")
        rows = [d for d in devices if d.kind is kind]
        if not rows:
            print("  (none found)")
        for d in rows:
            marks = ("* " if d.is_default else "  ")
            extra = f"  [{d.virtual}]" if d.virtual else ""
            shown = f"{d.ref.name} \"{d.description}\"" if d.description and d.description != d.ref.name else d.ref.name
            print(f"{marks}{shown}  ({d.ref.hostapi}, {d.channels} ch, {d.samplerate:g} Hz){extra}")
        print()
    print("* = default. Name a device by its name or its \"description\" (--mic, --loopback); it is stored by name and host API.")
    return 0
