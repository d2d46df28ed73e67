"""Toasts that stay out of the way: plain text, coalesced, short-lived.

Mixed into the App (``class MeetingApp(Notices, App)``) so every ``notify`` call gets this without changing:

- Messages are plain text unless a caller asks for markup: most are built from user data (settings keys
  such as "[capture]", device names, file paths), which Textual would otherwise read as markup and eat.
- A notice with the same title as one still on screen joins it (one "Settings" toast listing four bad
  keys, not four toasts); an untitled "Name: value" notice replaces the previous one with that name
  (cycling the theme shows one "Theme: ..." toast).
- Toasts sit over the transcript's newest lines, so they leave after a few seconds whatever the caller
  asked (errors also show in the status line or a panel's hint), and at most ``MAX_TOASTS`` show at once.

Textual has no public API to replace a notification; the private names used here (``_on_notify``,
``_unnotify``, ``_notifications``) are covered by tests/test_first_use_dashboard.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from textual.markup import escape
from textual.notifications import Notification, Notify, SeverityLevel

#: The longest a toast stays, by severity (seconds).
TIMEOUT_CAPS: dict[str, float] = {"information": 4.0, "warning": 8.0, "error": 10.0}
MAX_TOASTS = 3
MAX_LINES = 6  # lines kept when notices join; the oldest beyond that are counted, not shown
_RANK = {"information": 0, "warning": 1, "error": 2}
_PREFIX = re.compile(r"^([^\s:]{1,40}): ")  # "settings.toml: ..." (a file or module name, no spaces)


@dataclass
class Notice(Notification):
    """A notification that remembers what it is made of, so that later ones can join it."""

    key: str = ""
    base_title: str = ""  # the caller's title (``title`` may also carry a prefix common to all lines)
    lines: tuple[str, ...] = ()  # one per notice joined, oldest first, as markup when ``markup``
    earlier: int = 0  # lines dropped beyond MAX_LINES


# Textual's Toast is 60 cells wide, at most half the screen; app.tcss gives it a padding of 1 each side,
# Textual a one-cell border on the left.
_TOAST_WIDTH, _TOAST_FRAME = 60, 3


def toast_text_width(screen_width: int) -> int:
    return max(20, min(_TOAST_WIDTH, screen_width // 2) - _TOAST_FRAME)


def path_lines(path: str, width: int) -> str:
    """``path`` broken after its separators into lines of at most ``width``, so that a toast never wraps
    it mid-name (a single name longer than the line still has to be)."""
    lines = [""]
    for part in re.findall(r"[^/\\]*[/\\]|[^/\\]+$", path):
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return "\n".join(lines)


def capped_timeout(severity: str, timeout: float | None) -> float:
    cap = TIMEOUT_CAPS.get(severity, TIMEOUT_CAPS["warning"])
    return cap if timeout is None else max(0.5, min(float(timeout), cap))


def notice_key(title: str, message: str) -> str:
    """Notices with the same key share one toast: the title, else the name in a "Name: value" message."""
    if title:
        return "title:" + title
    name, sep, _ = message.partition(":")
    if sep and "\n" not in name and len(name) <= 24:
        return "name:" + name
    return "text:" + message


def as_notice(n: Notification) -> Notice:
    if isinstance(n, Notice):
        return n
    return _shown(Notice(n.message, n.title, n.severity, n.timeout, n.markup, key=notice_key(n.title, n.message),
                         base_title=n.title, lines=(n.message,)))


def merge(old: Notice, new: Notice) -> Notice:
    """One notice for ``old`` and ``new`` (same key): all lines when titled, else just the newer value."""
    markup = (old.markup or new.markup) if new.base_title else new.markup
    if new.base_title:
        lines: list[str] = []
        for line in _as(old, markup) + _as(new, markup):
            if line not in lines:
                lines.append(line)
        earlier = old.earlier + max(0, len(lines) - MAX_LINES)
        lines = lines[-MAX_LINES:]
    else:
        lines, earlier = list(new.lines), 0
    severity: SeverityLevel = max(old.severity, new.severity, key=lambda s: _RANK.get(s, 0))
    timeout = capped_timeout(severity, max(new.timeout, old.time_left))
    return _shown(Notice(new.message, new.base_title, severity, timeout, markup, key=new.key,
                         base_title=new.base_title, lines=tuple(lines), earlier=earlier))


def _as(n: Notice, markup: bool) -> list[str]:
    return [escape(line) if markup and not n.markup else line for line in n.lines]


def _shown(n: Notice) -> Notice:
    """Set the message (and title) the toast shows: a prefix every line shares moves into the title."""
    lines, title = list(n.lines), n.base_title
    prefixes = {m.group(1) if (m := _PREFIX.match(line)) else None for line in lines}
    if len(lines) > 1 and len(prefixes) == 1 and None not in prefixes:
        prefix = prefixes.pop()
        lines = [line[len(prefix) + 2:] for line in lines]
        title = f"{title} · {prefix}" if title else prefix
    if n.earlier:
        lines.insert(0, f"… and {n.earlier} earlier")
    return replace(n, message="\n".join(lines), title=title)


class Notices:
    """App mixin: ``notify`` as described in the module docstring. Thread-safe like Textual's own."""

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        notice = as_notice(Notification(message, title, severity, capped_timeout(severity, timeout), markup))
        self.post_message(Notify(notice))  # type: ignore[attr-defined]

    def _on_notify(self, event: Notify) -> None:
        """On the event loop, before Textual's own handler adds ``event.notification`` (dispatch walks the
        MRO): join it to a shown notice with the same key, and keep the rack short."""
        new = as_notice(event.notification)
        for old in self.notices_shown():
            if as_notice(old).key == new.key:
                new = merge(as_notice(old), new)
                self._unnotify(old, refresh=False)  # type: ignore[attr-defined]
        shown = self.notices_shown()
        while len(shown) >= MAX_TOASTS:  # make room: the least severe, then the oldest, goes first
            victim = min(shown, key=lambda n: (_RANK.get(n.severity, 0), n.raised_at))
            self._unnotify(victim, refresh=False)  # type: ignore[attr-defined]
            shown.remove(victim)
        event.notification = new

    def notices_shown(self) -> list[Notification]:
        """The notifications on screen now, oldest first (what the user can read)."""
        return [n for n in self._notifications if not n.has_expired]  # type: ignore[attr-defined]
