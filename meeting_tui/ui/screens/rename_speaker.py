"""Name a far-side voice: "Them 2" -> "Sales lead" (Enter saves, Escape cancels)."""

from __future__ import annotations

from meeting_tui.ui.screens.text_prompt import TextPrompt


class RenameSpeaker(TextPrompt):
    DEFAULT_CSS = "RenameSpeaker > Vertical { width: 60; }"

    def __init__(self, speaker: str) -> None:
        super().__init__(f"New name for {speaker} (every line and export follows):", input_id="speaker-name",
                         max_length=40, value=speaker)
        self.speaker = speaker

    def accept(self, text: str) -> str | None:
        return text if text and text != self.speaker else None  # the same name is no rename
