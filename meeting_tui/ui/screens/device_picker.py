"""Pick the microphone and the loopback source: a ModalScreen returning a :class:`DevicePick`.

Each list shows name and host API, marks the current and the system-default device, and labels known
virtual devices (VoiceMeeter, VB-Cable, Stereo Mix...). The highlighted entry of each list is the choice:
Tab moves between the lists, Enter applies both, R lists the devices again, Escape cancels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from meeting_tui.capture import devices as capture_devices
from meeting_tui.types import DeviceInfo, DeviceRef, Source

def virtual_label(device: DeviceInfo) -> str | None:
    return device.virtual or capture_devices.virtual_label(device.ref.name)


@dataclass(frozen=True)
class DevicePick:
    mic: DeviceRef | None
    loopback: DeviceRef | None


DEFAULT_ID = "__default__"


def device_prompt(device: DeviceInfo, current: DeviceRef | None) -> Text:
    text = Text()
    is_current = current is not None and device.ref == current
    text.append("✔ " if is_current else "  ", style="bold green")
    text.append(device.ref.name, style="bold" if is_current else "")
    text.append(f"  {device.ref.hostapi}", style="dim")
    if device.is_default:
        text.append("  [default]", style="cyan")
    label = virtual_label(device)
    if label:
        text.append(f"  [virtual: {label}]", style="magenta")
    if capture_devices.is_hands_free(device.ref.name):
        text.append("  [hands-free: opening it lowers audio quality]", style="yellow")
    if is_current:
        text.append("  (current)", style="green")
    return text


class DeviceList(OptionList):
    """An OptionList of devices of one kind; the option id is ``name\\x1fhostapi``."""

    def __init__(self, kind: Source, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kind = kind
        self.devices: list[DeviceInfo] = []

    def fill(self, devices: list[DeviceInfo], current: DeviceRef | None) -> None:
        self.devices = [d for d in devices if d.kind == self.kind]
        self.clear_options()
        default_text = Text("  System default", style="italic")
        if current is None:
            default_text = Text("✔ System default", style="bold italic") + Text("  (current)", style="green")
        options = [Option(default_text, id=DEFAULT_ID)]
        options += [Option(device_prompt(d, current), id=f"{d.ref.name}\x1f{d.ref.hostapi}") for d in self.devices]
        self.add_options(options)
        index = 0
        for i, d in enumerate(self.devices, start=1):
            if current is not None and d.ref == current:
                index = i
        self.highlighted = index

    @property
    def choice(self) -> DeviceRef | None:
        if self.highlighted is None or self.highlighted == 0:
            return None
        return self.devices[self.highlighted - 1].ref

    def select_ref(self, ref: DeviceRef | None) -> bool:
        """Highlight ``ref`` (None: system default); False when it is not listed."""
        if ref is None:
            self.highlighted = 0
            return True
        for i, d in enumerate(self.devices, start=1):
            if d.ref == ref:
                self.highlighted = i
                return True
        return False


class DevicePicker(ModalScreen[DevicePick | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("enter", "apply", "Use these", id="picker.apply", priority=True),
        Binding("r,f5", "refresh", "Refresh", id="picker.refresh"),
        Binding("tab", "app.focus_next", "Next list", show=False),
    ]

    DEFAULT_CSS = """
    DevicePicker { align: center middle; }
    DevicePicker > #picker { width: 90%; max-width: 120; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1; }
    DevicePicker #picker-title { text-style: bold; width: 1fr; padding: 0 0 1 0; }
    DevicePicker .list-title { text-style: bold; color: $text-muted; }
    DevicePicker OptionList { height: auto; max-height: 12; margin-bottom: 1; }
    DevicePicker #picker-status { color: $text-muted; height: auto; }
    DevicePicker #picker-status.-error { color: $error; }
    """

    def __init__(self, lister: Callable[[], list[DeviceInfo]], current: DevicePick,
                 devices: list[DeviceInfo] | None = None) -> None:
        super().__init__()
        self.lister = lister
        self.current = current
        self._initial = devices

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Label("Devices: ↑↓ choose · Tab other list · Enter use · R refresh · Esc cancel", id="picker-title")
            yield Label("Microphone (You)", classes="list-title")
            yield DeviceList(Source.MIC, id="mic-list")
            yield Label("System audio / loopback (Them)", classes="list-title")
            yield DeviceList(Source.LOOPBACK, id="loopback-list")
            yield Static("", id="picker-status", markup=False)  # may quote an error text

    def on_mount(self) -> None:
        if self._initial is not None:
            self._show(self._initial)
        else:
            self._show([])
            self.action_refresh()
        self.query_one("#mic-list", DeviceList).focus()

    def _show(self, devices: list[DeviceInfo], error: str | None = None) -> None:
        mic = self.query_one("#mic-list", DeviceList)
        loop = self.query_one("#loopback-list", DeviceList)
        keep_mic = mic.choice if mic.devices else self.current.mic
        keep_loop = loop.choice if loop.devices else self.current.loopback
        mic.fill(devices, self.current.mic)
        loop.fill(devices, self.current.loopback)
        mic.select_ref(keep_mic)
        loop.select_ref(keep_loop)
        status = self.query_one("#picker-status", Static)
        status.set_class(bool(error), "-error")
        if error:
            status.update(f"Cannot list devices: {error}")
        else:
            n_mic, n_loop = len(mic.devices), len(loop.devices)
            status.update(f"{n_mic} microphone{'s' if n_mic != 1 else ''}, {n_loop} loopback source{'s' if n_loop != 1 else ''}."
                          + ("" if n_mic or n_loop else " No devices: is the sound server running? Press R to retry."))

    @work(thread=True, exclusive=True, group="device-list")
    def action_refresh(self) -> None:
        self.app.call_from_thread(self.query_one("#picker-status", Static).update, "Listing devices…")
        try:
            devices = self.lister()
        except Exception as exc:
            self.app.call_from_thread(self._show, [], str(exc))
            return
        self.app.call_from_thread(self._show, devices)

    def action_apply(self) -> None:
        mic = self.query_one("#mic-list", DeviceList).choice
        loop = self.query_one("#loopback-list", DeviceList).choice
        self.dismiss(DevicePick(mic, loop))

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()  # Enter is the apply binding; a click only highlights
