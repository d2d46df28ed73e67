"""Choose the capture mode: a ModalScreen returning the chosen :class:`Mode` (None: cancelled)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from meeting_tui.capture.ffmpeg import platform_format
from meeting_tui.types import Mode

DESCRIPTIONS = {
    Mode.MIC: "your microphone only",
    Mode.LOOPBACK: "what the computer plays only",
    Mode.MEETING: "both, each in its own capture process",
    Mode.MEETING_FFMPEG: "both through one FFmpeg process ({input})",
}


def describe(mode: Mode, platform: str | None = None) -> str:
    """What ``mode`` captures; for FFmpeg, the input device it uses on this OS (dshow, pulse, avfoundation)."""
    return DESCRIPTIONS[mode].format(input=platform_format(platform))


def available_modes(ffmpeg: bool) -> list[Mode]:
    return [m for m in Mode if m is not Mode.MEETING_FFMPEG or ffmpeg]


class ModePicker(ModalScreen[Mode | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker.cancel")]

    DEFAULT_CSS = """
    ModePicker { align: center middle; }
    ModePicker > #modes { width: 80; max-width: 95%; height: auto; border: thick $primary; background: $surface;
        padding: 0 1; }
    ModePicker #modes-title { text-style: bold; padding-bottom: 1; }
    ModePicker OptionList { height: auto; }
    """

    def __init__(self, current: Mode, *, ffmpeg: bool, keys: dict[Mode, str] | None = None,
                 platform: str | None = None) -> None:
        super().__init__()
        self.current = current
        self.modes = available_modes(ffmpeg)
        self.keys = keys or {}
        self.platform = platform  # None: this OS

    def compose(self) -> ComposeResult:
        with Vertical(id="modes"):
            yield Label("Capture mode: ↑↓ choose · Enter switch · Esc cancel", id="modes-title")
            options = []
            for mode in self.modes:
                text = Text("✔ " if mode is self.current else "  ", style="bold green")
                text.append(mode.label, style="bold" if mode is self.current else "")
                text.append(f"  {describe(mode, self.platform)}", style="dim")
                if mode in self.keys:
                    text.append(f"  [{self.keys[mode]}]", style="cyan")
                options.append(Option(text, id=mode.value))
            yield OptionList(*options, id="mode-list")

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        ol.highlighted = self.modes.index(self.current) if self.current in self.modes else 0
        ol.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(Mode(event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)
