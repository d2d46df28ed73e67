"""This platform's reader of who uses the microphone (kept apart from probe.py, which the readers import)."""

from __future__ import annotations

import sys

from meeting_tui.callwatch.probe import MicProbe


def default_probe() -> MicProbe:
    if sys.platform == "win32":
        from meeting_tui.callwatch.windows import ConsentStoreProbe

        return ConsentStoreProbe()
    from meeting_tui.callwatch.pulse import PulseProbe

    return PulseProbe()
