"""One line of facts: mode, session state, model (and its loading progress), RTF, lag, session file.

The line fits its width: when it is too narrow (80 columns) the least useful facts shorten, then go, in
the order the parts' priorities give; recording state, lag and the save format stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rich.text import Text
from textual.widget import Widget


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
    load: str | None = None  # the load governor's step when it has stepped down
    session_file: str = ""
    export_format: str = ""


@dataclass(frozen=True)
class _Part:
    priority: int  # the lowest goes first when the line is too long
    variants: tuple[Text, ...]  # longest first; after the last one, the part is left out
    keep: bool = False  # never left out (its last variant stays)


ESSENTIAL = 100
_SEP = "  "


def _shorten(path: str, width: int) -> str:
    if len(path) <= width:
        return path
    return "…" + path[-(width - 1):]


def _short_mode(mode: str) -> str:
    """ "Meeting (two subprocesses) (demo)" -> "Meeting (demo)": the explanation goes, the demo and read-only
    marks stay."""
    return re.sub(r" \((?!demo\)|read-only\))[^)]*\)", "", mode)


def _parts(info: StatusInfo) -> list[_Part]:
    parts = []
    if info.recording:
        parts.append(_Part(ESSENTIAL, (Text("● REC", style="bold red"),), keep=True))
    else:
        idle = (Text("○ not recording", style="dim"), Text("○ idle", style="dim"))
        parts.append(_Part(ESSENTIAL, idle, keep=True))
    if info.mode:
        short = _short_mode(info.mode)
        parts.append(_Part(60, (Text(info.mode),) + ((Text(short),) if short != info.mode else ())))
    if info.model:
        state = info.model_state
        if state == "loading":
            pct = f" {info.model_progress * 100:.0f}%" if info.model_progress is not None else ""
            state = f"loading{pct}"
        if state and state != "ready":  # loading, failed, finishing: worth keeping
            full = Text(f"model {info.model}") + Text(f" {state}", style="italic")
            parts.append(_Part(80, (full, Text(state, style="italic"))))
        else:
            parts.append(_Part(30, (Text(f"model {info.model}"),)))
    if info.rtf is not None:
        parts.append(_Part(40, (Text(f"RTF {info.rtf:.2f}"),)))
    if info.lag_s is not None:
        parts.append(_Part(90, (Text(f"lag {info.lag_s:.1f}s"),)))
    if info.load:
        step = info.load.split(" (")[0]
        parts.append(_Part(88, (Text(f"load: {info.load}", style="bold yellow"), Text(step, style="bold yellow"))))
    if info.queue:
        parts.append(_Part(50, (Text(f"queue {info.queue}"),)))
    if info.export_format:
        parts.append(_Part(85, (Text(f"save as {info.export_format}"), Text(f"save {info.export_format}"))))
    if info.session_file:
        parts.append(_Part(10, (Text(_shorten(info.session_file, 60), style="dim"),
                                Text(_shorten(info.session_file, 30), style="dim"))))
    return parts


def fit(info: StatusInfo, width: int | None) -> Text:
    """The status line for ``info`` in ``width`` cells (None: everything, at full length)."""
    parts = _parts(info)
    level = [0] * len(parts)  # which variant each part shows; len(variants) means left out

    def shown() -> list[Text]:
        return [p.variants[i] for p, i in zip(parts, level) if i < len(p.variants)]

    def length() -> int:
        texts = shown()
        return sum(t.cell_len for t in texts) + len(_SEP) * max(0, len(texts) - 1)

    while width is not None and length() > width:
        last = [len(p.variants) - 1 if p.keep else len(p.variants) for p in parts]
        movable = [i for i in range(len(parts)) if level[i] < last[i]]
        if not movable:
            break  # only the essentials are left: the widget crops them
        level[min(movable, key=lambda i: (parts[i].priority, -i))] += 1
    return Text(_SEP).join(shown())


class StatusLine(Widget):
    DEFAULT_CSS = """
    StatusLine { height: 1; width: 1fr; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.info = StatusInfo()
        self._shown = Text()

    def set_info(self, info: StatusInfo | None = None, **changes) -> None:
        info = replace(info or self.info, **changes)
        if info == self.info:
            return
        self.info = info
        self.refresh()

    @property
    def renderable_text(self) -> str:
        """The line as last drawn (what the user reads)."""
        return self._shown.plain

    def render_info(self, info: StatusInfo, width: int | None = None) -> Text:
        return fit(info, width)

    def render(self) -> Text:
        self._shown = fit(self.info, self.content_size.width or None)
        return self._shown
