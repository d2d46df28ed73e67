"""A past session, read-only, in the transcript view; opened at a line when a search hit asks for one."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from meeting_tui.memory.catalog import transcript_of
from meeting_tui.types import Gap, Source
from meeting_tui.ui.widgets.transcript import TranscriptView


class SessionView(Screen[None]):
    DEFAULT_CSS = """
    SessionView #past-title { height: 1; padding: 0 1; background: $panel; color: $text; }
    """
    BINDINGS = [Binding("escape,q", "close", "Back", id="past.close")]

    def __init__(self, folder: Path, labels: dict[Source, str], *, at: float | None = None,
                 text: str | None = None) -> None:
        super().__init__()
        self.folder, self.labels, self.at, self.text = Path(folder), labels, at, text
        self.target_index: int | None = None  # the item opened at

    def compose(self) -> ComposeResult:
        yield Static(f"{self.folder.name} · read-only", id="past-title", markup=False)
        yield TranscriptView(self.labels, id="past-transcript")
        yield Footer()

    @property
    def transcript(self) -> TranscriptView:
        return self.query_one("#past-transcript", TranscriptView)

    def on_mount(self) -> None:
        try:
            items, note = transcript_of(self.folder)
        except OSError as exc:  # deleted since it was listed
            self.app.notify(f"Cannot open {self.folder.name}: {exc}", severity="error")
            self.dismiss(None)
            return
        self.query_one("#past-title", Static).update(f"{self.folder.name} · read-only"
                                                     + (f" · {note}" if note else ""))
        view = self.transcript
        view.add_batch(items)
        if self.at is not None:
            shown = view.items
            self.target_index = min(
                range(len(shown)),
                key=lambda i: (abs(_start(shown[i]) - self.at), getattr(shown[i], "text", "") != self.text),
                default=None)
        view.focus()
        self.call_after_refresh(self.scroll_to_target)

    def on_resize(self) -> None:
        self.call_after_refresh(self.scroll_to_target)

    def scroll_to_target(self) -> None:
        view = self.transcript
        if self.target_index is None:
            view.scroll_home(animate=False)
            return
        view.scroll_to(y=view._entry_line_start(self.target_index), animate=False, immediate=True, force=True)

    def visible_text(self) -> str:
        """The lines on screen now (tests; screen readers)."""
        view = self.transcript
        y0 = int(view.scroll_y)
        return "\n".join(view.render_line(y).text for y in range(view.size.height) if y0 + y >= 0)

    def action_close(self) -> None:
        self.dismiss(None)


def _start(item) -> float:
    return item.start_s if isinstance(item, Gap) else item.start
