"""What the terminal can show and which keys reach us, where that depends on the console (Windows above all).

- The legacy console host (conhost) with its default Consolas font draws the meter's eighth blocks as boxes;
  Windows Terminal sets ``WT_SESSION`` in its tabs and draws them. Without it, on Windows, the meter uses
  the full and half blocks every console font has.
- Windows Terminal keeps some keys for itself (its default actions); a remap to one of them never fires.
- On Windows, Textual reads ``ctrl+shift+<letter>`` as ``ctrl+<letter>`` (Textual #872): such a remap never
  fires there either.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping

#: Keys Windows Terminal keeps for itself by default (its settings' actions; docs: WINDOWS.md). No default
#: binding may use them; a remap to one is warned about.
WINDOWS_TERMINAL_RESERVED = frozenset(
    [f"ctrl+shift+{k}" for k in "cvamfptnwd123456789"]
    + [f"ctrl+alt+{d}" for d in "123456789"]
    + ["ctrl+shift+space", "ctrl+shift+comma", "ctrl+shift+full_stop", "ctrl+shift+up", "ctrl+shift+down",
       "ctrl+shift+left", "ctrl+shift+right", "ctrl+shift+pageup", "ctrl+shift+pagedown", "ctrl+shift+home",
       "ctrl+shift+end", "ctrl+tab", "ctrl+shift+tab", "alt+up", "alt+down", "alt+left", "alt+right",
       "alt+shift+up", "alt+shift+down", "alt+shift+left", "alt+shift+right", "alt+shift+minus",
       "alt+shift+plus", "alt+shift+d", "alt+enter", "alt+f4", "f11", "alt+space", "ctrl+plus", "ctrl+minus",
       "ctrl+0", "ctrl+comma", "shift+insert", "ctrl+insert",
       "ctrl+c", "ctrl+v"]  # copy and paste while text is selected
)

_CTRL_SHIFT_LETTER = re.compile(r"^ctrl\+shift\+[a-z]$")


def keymap_keys(keymap: Mapping[str, str]) -> list[str]:
    return [k.strip() for keys in keymap.values() for k in keys.split(",") if k.strip()]


def keymap_warnings(keymap: Mapping[str, str]) -> list[str]:
    """What a user's [ui.keymap] asks for that will not reach the app on Windows, one sentence per cause."""
    keys = keymap_keys(keymap)
    out = []
    reserved = sorted(set(keys) & WINDOWS_TERMINAL_RESERVED)
    if reserved:
        out.append(f"Windows Terminal keeps {', '.join(reserved)} for itself: those keys from [ui.keymap] "
                   "may never reach meeting-tui there.")
    shifted = sorted({k for k in keys if _CTRL_SHIFT_LETTER.match(k)} - WINDOWS_TERMINAL_RESERVED)
    if shifted:
        plain = ", ".join(k.replace("shift+", "") for k in shifted)
        out.append(f"On Windows {', '.join(shifted)} arrive as {plain}: pick another key in [ui.keymap] "
                   "for those actions if you use Windows.")
    return out


def fine_blocks(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether the console draws the eighth blocks (▏▎▍▌▋▊▉)."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if environ.get("MEETING_TUI_BLOCKS") in ("fine", "coarse"):  # the user's word wins
        return environ["MEETING_TUI_BLOCKS"] == "fine"
    return platform != "win32" or bool(environ.get("WT_SESSION"))


def reserved_in(keys: Iterable[str]) -> list[str]:
    return sorted(set(k.strip() for k in keys) & WINDOWS_TERMINAL_RESERVED)
