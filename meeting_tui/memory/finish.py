"""What happens once a session is closed: its note in the vault, then the user's hook. Each failure is
one message for the caller to show; the session itself is never touched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meeting_tui.memory.hooks import run_hook
from meeting_tui.memory.vault import VaultError, write_note


@dataclass
class Notice:
    title: str  # "Vault", "Hook"
    text: str
    severity: str = "information"  # information, warning, error


def session_finished(folder: str | Path, settings: Any, *, to: str | Path | None = None) -> list[Notice]:
    """Write the note (to ``to``, else ``[export] folder``, if either is set) and run ``[hooks]
    on_session_end`` (if set). Returns what to tell the user."""
    folder = Path(folder)
    notices: list[Notice] = []
    vault = to or settings.export.folder
    markdown = None
    if vault:
        try:
            markdown = write_note(folder, vault, labels=settings.ui.labels.as_dict(), tags=settings.export.tags)
            notices.append(Notice("Vault", f"note written to {markdown}"))
        except VaultError as exc:
            notices.append(Notice("Vault", str(exc), "error"))
    if settings.hooks.on_session_end:
        outcome = run_hook(settings.hooks.on_session_end, folder, markdown, timeout_s=settings.hooks.timeout_s)
        notices.append(Notice("Hook", outcome.message, "information" if outcome.ok else "error"))
    return notices


def vault_check(settings: Any, to: str | Path | None = None) -> str | None:
    """Before a session starts: why its note could not be written, with the fix; None when fine or unset."""
    from meeting_tui.memory.vault import vault_problem

    vault = to or settings.export.folder
    if not vault:
        return None
    problem = vault_problem(vault)
    if problem is None:
        return None
    where = "--to" if to else "[export] folder in the settings file"
    return f"{problem}; set {where} to a writable folder"
