"""The command palette provider: every dashboard action, listed by the app itself."""

from __future__ import annotations

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider


class MeetingCommands(Provider):
    """Offers ``app.palette_commands()``: (title, help, callback) for mode, devices, theme, save, format..."""

    def _commands(self):
        app = self.app
        getter = getattr(app, "palette_commands", None)
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
