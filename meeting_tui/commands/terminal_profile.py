"""`meeting-tui terminal-profile`: a Windows Terminal profile that opens meeting-tui in its own tab.

Written as a JSON fragment extension (Microsoft's "JSON fragment extensions in Windows Terminal"): a file in
``%LOCALAPPDATA%\\Microsoft\\Windows Terminal\\Fragments\\{app-name}\\`` holding ``{"profiles": [...]}``; a new
profile needs at least a name. Windows Terminal reads fragments at start and never writes them, so
``--remove`` deletes ours and the profile is gone at its next start.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

APP_NAME = "meeting-tui"
FRAGMENT_FILE = "meeting-tui.json"


def fragments_dir(environ: dict[str, str] | None = None) -> Path:
    """The current user's fragment folder for this app (the installer creates the parents if missing)."""
    environ = dict(os.environ) if environ is None else environ
    local = environ.get("LOCALAPPDATA")
    if not local:
        raise OSError("LOCALAPPDATA is not set: Windows Terminal fragments live under it")
    return Path(local) / "Microsoft" / "Windows Terminal" / "Fragments" / APP_NAME


def launch_command() -> str:
    """The command line the profile runs: the installed console script, else this interpreter -m meeting_tui."""
    scripts = Path(sys.executable).parent
    for candidate in (scripts / "meeting-tui.exe", scripts / "Scripts" / "meeting-tui.exe"):
        if candidate.is_file():
            return subprocess.list2cmdline([str(candidate)])
    found = shutil.which("meeting-tui")
    if found:
        return subprocess.list2cmdline([found])
    return subprocess.list2cmdline([sys.executable, "-m", "meeting_tui"])


def fragment(commandline: str) -> dict:
    return {"profiles": [{"name": APP_NAME, "commandline": commandline, "tabTitle": APP_NAME,
                          "startingDirectory": "%USERPROFILE%"}]}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("terminal-profile", help="add (or --remove) a Windows Terminal profile that opens meeting-tui",
                       description="Write a Windows Terminal profile (a JSON fragment in your Fragments folder) that "
                                   "opens meeting-tui in its own tab; Windows Terminal shows it after its next start.")
    p.add_argument("--remove", action="store_true", help="remove the profile again")
    p.add_argument("--print", dest="print_only", action="store_true", help="print the fragment instead of writing it")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from meeting_tui import paths
    from meeting_tui.commands.output import err

    body = json.dumps(fragment(launch_command()), indent=2)
    if args.print_only:
        print(body)
        return 0
    if sys.platform != "win32":
        err("error: Windows Terminal profiles are for Windows; `meeting-tui terminal-profile --print` shows the fragment")
        return 2
    if paths.store_python():  # its writes under %LOCALAPPDATA% land in its own LocalCache, where Terminal never looks
        err("error: Microsoft Store Python keeps what it writes under %LOCALAPPDATA% to itself, so Windows Terminal "
            "would not see the profile; install Python from python.org, or add the profile by hand from `--print`")
        return 2
    try:
        folder = fragments_dir()
        target = folder / FRAGMENT_FILE
        if args.remove:
            if not target.exists():
                print(f"No meeting-tui profile to remove ({target} does not exist)")
                return 0
            target.unlink()
            if not any(folder.iterdir()):
                folder.rmdir()
            print(f"Removed {target}; the profile is gone when Windows Terminal starts again")
            return 0
        folder.mkdir(parents=True, exist_ok=True)
        paths.atomic_write(target, body + "\n")
    except OSError as exc:
        err(f"error: cannot write the Windows Terminal profile: {exc}. Check that your user folder is writable, "
            "or use --print and add the profile in Windows Terminal's settings yourself")
        return 1
    print(f"Wrote {target}: restart Windows Terminal, then pick \"meeting-tui\" from its new-tab menu")
    return 0
