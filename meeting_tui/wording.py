"""Small helpers for the words shown to users: counts with the right plural, progress on any stream."""

from __future__ import annotations

import sys
from typing import TextIO


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """``plural(1, "line")`` -> "1 line", ``plural(3, "line")`` -> "3 lines"."""
    return f"{count} {noun if count == 1 else plural_noun or noun + 's'}"


def print_settings_warnings(warnings: list[str], stream: TextIO | None = None) -> None:
    """Every command says a settings problem the same way: "warning: settings.toml: ..." (the file named
    by the warning itself)."""
    for warning in warnings:
        print(f"warning: {warning}", file=stream if stream is not None else sys.stderr)


class ProgressLine:
    """Percent progress on a stream: redrawn in place on a terminal; on a pipe or a log file (where a
    carriage return would run the updates together into one line) one full line per ``step`` percent."""

    def __init__(self, label: str, stream: TextIO | None = None, *, step: int = 10) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.step = step
        self.tty = _is_tty(self.stream)
        self._last: int | None = None
        self._open = False  # a redrawn line is on screen without its newline yet

    def __call__(self, fraction: float) -> None:
        percent = int(max(0.0, min(1.0, fraction)) * 100)
        if self.tty:
            if percent == self._last:
                return
            self.stream.write(f"\r[{self.label}] {percent:3d}%" + ("\n" if percent >= 100 else ""))
            self._open = percent < 100
        else:
            percent = percent - percent % self.step if percent < 100 else 100
            if self._last is not None and percent <= self._last:
                return
            self.stream.write(f"[{self.label}] {percent:3d}%\n")
        self._last = percent
        self.stream.flush()

    def end(self) -> None:
        """Finish a redrawn line that never reached 100 % (stopped early)."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
