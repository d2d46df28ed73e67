"""Type a note during the meeting (Enter journals it at the moment the key was pressed, Escape cancels)."""

from __future__ import annotations

from meeting_tui.ui.screens.text_prompt import TextPrompt


class NoteInput(TextPrompt):
    def __init__(self, at: str) -> None:
        super().__init__(f"Note at {at} (Enter saves it in the session, Escape cancels):", input_id="note-text",
                         max_length=500)
        self.at = at
