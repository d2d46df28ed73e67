"""Minutes as Markdown, section by section in the template's order; every item cites its line as
``[hh:mm:ss · line N]``."""

from __future__ import annotations

from collections import Counter

from meeting_tui.minutes.rules import Item
from meeting_tui.minutes.source import MeetingText
from meeting_tui.minutes.templates import Template


def clock(seconds: float) -> str:
    total = int(max(0.0, seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def cite(item: Item) -> str:
    return f"[{clock(item.at)} · line {item.line_id}]" if item.line_id is not None else f"[{clock(item.at)}]"


def _summary(meeting: MeetingText, items: list[Item]) -> list[str]:
    counts = Counter(i.kind for i in items)
    speakers = Counter(line.who for line in meeting.lines)
    span = meeting.lines[-1].at if meeting.lines else 0.0
    who = ", ".join(f"{name} {plural(n, 'line')}" for name, n in speakers.most_common())
    out = [f"{plural(len(meeting.lines), 'line')} over {clock(span)} ({who}): {plural(counts['decision'], 'decision')}, "
           f"{plural(counts['action'], 'action item')}, {plural(counts['question'], 'open question')}, "
           f"{plural(counts['note'] + counts['mark'], 'note')}."]
    longest = sorted(meeting.lines, key=lambda ln: len(ln.text), reverse=True)[:2]
    for line in sorted(longest, key=lambda ln: ln.at):
        out.append(f"- {line.who}: {line.text} [{clock(line.at)} · line {line.id}]")
    return out


def _action(item: Item) -> str:
    due = f" — due {item.due:%a %Y-%m-%d}" if item.due else ""
    flagged = " (flagged)" if item.source == "flag" else ""
    return f"- **{item.owner or 'unassigned'}**: {item.text}{due}{flagged} {cite(item)}"


def _plain(item: Item) -> str:
    flagged = " (flagged)" if item.source == "flag" else ""
    return f"- {item.text}{flagged} {cite(item)}"


def _note(item: Item) -> str:
    what = "Mark" if item.kind == "mark" else "Note"
    return f"- {what} at {clock(item.at)}" + (f": {item.text}" if item.text else "")


def render(meeting: MeetingText, template: Template, items: list[Item], summary: str | None = None) -> str:
    """``summary``: a language model's summary, put first in the summary section (it cites no line)."""
    lines = [f"# {template.title} — {meeting.started:%Y-%m-%d %H:%M}", ""]
    if meeting.transcript:
        lines += [f"From the transcript {meeting.transcript}.", ""]
    by_kind = {"decisions": "decision", "actions": "action", "questions": "question"}
    for section in template.sections:
        lines += [f"## {section.title}", ""]
        if section.kind == "summary":
            body = ([f"{summary} (the model's summary)", ""] if summary else []) + _summary(meeting, items)
        elif section.kind == "notes":
            body = [_note(i) for i in items if i.kind in ("note", "mark")]
        else:
            chosen = [i for i in items if i.kind == by_kind[section.kind]]
            body = [(_action if section.kind == "actions" else _plain)(i) for i in chosen]
        lines += (body or ["- (none)"]) + [""]
    return "\n".join(lines).rstrip("\n") + "\n"
