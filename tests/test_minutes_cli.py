"""`meeting-tui minutes` from the user's seat: a meeting spoken by espeak-ng (You on the mic, Them on the
loopback), recorded live by `record` with the real tiny.en, then `minutes`: decisions, action items with
owner and due date, open questions, each citing a line that says it; and the bad input cases."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from meeting_tui.session.journal import JOURNAL_NAME, read_journal
from meeting_tui.session.store import load_session
from tests.support.meetings import SCRIPTS, speak
from tests.support.speech import have_espeak
from tests.test_record_cli import REPO, env_for, meeting_tui

CITE = re.compile(r"\[(\d\d:\d\d:\d\d) · line (\d+)\]")


def _section(text: str, title: str) -> list[str]:
    body = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return [ln for ln in body.splitlines() if ln.startswith("- ")]


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


@pytest.fixture(scope="module")
def spoken_session(tmp_path_factory, tiny_model_path):
    if not have_espeak():
        pytest.skip("espeak-ng is not installed")
    tmp = tmp_path_factory.mktemp("minutes")
    mic, loop, _ = speak(SCRIPTS[0], tmp / "audio")
    res = subprocess.run([sys.executable, "-m", "meeting_tui", "record", "--mic-file", str(mic), "--loopback-file",
                          str(loop), "--speed", "2", "--model", tiny_model_path, "--no-partials", "--quiet"],
                         env=env_for(tmp), cwd=REPO, capture_output=True, text=True, timeout=300,
                         stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stderr
    return tmp, next((tmp / "data" / "sessions").iterdir())


@pytest.mark.model
def test_minutes_of_a_spoken_meeting_cite_their_lines(spoken_session):
    tmp, folder = spoken_session
    script = SCRIPTS[0]
    out = tmp / "out" / "minutes-copy.md"
    out.parent.mkdir()
    res = meeting_tui(tmp, "minutes", "latest", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("no LLM engine is configured") == 1
    assert re.search(r"\d+ items? dropped", res.stderr), res.stderr
    minutes = folder / "minutes.md"
    assert res.stdout.split() == [str(minutes), str(out)]
    text = minutes.read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == text
    lines = {s.id: s for s in read_journal(folder / JOURNAL_NAME).segments}
    day = load_session(folder).info.started_at.date()

    def cited(entry: str, keywords) -> None:  # the entry's citation names a line that says its words
        at, line_id = CITE.search(entry).groups()
        line = lines[int(line_id)]
        assert _clock(line.start) == at
        assert all(k in line.text.lower() for k in keywords), (entry, line.text)

    for keywords in script.decisions:
        entry = next((e for e in _section(text, "Decisions") if all(k in e.lower() for k in keywords)), None)
        assert entry, (keywords, text)
        cited(entry, keywords)
    actions = _section(text, "Action items")
    for action in script.actions:
        entry = next((e for e in actions if all(k in e.lower() for k in action.keywords)), None)
        assert entry, (action, text)
        assert entry.startswith(f"- **{action.owner}**:"), entry
        assert f"due {action.due.on(day):%a %Y-%m-%d}" in entry, (entry, day)
        cited(entry, action.keywords)
    for keywords in script.questions:
        entry = next((e for e in _section(text, "Open questions") if all(k in e.lower() for k in keywords)), None)
        assert entry, (keywords, text)
        cited(entry, keywords)
    # The export carries the minutes first.
    exported = tmp / "export.md"
    assert meeting_tui(tmp, "export", "latest", "-o", str(exported)).returncode == 0
    md = exported.read_text(encoding="utf-8")
    assert md.index("## Minutes") < md.index("### Action items") < md.index("## Transcript")


def test_minutes_bad_input_one_message_nothing_written(tmp_path, tiny_model_path):
    from meeting_tui.session.store import Session
    from meeting_tui.types import Segment, Source

    res = meeting_tui(tmp_path, "minutes", "no-such-session")
    assert res.returncode == 2 and res.stderr.count("meeting-tui:") == 1 and "Traceback" not in res.stderr, res.stderr
    sessions = tmp_path / "data" / "sessions"
    empty = Session.open(sessions, now=1_700_000_000.0)
    empty.close()
    res = meeting_tui(tmp_path, "minutes", empty.id)
    assert res.returncode == 1 and "no transcript lines" in res.stderr and "Nothing was written" in res.stderr
    assert "no LLM engine" not in res.stderr
    assert not (empty.path / "minutes.md").exists()
    live = Session.open(sessions, now=1_700_000_100.0)
    live.append_segment(Segment(Source.MIC, 0.0, 1.0, "We decided to ship it.", final=True, id=1))
    try:
        res = meeting_tui(tmp_path, "minutes", live.id)
        assert res.returncode == 1 and "still recording" in res.stderr and "stop it first" in res.stderr
        assert not (live.path / "minutes.md").exists()
    finally:
        live.close()
    # A template that does not parse: the file and the line, exit 2, nothing written.
    templates = tmp_path / "cfg" / "templates"
    templates.mkdir(parents=True)
    (templates / "standup.toml").write_text('title = "Stand-up"\n\n[[section]]\nkind = "actions\n', encoding="utf-8")
    res = meeting_tui(tmp_path, "minutes", live.id, "--template", "standup")
    assert res.returncode == 2, res.stderr
    assert f"template {templates / 'standup.toml'}, line 4" in res.stderr and res.stderr.count("meeting-tui:") == 1
    (templates / "standup.toml").write_text('title = "Stand-up"\n[[section]]\nkind = "actions"\ntitle = "Today"\n'
                                            '[[section]]\nkind = "blockers"\ntitle = "Blockers"\n', encoding="utf-8")
    res = meeting_tui(tmp_path, "minutes", live.id, "--template", "standup")
    assert res.returncode == 2 and "line 5" in res.stderr and '"blockers"' in res.stderr, res.stderr
    assert not (live.path / "minutes.md").exists()
    res = meeting_tui(tmp_path, "minutes", live.id, "--template", "nope")
    assert res.returncode == 2 and "standup" in res.stderr and "interview" in res.stderr, res.stderr
    # A user's template of the same name wins over the shipped one.
    (templates / "standup.toml").write_text('title = "Daily"\n[[section]]\nkind = "decisions"\ntitle = "Settled"\n',
                                            encoding="utf-8")
    res = meeting_tui(tmp_path, "minutes", live.id, "--template", "standup")
    assert res.returncode == 0, res.stderr
    text = (live.path / "minutes.md").read_text(encoding="utf-8")
    assert text.startswith("# Daily") and "## Settled" in text and "We decided to ship it." in text
    assert "## Action items" not in text


def test_minutes_reach_the_vault_note(tmp_path):
    from meeting_tui.memory.vault import write_note
    from meeting_tui.session.store import Session
    from meeting_tui.types import Segment, Source

    session = Session.open(tmp_path / "data" / "sessions", now=1_700_000_000.0)
    session.append_segment(Segment(Source.MIC, 0.0, 2.0, "Could you send the slides by Friday?", final=True, id=1))
    session.append_segment(Segment(Source.LOOPBACK, 3.0, 4.0, "Sure.", final=True, id=2))
    session.close()
    note = write_note(session.path, tmp_path / "vault")
    assert "send the slides" not in note.read_text(encoding="utf-8").split("## Transcript")[0]
    res = meeting_tui(tmp_path, "minutes", session.id)
    assert res.returncode == 0, res.stderr
    head = note.read_text(encoding="utf-8").split("## Transcript")[0]
    assert "**Them**: send the slides — due Fri 2023-11-17 [00:00:00 · line 1]" in head, head
