"""Linux: the sound server's source outputs (PulseAudio, or PipeWire through pipewire-pulse), read with
``pactl --format=json``. A recording stream from a client on a source that is not a sink's monitor is a
program using a microphone; streams of modules (remap, loopback), corked streams, pavucontrol's level
meters and our own processes are not."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from meeting_tui.callwatch.probe import MicUser, ProbeError, is_ours

IGNORED_APPS = {"org.PulseAudio.pavucontrol", "org.pulseaudio.pavucontrol"}


def pactl_json(*args: str, timeout: float = 5.0) -> Any:
    if shutil.which("pactl") is None:
        raise ProbeError("`pactl` is not installed: install pulseaudio-utils (Debian/Ubuntu) or pipewire-pulse")
    try:
        out = subprocess.run(["pactl", "--format=json", *args], capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise ProbeError("the sound server does not answer `pactl` (timed out)") from exc
    if out.returncode != 0:
        raise ProbeError(f"`pactl {' '.join(args)}` failed: {out.stderr.strip() or out.returncode}; is the sound "
                         "server running (pulseaudio --start, or pipewire-pulse)?")
    try:
        return json.loads(out.stdout)
    except ValueError as exc:
        raise ProbeError("`pactl --format=json` is not understood: PulseAudio's pactl 16 or newer is needed") from exc


def mic_users(outputs: list[dict], sources: list[dict], *, me: int | None = None) -> list[MicUser]:
    """The programs behind ``outputs`` (``pactl list source-outputs``) that record a microphone."""
    # pactl 16's JSON names a monitor's sink in "monitor_source" (the text output's "Monitor of Sink")
    monitors = {s.get("index") for s in sources
                if any(s.get(k) not in (None, "", "n/a") for k in ("monitor_source", "monitor_of_sink"))}
    monitors |= {s.get("index") for s in sources if str(s.get("name", "")).endswith(".monitor")}
    users = []
    for out in outputs:
        props = out.get("properties") or {}
        if out.get("client") in (None, "", "n/a") or out.get("corked") or out.get("source") in monitors:
            continue
        if props.get("application.id") in IGNORED_APPS:
            continue
        try:
            pid = int(props["application.process.id"])
        except (KeyError, TypeError, ValueError):
            pid = None
        if is_ours(pid, me):
            continue
        app = props.get("application.name") or props.get("application.process.binary") or f"client {out.get('client')}"
        users.append(MicUser(str(app), pid, f"pulse:{out.get('index')}"))
    return users


class PulseProbe:
    def users(self) -> list[MicUser]:
        return mic_users(pactl_json("list", "source-outputs"), pactl_json("list", "sources"))
