"""One line of facts: mode, session state, model (and its loading progress), RTF, lag, session file."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual.widgets import Static


@dataclass(frozen=True)
class StatusInfo:
    mode: str = ""
    recording: bool = False
    model: str = ""
    model_progress: float | None = None  # 0..1 while loading; None when loaded (or unknown)
    model_state: str = ""  # "loading", "ready", "failed: ...", "off"
    rtf: float | None = None
    lag_s: float | None = None
    queue: int | None = None
    session_file: str = ""
    export_format: str = ""


def _shorten(path: str, width: int) -> str:
    if len(path) <= width:
        return path
    return "…" + path[-(width - 1):]


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; width: 1fr; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self.info = StatusInfo()

    def set_info(self, info: StatusInfo | None = None, **changes) -> None:
        info = replace(info or self.info, **changes)
        if info == self.info and self.renderable_text:
            return
        self.info = info
        self.update(self.render_info(info))

    @property
    def renderable_text(self) -> str:
        return str(self.content) if hasattr(self, "content") else ""

    def render_info(self, info: StatusInfo) -> Text:
        t = Text()
        t.append("● REC" if info.recording else "○ not recording", style="bold red" if info.recording else "dim")
        if info.mode:
            t.append(f"  {info.mode}")
        if info.model:
            t.append(f"  model {info.model}")
            if info.model_state == "loading":
                pct = f" {info.model_progress * 100:.0f}%" if info.model_progress is not None else ""
                t.append(f" loading{pct}", style="italic")
            elif info.model_state and info.model_state != "ready":
                t.append(f" {info.model_state}", style="italic")
        if info.rtf is not None:
            t.append(f"  RTF {info.rtf:.2f}")
        if info.lag_s is not None:
            t.append(f"  lag {info.lag_s:.1f}s")
        if info.queue:
            t.append(f"  queue {info.queue}")
        if info.export_format:
            t.append(f"  save as {info.export_format}")
        if info.session_file:
            t.append("  " + _shorten(info.session_file, 60), style="dim")
        return t
