"""The rule-based extractor's rules, line by line (the CLI test drives it on real speech)."""

from __future__ import annotations

from datetime import date, datetime

from meeting_tui.minutes.cite import keep_cited, supported
from meeting_tui.minutes.dates import find_due, resolve
from meeting_tui.minutes.rules import Item, extract
from meeting_tui.minutes.source import Line
from meeting_tui.minutes.templates import TemplateError, parse, shipped_names

THURSDAY = datetime(2026, 12, 3, 10, 0)


def _due(text: str) -> date | None:
    match = find_due(text)
    return resolve(match.group(1), THURSDAY) if match else None


def test_due_dates_resolve_against_the_meeting_day():
    assert _due("by Friday") == date(2026, 12, 4)
    assert _due("on Thursday") == date(2026, 12, 10)  # said on a Thursday: the next one
    assert _due("tomorrow") == date(2026, 12, 4)
    assert _due("by end of the week") == date(2026, 12, 4)
    assert _due("next week") == date(2026, 12, 10)
    assert _due("by the 15th") == date(2026, 12, 15)
    assert _due("by December 20th") == date(2026, 12, 20)
    assert _due("when we can") is None


def test_owners_are_the_committer_or_the_addressee():
    lines = [Line(1, 0, "You", "Could you send the contract by Monday?"), Line(2, 3, "Sales lead", "Sure."),
             Line(3, 6, "Them 2", "I'll review the draft tomorrow. I'll think about it.")]
    actions = [i for i in extract(lines, THURSDAY) if i.kind == "action"]
    assert [(a.owner, a.text, a.due, a.line_id) for a in actions] == [
        ("Sales lead", "send the contract", date(2026, 12, 7), 1),
        ("Them 2", "review the draft", date(2026, 12, 4), 3)]  # "I'll think about it" is no task


def test_decisions_and_open_questions():
    lines = [Line(1, 0, "You", "We agreed to move the launch."), Line(2, 2, "Them", "Who owns the budget?"),
             Line(3, 4, "You", "Nobody knows."), Line(4, 6, "Them", "Is the venue booked?"),
             Line(5, 8, "You", "Yes, it is.")]
    items = extract(lines, THURSDAY)
    assert [(i.kind, i.line_id) for i in items] == [("decision", 1), ("question", 2)]  # line 4 was answered


def test_an_item_whose_line_does_not_say_it_is_dropped():
    line = Line(7, 1.0, "You", "I will send the report.")
    assert supported(Item("action", "send the report", 7, 1.0, support="send the report"), line)
    kept, dropped = keep_cited([Item("action", "x", 7, 1.0, support="send the invoice"),
                                Item("action", "y", 8, 1.0, support="send the report"),
                                Item("action", "z", 7, 1.0, support="send the report")], {7: line}, {})
    assert [i.text for i in kept] == ["z"] and dropped == 2


def test_shipped_templates_parse_and_bad_ones_name_the_line():
    assert shipped_names() == ["default", "interview", "one-to-one", "planning", "standup"]
    try:
        parse('title = "x"\n[[section]]\nkind = "actions"\ntitle = 3\n', "t", "t.toml")
    except TemplateError as exc:
        assert "t.toml, line 2" in str(exc) and "title" in str(exc)
    else:
        raise AssertionError("a section without a title string parsed")
