"""Type a note during the meeting (Enter journals it at the moment the key was pressed, Escape cancels)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class NoteInput(ModalScreen[str | None]):
    DEFAULT_CSS = """
    NoteInput { align: center middle; }
    NoteInput > Vertical { width: 70; height: auto; border: round $accent; background: $surface; padding: 1 2; }
    NoteInput Label { margin-bottom: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, at: str) -> None:
        super().__init__()
        self.at = at

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Note at {self.at} (Enter saves it in the session, Escape cancels):", markup=False)
            yield Input(id="note-text", max_length=500)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = " ".join(event.value.split())
        self.dismiss(text or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
