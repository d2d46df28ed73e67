"""The language-model engines from the user's seat (`meeting-tui minutes` as a subprocess): the local engine
loads and prompts a real GGUF model (SmolLM2-135M from PyPI) on the CPU; the OpenAI-compatible engine talks
to a real server process on localhost (tests/support/openai_server.py) with its key from the environment; a
long transcript is split to fit the context and merged; a model's item whose line does not support it is
dropped and counted; a model file that is missing, cut short or not a model, and an endpoint that refuses
or is too slow, are one message, a non-zero exit and nothing written."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from meeting_tui.minutes.cite import MODEL_SUPPORT, content_stems
from meeting_tui.session.store import Session
from meeting_tui.types import Segment, Source
from tests.support.smollm2_model import smollm2_gguf  # noqa: F401 (fixture)
from tests.test_record_cli import REPO, env_for

CACHE = REPO / ".models" / "minutes-cache"  # the local engine's converted model, kept between runs (git-ignored)
CITE = re.compile(r"^- (?:\*\*(?P<owner>[^*]+)\*\*: )?(?P<text>.+?)(?: — due (?P<due>\w+ [\d-]+))? \[\d\d:\d\d:\d\d · line (?P<line>\d+)\]$")
LINES = [
    (Source.MIC, 1.0, "Good morning, let us start with the launch plan."),
    (Source.LOOPBACK, 5.0, "We decided to launch the beta in March."),
    (Source.MIC, 9.0, "I will send the press release by Thursday."),
    (Source.LOOPBACK, 13.0, "What budget do we have for the advertising?"),
    (Source.MIC, 17.0, "I am not sure yet."),
]


def cli(tmp_path, *args, timeout=300, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meeting_tui", *args], cwd=REPO, capture_output=True, text=True,
                          env=env_for(tmp_path, MEETING_TUI_CACHE_DIR=str(CACHE), **env), timeout=timeout,
                          stdin=subprocess.DEVNULL)


def settings_file(tmp_path, text: str) -> Path:
    path = tmp_path / "cfg" / "settings.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_session(tmp_path, lines=LINES) -> Session:
    session = Session.open(tmp_path / "data" / "sessions", now=1_700_000_000.0)  # Tue 2023-11-14
    for n, (source, start, text) in enumerate(lines, start=1):
        session.append_segment(Segment(source, start, start + 2.0, text, final=True, id=n))
    session.close()
    return session


class Server:
    """tests/support/openai_server.py as a process; ``url`` is its API base."""

    def __init__(self, tmp_path, *args: str) -> None:
        self.log = tmp_path / f"requests-{len(list(tmp_path.glob('requests-*')))}.jsonl"
        self.log.touch()
        self.proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "support" / "openai_server.py"), "--log",
                                      str(self.log), *args], env=env_for(tmp_path, MEETING_TUI_CACHE_DIR=str(CACHE)),
                                     cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on "), (line, self.proc.stderr.read() if self.proc.poll() is not None else "")
        self.url = f"http://127.0.0.1:{int(line.split()[-1])}/v1"

    def requests(self) -> list[dict]:
        return [json.loads(x) for x in self.log.read_text().splitlines()]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def server_factory(tmp_path):
    servers: list[Server] = []

    def start(*args: str) -> Server:
        servers.append(Server(tmp_path, *args))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def cited_items(session: Session) -> list[dict]:
    """The minutes' items that cite a line, each with that line's text."""
    said = {n: text for n, (_, _, text) in enumerate(LINES, start=1)}
    out = []
    for entry in (session.path / "minutes.md").read_text(encoding="utf-8").splitlines():
        m = CITE.match(entry)
        if m and not entry.startswith("- You:") and not entry.startswith("- Them:"):  # the summary quotes lines
            out.append({**m.groupdict(), "quote": said.get(int(m["line"]), "")})
    return out


def assert_every_item_supported_by_its_line(session: Session) -> None:
    for item in cited_items(session):
        text = item["text"].removesuffix(" (flagged)")
        need = content_stems(text)
        assert need and len(need & content_stems(item["quote"])) / len(need) >= MODEL_SUPPORT, item


def one_message(res: subprocess.CompletedProcess) -> bool:
    return res.stderr.count("meeting-tui:") == 1 and "Traceback" not in res.stderr and "Nothing was written" in res.stderr


@pytest.mark.slow
def test_local_engine_loads_and_prompts_a_gguf_model_once_converted(tmp_path, smollm2_gguf):
    session = make_session(tmp_path)
    settings_file(tmp_path, f'[minutes]\nengine = "local"\nmodel_file = "{smollm2_gguf}"\nthreads = 2\n')
    res = cli(tmp_path, "minutes", session.id)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [str(session.path / "minutes.md")]
    assert f"minutes by local ({smollm2_gguf.name})" in res.stderr
    assert "[minutes]   0% lines 1-5 of 5 (part 1 of 1)" in res.stderr  # the transcript went to the model
    assert "no LLM engine is configured" not in res.stderr  # said only for the rules
    assert_every_item_supported_by_its_line(session)
    again = cli(tmp_path, "minutes", session.id, "--engine", "local")  # the conversion is kept: not done twice
    assert again.returncode == 0 and "converting" not in again.stderr and "loading" in again.stderr, again.stderr
    rules = cli(tmp_path, "minutes", session.id, "--engine", "rules")  # --engine overrides the settings
    assert rules.returncode == 0 and "no LLM engine is configured" in rules.stderr
    assert "- **You**: send the press release — due Thu 2023-11-16 [00:00:09 · line 3]" in \
        (session.path / "minutes.md").read_text(encoding="utf-8")


def test_a_model_file_missing_cut_short_or_not_a_model_is_one_message(tmp_path, smollm2_gguf):
    session = make_session(tmp_path)
    cut = tmp_path / "cut.gguf"
    with open(smollm2_gguf, "rb") as src:
        cut.write_bytes(src.read(4 << 20))
    text = tmp_path / "notes.gguf"
    text.write_text("these are my notes, not a model\n")
    cases = {tmp_path / "missing.gguf": "does not exist", cut: "truncated", text: "is not a GGUF model file",
             "hf:someone/some-model/model.gguf": "cannot download the minutes model", "": "model_file is empty"}
    for path, words in cases.items():
        settings_file(tmp_path, f'[minutes]\nengine = "local"\nmodel_file = "{path}"\n')
        res = cli(tmp_path, "minutes", session.id)
        assert res.returncode == 1 and words in res.stderr and one_message(res), (path, res.stderr)
    assert not list(session.path.glob("minutes*"))


@pytest.mark.slow
def test_openai_endpoint_against_a_real_model_server_with_the_key_from_the_environment(tmp_path, smollm2_gguf,
                                                                                        server_factory):
    server = server_factory("--model", str(smollm2_gguf), "--key", "s3cret")
    session = make_session(tmp_path)
    config = settings_file(tmp_path, f'[minutes]\nengine = "openai"\nendpoint = "{server.url}"\nmodel = "smollm2"\n'
                                     'api_key_env = "MT_TEST_KEY"\n')
    res = cli(tmp_path, "minutes", session.id, MT_TEST_KEY="s3cret")
    assert res.returncode == 0, res.stderr
    assert "minutes by openai (smollm2)" in res.stderr
    assert_every_item_supported_by_its_line(session)
    [request] = server.requests()
    assert request["auth"] == "Bearer s3cret" and request["body"]["temperature"] == 0
    assert request["body"]["response_format"] == {"type": "json_object"}
    assert "[3] 00:00:09 You: I will send the press release by Thursday." in request["body"]["messages"][-1]["content"]
    minutes = (session.path / "minutes.md").read_text(encoding="utf-8")
    for written in (config, session.path / "minutes.md"):
        assert "s3cret" not in written.read_text()  # the key stays in the environment
    res = cli(tmp_path, "minutes", session.id)  # no key: refused, said once, the minutes kept as they were
    assert res.returncode == 1 and "HTTP 401" in res.stderr and one_message(res), res.stderr
    assert (session.path / "minutes.md").read_text(encoding="utf-8") == minutes


def test_a_model_item_its_line_does_not_support_is_dropped_and_counted(tmp_path, server_factory):
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps({"summary": "The beta launches in March.", "items": [
        {"kind": "decisions", "line": 2, "text": "launch the beta in March"},  # line 2 says it
        {"kind": "actions", "line": 3, "text": "send the press release", "owner": "You", "due": "tomorrow"},
        {"kind": "actions", "line": 1, "text": "hire two engineers", "owner": "Them"},  # line 1 says nothing of it
        {"kind": "actions", "line": 3, "text": "send the press release", "owner": "Bob"},  # no Bob in the meeting
        {"kind": "questions", "line": 99, "text": "what about the budget"},  # no such line
    ]}))
    server = server_factory("--answer", str(answer), "--no-json-mode")
    session = make_session(tmp_path)
    settings_file(tmp_path, f'[minutes]\nengine = "openai"\nendpoint = "{server.url}"\nmodel = "smollm2"\n')
    res = cli(tmp_path, "minutes", session.id, "-o", str(tmp_path / "copy.md"))
    assert res.returncode == 0, res.stderr
    assert "1 decision, 1 action item, 0 open questions; 3 items dropped" in res.stderr, res.stderr
    text = (session.path / "minutes.md").read_text(encoding="utf-8")
    assert (tmp_path / "copy.md").read_text(encoding="utf-8") == text
    assert "The beta launches in March. (the model's summary)" in text
    assert "- launch the beta in March [00:00:05 · line 2]" in text
    # The due date is read from the line ("by Thursday"), not taken from the model's "tomorrow".
    assert "- **You**: send the press release — due Thu 2023-11-16 [00:00:09 · line 3]" in text, text
    assert "hire" not in text and "Bob" not in text
    assert [r["body"].get("response_format") for r in server.requests()] == [{"type": "json_object"}, None]


def test_a_long_transcript_is_split_to_fit_the_context_and_merged(tmp_path, server_factory):
    server = server_factory("--first-line")
    lines = [(Source.MIC if n % 2 else Source.LOOPBACK, 4.0 * n, f"Point number {n} of the plan is about item {n} "
              "and it needs a careful review by the whole team before we commit to anything.") for n in range(120)]
    session = make_session(tmp_path, lines)
    settings_file(tmp_path, f'[minutes]\nengine = "openai"\nendpoint = "{server.url}"\nmodel = "smollm2"\n'
                            'context_tokens = 1024\n')
    res = cli(tmp_path, "minutes", session.id)
    assert res.returncode == 0, res.stderr
    requests = server.requests()
    parts = [r for r in requests if "Transcript" in r["body"]["messages"][-1]["content"]]
    assert len(parts) >= 4, len(parts)
    for r in parts:  # each part, with room for the answer, within the context (at 3 characters a token)
        prompt = sum(len(m["content"]) for m in r["body"]["messages"])
        assert prompt / 3 + r["body"]["max_tokens"] <= 1024, prompt
    assert len(requests) == len(parts) + 1  # and one more to merge the parts' summaries
    text = (session.path / "minutes.md").read_text(encoding="utf-8")
    decisions = [e for e in text.split("## Decisions\n", 1)[1].split("\n## ", 1)[0].splitlines() if e.startswith("- ")]
    firsts = [int(e.split()[3]) for e in decisions]  # "- Point number N of ..."
    assert len(decisions) == len(parts) and firsts[0] == 0 and firsts == sorted(firsts), decisions
    for entry, n in zip(decisions, firsts):  # each cites its own line: journal id n + 1, at 4 n seconds
        assert entry.endswith(f"· line {n + 1}]") and f"[00:{4 * n // 60:02d}:{4 * n % 60:02d}" in entry, entry


def test_an_endpoint_that_refuses_or_is_too_slow_is_one_message_and_nothing_written(tmp_path, server_factory):
    session = make_session(tmp_path)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings_file(tmp_path, f'[minutes]\nengine = "openai"\nendpoint = "http://127.0.0.1:{port}/v1"\nmodel = "m"\n')
    res = cli(tmp_path, "minutes", session.id)
    assert res.returncode == 1 and "cannot reach the minutes endpoint" in res.stderr, res.stderr
    assert "ollama serve" in res.stderr and one_message(res)
    slow = server_factory("--first-line", "--delay", "4")
    settings_file(tmp_path, f'[minutes]\nengine = "openai"\nendpoint = "{slow.url}"\nmodel = "smollm2"\n'
                            "timeout_s = 1\n")
    res = cli(tmp_path, "minutes", session.id)
    assert res.returncode == 1 and "did not answer within 1 s" in res.stderr and "timeout_s" in res.stderr, res.stderr
    assert one_message(res)
    settings_file(tmp_path, f'[minutes]\nengine = "openai"\nendpoint = "{slow.url}"\nmodel = "nosuch"\n')
    res = cli(tmp_path, "minutes", session.id)
    assert res.returncode == 1 and "HTTP 404" in res.stderr and '"nosuch"' in res.stderr and one_message(res)
    settings_file(tmp_path, '[minutes]\nengine = "openai"\nmodel = ""\n')
    res = cli(tmp_path, "minutes", session.id)
    assert res.returncode == 1 and "[minutes] model is empty" in res.stderr and one_message(res)
    assert not list(session.path.glob("minutes*"))


def test_ctrl_c_cancels_a_run_and_writes_nothing(tmp_path, server_factory):
    import signal
    import time

    slow = server_factory("--first-line", "--delay", "30")
    session = make_session(tmp_path)
    settings_file(tmp_path, f'[minutes]\nengine = "openai"\nendpoint = "{slow.url}"\nmodel = "smollm2"\n')
    proc = subprocess.Popen([sys.executable, "-m", "meeting_tui", "minutes", session.id], cwd=REPO, text=True,
                            env=env_for(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not slow.requests() and time.monotonic() < deadline:  # the first part is with the model
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "minutes cancelled (Ctrl+C). Nothing was written." in err, err
    assert err.count("meeting-tui:") == 1 and "Traceback" not in err and out == ""
    assert not list(session.path.glob("minutes*"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is Linux's")
def test_the_background_job_runs_at_the_lowest_priority_and_writes_only_when_done(tmp_path):
    import os
    import threading

    from meeting_tui.minutes.job import MinutesJob
    from meeting_tui.settings import Settings

    session = make_session(tmp_path)
    seen = {}
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def done(result) -> None:  # on the job's thread
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        seen["result"] = result

    job = MinutesJob(session.path, Settings(), on_done=done).start()
    result = job.wait(60)
    assert result is not None and result.ok and seen["result"] is result, result
    assert seen["nice"] == 19 and os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before  # that thread only
    assert result.path == session.path / "minutes.md" and "1 decision, 1 action item" in result.message


@pytest.mark.slow
def test_a_local_model_run_cancelled_mid_part_stops_at_once_and_writes_nothing(tmp_path, smollm2_gguf, monkeypatch):
    import threading

    from meeting_tui.minutes.job import MinutesJob
    from meeting_tui.settings import Settings

    monkeypatch.setenv("MEETING_TUI_CACHE_DIR", str(CACHE))
    lines = [(Source.MIC if n % 2 else Source.LOOPBACK, 3.0 * n, f"Line {n}: I will send report number {n} by Friday.")
             for n in range(1, 40)]
    session = make_session(tmp_path, lines)
    settings = Settings()
    settings.minutes.engine, settings.minutes.model_file = "local", str(smollm2_gguf)
    settings.minutes.threads, settings.minutes.context_tokens = 2, 1024
    asked, steps = threading.Event(), []

    def progress(fraction: float, what: str) -> None:
        steps.append(what)
        if what.startswith("lines "):
            asked.set()

    job = MinutesJob(session.path, settings, on_progress=progress).start()
    assert asked.wait(120), steps
    job.cancel()
    result = job.wait(60)  # the Generator stops between tokens
    assert result is not None and result.cancelled and "nothing was written" in result.message, result
    assert steps[-1].startswith("lines 1-") and steps[-1].endswith("(part 1 of 5)"), steps  # split to fit 1024
    assert not list(session.path.glob("minutes*"))
