"""The ``[export]`` (the Markdown vault) and ``[hooks]`` sections of the settings file.

Kept apart from ``settings.py`` so that file stays small; ``Settings`` holds one of each."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ExportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    folder: Path | None = None  # a Markdown note per session goes here (an Obsidian vault's folder); None: none
    tags: list[str] = Field(default_factory=lambda: ["meeting"])  # the notes' front matter tags


class HookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # argv run (no shell) when a session ends: {session} the session folder, {markdown} its note ("" when none),
    # {id} the session id. Empty: no hook.
    on_session_end: list[str] = Field(default_factory=list)
    timeout_s: float = Field(60.0, gt=0.0, le=3600.0)
