"""Edit a TOML file in place: only the keys that changed, the user's comments, layout and other values kept.

Writes are atomic (temp file + os.replace) and made under a lock, re-reading the file each time, so two
instances that change different keys both keep their change.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import tomlkit
from filelock import FileLock, Timeout
from tomlkit.exceptions import ParseError

from meeting_tui import paths

Key = tuple[str, ...]
LOCK_TIMEOUT_S = 5.0


class BrokenFile(ValueError):
    """The file on disk is not TOML: it cannot be edited in place."""


def flatten(data: dict[str, Any], prefix: Key = ()) -> dict[Key, Any]:
    """``{"a": {"b": 1}}`` -> ``{("a", "b"): 1}``; None (TOML has no null) is left out."""
    flat: dict[Key, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(flatten(value, (*prefix, str(key))))
        elif value is not None:
            flat[(*prefix, str(key))] = value
    return flat


def changes(old: dict[Key, Any], new: dict[Key, Any]) -> dict[Key, Any]:
    """Each key whose value differs: its new value, or None where it went away."""
    return {k: new.get(k) for k in old.keys() | new.keys() if old.get(k, _MISSING) != new.get(k, _MISSING)}


_MISSING = object()


def edit(path: str | os.PathLike[str], changed: dict[Key, Any], *, header: str = "",
         replace_broken: bool = False) -> Path:
    """Apply ``changed`` (None: remove the key) to the file at ``path``, created with ``header`` when new.

    A file that is not TOML raises BrokenFile, or with ``replace_broken`` is started afresh (the caller kept
    a copy). Raises OSError (Timeout too) when it cannot be written.
    """
    target = Path(path)
    paths.private_dir(target.parent)
    try:
        key = hashlib.sha1(str(target.resolve()).encode("utf-8")).hexdigest()[:12]
        lock = FileLock(str(paths.lock_file(f"{target.name}-{key}")), timeout=LOCK_TIMEOUT_S)
        with lock:
            text = target.read_text(encoding="utf-8") if target.exists() else ""
            try:
                doc = tomlkit.parse(text)
            except ParseError as exc:
                if not replace_broken:
                    raise BrokenFile(f"{target} is not valid TOML: {exc}") from exc
                text, doc = "", tomlkit.document()
            if not text.strip() and header:
                for line in header.strip().splitlines():
                    doc.add(tomlkit.comment(line.lstrip("# ")))
                doc.add(tomlkit.nl())
            for key in sorted(changed, key=lambda k: (changed[k] is not None, k)):  # removals first
                if changed[key] is None:
                    _remove(doc, key)
                else:
                    _set(doc, key, changed[key])
            paths.atomic_write(target, tomlkit.dumps(doc))
    except Timeout as exc:
        raise OSError(f"another meeting-tui is writing {target}; try again") from exc
    return target


def _set(doc: Any, key: Key, value: Any) -> None:
    node = doc
    for i, part in enumerate(key[:-1]):
        child = node.get(part)
        if not isinstance(child, dict):  # absent (or not a table: the user asked for this key now)
            child = tomlkit.table(is_super_table=i < len(key) - 2)
            node[part] = child
        node = child
    node[key[-1]] = value


def _remove(doc: Any, key: Key) -> None:
    trail = [doc]
    for part in key[:-1]:
        child = trail[-1].get(part)
        if not isinstance(child, dict):
            return
        trail.append(child)
    trail[-1].pop(key[-1], None)
    for parent, part, node in reversed(list(zip(trail, key, trail[1:]))):  # tables left empty go too
        if len(node) == 0:
            parent.pop(part, None)
