"""`/`: search every past meeting; Enter on a hit opens its session at that line."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from meeting_tui.memory.index import IndexBusy, IndexUnavailable, SearchIndex
from meeting_tui.memory.query import MARK_END, MARK_START, Hit, QueryError, search
from meeting_tui.types import Source
from meeting_tui.ui.screens.session_view import SessionView
from meeting_tui.ui.widgets.transcript import clock


def run_search(root: Path, query: str, labels: dict[Source, str]) -> tuple[list[Hit], str | None]:
    """Refresh the index and search it (in a worker thread: the index's connection stays in it)."""
    with SearchIndex(root) as index:
        report = index.refresh()
        note = f"the search index was {report.rebuilt}; rebuilt it" if report.rebuilt else None
        return search(index, query, labels=labels, limit=100), note


def hit_text(hit: Hit) -> Text:
    when = hit.kind if hit.start is None else f"{clock(hit.start)}  {hit.speaker}:"
    out = Text(f"{hit.session}  {when} ", style="dim")
    snippet = " ".join(hit.snippet.split())
    for i, part in enumerate(snippet.replace(MARK_END, MARK_START).split(MARK_START)):
        out.append(part, style="bold reverse" if i % 2 else "")
    return out


class SearchScreen(Screen[None]):
    DEFAULT_CSS = """
    SearchScreen #search-status { height: auto; padding: 0 1; color: $text-muted; }
    SearchScreen #search-hits { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "close", "Back", id="search.close")]

    def __init__(self, root: Path, labels: dict[Source, str]) -> None:
        super().__init__()
        self.root, self.labels = Path(root), labels
        self.hits: list[Hit] = []
        self.status = ""

    def compose(self) -> ComposeResult:
        yield Input(placeholder='search every meeting: words, "a phrase", OR, NOT, prefix*', id="search-query")
        yield Static("Type words and press Enter.", id="search-status", markup=False)
        yield OptionList(id="search-hits")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#search-query", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self._set_status("Searching ...")
            self.find(event.value)

    @work(thread=True, exclusive=True)
    def find(self, query: str) -> None:
        try:
            hits, note = run_search(self.root, query, self.labels)
        except (QueryError, IndexBusy, IndexUnavailable) as exc:
            self.app.call_from_thread(self._show, [], str(exc))
            return
        status = f"{len(hits)} hit{'s' if len(hits) != 1 else ''} for {query!r}" if hits else f"No match for {query!r}."
        self.app.call_from_thread(self._show, hits, status + (f" ({note})" if note else ""))

    def _show(self, hits: list[Hit], status: str) -> None:
        self.hits = hits
        listing = self.query_one("#search-hits", OptionList)
        listing.clear_options()
        listing.add_options([Option(hit_text(h)) for h in hits])
        self._set_status(status)
        if hits:
            listing.highlighted = 0
            listing.focus()

    def _set_status(self, text: str) -> None:
        self.status = text
        self.query_one("#search-status", Static).update(text)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        hit = self.hits[event.option_index]
        if not hit.path.is_dir():
            self.app.notify(f"{hit.session} was deleted", severity="warning")
            return
        self.app.push_screen(SessionView(hit.path, self.labels, at=hit.start if hit.start is not None else 0.0,
                                         text=hit.text))

    def action_close(self) -> None:
        self.dismiss(None)
