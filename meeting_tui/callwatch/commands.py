"""`meeting-tui watch`: a `record` for each call. Says each start and stop; a second watcher is refused."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
# `record` options passed through unchanged (value-taking ones)
PASSTHROUGH = ("--mode", "--mic", "--mic-hostapi", "--loopback", "--loopback-hostapi", "--model", "--to")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "watch",
        help="record each call: start when another app opens the microphone, stop when it lets go",
        description="Wait for a call: when another application (Zoom, Teams, a browser) starts using the "
                    "microphone, record a session as `meeting-tui record` does; stop when it releases the "
                    "microphone or after --silence minutes without speech. Each start and stop is printed. "
                    "Ctrl+C stops the recording (transcribing what was captured) and the watch.",
    )
    p.add_argument("--silence", type=float, default=10.0, metavar="MIN",
                   help="stop after this many minutes without a transcribed line (default 10)")
    p.add_argument("--poll", type=float, default=1.0, metavar="S", help="look at the microphone every S seconds (default 1)")
    for flag in PASSTHROUGH:
        p.add_argument(flag, metavar="VALUE", help=f"passed to `record` ({flag})")
    p.set_defaults(func=cmd_watch)


def say(text: str) -> None:
    print(f"[watch] {time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


class Recording:
    """One `record` child: its transcribed lines mark speech; stopped like Ctrl+C (it drains, closes)."""

    def __init__(self, argv: list[str]) -> None:
        flags = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if sys.platform == "win32" else {}
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                                     encoding="utf-8", errors="replace", **flags)
        self.last_speech: float | None = None
        self.session: str | None = None
        self.segments = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("type") == "segment":
                self.last_speech = time.monotonic()
                self.segments += 1
            elif rec.get("type") == "summary":
                self.session = rec.get("session")

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 600.0) -> int:
        if self.running():
            self.proc.send_signal(signal.CTRL_BREAK_EVENT if sys.platform == "win32" else signal.SIGINT)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._reader.join(5)
        return rc


def record_argv(args: argparse.Namespace) -> list[str]:
    argv = [sys.executable, "-m", "meeting_tui"]
    if getattr(args, "config", None):
        argv += ["--config", args.config]
    argv += ["record", "--json", "--no-partials", "--quiet"]
    for flag in PASSTHROUGH:
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:
            argv += [flag, value]
    return argv


def cmd_watch(args: argparse.Namespace) -> int:
    from meeting_tui import paths
    from meeting_tui.callwatch.platform_probe import default_probe
    from meeting_tui.callwatch.probe import ProbeError
    from meeting_tui.callwatch.watcher import CallWatcher, Start, Stop
    from meeting_tui.session.lock import SessionLock

    if args.silence <= 0 or args.poll <= 0:
        print("meeting-tui: --silence and --poll must be more than 0", file=sys.stderr)
        return EXIT_USAGE
    probe = default_probe()
    try:
        probe.users()  # the records can be read at all: say so now, not at the first call
    except ProbeError as exc:
        print(f"meeting-tui: cannot watch the microphone: {exc}", file=sys.stderr)
        return EXIT_FAIL
    lock_dir = paths.data_dir() / "watch"
    try:
        paths.private_dir(lock_dir)
    except OSError as exc:
        print(f"meeting-tui: cannot create {lock_dir}: {exc}. Set {paths.DATA_ENV} to a writable folder", file=sys.stderr)
        return EXIT_FAIL
    lock = SessionLock(lock_dir)
    if not lock.acquire():
        other = _read_pid(lock.path)
        print(f"meeting-tui: another `meeting-tui watch` is already running{f' (process {other})' if other else ''}; "
              "one watcher records each call: stop that one first (Ctrl+C in its terminal)", file=sys.stderr)
        return EXIT_USAGE
    watcher = CallWatcher(args.silence * 60)
    recording: Recording | None = None
    status = EXIT_OK
    say("waiting for a call: recording starts when another application opens the microphone (Ctrl+C quits)")
    try:
        while True:
            try:
                users = probe.users()
            except ProbeError as exc:
                say(f"cannot read the microphone's users: {exc}")
                users = []
            if recording is not None and not recording.running():
                rc = recording.stop()
                say(f"■ recording ended by itself (exit code {rc}); waiting for the next call")
                watcher.ended()
                recording = None
                status = EXIT_FAIL if rc else status
            action = watcher.step(users, time.monotonic(), recording.last_speech if recording else None)
            if isinstance(action, Start):
                recording = Recording(record_argv(args))
                say(f"● REC call detected ({action.describe()}): recording. Ctrl+C stops")
            elif isinstance(action, Stop) and recording is not None:
                say(f"■ stopping ({action.reason}): transcribing what was captured ...")
                rc = recording.stop()
                where = f"; saved in {recording.session}" if recording.session else ""
                say(f"■ stopped: {recording.segments} lines{where}; waiting for the next call")
                recording = None
                status = EXIT_FAIL if rc else status
            time.sleep(args.poll)
    except KeyboardInterrupt:
        if recording is not None:
            say("■ stopping (Ctrl+C): transcribing what was captured ...")
            rc = recording.stop()
            where = f"; saved in {recording.session}" if recording.session else ""
            say(f"■ stopped: {recording.segments} lines{where}")
            status = EXIT_FAIL if rc else status
        say("watch ended")
    finally:
        lock.release(remove=True)
    return status


def _read_pid(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""
