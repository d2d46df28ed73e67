"""Tell the user's answer to a "Them" question from an echo of that question.

An answer often reuses the question's words ("Will you write the guide by Monday?" -> "I will write the
guide by Monday"), so the word score alone calls it echo and the commitment the minutes need is lost. An
echo is the far side's words again, a fraction of a second behind them: it overlaps the loopback line in
time and keeps its persons and its form. An answer starts once the question is (nearly) over and changes
it: a person shift (you -> I/we, your -> my), or a question answered by a statement.
"""

from __future__ import annotations

import difflib

from meeting_tui.types import Segment

FIRST_PERSON = frozenset("i i'm im i'll ill i've ive i'd me my mine myself we we'll we're we've us our ours".split())
SECOND_PERSON = frozenset("you you're youre you'll youll you've you'd your yours yourself yourselves".split())
#: An answer may start this much before the question's end as transcribed: segment times are only
#: about this precise, and a user can start talking over the question's last word.
START_SLACK_S = 0.5


def _person_shift(mic_words: list[str], loop_words: list[str]) -> bool:
    mine = {w for w in mic_words if w in FIRST_PERSON} - set(loop_words)
    theirs = {w for w in loop_words if w in SECOND_PERSON} - set(mic_words)
    return bool(mine) and bool(theirs)


def _question_answered(mic: Segment, mic_words: list[str], loop: list[Segment], loop_words: list[str]) -> bool:
    """A statement after a question that is not just a run of its words in order (an echo's tail is)."""
    if not loop[-1].text.rstrip().endswith("?") or mic.text.rstrip().endswith("?"):
        return False
    blocks = difflib.SequenceMatcher(None, mic_words, loop_words, autojunk=False).get_matching_blocks()
    return sum(b.size for b in blocks) < len(mic_words)


def is_answer(mic: Segment, mic_words: list[str], loop: list[tuple[Segment, list[str]]],
              echo_delay_s: float = 0.0) -> bool:
    """``loop``: the loopback lines the mic line's words were found in, with their words, oldest first. Only
    those that started before the mic line can be what it repeats or answers (a later line sharing an "I" is
    neither). An echo cannot start after the line it repeats ended (plus the measured echo delay); an answer
    starts there and changes it."""
    before = [(s, w) for s, w in loop if s.start <= mic.start + START_SLACK_S]
    if not before:
        return False
    lines = [s for s, _ in before]
    loop_words = [w for _, ws in before for w in ws]
    after = mic.start >= max(s.end for s in lines) + echo_delay_s - START_SLACK_S
    return after and (_person_shift(mic_words, loop_words) or _question_answered(mic, mic_words, lines, loop_words))
