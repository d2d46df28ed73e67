"""Minutes templates: TOML files naming the sections, their titles and order, and the instructions an
LLM engine will follow (the rule-based extractor shows the sections it can fill).

Shipped in ``meeting_tui/minutes/templates/NAME.toml``; a file of the same name in
``<config dir>/templates/`` overrides one. Format::

    title = "Minutes"            # the document's heading
    [[section]]
    kind = "actions"             # summary | decisions | actions | questions | notes
    title = "Action items"
    instructions = "..."         # optional
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from meeting_tui import paths

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KINDS = ("summary", "decisions", "actions", "questions", "notes")
SECTION_KEYS = {"kind", "title", "instructions"}


class TemplateError(Exception):
    """A template that cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class Section:
    kind: str
    title: str
    instructions: str = ""


@dataclass
class Template:
    name: str
    path: str
    title: str
    sections: list[Section] = field(default_factory=list)


def user_dir() -> Path:
    return paths.config_dir() / "templates"


def shipped_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(__package__).joinpath("templates").iterdir()
                  if p.name.endswith(".toml"))


def load_template(name: str) -> Template:
    """The template called ``name``: the user's override if there is one, else the shipped one.
    Raises TemplateError."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise TemplateError(f'template "{name}": a name is letters, digits, "-" and "_" '
                            f"(shipped: {', '.join(shipped_names())})")
    own = user_dir() / f"{name}.toml"
    if own.is_file():
        try:
            return parse(own.read_text(encoding="utf-8"), name, str(own))
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(f"template {own}: cannot be read ({exc}); fix or remove it") from exc
    shipped = resources.files(__package__).joinpath("templates", f"{name}.toml")
    if not shipped.is_file():
        raise TemplateError(f'no template "{name}": the shipped ones are {", ".join(shipped_names())}; '
                            f"or put {name}.toml in {user_dir()}")
    return parse(shipped.read_text(encoding="utf-8"), name, str(shipped))


def parse(text: str, name: str, where: str) -> Template:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        at = f"line {line.group(1)}" if line else "?"
        raise TemplateError(f"template {where}, {at}: not valid TOML ({_reason(exc)}); fix that line") from exc
    starts = [n for n, ln in enumerate(text.splitlines(), 1) if ln.strip().startswith("[[section]]")]

    def fail(index: int | None, what: str) -> TemplateError:
        at = f"line {starts[index]}" if index is not None and index < len(starts) else "line 1"
        return TemplateError(f"template {where}, {at}: {what}")

    unknown = set(doc) - {"title", "section"}
    if unknown:
        key = sorted(unknown)[0]
        line = next((n for n, ln in enumerate(text.splitlines(), 1) if ln.strip().startswith(key)), 1)
        raise TemplateError(f'template {where}, line {line}: unknown key "{key}" (a template has title and '
                            f"[[section]] tables)")
    sections = doc.get("section")
    if not isinstance(sections, list) or not sections:
        raise fail(None, "no [[section]] tables: add at least one (kind and title)")
    out = []
    for i, sec in enumerate(sections):
        extra = set(sec) - SECTION_KEYS
        if extra:
            raise fail(i, f'section {i + 1}: unknown key "{sorted(extra)[0]}" (use kind, title, instructions)')
        kind = sec.get("kind")
        if kind not in KINDS:
            raise fail(i, f'section {i + 1}: kind "{kind}" is not one of {", ".join(KINDS)}')
        title = sec.get("title")
        if not isinstance(title, str) or not title.strip():
            raise fail(i, f"section {i + 1}: give it a title")
        instructions = sec.get("instructions", "")
        if not isinstance(instructions, str):
            raise fail(i, f"section {i + 1}: instructions must be a string")
        out.append(Section(kind, title.strip(), instructions.strip()))
    title = doc.get("title", "Minutes")
    if not isinstance(title, str):
        raise TemplateError(f"template {where}, line 1: title must be a string")
    return Template(name, where, title.strip() or "Minutes", out)


def _reason(exc: Exception) -> str:
    return re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
