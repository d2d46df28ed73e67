"""The command palette's provider: the dashboard's entries, made from the action registry (``ui/actions.py``).

Textual's own system commands (Quit, Keys, Screenshot, Theme...) come from ``App.COMMANDS`` beside this
provider, so nothing here repeats them.
"""

from __future__ import annotations

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider


class MeetingCommands(Provider):
    """Offers ``app.palette_commands()`` (``actions.palette_entries``: every action with a palette title)."""

    def _commands(self):
        getter = getattr(self.app, "palette_commands", None)
        return list(getter()) if getter else []

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(Text(title), callback, text=title, help=help_text)  # Text: theme names are not markup

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
