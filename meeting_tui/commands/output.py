"""Lines to stdout that end quietly when the reader goes away (`meeting-tui monitor --json | head -1`)."""

from __future__ import annotations

import os
import sys
import threading


class Stdout:
    """``print`` for a stream of lines; ``closed`` (an Event) is set once the reader has gone."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def line(self, text: str) -> bool:
        if self.closed.is_set():
            return False
        try:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
            return True
        except BrokenPipeError:
            self._detach()
            return False

    def _detach(self) -> None:
        """Point stdout at the null device so that the interpreter's last flush does not fail again
        (the recipe of the Python docs for SIGPIPE)."""
        self.closed.set()
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass


def err(text: str) -> None:
    """A status line on stderr; one line per call, even when stderr is a file or a pipe."""
    try:
        print(text, file=sys.stderr, flush=True)
    except BrokenPipeError:
        pass


def run_quietly_into_a_pipe(func, args) -> int:
    """Run a subcommand; a reader that went away (`meeting-tui sessions | head -3`) ends it quietly, with
    exit status 0 like `monitor`, instead of a BrokenPipeError traceback."""
    try:
        result = int(func(args) or 0)
        sys.stdout.flush()  # inside the guard: the last buffered lines may be the ones that meet the closed pipe
        return result
    except BrokenPipeError:
        Stdout()._detach()
        return 0
