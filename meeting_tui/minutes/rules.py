"""The deterministic extractor (no LLM): decisions, action items (commitments and requests, with owner and
due date) and open questions, from the transcript's words and speaker labels, sentence by sentence.

Each item keeps the id and time of the line it came from and the words it rests on (``support``), so that
``cite.py`` can check it against that line. The rules are listed in docs/minutes.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from meeting_tui.minutes.dates import find_due, resolve
from meeting_tui.minutes.source import Line

DECISION = re.compile(
    r"\b(?:we(?: have|'ve)? decided|we decide|(?:we'll|we will|let's|let us|we're going to|we are going to) go with"
    r"|we(?: have|'ve)? agreed|(?:it's|it is) agreed|agreed|the decision is|we(?:'re| are) going with"
    r"|(?:we'll|we will) use|final answer is)\b", re.IGNORECASE)
COMMIT = re.compile(r"\b(?:I will|I'll|I am going to|I'm going to|I can take care of|I'll take care of)\s+(?P<task>.+)",
                    re.IGNORECASE)
REQUEST = re.compile(r"\b(?:can you|could you|would you|will you|can you please|could you please|please)\s+(?P<task>.+)",
                     re.IGNORECASE)
NOT_A_TASK = re.compile(r"^(?:be |have |say |think |try |see |let you know|get back|need |just |probably |maybe )",
                        re.IGNORECASE)
SENTENCE = re.compile(r"[^.!?]+[.!?]*")
ANSWER_START = re.compile(r"^(?:yes|yeah|yep|no|nope|sure|of course|i think|i guess|probably|maybe)\b",
                          re.IGNORECASE)
_STOP = frozenset("""a an the and or but so to of in on at for with by is are was were be been it this that
these those i you we they he she me us them my your our their do does did can could would will should shall
what when where who why how which there here if not no yes please just about from as up down out over""".split())


@dataclass
class Item:
    kind: str  # decision, action, question, note, mark
    text: str
    line_id: int | None
    at: float
    owner: str | None = None
    due: date | None = None
    support: str = ""  # the words of the cited line this item rests on
    source: str = "rule"  # "rule", or "flag"/"note" for the user's own


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.findall(text) if s.strip()]


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def content_words(text: str) -> set[str]:
    return {w for w in words(text) if w not in _STOP and len(w) > 2}


def _task(raw: str, meeting: datetime) -> tuple[str, date | None]:
    """The task without its due phrase and trailing punctuation, and the due date it named."""
    due = None
    match = find_due(raw)
    if match:
        due = resolve(match.group(1), meeting)
        raw = raw[:match.start()] + raw[match.end():]
    task = re.sub(r"\s+", " ", raw).strip(" ,;:.?!")
    task = re.sub(r"^(?:please|also|then)\s+", "", task, flags=re.IGNORECASE)
    return task, due


def _addressee(lines: list[Line], index: int) -> str | None:
    """Whom a request at ``lines[index]`` is put to: the next other speaker, else the previous one."""
    asker = lines[index].who
    for j in (*range(index + 1, min(len(lines), index + 4)), *range(index - 1, max(-1, index - 4), -1)):
        if lines[j].who != asker:
            return lines[j].who
    return None


def _answered(lines: list[Line], index: int, question: str) -> bool:
    """A question is answered when a reply (the lines by others before the asker speaks again, up to
    three) starts like an answer or shares a content word with it (and is not itself a question)."""
    asker, asked = lines[index].who, content_words(question)
    replies = []
    for ln in lines[index + 1:index + 4]:
        if ln.who == asker:  # the asker moved on: later lines answer something else
            break
        replies.append(ln)
    for reply in replies:
        text = reply.text.strip()
        if ANSWER_START.match(text) or (asked & content_words(text) and not text.endswith("?")):
            return True
    return False


def extract(lines: list[Line], meeting: datetime) -> list[Item]:
    items: list[Item] = []
    for i, line in enumerate(lines):
        for sentence in sentences(line.text):
            if DECISION.search(sentence):
                items.append(Item("decision", sentence.rstrip(), line.id, line.at, support=sentence))
                continue
            commit, request = COMMIT.search(sentence), REQUEST.search(sentence)
            if commit and not NOT_A_TASK.match(commit.group("task")):
                task, due = _task(commit.group("task"), meeting)
                if task:
                    items.append(Item("action", task, line.id, line.at, owner=line.who, due=due, support=task))
                    continue
            if request and not NOT_A_TASK.match(request.group("task")):
                task, due = _task(request.group("task"), meeting)
                owner = _addressee(lines, i)
                if task and owner:
                    items.append(Item("action", task, line.id, line.at, owner=owner, due=due, support=task))
                    continue
            if sentence.endswith("?") and len(words(sentence)) >= 3 and not _answered(lines, i, sentence):
                items.append(Item("question", sentence, line.id, line.at, support=sentence))
    return items
