"""`record`, `monitor`, `devices` from the user's seat (subprocesses): bad input fails once, at once, with
the fix and nothing created; a closed stdout ends quietly; the summary says what it measured."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent


def env_for(tmp_path, **extra) -> dict:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", MEETING_TUI_CONFIG=str(tmp_path / "cfg" / "settings.toml"),
               MEETING_TUI_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO))
    env.update(extra)
    return env


def meeting_tui(tmp_path, *args, timeout=60, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meeting_tui", *args], env=env_for(tmp_path, **env), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_record_with_an_unusable_model_fails_once_at_once_and_creates_nothing(shared_audio, tmp_path):
    # --duration 120: a record that ran its course before failing would hit the 30 s timeout.
    for model in ("smal.en", str(tmp_path / "no-such-model")):
        res = meeting_tui(tmp_path, "record", "--mic-file", str(shared_audio / "jfk.flac"), "--model", model,
                          "--duration", "120", timeout=30)
        assert res.returncode == 1
        assert res.stderr.count("error:") == 1, res.stderr
        assert ("did you mean small.en" in res.stderr) if model == "smal.en" else ("does not exist" in res.stderr)
        assert res.stdout == ""
        assert not (tmp_path / "data").exists()  # no session folder


def test_a_file_that_cannot_be_replayed_fails_once_at_once_and_creates_nothing(shared_audio, tmp_path):
    # Before: the worker failed on it, was restarted on the same file, and `record` ran until --duration
    # with exit code 0 and an empty session.
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    cases = [(["--mic-file", str(text)], "cannot read"), (["--mic-file", str(tmp_path / "gone.wav")], "no such file"),
             (["--mic-file", str(shared_audio / "jfk.flac"), "--mic-channel", "3"], "no channel 3")]
    for args, said in cases:
        for command in ("record", "monitor") if "--mic-channel" not in args else ("record",):
            res = meeting_tui(tmp_path, command, *args, "--duration", "120", timeout=30)
            assert res.returncode == 2, (command, res.stderr)
            assert res.stderr.count("error:") == 1 and said in res.stderr, (command, res.stderr)
            assert res.stdout == ""
            assert not (tmp_path / "data").exists()


def test_without_a_sound_server_record_devices_and_doctor_name_the_cause(tmp_path, tiny_model_path):
    no_server = {"PULSE_SERVER": f"unix:{tmp_path}/no-server/native"}
    res = meeting_tui(tmp_path, "record", "--duration", "60", "--model", tiny_model_path, timeout=30, **no_server)
    assert res.returncode == 1, res.stderr
    assert res.stderr.count("no sound server answers") == 1 and "pulseaudio --start" in res.stderr, res.stderr
    assert not (tmp_path / "data").exists()
    res = meeting_tui(tmp_path, "devices", **no_server)
    assert res.returncode == 1 and "no sound server answers" in res.stderr, (res.stdout, res.stderr)


@pytest.mark.slow
def test_doctor_without_a_sound_server_exits_non_zero_naming_the_cause(tmp_path):
    res = meeting_tui(tmp_path, "doctor", "--seconds", "0.5", "--no-tone", "--only", "mic", timeout=120,
                      PULSE_SERVER=f"unix:{tmp_path}/no-server/native")
    assert res.returncode == 1
    assert "no sound server answers" in res.stderr, res.stderr


def test_monitor_json_into_head_ends_quietly(shared_audio, tmp_path):
    cmd = (f"{sys.executable} -m meeting_tui monitor --mic-file {shared_audio / 'jfk.flac'} --json "
           f"--duration 60 --rate 20 | head -1")
    res = subprocess.run(["bash", "-c", "set -o pipefail; " + cmd], env=env_for(tmp_path), cwd=REPO,
                         capture_output=True, text=True, timeout=40)
    assert res.returncode == 0, res.stderr  # monitor's own exit status, through pipefail
    assert "Traceback" not in res.stderr and "BrokenPipe" not in res.stderr, res.stderr
    assert json.loads(res.stdout.splitlines()[0])  # the one line head asked for


@pytest.mark.model
def test_record_summary_without_lines_says_so(tmp_path, tiny_model_path):
    silence = tmp_path / "silence.wav"
    sf.write(silence, np.zeros(16000 * 2, np.float32), 16000)
    res = meeting_tui(tmp_path, "record", "--mic-file", str(silence), "--speed", "4", "--model", tiny_model_path,
                      "--no-partials", timeout=120)
    assert res.returncode == 0, res.stderr
    done = [line for line in res.stderr.splitlines() if line.startswith("[done]")]
    assert done and "0 segments; no lines delivered" in done[0] and " - s" not in done[0], res.stderr
    assert "saved in" in done[0]  # where the session went


@pytest.mark.model
def test_record_json_lines_are_typed_and_latency_is_measured_where_printed(shared_audio, tmp_path, tiny_model_path):
    res = meeting_tui(tmp_path, "record", "--mic-file", str(shared_audio / "jfk.flac"), "--model", tiny_model_path,
                      "--json", timeout=120)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    segments = [r for r in rows if r["type"] == "segment"]
    assert segments and all(r["label"] == "You" for r in segments)
    assert "median latency You" in res.stderr
    # record prints final lines only, so it decodes no partials (11 s of speech would get several)
    summary = next(r for r in rows if r["type"] == "summary")
    decodes = summary["decodes"]
    assert decodes["partials"] == 0 and decodes["finals"] >= len(segments), decodes
    # on glibc the heap the finals freed went back to the system after them (transcribe/native_heap.py)
    assert summary["heap_trims"] >= (1 if platform.libc_ver()[0] == "glibc" else 0), summary


@pytest.mark.rig
@pytest.mark.slow
def test_monitor_prints_a_crash_and_the_recovery_as_they_happen(rig, tmp_path):
    import signal
    import time

    import psutil

    from tests.support.capture import write_tone

    rig.play(write_tone(tmp_path / "tone.wav", 440, 30), "micsink")
    env = env_for(tmp_path, **{k: v for k, v in rig.env.items() if k.startswith(("PULSE", "RIG"))})
    proc = subprocess.Popen([sys.executable, "-m", "meeting_tui", "monitor", "--mode", "mic", "--mic", "mic",
                             "--json", "--rate", "2", "--duration", "25"], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    lines: list[dict] = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(r.get("mic", {}).get("state") == "live" for r in lines):
            lines.append(json.loads(proc.stdout.readline()))
        workers = [p for p in psutil.Process(proc.pid).children(recursive=True) if "worker" in " ".join(p.cmdline())]
        assert workers, lines
        workers[0].send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(r.get("event") == "recovered" for r in lines):
            lines.append(json.loads(proc.stdout.readline()))
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    events = [(r["source"], r["event"]) for r in lines if r.get("type") == "health"]
    assert ("mic", "crashed") in events and ("mic", "recovered") in events, (events, lines[-5:])
    assert events.index(("mic", "crashed")) < events.index(("mic", "recovered"))
    crashed = next(r for r in lines if r.get("event") == "crashed")
    assert crashed["reason"] and crashed["t"] is not None


@pytest.mark.model
def test_transcribe_progress_is_whole_lines_when_stderr_is_not_a_terminal(shared_audio, tmp_path, tiny_model_path):
    res = meeting_tui(tmp_path, "transcribe", str(shared_audio / "jfk.flac"), "--model", tiny_model_path, timeout=120)
    assert res.returncode == 0, res.stderr
    progress = [line for line in res.stderr.splitlines() if "[transcribing]" in line]
    assert progress and all(line.startswith("[transcribing]") and "\r" not in line for line in progress)
    assert progress[-1].endswith("100%")


def test_record_into_an_unwritable_data_dir_names_the_fix(shared_audio, tmp_path, tiny_model_path):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    res = meeting_tui(tmp_path, "record", "--mic-file", str(shared_audio / "jfk.flac"), "--model", tiny_model_path,
                      timeout=60, MEETING_TUI_DATA_DIR=str(blocker))
    assert res.returncode == 1
    assert res.stderr.count("error:") == 1 and "MEETING_TUI_DATA_DIR" in res.stderr, res.stderr


@pytest.mark.model
def test_the_session_says_the_mode_it_recorded(shared_audio, tmp_path, tiny_model_path):
    # The session opens before capture starts: its meta must carry the capture the command runs (here the
    # mic alone, from a file), not the default meeting mode of no capture yet.
    res = meeting_tui(tmp_path, "record", "--mic-file", str(shared_audio / "jfk.flac"), "--speed", "0",
                      "--model", tiny_model_path, "--quiet", timeout=120)
    assert res.returncode == 0, res.stderr
    metas = list((tmp_path / "data" / "sessions").glob("*/meta.json"))
    assert len(metas) == 1, metas
    assert json.loads(metas[0].read_text(encoding="utf-8"))["mode"] == "mic"


def test_replayed_files_whose_workers_stall_or_die_lose_nothing_said_and_record_ends(shared_audio, tmp_path,
                                                                                   tiny_model_path):
    """A file worker starved of CPU (here: stopped for 6 s) is late, not dead: it is not killed, and every
    line of its file comes out once. One that dies is not restarted (that would replay its file from the
    start): `record` says so and ends by itself (it waited forever for the file's end before)."""
    import signal
    import time

    import psutil

    voices, rate = sf.read(shared_audio / "stereo_diarization.wav", dtype="float32")
    sf.write(tmp_path / "them.wav", np.tile(voices, (4, 1)), rate)  # 20 s: still playing when it is killed
    mic, loopback = str(shared_audio / "jfk.flac"), str(tmp_path / "them.wav")
    proc = subprocess.Popen([sys.executable, "-m", "meeting_tui", "record", "--mic-file", mic, "--loopback-file",
                             loopback, "--speed", "1", "--no-echo-guard", "--model", tiny_model_path],
                            env=env_for(tmp_path), cwd=REPO, text=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def worker(path: str):
        return next((p for p in psutil.Process(proc.pid).children(recursive=True) if path in " ".join(p.cmdline())),
                    None)

    try:
        deadline = time.monotonic() + 60
        while not (worker(mic) and worker(loopback)) and time.monotonic() < deadline:
            time.sleep(0.1)
        you, them = worker(mic), worker(loopback)
        assert you and them, "the file workers did not start"
        time.sleep(max(0.0, you.create_time() + 3.5 - time.time()))
        you.send_signal(signal.SIGSTOP)
        time.sleep(6.0)  # past the 4 s after which a device's worker would be killed and restarted
        you.send_signal(signal.SIGCONT)
        them.kill()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "mic: stalled" in err and "mic: crashed" not in err, err
    assert "loopback: crashed: worker exited (" in err and "not restarted (a replayed file)" in err, err
    said = " ".join(line for line in out.splitlines() if "You:" in line).lower()
    for words in ("fellow americans", "ask not", "your country can do for you"):
        assert said.count(words) == 1, (words, out)
    (session,) = (tmp_path / "data" / "sessions").iterdir()
    rows = [json.loads(x) for x in (session / "journal.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    assert rows[-1].get("t") == "end", rows[-1]
