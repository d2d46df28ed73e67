"""Sessions that did not finish (the app was closed or crashed): find them, close their journals."""

from __future__ import annotations

from pathlib import Path


def unfinished(sessions_dir: Path) -> list:
    try:
        from meeting_tui.session.recovery import find_unfinished

        return find_unfinished(sessions_dir)
    except Exception:
        return []


def recover_all(sessions_dir: Path) -> tuple[str, bool]:
    """Recover every unfinished session: (one message saying what was done, whether something failed)."""
    from meeting_tui.session.recovery import find_unfinished, recover_session
    from meeting_tui.wording import plural

    done, problems = [], []
    for info in find_unfinished(sessions_dir):
        try:
            report = recover_session(info.path)
            done.append(f"{info.id} ({plural(report.info.segment_count, 'line')})")
        except Exception as exc:
            problems.append(f"{info.id}: {exc}")
    message = ("Recovered " + ", ".join(done)) if done else "Nothing to recover."
    if problems:
        message += "\nCould not recover " + "; ".join(problems)
    return message, bool(problems)


def sessions_dir_problem(folder: Path) -> str | None:
    """Why sessions cannot be saved in ``folder`` (with the fix), or None. Creates the folder if missing."""
    import os
    import tempfile

    from meeting_tui import paths

    try:
        paths.private_dir(folder)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return (f"Sessions cannot be saved in {folder} ({exc.strerror or exc}). Set {paths.DATA_ENV} to a "
                "writable folder, or [session] dir in the settings file.")
    return None
