"""Themes: loading ours and the user's, the theme saved when it changes, cycling."""

from __future__ import annotations

from textual.theme import Theme

from meeting_tui.ui.themes import DEFAULT_THEME, VARIABLE_DEFAULTS, load_themes


class ThemeControl:
    """Themes. Mixed into ``MeetingApp``."""

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def _load_themes(self) -> None:
        loaded = load_themes(self._theme_dirs)
        for theme in loaded.themes:
            self.register_theme(theme)
        self.theme_errors = loaded.errors
        # A theme the user never chose (not in the file) means ours, not the schema's placeholder.
        wanted = self.settings.ui.theme if "theme" in self.settings.ui.model_fields_set else DEFAULT_THEME
        if wanted not in self.available_themes:
            if wanted != DEFAULT_THEME:
                loaded.errors.append(f'theme "{wanted}" is not available')
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        self.theme = wanted
        if loaded.errors:
            self.notify("Some themes could not be loaded; using " + f'"{wanted}".\n' + "\n".join(loaded.errors),
                        title="Themes", severity="warning", timeout=10)

    def _theme_changed(self, theme: Theme) -> None:
        if self.settings.ui.theme != theme.name:
            self.settings.ui.theme = theme.name
            self.schedule_settings_save()

    def action_set_theme(self, name: str) -> None:
        self.theme = name

    def action_cycle_theme(self) -> None:
        names = sorted(self.available_themes)
        self.theme = names[(names.index(self.theme) + 1) % len(names)] if self.theme in names else DEFAULT_THEME
        self.notify(f"Theme: {self.theme}", timeout=2)
