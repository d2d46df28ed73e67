"""Where meeting-tui keeps its files, and how it creates them (private, atomic).

Every location comes from one function here so that tests (and users) can redirect it:
``MEETING_TUI_CONFIG`` names the settings file, ``MEETING_TUI_DATA_DIR`` the data folder (sessions),
``MEETING_TUI_LOG_DIR`` the log folder (default: ``logs`` under an overridden data dir, else platformdirs).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import platformdirs

APP_NAME = "meeting-tui"
CONFIG_ENV = "MEETING_TUI_CONFIG"
DATA_ENV = "MEETING_TUI_DATA_DIR"
LOG_ENV = "MEETING_TUI_LOG_DIR"
SETTINGS_FILENAME = "settings.toml"

# Transcripts are private: on POSIX only the user may read them (Windows ACLs already do this per user).
FILE_MODE = 0o600
DIR_MODE = 0o700
_POSIX = os.name == "posix"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def config_file(override: str | os.PathLike[str] | None = None) -> Path:
    """The settings file: ``--config`` (override), else $MEETING_TUI_CONFIG, else the user config dir."""
    if override:
        return Path(override).expanduser()
    return _env_path(CONFIG_ENV) or config_dir() / SETTINGS_FILENAME


def config_arg_problem(override: str | os.PathLike[str] | None, *, creates: bool = False) -> str | None:
    """``--config FILE`` naming no file: the user would get the defaults without a word. ``creates``: the
    command writes the file (``doctor --save``), so a new one is fine where its folder can be made."""
    if not override:
        return None
    path = Path(override).expanduser()
    if path.is_dir():
        return f"--config {path}: that is a folder; name the settings file in it (e.g. {path / SETTINGS_FILENAME})."
    if path.exists() or creates:
        return None
    return (f"--config {path}: no such file. Check the path, create the file (an empty one will do), or leave "
            f"--config out to use {config_file()}.")


def config_dir() -> Path:
    """The folder holding the settings file (and its backups)."""
    env = _env_path(CONFIG_ENV)
    if env is not None:
        return env.parent
    return platformdirs.user_config_path(APP_NAME, appauthor=False)


def data_dir() -> Path:
    """The user data folder: $MEETING_TUI_DATA_DIR, else platformdirs' user data dir."""
    return _env_path(DATA_ENV) or platformdirs.user_data_path(APP_NAME, appauthor=False)


def sessions_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Where session folders live: the settings' ``session.dir`` (override), else ``<data dir>/sessions``."""
    if override:
        return Path(override).expanduser()
    return data_dir() / "sessions"


def log_dir() -> Path:
    """Log files: $MEETING_TUI_LOG_DIR, else ``logs`` beside an overridden data dir, else platformdirs."""
    env = _env_path(LOG_ENV)
    if env is not None:
        return env
    data = _env_path(DATA_ENV)
    if data is not None:  # keep tests (which set only the data dir) out of the real log dir
        return data / "logs"
    return platformdirs.user_log_path(APP_NAME, appauthor=False)


def lock_file(name: str) -> Path:
    """A lock file (``filelock``) under ``<data dir>/locks``: one place per user, redirected with the data dir
    (tests), and never beside the user's settings."""
    return private_dir(data_dir() / "locks") / f"{name}.lock"


# --- creating files -------------------------------------------------------------------------------------


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and parents) if needed; the leaf is 0o700 on POSIX. Raises OSError."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if _POSIX:
        os.chmod(path, DIR_MODE)  # mkdir's mode is masked by umask and ignored for existing dirs
    return path


def make_private(path: str | os.PathLike[str]) -> None:
    """Make an existing file readable by the user only (no-op off POSIX)."""
    if _POSIX:
        os.chmod(path, FILE_MODE)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Persist a directory entry (a new or renamed file) where the OS allows it."""
    if not _POSIX:
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


REPLACE_RETRY_S = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8)  # ~1.6 s in all


def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """``os.replace``, retried on Windows while another process holds ``dst`` (WinError 5 access denied,
    32 sharing violation: an indexer or antivirus scanning it) with a short backoff. Raises the last error."""
    import time

    for delay in (*REPLACE_RETRY_S, None):
        try:
            os.replace(src, dst)
            return
        except PermissionError as exc:
            if _POSIX or delay is None or getattr(exc, "winerror", None) not in (5, 32):
                raise
            time.sleep(delay)


def atomic_write(path: str | os.PathLike[str], data: str | bytes, *, mode: int = FILE_MODE) -> Path:
    """Replace ``path`` with ``data`` all at once: temp file in the same dir, fsync, os.replace.

    A crash leaves either the old file or the new one, never half of each. Raises OSError; the temp file
    is removed on failure.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        if _POSIX:
            os.chmod(tmp, mode)
        replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)
    return path


def shown(path: str | os.PathLike[str], *, executable: str | None = None,
          environ: dict[str, str] | None = None) -> str:
    """``path`` as the user finds it in Explorer. Microsoft Store Python redirects its writes under
    %LOCALAPPDATA% into its package's ``LocalCache\\Local`` (cpython #85368): a folder we print from there
    would not exist where the user looks. Other paths, and other Pythons, are shown unchanged."""
    from pathlib import PureWindowsPath

    env = os.environ if environ is None else environ
    local = env.get("LOCALAPPDATA")
    found = store_python(executable)
    if not found or not local:
        return str(path)
    try:
        rel = PureWindowsPath(path).relative_to(PureWindowsPath(local))
    except ValueError:
        return str(path)
    family = f"{found.group(1)}_{found.group(2)}"
    return str(PureWindowsPath(local, "Packages", family, "LocalCache", "Local", rel))


def store_python(executable: str | None = None):
    """The Microsoft Store Python package that runs us (a regex match: group 1 the name, 2 the publisher
    id), or None."""
    import re

    # a venv made from Store Python runs its own python.exe: the base interpreter says where it came from
    exe = f"{sys.executable};{getattr(sys, '_base_executable', '')}" if executable is None else executable
    return re.search(r"WindowsApps\\(PythonSoftwareFoundation\.Python\.[0-9.]+)_[^\\]*?_{0,2}([a-z0-9]{13})\\", exe)


BACKUP_TAGS = ("broken", "invalid")  # a settings file that did not parse, or held invalid values


def keep_copy(target: Path, tag: str) -> tuple[Path | None, str]:
    """Copy a bad file aside (``<name>.<tag>-<time>``) so that a later save cannot destroy the user's text.

    One copy per distinct content: a file that stays broken over many runs is not copied again.
    """
    try:
        content = target.read_bytes()
        kept = _same_copy(target, content)
        if kept is not None:
            return kept, f"a copy was kept at {kept}"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = target.with_name(f"{target.name}.{tag}-{stamp}")
        n = 1
        while backup.exists():  # another broken version in the same second
            n += 1
            backup = target.with_name(f"{target.name}.{tag}-{stamp}-{n}")
        shutil.copyfile(target, backup)
        make_private(backup)
    except OSError as exc:
        return None, f"could not keep a backup copy ({exc})"
    return backup, f"a copy was kept at {backup}"


def _same_copy(target: Path, content: bytes) -> Path | None:
    """An earlier backup of ``target`` holding exactly ``content`` (of any tag), if there is one."""
    for tag in BACKUP_TAGS:
        for candidate in sorted(target.parent.glob(f"{glob.escape(target.name)}.{tag}-*")):
            try:
                if candidate.stat().st_size == len(content) and candidate.read_bytes() == content:
                    return candidate
            except OSError:
                continue
    return None
