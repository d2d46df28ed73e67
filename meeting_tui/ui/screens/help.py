"""The help screen: every key (as currently mapped), what the badges and the status line's figures mean."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

BADGES = [
    ("live", "audio arriving with signal"),
    ("idle", "loopback with nothing playing: normal, not dead"),
    ("silent", "data arrives but it is digital silence (muted, privacy-blocked, wrong device)"),
    ("stalled", "no audio arriving at all"),
    ("crashed, restarting", "the capture process ended; it is restarted on the current device"),
    ("wrong source", "the two sources carry the same signal"),
]


STATUS_LINE = [
    ("RTF", "real-time factor: seconds spent transcribing per second of speech; under 1 keeps up"),
    ("lag", "how long the oldest speech not yet transcribed has waited; lines appear about this late"),
    ("queue", "utterances waiting for the transcriber (shown when there are any)"),
    ("load", "the transcriber stepped down to keep up (partials less often, then none, then a smaller "
             "beam or model); in brackets, the lag or busy figure that made it step; it steps back up when "
             "there is room"),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,question_mark,q", "dismiss_help", "Close", id="help.close")]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > #help { width: 84; max-width: 95%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1; }
    """

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        """``keys``: (key display, description) for every action."""
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, desc in self.keys:  # Text: keys from the user's keymap are not markup
            table.add_row(Text(key), Text(desc))
        badges = Table.grid(padding=(0, 2))
        badges.add_column(style="bold", no_wrap=True)
        badges.add_column()
        for name, meaning in BADGES:
            badges.add_row(name, meaning)
        status = Table.grid(padding=(0, 2))
        status.add_column(style="bold", no_wrap=True)
        status.add_column()
        for name, meaning in STATUS_LINE:
            status.add_row(name, meaning)
        with VerticalScroll(id="help"):  # how to leave first: on a short terminal the end is below the fold
            yield Static(Text("meeting-tui keys", style="bold") + Text("   Esc closes this screen", style="dim"))
            yield Static(table)
            yield Static(Text("\nSource badges", style="bold"))
            yield Static(badges)
            yield Static(Text("\nStatus line", style="bold"))
            yield Static(status)
            yield Static(Text("\nKeys can be remapped in settings.toml under [ui.keymap], "
                              "e.g. \"session.toggle\" = \"f5\".", style="dim"))

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
