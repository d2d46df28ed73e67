"""The dashboard's footer: Textual's, with the keys that only fit a wide terminal tagged for app.tcss.

As the terminal narrows, the note and minutes keys leave the footer first, then the gain keys, so that
"f1 Help" and "^p palette" always fit (app.tcss, MeetingApp.HORIZONTAL_BREAKPOINTS). Every key stays in
help and the palette.
"""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: The actions (meeting_tui.ui.actions) whose footer keys need the widest terminal.
WIDEST_ONLY = frozenset({"note", "minutes_last"})


class MeetingFooter(Footer):
    def compose(self):
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.action in WIDEST_ONLY:
                widget.add_class("-widest-only")
            yield widget
