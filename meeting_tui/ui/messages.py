"""Messages the dashboard posts to itself (from workers and threads: post_message is thread-safe)."""

from __future__ import annotations

from textual.message import Message

from meeting_tui.types import DeviceInfo


class DevicesListed(Message):
    """A background device listing finished (``error`` set when it failed)."""

    def __init__(self, devices: list[DeviceInfo], error: str | None = None) -> None:
        super().__init__()
        self.devices = devices
        self.error = error


class CaptureStarted(Message):
    def __init__(self, error: str | None = None) -> None:
        super().__init__()
        self.error = error
