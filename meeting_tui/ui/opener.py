"""Open a folder in the system's file manager (the dashboard's `o`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


class NoOpener(OSError):
    """Nothing here opens folders; the message says what to install and where the folder is."""


def open_folder(path: Path) -> None:
    if sys.platform == "win32":
        os.startfile(str(path))  # type: ignore[attr-defined]
        return
    cmd = "open" if sys.platform == "darwin" else "xdg-open"
    found = shutil.which(cmd)
    if found is None:
        raise NoOpener(f"`{cmd}` is not installed, so no file manager can be opened (on Debian/Ubuntu: "
                       f"sudo apt-get install xdg-utils). The folder is {path}")
    subprocess.Popen([found, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
