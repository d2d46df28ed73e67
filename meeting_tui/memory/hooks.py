"""The end-of-session hook: a program the user names in ``[hooks] on_session_end``, run as an argv list
(no shell), with a timeout. Its output and exit status go to ``hook.log`` in the session folder; the
caller gets one line to show. Nothing it does can change the session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HOOK_LOG = "hook.log"


@dataclass
class HookOutcome:
    ok: bool
    message: str  # what to tell the user, once
    returncode: int | None = None


def expand(argv: Sequence[str], session_folder: Path, markdown: Path | None) -> list[str]:
    """The argv with {session}, {markdown} and {id} replaced (other braces are left as they are)."""
    values = {"{session}": str(session_folder), "{markdown}": str(markdown) if markdown else "",
              "{id}": session_folder.name}
    out = []
    for arg in argv:
        for key, value in values.items():
            arg = arg.replace(key, value)
        out.append(arg)
    return out


def run_hook(argv: Sequence[str], session_folder: Path, markdown: Path | None, *, timeout_s: float,
             name: str = "on_session_end") -> HookOutcome:
    """Run the hook and wait for it (at most ``timeout_s``; then it and its children are killed)."""
    args = expand(argv, session_folder, markdown)
    fix = f"fix [hooks] {name} in the settings file"
    log_path = session_folder / HOOK_LOG
    with open(log_path, "ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {name}: {args!r}\n".encode())
        log.flush()
        t0 = time.monotonic()
        try:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    cwd=session_folder, **_own_group())
        except OSError as exc:
            what = "not found" if isinstance(exc, FileNotFoundError) else f"cannot be started ({exc.strerror or exc})"
            log.write(f"--- not started: {exc}\n".encode())
            return HookOutcome(False, f"the {name} hook {args[0]!r} {what}; {fix}. Its log: {log_path}")
        try:
            rc = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill(proc)
            log.write(f"--- killed after {timeout_s:g} s (timeout)\n".encode())
            return HookOutcome(False, f"the {name} hook ran longer than {timeout_s:g} s and was stopped; make it "
                                      f"quicker or raise [hooks] timeout_s. Its output: {log_path}")
        log.write(f"--- exit code {rc} after {time.monotonic() - t0:.1f} s\n".encode())
    if rc != 0:
        return HookOutcome(False, f"the {name} hook exited with code {rc}; its output is in {log_path}", rc)
    return HookOutcome(True, f"ran the {name} hook ({Path(args[0]).name}: exit code 0)", rc)


def _own_group() -> dict:
    # In a group of its own, so a timeout stops whatever it started as well.
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def _kill(proc: subprocess.Popen) -> None:
    try:
        if sys.platform == "win32":
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, check=False)
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        proc.kill()
    except OSError:
        pass
    proc.wait()
