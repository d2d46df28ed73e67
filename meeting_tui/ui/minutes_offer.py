"""Minutes from the dashboard: offered after a session stops (as polish is), made on a worker thread by
the same code as `meeting-tui minutes` (default template), and said when written."""

from __future__ import annotations

from pathlib import Path


def offer_minutes(app, path: Path) -> None:
    app.notify("Minutes (decisions, action items, open questions): choose \"Minutes of the last session\" in the "
               "palette (ctrl+p).", title="Minutes", timeout=10)


def make_last_minutes(app, path: Path | None, *, template: str = "default") -> Path | None:
    """On a worker thread: write minutes.md for ``path`` and say what it holds; None when it could not."""
    from meeting_tui.minutes.build import MinutesError, make_minutes, write_minutes
    from meeting_tui.minutes.render import plural
    from meeting_tui.minutes.templates import TemplateError, load_template

    def say(text: str, severity: str = "information") -> None:
        app.call_from_thread(app.notify, text, title="Minutes", severity=severity, timeout=10)

    if path is None:
        say("No session yet: record one (r), stop it, then ask for its minutes.", "warning")
        return None
    try:
        minutes = make_minutes(path, load_template(template), app.settings.ui.labels.as_dict())
        target = write_minutes(minutes)
    except (MinutesError, TemplateError) as exc:
        say(f"{exc}.", "warning")
        return None
    except OSError as exc:
        say(f"Cannot write the minutes: {exc.strerror or exc}.", "error")
        return None
    kinds = {k: sum(i.kind == k for i in minutes.items) for k in ("decision", "action", "question")}
    say(f"{plural(kinds['decision'], 'decision')}, {plural(kinds['action'], 'action item')}, "
        f"{plural(kinds['question'], 'open question')} ({plural(minutes.dropped, 'item')} dropped: their line did not "
        f"say them); written to {target}. Rule-based: no LLM engine is configured.")
    return target
