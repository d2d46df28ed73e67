"""One line of text asked for in a small modal: Enter gives it (spaces folded), Escape gives None."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class TextPrompt(ModalScreen[str | None]):
    DEFAULT_CSS = """
    TextPrompt { align: center middle; }
    TextPrompt > Vertical { width: 70; height: auto; border: round $accent; background: $surface; padding: 1 2; }
    TextPrompt Label { margin-bottom: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, prompt: str, *, input_id: str, max_length: int, value: str = "") -> None:
        super().__init__()
        self.prompt, self.input_id, self.max_length, self.value = prompt, input_id, max_length, value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.prompt, markup=False)
            yield Input(value=self.value, id=self.input_id, max_length=self.max_length)

    def accept(self, text: str) -> str | None:
        """What the prompt returns for the typed ``text`` (spaces folded); None: nothing."""
        return text or None

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(self.accept(" ".join(event.value.split())))

    def action_cancel(self) -> None:
        self.dismiss(None)
