"""Scripted two-party meetings with known minutes, spoken by espeak-ng: "You" on the mic track, "Them" on
the loopback track, turn by turn. Used by tests/test_minutes_cli.py and bench/minutes_bench.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from meeting_tui.types import SESSION_RATE
from tests.support.speech import say, write_wav


@dataclass(frozen=True)
class Due:
    """A due date relative to the meeting's day: ``days`` ahead, or the next ``weekday`` (0 = Monday)."""

    days: int | None = None
    weekday: int | None = None

    def on(self, day: date) -> date:
        if self.days is not None:
            return day + timedelta(days=self.days)
        ahead = (self.weekday - day.weekday()) % 7 or 7
        return day + timedelta(days=ahead)


@dataclass(frozen=True)
class Action:
    owner: str
    keywords: tuple[str, ...]  # words the task must contain
    due: Due | None = None


@dataclass
class Script:
    name: str
    turns: list[tuple[str, str]]  # (speaker "You"/"Them", sentence)
    decisions: list[tuple[str, ...]] = field(default_factory=list)  # keywords of each decision
    actions: list[Action] = field(default_factory=list)
    questions: list[tuple[str, ...]] = field(default_factory=list)  # keywords of each open question


SCRIPTS = [
    Script(
        "product sync",
        [("You", "Good morning, thanks for joining the call."),
         ("Them", "Morning. We need to talk about the launch date."),
         ("You", "We decided to launch the product in March."),
         ("Them", "Good. I will send the release notes on Friday."),
         ("You", "Can you update the pricing page tomorrow?"),
         ("Them", "Sure, no problem."),
         ("You", "What is the budget for the marketing campaign?"),
         ("Them", "I have not seen the numbers yet."),
         ("You", "We agreed on the blue design for the website."),
         ("You", "I will book the meeting room for next week.")],
        decisions=[("launch", "march"), ("blue", "design")],
        actions=[Action("Them", ("send", "release"), Due(weekday=4)),
                 Action("Them", ("pricing", "page"), Due(days=1)),
                 Action("You", ("meeting", "room"), Due(days=7))],
        questions=[("budget", "marketing")],
    ),
    Script(
        "hiring",
        [("Them", "Thanks for making time today."),
         ("You", "We agreed to hire two more engineers."),
         ("Them", "Could you write the job description by Monday?"),
         ("You", "Yes. I will also call the recruiter tomorrow."),
         ("Them", "Who will run the technical interviews?"),
         ("You", "That is a good point, I do not know yet."),
         ("Them", "I will prepare the coding exercise by Thursday.")],
        decisions=[("hire", "engineers")],
        actions=[Action("You", ("job", "description"), Due(weekday=0)),
                 Action("You", ("call", "recruiter"), Due(days=1)),
                 Action("Them", ("coding", "exercise"), Due(weekday=3))],
        questions=[("technical", "interviews")],  # "I do not know yet" leaves it open
    ),
    Script(
        "support review",
        [("You", "Let us look at the support queue."),
         ("Them", "The queue has grown a lot this month."),
         ("You", "Please send me the list of open tickets today."),
         ("Them", "Okay, I can do that."),
         ("You", "We decided to move the help desk to the new tool."),
         ("Them", "When will the new tool be ready?"),
         ("You", "I will check with the vendor on Wednesday.")],
        decisions=[("help", "desk")],
        actions=[Action("Them", ("list", "tickets"), Due(days=0)),
                 Action("You", ("check", "vendor"), Due(weekday=2))],
        questions=[("tool", "ready")],
    ),
    Script(  # answers that reuse the question's words: the echo filter must not take them for echo
        "documentation",
        [("Them", "Let us plan the documentation."),
         ("You", "We decided to publish the guide online."),
         ("Them", "Will you write the user guide by Monday?"),
         ("You", "I will write the user guide by Monday."),
         ("Them", "Can you review the install steps tomorrow?"),
         ("You", "I can review the install steps tomorrow."),
         ("Them", "I will fix the screenshots by Friday.")],
        decisions=[("publish", "guide")],
        actions=[Action("You", ("user", "guide"), Due(weekday=0)),
                 Action("You", ("install", "steps"), Due(days=1)),
                 Action("Them", ("fix", "screenshots"), Due(weekday=4))],
    ),
]


def speak(script: Script, folder: Path, pause_s: float = 1.2, lead_s: float = 0.5) -> tuple[Path, Path, float]:
    """The script as two tracks of equal length (mic.wav for You, loopback.wav for Them); their seconds."""
    mic, loop = [np.zeros(int(lead_s * SESSION_RATE), np.float32)], [np.zeros(int(lead_s * SESSION_RATE), np.float32)]
    gap = np.zeros(int(pause_s * SESSION_RATE), np.float32)
    for who, sentence in script.turns:
        audio = say(sentence, "en-us" if who == "You" else "en-gb")
        silence = np.zeros_like(audio)
        mic += [audio if who == "You" else silence, gap]
        loop += [audio if who != "You" else silence, gap]
    mic_audio, loop_audio = np.concatenate(mic), np.concatenate(loop)
    return (write_wav(folder / "mic.wav", mic_audio), write_wav(folder / "loopback.wav", loop_audio),
            len(mic_audio) / SESSION_RATE)
