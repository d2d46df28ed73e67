"""The minutes of a session as a list: each section of the template, then its items with owner, due date
and the time of the line each cites. Enter on an item closes the view and jumps to that line; Escape closes."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from meeting_tui.minutes.build import Minutes
from meeting_tui.minutes.render import clock
from meeting_tui.minutes.rules import Item

SECTION_ITEMS = {"decisions": ("decision",), "actions": ("action",), "questions": ("question",),
                 "notes": ("note", "mark")}


class MinutesView(ModalScreen[Item | None]):
    DEFAULT_CSS = """
    MinutesView { align: center middle; }
    MinutesView > Vertical { width: 100; max-width: 95%; height: 90%; border: round $accent; background: $surface;
        padding: 0 1; }
    MinutesView #minutes-about { color: $text-muted; margin-bottom: 1; }
    MinutesView OptionList { height: 1fr; }
    """
    BINDINGS = [Binding("escape,q", "close", "Close", id="minutes.close")]

    def __init__(self, minutes: Minutes, about: str) -> None:
        super().__init__()
        self.minutes, self.about = minutes, about
        self.entries: list[Item | None] = []  # per option: the item, or None for a heading

    def compose(self) -> ComposeResult:
        options: list[Option] = []
        sections = self.minutes.template.sections if self.minutes.template else []
        for section in sections:
            kinds = SECTION_ITEMS.get(section.kind)
            if kinds is None:
                continue
            options.append(Option(Text(section.title, style="bold"), disabled=True))
            self.entries.append(None)
            for item in (i for i in self.minutes.items if i.kind in kinds):
                options.append(Option(self._line(item)))
                self.entries.append(item)
        with Vertical():
            yield Label(f"Minutes of {self.minutes.meeting.folder.name} · {self.about} · Enter jumps to the line",
                        id="minutes-about", markup=False)
            yield OptionList(*options, id="minutes-items")

    @staticmethod
    def _line(item: Item) -> Text:
        text = Text()
        text.append(clock(item.at) + "  ", style="dim")
        if item.kind == "action":
            text.append(f"{item.owner or 'unassigned'}: ", style="bold")
        text.append(item.text or ("mark" if item.kind == "mark" else ""))
        if item.due:
            text.append(f"  (due {item.due:%a %Y-%m-%d})", style="italic")
        if item.source == "flag":
            text.append("  (flagged)", style="dim")
        return text

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        first = next((n for n, item in enumerate(self.entries) if item is not None), None)
        if first is not None:
            options.highlighted = first
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        item = self.entries[event.option_index]
        if item is not None:
            self.dismiss(item)

    def action_close(self) -> None:
        self.dismiss(None)
