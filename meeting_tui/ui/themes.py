"""Themes as data files, loaded through Textual's Theme API.

Built-in themes live in the top-level ``themes/`` folder, shipped in the wheel as ``meeting_tui/themes``
(pyproject force-include); we look at the package path first and fall back to the repository's folder.
Users add ``*.toml`` files in ``<config dir>/themes``. A file that does not load is skipped and reported
(once, by the app), and the app falls back to :data:`DEFAULT_THEME`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_THEME = "meeting-dark"

#: The app's own theme variables and their defaults (literal colours, as Textual requires).
VARIABLE_DEFAULTS: dict[str, str] = {
    "vu-low": "#3fbf6f",
    "vu-mid": "#e6c84a",
    "vu-high": "#f08a3c",
    "vu-clip": "#ff3b3b",
    "vu-peak": "#ffffff",
    "vu-track": "#3a3f47",
    "speaker-you": "#6ec1ff",
    "speaker-them": "#f6a6e0",
    "speaker-mix": "#c9c9c9",
    "gap-marker": "#8a8f98",
}

_COLOUR_FIELDS = ("primary", "secondary", "accent", "warning", "error", "success", "foreground", "background",
                  "surface", "panel", "boost")
_OTHER_FIELDS = {"name": str, "dark": bool, "luminosity_spread": (int, float), "text_alpha": (int, float)}


class ThemeFileError(ValueError):
    pass


def package_theme_dir() -> Path:
    """``meeting_tui/themes`` in an installed wheel; the repository's ``themes/`` in a checkout."""
    here = Path(__file__).resolve().parent.parent  # meeting_tui/
    packaged = here / "themes"
    if packaged.is_dir():
        return packaged
    return here.parent / "themes"


def user_theme_dir() -> Path:
    from meeting_tui import paths

    return paths.config_dir() / "themes"


def _check_colour(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(f'"{key}" must be a colour in quotes, e.g. "#1e90ff"')
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(f'"{key}" = "{value}" is not a colour') from None
    return value


def theme_from_data(data: dict, *, default_name: str) -> Theme:
    """Build a Theme from a parsed file; raises ThemeFileError with a message naming the bad key."""
    data = dict(data)
    variables = data.pop("variables", {}) or {}
    if not isinstance(variables, dict):
        raise ThemeFileError('"variables" must be a table')
    kwargs: dict = {"name": default_name}
    for key, value in data.items():
        if key in _COLOUR_FIELDS:
            kwargs[key] = _check_colour(key, value)
        elif key in _OTHER_FIELDS:
            if not isinstance(value, _OTHER_FIELDS[key]) or (key != "dark" and isinstance(value, bool)):
                raise ThemeFileError(f'"{key}" has the wrong type')
            kwargs[key] = value
        else:
            raise ThemeFileError(f'unknown key "{key}"')
    if "primary" not in kwargs:
        raise ThemeFileError('"primary" is required')
    if not kwargs["name"] or not isinstance(kwargs["name"], str):
        raise ThemeFileError('"name" must be a non-empty text')
    kwargs["variables"] = {str(k): _check_colour(f"variables.{k}", v) for k, v in variables.items()}
    return Theme(**kwargs)


def load_theme_file(path: Path) -> Theme:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeFileError(f"cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"not valid TOML: {exc}") from None
    return theme_from_data(data, default_name=path.stem)


@dataclass
class ThemeLoad:
    themes: list[Theme] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "file: problem"


def load_themes(dirs: list[Path] | None = None) -> ThemeLoad:
    """Load every ``*.toml`` theme in ``dirs`` (default: built-in, then the user's); later names win."""
    if dirs is None:
        dirs = [package_theme_dir(), user_theme_dir()]
    result = ThemeLoad()
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                result.themes.append(load_theme_file(path))
            except ThemeFileError as exc:
                result.errors.append(f"{path.name}: {exc}")
    return result
