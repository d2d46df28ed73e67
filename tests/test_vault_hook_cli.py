"""The vault note and the end-of-session hook from the user's seat: `record` on real speech with a settings
file naming a vault folder and a hook; a hook that fails, hangs or is missing is told once and costs
nothing; an unwritable vault stops `record` before anything is created; polish rewrites the note."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from meeting_tui.memory.vault import note_filename, safe_filename

REPO = Path(__file__).resolve().parent.parent


def run(home: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", MEETING_TUI_CONFIG=str(home / "settings.toml"),
               MEETING_TUI_DATA_DIR=str(home / "data"), PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "meeting_tui", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def settings(home: Path, hook: list[str] | None = None, timeout_s: float = 30, record_audio: bool = False) -> None:
    lines = ["[session]", f"record_audio = {str(record_audio).lower()}", "",
             "[export]", f"folder = {json.dumps(str(home / 'vault'))}", 'tags = ["meeting", "acme"]', ""]
    if hook is not None:
        lines += ["[hooks]", f"on_session_end = {json.dumps(hook)}", f"timeout_s = {timeout_s}"]
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def record_call(home: Path, audio: Path, model: str, *extra: str) -> subprocess.CompletedProcess:
    call = str(audio / "stereo_diarization.wav")
    return run(home, "record", "--mic-file", call, "--mic-channel", "0", "--loopback-file", call,
               "--loopback-channel", "1", "--speed", "4", "--no-partials", "--model", model, *extra)


def only_session(home: Path) -> Path:
    (folder,) = (home / "data" / "sessions").iterdir()
    return folder


HOOK = """import pathlib, sys
print("hook got", len(sys.argv) - 1, "args")
pathlib.Path(sys.argv[3]).write_text("\\n".join(sys.argv[1:]), encoding="utf-8")
"""


@pytest.mark.model
def test_record_writes_the_note_with_front_matter_and_runs_the_hook(tmp_path, shared_audio, tiny_model_path):
    script = tmp_path / "hook.py"
    script.write_text(HOOK, encoding="utf-8")
    settings(tmp_path, [sys.executable, str(script), "{session}", "{markdown}", str(tmp_path / "hook-args.txt")])
    res = record_call(tmp_path, shared_audio, tiny_model_path)
    assert res.returncode == 0, res.stderr
    folder = only_session(tmp_path)
    note = tmp_path / "vault" / f"{folder.name} meeting.md"
    assert res.stderr.count("[vault] note written to") == 1 and str(note) in res.stderr, res.stderr
    assert res.stderr.count("[hook] ran the on_session_end hook") == 1, res.stderr
    text = note.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["date"].startswith(folder.name[:10]) and front["mode"] == "meeting"
    assert front["speakers"] == ["You", "Them"] or front["speakers"] == ["Them", "You"]
    assert front["tags"] == ["meeting", "acme"] and front["model"] and front["transcript"] == "live"
    assert front["duration_s"] > 1 and front["session"] == folder.name
    body = text.split("## Transcript", 1)[1].lower()
    assert "horizon" in body and "wizard" in body
    assert (tmp_path / "hook-args.txt").read_text(encoding="utf-8").splitlines() == \
        [str(folder), str(note), str(tmp_path / "hook-args.txt")]
    log = (folder / "hook.log").read_text(encoding="utf-8")
    assert "hook got 3 args" in log and "exit code 0" in log


@pytest.mark.model
@pytest.mark.parametrize("kind", ["fails", "hangs", "missing"])
def test_a_bad_hook_is_reported_once_and_loses_nothing(kind, tmp_path, shared_audio, tiny_model_path):
    hook = {"fails": [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"],
            "hangs": [sys.executable, "-c", "import time; time.sleep(120)"],
            "missing": ["no-such-hook-program", "{session}"]}[kind]
    settings(tmp_path, hook, timeout_s=2)
    res = record_call(tmp_path, shared_audio, tiny_model_path)
    assert res.returncode == 0, res.stderr  # the meeting is recorded: the hook is not the meeting
    hook_lines = [line for line in res.stderr.splitlines() if line.startswith("[hook]")]
    assert len(hook_lines) == 1, res.stderr
    expected = {"fails": "exited with code 3", "hangs": "longer than 2 s and was stopped",
                "missing": "'no-such-hook-program' not found; fix [hooks] on_session_end"}[kind]
    assert expected in hook_lines[0], hook_lines
    assert "Traceback" not in res.stderr
    folder = only_session(tmp_path)
    journal = [json.loads(line) for line in (folder / "journal.jsonl").read_text(encoding="utf-8").splitlines()]
    assert journal[-1]["t"] == "end" and sum(r["t"] == "segment" for r in journal) >= 2
    assert (tmp_path / "vault" / note_filename(folder.name)).exists()
    log = (folder / "hook.log").read_text(encoding="utf-8")
    assert {"fails": "boom", "hangs": "killed after 2 s", "missing": "not started"}[kind] in log


def test_an_unwritable_vault_stops_record_before_anything_is_created(tmp_path, shared_audio, tiny_model_path):
    settings(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    res = record_call(tmp_path, shared_audio, tiny_model_path, "--to", str(blocker / "vault"))
    assert res.returncode == 1
    assert res.stderr.count("error:") == 1 and "set --to to a writable folder" in res.stderr, res.stderr
    assert not (tmp_path / "data" / "sessions").exists()


@pytest.mark.model
@pytest.mark.slow
def test_export_to_and_polish_rewrite_the_note(tmp_path, shared_audio, tiny_model_path):
    settings(tmp_path, record_audio=True)
    assert record_call(tmp_path, shared_audio, tiny_model_path).returncode == 0
    folder = only_session(tmp_path)
    other = tmp_path / "elsewhere"
    res = run(tmp_path, "export", folder.name, "--to", str(other))
    assert res.returncode == 0 and f"to {other / note_filename(folder.name)}" in res.stdout, res.stderr
    res = run(tmp_path, "polish", folder.name, "--model", tiny_model_path, "--quiet")
    assert res.returncode == 0, res.stderr
    assert "note rewritten" in res.stdout, res.stdout
    note = other / note_filename(folder.name)  # the last place it was written
    front = yaml.safe_load(note.read_text(encoding="utf-8").split("---\n")[1])
    assert front["transcript"] == "polished"


def test_note_names_sort_by_date_and_are_valid_on_windows():
    assert note_filename("2024-05-01_14-03-22") == "2024-05-01_14-03-22 meeting.md"
    assert safe_filename('Q3: plan <draft> / "final"?') == "Q3- plan -draft- - -final--"
    assert safe_filename("CON") == "_CON" and safe_filename("  . ") == "meeting"
    assert sorted(note_filename(i) for i in ["2024-12-01_09-00-00", "2024-05-01_14-03-22"])[0].startswith("2024-05")
