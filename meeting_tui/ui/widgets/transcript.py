"""The scrolling transcript: finals in time order, one dimmed partial per source at the bottom, gaps.

Built on the line API (``ScrollView.render_line``) over cached, pre-wrapped strips, so thousands of lines
cost nothing while idle and only new entries are laid out as they arrive. Updates come in batches
(:meth:`TranscriptView.add_batch`), which the app drains from a queue once per frame; never call it per
line from another thread.

It follows the newest line while the view is scrolled to the end; once the user scrolls up it stays put
and the subtitle counts the lines below, until they scroll back to the end (End key). A line can be
chosen (``jump_to``, from the minutes): it is shown reversed and the view stays on it until End.
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass
from typing import Iterable, Union

from rich.segment import Segment as RichSegment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from meeting_tui.types import Gap, Retraction, Segment, Source


MAX_LABEL = 16  # a long speaker name is cut in the label column, not allowed to push the text away
# One colour per far-side voice ("Them 1", "Them 2", ...), readable on the dark and the light themes.
SPEAKER_COLOURS = ("#e5a50a", "#3584e4", "#c061cb", "#2ec27e", "#e66100", "#1c71d8", "#a51d2d", "#63452c")


@dataclass(frozen=True)
class Note:
    """A line from the app itself (mode switched, session started) at a time on the session clock."""

    start: float
    text: str


Item = Union[Segment, Gap, Note]
_CHOSEN = Style(reverse=True)


def clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


def _start(item: Item) -> float:
    return item.start_s if isinstance(item, Gap) else item.start


class TranscriptView(ScrollView, can_focus=True):
    """Transcript lines; see the module docstring."""

    BINDINGS = [
        Binding("end", "follow", "Follow", show=False, id="transcript.follow"),
        Binding("home", "scroll_home", "Top", show=False, id="transcript.top"),
        Binding("up", "scroll_up", show=False),
        Binding("down", "scroll_down", show=False),
        Binding("pageup", "page_up", show=False),
        Binding("pagedown", "page_down", show=False),
    ]

    COMPONENT_CLASSES = {
        "transcript--time",
        "transcript--you",
        "transcript--them",
        "transcript--mix",
        "transcript--text",
        "transcript--partial",
        "transcript--gap",
        "transcript--note",
    }

    DEFAULT_CSS = """
    TranscriptView { height: 1fr; background: $surface; scrollbar-gutter: stable; }
    TranscriptView > .transcript--time { color: $text-muted; }
    TranscriptView > .transcript--you { color: $speaker-you; text-style: bold; }
    TranscriptView > .transcript--them { color: $speaker-them; text-style: bold; }
    TranscriptView > .transcript--mix { color: $speaker-mix; text-style: bold; }
    TranscriptView > .transcript--text { color: $foreground; }
    TranscriptView > .transcript--partial { color: $text-muted; text-style: italic; }
    TranscriptView > .transcript--gap { color: $gap-marker; }
    TranscriptView > .transcript--note { color: $text-muted; text-style: italic; }
    """

    def __init__(self, labels: dict[Source, str] | None = None, *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.labels = dict(labels or {Source.MIC: "You", Source.LOOPBACK: "Them", Source.MIX: "Mixed"})
        self._items: list[Item] = []
        self._speakers: dict[str, int] = {}  # far-side voice -> its colour's index
        self._starts: list[float] = []
        self._entry_line: list[int] = []  # first line of each item in _lines
        self._lines: list[Strip] = []
        self._partials: dict[Source, Segment] = {}
        self._partial_lines: list[Strip] = []
        self._wrap_width = 0
        self.new_below = 0
        self.batches = 0
        self.selected: Segment | None = None  # the line jumped to: shown reversed until End

    # --- data ------------------------------------------------------------------------------------------

    @property
    def items(self) -> list[Item]:
        """Finals, gaps and notes in time order."""
        return list(self._items)

    @property
    def segments(self) -> list[Segment]:
        return [i for i in self._items if isinstance(i, Segment)]

    @property
    def partials(self) -> dict[Source, Segment]:
        return dict(self._partials)

    @property
    def line_count(self) -> int:
        return len(self._lines) + len(self._partial_lines)

    def add(self, item: Item) -> None:
        self.add_batch([item])

    def add_batch(self, batch: Iterable[Item | Retraction]) -> None:
        """Apply a batch of updates (finals, partials, gaps, notes, retractions) with one layout and one
        repaint."""
        at_end = self.is_vertical_scroll_end
        before = self.line_count
        width = self._width()
        if width != self._wrap_width:
            self._wrap_width = width
            self._relayout_all()
        first_changed: int | None = None
        partials_changed = False
        for item in batch:
            if isinstance(item, Retraction):
                index = self._retract(item)
                if index is not None and (first_changed is None or index < first_changed):
                    first_changed = index
                continue
            if isinstance(item, Segment) and not item.final:
                self._partials[item.source] = item
                partials_changed = True
                continue
            if isinstance(item, Segment):
                if self._partials.pop(item.source, None) is not None:
                    partials_changed = True
                if not item.text.strip():
                    continue
            start = _start(item)
            index = bisect.bisect_right(self._starts, start)
            self._items.insert(index, item)
            self._starts.insert(index, start)
            if first_changed is None or index < first_changed:
                first_changed = index
        if first_changed is not None:
            self._relayout_from(first_changed)
        if partials_changed:
            self._layout_partials()
        self.batches += 1
        added = self.line_count - before
        self.virtual_size = Size(width, self.line_count)
        if at_end:
            self.new_below = 0
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        else:
            self.new_below += max(0, added)
        self._update_subtitle()
        self.refresh()

    def _retract(self, r: Retraction) -> int | None:
        """Remove (or mark) the line; returns its index, from where the layout changes."""
        index = r.apply(self._items)
        if index is not None and r.drops:
            del self._starts[index]
        return index

    def clear(self) -> None:
        self.selected = None
        self._items.clear()
        self._starts.clear()
        self._entry_line.clear()
        self._lines.clear()
        self._partials.clear()
        self._partial_lines.clear()
        self.new_below = 0
        self.virtual_size = Size(self._width(), 0)
        self.refresh()

    # --- following -------------------------------------------------------------------------------------

    @property
    def following(self) -> bool:
        return self.is_vertical_scroll_end

    def action_follow(self) -> None:
        if self.selected is not None:
            self.selected = None
            self.refresh()
        self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        self.new_below = 0
        self._update_subtitle()

    # The keys that leave the end scroll at once, not animated: a line arriving before an animation has
    # left the end finds the view following and puts it back there, and the key seems to do nothing.
    def action_scroll_home(self) -> None:
        self.scroll_home(animate=False, immediate=True, x_axis=False)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def action_scroll_up(self) -> None:
        self.scroll_up(animate=False, immediate=True)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self.is_vertical_scroll_end and self.new_below:
            self.new_below = 0
            self._update_subtitle()
        elif not self.is_vertical_scroll_end:
            self._update_subtitle()

    def _update_subtitle(self) -> None:
        if self.selected is not None:
            self.border_subtitle = f"line at {clock(self.selected.start)} chosen · End follows"
        elif self.is_vertical_scroll_end or not self.line_count:
            self.border_subtitle = ""
        elif self.new_below:
            self.border_subtitle = f"paused · {self.new_below} new line{'s' if self.new_below != 1 else ''} below · End follows"
        else:
            self.border_subtitle = "paused · End follows"

    # --- the chosen line: jumped to, and the one a flag goes to ----------------------------------------

    def line_to_flag(self) -> Segment | None:
        """The chosen line; else, while scrolled up, the last line in view; else the newest line."""
        if self.selected is not None:
            return self.selected
        candidates = self._items
        if not self.is_vertical_scroll_end and self._lines:
            bottom = min(len(self._lines) - 1, int(self.scroll_offset.y) + self.scrollable_content_region.height - 1)
            candidates = self._items[:bisect.bisect_right(self._entry_line, bottom)]
        return next((i for i in reversed(candidates) if isinstance(i, Segment)), None)

    def jump_to(self, line_id: int | None, start: float) -> Segment | None:
        """Choose and show the line with journal id ``line_id`` (else the last one starting by ``start``); the
        view stays on it until End. Returns the line, or None when no line is shown."""
        lines = [(n, i) for n, i in enumerate(self._items) if isinstance(i, Segment)]
        found = next(((n, i) for n, i in lines if line_id is not None and i.id == line_id), None)
        if found is None:
            before = [(n, i) for n, i in lines if i.start <= start + 0.05]
            found = before[-1] if before else (lines[0] if lines else None)
        if found is None:
            return None
        index, self.selected = found
        top = self._entry_line_start(index) - self.scrollable_content_region.height // 2
        self.scroll_to(y=max(0, top), animate=False, immediate=True, force=True)
        self._update_subtitle()
        self.refresh()
        return self.selected

    def _chosen_lines(self) -> range:
        if self.selected is None:
            return range(0)
        index = next((n for n, i in enumerate(self._items) if i is self.selected), None)
        if index is None:
            return range(0)
        return range(self._entry_line_start(index), self._entry_line_start(index + 1))

    # --- layout ----------------------------------------------------------------------------------------

    def _width(self) -> int:
        width = self.scrollable_content_region.width or self.size.width
        return max(20, width)

    def _styles(self) -> dict[str, Style]:
        get = self.get_component_rich_style
        return {name: get(f"transcript--{name}") for name in ("time", "you", "them", "mix", "text", "partial", "gap", "note")}

    def _label_width(self) -> int:
        return min(MAX_LABEL, max([len(v) for v in self.labels.values()] + [len(s) for s in self._speakers]))

    def relabel(self, old: str, new: str) -> int:
        """Far-side lines labelled ``old`` now read ``new`` (voices merged, or the user named one); returns
        how many lines changed."""
        changed = 0
        for index, item in enumerate(self._items):
            if isinstance(item, Segment) and item.speaker == old:
                self._items[index] = dataclasses.replace(item, speaker=new)
                changed += 1
        if old in self._speakers:  # a merged voice takes the colour of the one it joins; a renamed one keeps its own
            self._speakers.setdefault(new, self._speakers.pop(old))
        if changed:
            self._relayout_all()
            self.refresh()
        return changed

    def speakers(self) -> list[str]:
        """The far-side voices shown, in order of first appearance."""
        return list(self._speakers)

    def _speaker_style(self, speaker: str, base: Style) -> Style:
        n = self._speakers.setdefault(speaker, len(self._speakers))
        return base + Style(color=SPEAKER_COLOURS[n % len(SPEAKER_COLOURS)])

    def _layout_item(self, item: Item, styles: dict[str, Style], *, partial: bool = False) -> list[Strip]:
        width = self._wrap_width
        lw = self._label_width()
        indent = 8 + 2 + lw + 2
        time_seg = RichSegment(clock(_start(item)), styles["time"])
        if isinstance(item, Gap):
            who = self.labels.get(item.source, item.source.value)
            span = max(0.0, item.end_s - item.start_s)
            body = Text(f"── no audio from {who} for {span:.1f} s" + (f": {item.reason}" if item.reason else "") + " ──",
                        style=styles["gap"])
            head = [time_seg, RichSegment(" " * (indent - 8))]
        elif isinstance(item, Note):
            body = Text(f"· {item.text}", style=styles["note"])
            head = [time_seg, RichSegment(" " * (indent - 8))]
        else:
            who = {Source.MIC: "you", Source.LOOPBACK: "them"}.get(item.source, "mix")
            label = (item.speaker or self.labels.get(item.source, item.source.value))[:lw]
            text_style = styles["partial"] if partial else styles["text"]
            label_style = styles[who] + (styles["partial"] if partial else Style())
            if item.speaker:  # one colour per far-side voice
                label_style = self._speaker_style(item.speaker, label_style)
            body = Text(item.text.strip() + (" …" if partial else ""), style=text_style)
            if item.echo_score:  # the echo filter marked it: probably the speakers heard by the mic
                body.stylize(styles["partial"])
                body.append("  (echo?)", style=styles["note"])
            head = [time_seg, RichSegment("  "), RichSegment(label.ljust(lw), label_style), RichSegment("  ")]
        console = self.app.console
        wrapped = body.wrap(console, max(8, width - indent))
        strips: list[Strip] = []
        pad = RichSegment(" " * indent)
        for n, line in enumerate(wrapped):
            segs = list(head) if n == 0 else [pad]
            segs.extend(line.render(console))
            strips.append(Strip(segs))
        return strips or [Strip(head)]

    def _relayout_all(self) -> None:
        self._entry_line.clear()
        self._lines.clear()
        self._relayout_from(0)
        self._layout_partials()

    def _relayout_from(self, index: int) -> None:
        if not self._wrap_width:
            self._wrap_width = self._width()
        styles = self._styles()
        cut = self._entry_line_start(index)  # read before the cut: the entries after it are laid out again
        del self._entry_line[index:]
        del self._lines[cut:]
        for item in self._items[index:]:
            self._entry_line.append(len(self._lines))
            self._lines.extend(self._layout_item(item, styles))

    def _entry_line_start(self, index: int) -> int:
        if index < len(self._entry_line):
            return self._entry_line[index]
        return len(self._lines)

    def _layout_partials(self) -> None:
        styles = self._styles()
        self._partial_lines = []
        for source in (Source.MIC, Source.LOOPBACK, Source.MIX):
            seg = self._partials.get(source)
            if seg is not None and seg.text.strip():
                self._partial_lines.extend(self._layout_item(seg, styles, partial=True))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self._wrap_width:  # theme or CSS changed: colours are baked into the cached strips
            self._relayout_all()

    def on_resize(self) -> None:
        width = self._width()
        if width != self._wrap_width:
            at_end = self.is_vertical_scroll_end
            self._wrap_width = width
            self._relayout_all()
            self.virtual_size = Size(width, self.line_count)
            if at_end:
                self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        base = self.rich_style
        if index < len(self._lines):
            strip = self._lines[index]
            if self.selected is not None and index in self._chosen_lines():
                strip = strip.apply_style(_CHOSEN)
        elif index - len(self._lines) < len(self._partial_lines):
            strip = self._partial_lines[index - len(self._lines)]
        else:
            return Strip.blank(width, base)
        return strip.apply_style(base).crop_extend(scroll_x, scroll_x + width, base).apply_offsets(scroll_x, index)
