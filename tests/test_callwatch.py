"""`meeting-tui watch`: on the PulseAudio rig a second program (parecord) opening the mic starts a
session, letting go stops it, each said once; minutes of silence stop it; two watchers: one message. The
Windows reader is contract-tested on the consent store's documented shape; the decisions on their own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from meeting_tui.callwatch.probe import MicUser
from meeting_tui.callwatch.pulse import mic_users
from meeting_tui.callwatch.watcher import CallWatcher, Start, Stop
from meeting_tui.callwatch.windows import CONSENT_STORE, read_records, users_from_records

REPO = Path(__file__).resolve().parent.parent


# --- the decisions -----------------------------------------------------------------------------------------


def test_watcher_starts_on_a_call_stops_on_release_or_silence_and_waits_for_the_next():
    zoom = [MicUser("zoom", 10, "a")]
    w = CallWatcher(silence_s=60)
    assert w.step([], 0) is None
    assert isinstance(w.step(zoom, 1), Start)
    assert w.step(zoom, 30, last_speech=None) is None
    assert w.step(zoom, 80, last_speech=50) is None  # spoke 30 s ago
    stop = w.step(zoom, 111, last_speech=50)
    assert isinstance(stop, Stop) and stop.reason == "no speech for 1 minute"
    assert w.step(zoom, 200) is None  # the same silent call is not recorded again
    assert w.step([], 201) is None
    assert isinstance(w.step(zoom, 202), Start)
    assert w.step([], 203) == Stop("the call released the microphone")


# --- Linux: pactl's JSON -------------------------------------------------------------------------------------

SOURCES = [{"index": 0, "name": "speakers.monitor", "monitor_source": "speakers"},
           {"index": 2, "name": "mic", "monitor_source": ""}]


def test_pulse_counts_client_streams_on_real_sources_only():
    outputs = [
        {"index": 0, "client": None, "owner_module": "4", "source": 1, "corked": False, "properties": {}},  # remap
        {"index": 1, "client": "6", "source": 2, "corked": False,
         "properties": {"application.name": "ZOOM VoiceEngine", "application.process.id": "999999"}},
        {"index": 2, "client": "7", "source": 0, "corked": False,  # recording the speakers: not a call
         "properties": {"application.name": "OBS", "application.process.id": "999998"}},
        {"index": 3, "client": "8", "source": 2, "corked": True, "properties": {"application.name": "paused"}},
        {"index": 4, "client": "9", "source": 2, "corked": False,
         "properties": {"application.id": "org.PulseAudio.pavucontrol", "application.name": "meter"}},
        {"index": 5, "client": "10", "source": 2, "corked": False,  # this process: our own capture
         "properties": {"application.name": "ALSA plug-in [python3]", "application.process.id": str(os.getpid())}},
    ]
    assert mic_users(outputs, SOURCES) == [MicUser("ZOOM VoiceEngine", 999999, "pulse:1")]


# --- Windows: the consent store ------------------------------------------------------------------------------


class FakeRegistry:
    """The documented layout of HKCU\\...\\ConsentStore\\microphone, behind winreg's calls."""

    HKEY_CURRENT_USER = "HKCU"

    def __init__(self, tree: dict) -> None:
        self.tree = tree

    class Key:
        def __init__(self, node):
            self.node = node

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def OpenKey(self, key, sub):  # noqa: N802 (winreg's names)
        node = self.tree if key == "HKCU" else key.node
        for part in sub.split("\\"):
            if part not in node.get("keys", {}) and not (key == "HKCU" and part in node):
                raise FileNotFoundError(sub)
            node = node["keys"][part] if "keys" in node and part in node["keys"] else node[part]
        return self.Key(node)

    def EnumKey(self, key, i):  # noqa: N802
        names = list(key.node.get("keys", {}))
        if i >= len(names):
            raise OSError("no more")
        return names[i]

    def QueryValueEx(self, key, name):  # noqa: N802
        if name not in key.node.get("values", {}):
            raise FileNotFoundError(name)
        return key.node["values"][name], 11  # REG_QWORD


def consent_tree(apps: dict) -> dict:
    node: dict = {}
    parts = CONSENT_STORE.split("\\")
    cursor = node
    for part in parts[:-1]:
        cursor[part] = {"keys": {}}
        cursor = cursor[part]["keys"]
    cursor[parts[-1]] = {"values": {"Value": "Allow"}, "keys": apps}
    return node


def test_windows_consent_store_names_the_apps_using_the_mic_now():
    filetime = 133_500_000_000_000_000
    tree = consent_tree({
        "Microsoft.SkypeApp_kzf8qxf38zg5c": {"values": {"Value": "Allow", "LastUsedTimeStart": filetime,
                                                        "LastUsedTimeStop": filetime + 10}},  # used, done
        "Microsoft.WindowsSoundRecorder_8wekyb3d8bbwe": {"values": {"Value": "Allow"}},  # never used
        "NonPackaged": {"keys": {
            "C:#Program Files#Zoom#bin#Zoom.exe": {"values": {"LastUsedTimeStart": filetime + 50,
                                                              "LastUsedTimeStop": 0}},  # in a call now
            "C:#Python311#python.exe": {"values": {"LastUsedTimeStart": filetime + 60, "LastUsedTimeStop": 0}},
            "C:#Apps#Teams.exe": {"values": {"LastUsedTimeStart": filetime + 70,
                                             "LastUsedTimeStop": filetime + 20}},  # restarted, not stopped
        }},
    })
    records = read_records(FakeRegistry(tree))
    assert len(records) == 5
    users = users_from_records(records, own_executables=[r"C:\Python311\python.exe"])
    assert [u.app for u in users] == ["Zoom.exe", "Teams.exe"]


# --- on the rig, from the user's seat ------------------------------------------------------------------------


def _env(tmp_path, rig) -> dict:
    env = dict(rig.env)
    env.update(HF_HUB_OFFLINE="1", MEETING_TUI_CONFIG=str(tmp_path / "cfg" / "settings.toml"),
               MEETING_TUI_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO))
    return env


class Lines:
    """A process's stderr, read as it comes."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._t = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._t.start()

    def _read(self, proc) -> None:
        for line in proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return True
            time.sleep(0.1)
        return False

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)


@pytest.mark.rig
@pytest.mark.model
@pytest.mark.slow
def test_watch_records_while_another_program_holds_the_mic(rig, tmp_path, shared_audio, tiny_model_path):
    env = _env(tmp_path, rig)
    rig.play(shared_audio / "jfk.flac", "micsink", loops=6)
    watch = subprocess.Popen([sys.executable, "-m", "meeting_tui", "watch", "--poll", "0.3", "--mode", "mic",
                              "--mic", "mic", "--model", tiny_model_path], env=env, cwd=REPO, text=True,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    out = Lines(watch)
    call = None
    try:
        assert out.wait_for("waiting for a call"), out.lines
        second = subprocess.run([sys.executable, "-m", "meeting_tui", "watch"], env=env, cwd=REPO, text=True,
                                capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        assert second.returncode == 2 and second.stderr.count("already running") == 1, second.stderr
        time.sleep(2)
        assert out.count("REC") == 0 and not (tmp_path / "data" / "sessions").exists()  # no call, no session
        call = subprocess.Popen(["parecord", "--device=mic", str(tmp_path / "call.wav")], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert out.wait_for("● REC call detected (parecord opened the microphone)"), out.lines
        assert _wait(lambda: "country" in _journal_text(tmp_path).lower(), 90), out.lines
        call.terminate()
        call.wait(10)
        assert out.wait_for("■ stopping (the call released the microphone)"), out.lines
        assert out.wait_for("■ stopped:", 120), out.lines
        (folder,) = (tmp_path / "data" / "sessions").iterdir()
        journal = [json.loads(x) for x in (folder / "journal.jsonl").read_text(encoding="utf-8").splitlines()]
        assert journal[-1]["t"] == "end" and any("country" in r.get("text", "").lower() for r in journal)
        assert out.count("● REC") == 1 and out.count("■ stopped:") == 1  # once each
        time.sleep(2)
        assert out.count("● REC") == 1  # our own capture, now gone, never counted as a call
    finally:
        if call is not None and call.poll() is None:
            call.kill()
        watch.send_signal(signal.SIGINT)
        rc = watch.wait(60)
    assert rc == 0 and out.wait_for("watch ended", 5), out.lines
    assert not any("Traceback" in line for line in out.lines), out.lines


@pytest.mark.rig
@pytest.mark.model
@pytest.mark.slow
def test_watch_stops_a_silent_call_and_does_not_record_it_again(rig, tmp_path, tiny_model_path):
    env = _env(tmp_path, rig)
    watch = subprocess.Popen([sys.executable, "-m", "meeting_tui", "watch", "--poll", "0.3", "--silence", "0.1",
                              "--mode", "mic", "--mic", "mic", "--model", tiny_model_path], env=env, cwd=REPO,
                             text=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    out = Lines(watch)
    call = subprocess.Popen(["parecord", "--device=mic", str(tmp_path / "call.wav")], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert out.wait_for("● REC call detected"), out.lines
        assert out.wait_for("■ stopping (no speech for 6 s)", 60), out.lines
        assert out.wait_for("■ stopped:", 120), out.lines
        time.sleep(2)
        assert out.count("● REC") == 1, out.lines  # the mic is still held: the same call, not a new one
    finally:
        call.kill()
        call.wait(10)
        watch.send_signal(signal.SIGINT)
        rc = watch.wait(60)
    assert rc == 0, out.lines


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def _journal_text(tmp_path) -> str:
    root = tmp_path / "data" / "sessions"
    return "".join(f.read_text(encoding="utf-8") for f in root.glob("*/journal.jsonl")) if root.exists() else ""
