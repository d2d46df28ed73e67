"""Name a far-side voice: "Them 2" -> "Sales lead" (Enter saves, Escape cancels)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class RenameSpeaker(ModalScreen[str | None]):
    DEFAULT_CSS = """
    RenameSpeaker { align: center middle; }
    RenameSpeaker > Vertical { width: 60; height: auto; border: round $accent; background: $surface; padding: 1 2; }
    RenameSpeaker Label { margin-bottom: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, speaker: str) -> None:
        super().__init__()
        self.speaker = speaker

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"New name for {self.speaker} (every line and export follows):", markup=False)
            yield Input(value=self.speaker, id="speaker-name", max_length=40)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        name = " ".join(event.value.split())
        self.dismiss(name if name and name != self.speaker else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
