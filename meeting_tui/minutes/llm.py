"""What the language-model engines share: the prompt (the template's sections and instructions, the lines
numbered), splitting a long transcript into parts that fit the model's context with room for the answer,
reading the JSON answer, and merging the parts' items and summaries. Every item names the number of the
line it comes from; ``cite.py`` then keeps only the items their line supports.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from meeting_tui.minutes.errors import Cancelled
from meeting_tui.minutes.render import clock
from meeting_tui.minutes.rules import Item
from meeting_tui.minutes.dates import find_due, resolve
from meeting_tui.minutes.source import Line, MeetingText
from meeting_tui.minutes.templates import Template

Progress = Callable[[float, str], None]
ANSWER_TOKENS = 512  # room kept for the answer in each part's context
SECTION_ITEM = {"decisions": "decision", "actions": "action", "questions": "question"}
_KIND_WORDS = {"decision": "decision", "decisions": "decision", "action": "action", "actions": "action",
               "action item": "action", "action items": "action", "task": "action", "tasks": "action",
               "question": "question", "questions": "question", "open question": "question",
               "open questions": "question"}
_DESCRIBE = {"decisions": "what was decided or agreed", "actions": "a task someone will do: owner, task, due date as said",
             "questions": "a question raised and not answered"}


def system_prompt() -> str:
    return ("You take the minutes of a meeting from its transcript. You answer with one JSON object and nothing "
            "else. You only list what the transcript says, each item with the number of the line that says it.")


def user_prompt(numbered: list[tuple[int, Line]], template: Template) -> str:
    kinds = [s for s in template.sections if s.kind in SECTION_ITEM]
    wanted = "\n".join(f'- "{s.kind}": {s.instructions or _DESCRIBE[s.kind]}' for s in kinds)
    speakers = sorted({ln.who for _, ln in numbered})
    transcript = "\n".join(f"[{n}] {clock(ln.at)} {ln.who}: {ln.text}" for n, ln in numbered)
    shape = ('{"summary": "two sentences", "items": [{"kind": "actions", "line": 12, "text": "send the slides", '
             '"owner": "Them"}]}')
    return (f"Transcript (each line: [number] time speaker: words):\n{transcript}\n\nList these items:\n{wanted}\n\n"
            f"The owner of an action is the speaker who will do it, one of: {', '.join(speakers)} (or a name said in "
            f"the line). Use the words of the line. Answer with JSON like: {shape}")


def split(numbered: list[tuple[int, Line]], fits: Callable[[list[tuple[int, Line]]], bool]) -> list[list[tuple[int, Line]]]:
    """The lines in consecutive parts, each as long as ``fits`` allows (at least one line each)."""
    out: list[list[tuple[int, Line]]] = []
    current: list[tuple[int, Line]] = []
    for entry in numbered:
        if current and not fits(current + [entry]):
            out.append(current)
            current = []
        current.append(entry)
    if current:
        out.append(current)
    return out


def parse_answer(text: str) -> dict[str, Any] | None:
    """The first JSON object in a model's answer (models wrap it in prose or code fences), or None."""
    decoder = json.JSONDecoder()
    text = re.sub(r"```(?:json)?", "", text)
    for match in re.finditer(r"\{", text):
        try:
            found, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(found, dict):
            return found
    return None


def items_from(answer: dict[str, Any] | None, part: list[tuple[int, Line]], meeting: MeetingText) -> tuple[list[Item], int]:
    """The answer's items placed on their lines, and how many named no line of the part (dropped). The due
    date is read from the cited line, never taken from the model."""
    if not answer:
        return [], 0
    by_n = dict(part)
    out, unplaced = [], 0
    raws = answer.get("items")
    for raw in raws if isinstance(raws, list) else []:
        if not isinstance(raw, dict):
            unplaced += 1
            continue
        kind = _KIND_WORDS.get(str(raw.get("kind", "")).strip().lower())
        try:
            line = by_n.get(int(raw.get("line")))
        except (TypeError, ValueError):
            line = None
        text = " ".join(str(raw.get("text") or "").split()).rstrip(".")
        if kind is None or line is None or not text:
            unplaced += 1
            continue
        owner = " ".join(str(raw.get("owner") or "").split()) if kind == "action" else ""
        due = None
        if kind == "action":
            found = find_due(line.text)
            due = resolve(found.group(1), meeting.started) if found else None
        out.append(Item(kind, text, line.id, line.at, owner=owner or None, due=due, support=text, source="llm"))
    return out, unplaced


class ChatEngine:
    """A language model that answers chat messages; subclasses give ``chat`` and may give ``count_tokens``."""

    name = "llm"
    model = ""
    context_tokens = 2048

    def __init__(self) -> None:
        self.unplaced = 0  # items that named no line of their part (dropped; counted with the unsupported)
        self.unreadable = 0  # parts whose answer held no JSON object

    def chat(self, messages: list[dict[str, str]], max_tokens: int, cancelled: Callable[[], bool]) -> str:
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        return len(text) // 3 + 1  # an endpoint's tokenizer is unknown: 3 characters a token is on the safe side

    def prepare(self, progress: Progress) -> None:
        """Load or reach the model (before the first part)."""

    def _fits(self, template: Template) -> Callable[[list[tuple[int, Line]]], bool]:
        budget = self.context_tokens - ANSWER_TOKENS - self.count_tokens(system_prompt()) - 16

        def fits(numbered: list[tuple[int, Line]]) -> bool:
            return self.count_tokens(user_prompt(numbered, template)) <= budget
        return fits

    def extract(self, meeting: MeetingText, template: Template, progress: Progress,
                cancelled: Callable[[], bool]) -> tuple[list[Item], str | None]:
        self.unplaced = self.unreadable = 0
        self.prepare(progress)
        numbered = list(enumerate(meeting.lines, 1))
        parts = split(numbered, self._fits(template))
        items: list[Item] = []
        summaries: list[str] = []
        for n, part in enumerate(parts):
            if cancelled():
                raise Cancelled("minutes cancelled; nothing was written")
            progress(n / (len(parts) + 1), f"lines {part[0][0]}-{part[-1][0]} of {len(numbered)} "
                                           f"(part {n + 1} of {len(parts)})")
            messages = [{"role": "system", "content": system_prompt()},
                        {"role": "user", "content": user_prompt(part, template)}]
            answer = parse_answer(self.chat(messages, ANSWER_TOKENS, cancelled))
            if answer is None:
                self.unreadable += 1
            found, unplaced = items_from(answer, part, meeting)
            items += found
            self.unplaced += unplaced
            if answer and isinstance(answer.get("summary"), str) and answer["summary"].strip():
                summaries.append(" ".join(answer["summary"].split()))
        summary = self._summary(summaries, cancelled)
        progress(1.0, "done")
        return _dedupe(items), summary

    def _summary(self, parts: list[str], cancelled: Callable[[], bool]) -> str | None:
        """One summary from the parts' (a part's own when there is one; else asked again, if it fits)."""
        if len(parts) <= 1:
            return parts[0] if parts else None
        text = "\n".join(f"- {p}" for p in parts)
        ask = (f"Summaries of consecutive parts of one meeting:\n{text}\n\nWrite one summary of the whole meeting "
               'in two or three sentences. Answer with JSON: {"summary": "..."}')
        if self.count_tokens(ask) + ANSWER_TOKENS > self.context_tokens or cancelled():
            return " ".join(parts)
        answer = parse_answer(self.chat([{"role": "system", "content": system_prompt()},
                                         {"role": "user", "content": ask}], 200, cancelled))
        summary = (answer or {}).get("summary")
        return " ".join(summary.split()) if isinstance(summary, str) and summary.strip() else " ".join(parts)


def _dedupe(items: list[Item]) -> list[Item]:
    """One of each item a model named twice (parts do not overlap, but a model repeats itself)."""
    seen: set[tuple[str, int | None, str, str | None]] = set()
    out = []
    for item in items:
        key = (item.kind, item.line_id, " ".join(item.text.lower().split()), item.owner)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
