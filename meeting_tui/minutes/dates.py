"""Due dates: "by Friday", "tomorrow", "next week", "on Monday", "by the 15th" -> a date, resolved
against the meeting's date with dateparser (relative to that day, preferring the future)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import dateparser

_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_MONTH = r"(?:january|february|march|april|may|june|july|august|september|october|november|december)"
# The phrases we resolve, longest first; a leading "by/on/before/until/due" is part of the match.
DUE = re.compile(
    r"\b(?:(?:by|on|before|until|due|for|in)\s+(?:the\s+)?)?("
    r"end of (?:the |this )?(?:day|week|month)|tomorrow|today|tonight|next week|next month|this week"
    rf"|(?:next |this )?{_WEEKDAY}(?: morning| afternoon| evening)?"
    rf"|{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?|\d{{1,2}}(?:st|nd|rd|th)(?: of {_MONTH})?"
    r")\b", re.IGNORECASE)


def find_due(text: str) -> re.Match | None:
    return DUE.search(text)


def resolve(phrase: str, meeting: datetime) -> date | None:
    """The date ``phrase`` (one DUE matched) names, seen from the meeting's day; None when it names none."""
    p = phrase.lower().strip()
    day = meeting.date()
    if p in ("today", "tonight", "end of day", "end of the day", "end of this day"):
        return day
    if p.startswith("end of") and p.endswith("week"):
        return day + timedelta(days=(4 - day.weekday()) % 7)  # that week's Friday
    if p.startswith("end of") and p.endswith("month"):
        nxt = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        return nxt - timedelta(days=1)
    if p == "this week":
        return day + timedelta(days=(4 - day.weekday()) % 7)
    if p.startswith("this "):
        p = p[5:]
    p = re.sub(r" (morning|afternoon|evening)$", "", p)
    if re.fullmatch(r"\d{1,2}(st|nd|rd|th)", p):
        p = f"{p} of {meeting:%B}"
    base = datetime(day.year, day.month, day.day, 12, 0)
    parsed = dateparser.parse(p, languages=["en"], settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future"})
    if parsed is None:
        return None
    due = parsed.date()
    if due <= day and re.fullmatch(_WEEKDAY, p):  # "on Friday" said on a Friday: the next one
        due += timedelta(days=7)
    return due
