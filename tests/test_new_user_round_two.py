"""Issue 31, from the user's seat: a device that is not there is one error before anything is created,
the settings file stays the user's, the demo keeps its choices to itself, raw errors read as messages."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from meeting_tui.types import Source

from tests.test_record_cli import REPO, env_for, meeting_tui


def rig_env(rig) -> dict:
    return {k: v for k, v in rig.env.items() if k.startswith(("PULSE", "RIG"))}


@pytest.mark.parametrize("flag", ["--mic", "--loopback"])
def test_record_with_a_device_that_is_not_there_fails_once_listing_those_that_are(rig, tmp_path, tiny_model_path, flag):
    res = meeting_tui(tmp_path, "record", flag, "no such device", "--model", tiny_model_path, "--duration", "60",
                      timeout=30, **rig_env(rig))
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("error:") == 1, res.stderr
    assert '"no such device"' in res.stderr
    if flag == "--mic":
        assert '"mic" (VirtualMic)' in res.stderr, res.stderr  # by the names users see
    else:
        assert '"speakers.monitor" (Monitor of Speakers)' in res.stderr, res.stderr
    assert "privacy" not in res.stderr
    assert res.stdout == ""
    assert not (tmp_path / "data").exists()  # no session folder


def test_record_takes_a_mic_by_the_description_devices_prints(rig, tmp_path, tiny_model_path):
    from tests.support.capture import write_tone

    listed = meeting_tui(tmp_path, "devices", **rig_env(rig))
    assert 'mic "VirtualMic"' in listed.stdout, listed.stdout
    rig.play(write_tone(tmp_path / "tone.wav", 440, 30), "micsink")
    res = meeting_tui(tmp_path, "record", "--mode", "mic", "--mic", "VirtualMic", "--model", tiny_model_path,
                      "--duration", "4", "--no-session", timeout=60, **rig_env(rig))
    assert res.returncode == 0, res.stderr
    assert "error" not in res.stderr and "crashed" not in res.stderr and "stalled" not in res.stderr, res.stderr


async def test_dashboard_r_refuses_a_session_with_no_working_source(monkeypatch, tmp_path):
    from meeting_tui.ui.app import MeetingApp
    from tests.test_ui_app import SIZE
    from tests.ui_conftest_helpers import quit_app, recorded_notifications, wait_for

    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-server/native")
    app = MeetingApp()
    notes = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app._devices is not None, timeout=30), notes
        await pilot.press("r")
        assert await wait_for(pilot, lambda: any("Cannot start a session" in n for n in notes), timeout=10), notes
        assert not app.core.recording
        assert "REC" not in str(app.status.render())
        await quit_app(app, pilot)
    assert not (tmp_path / "data" / "sessions").exists() or not any((tmp_path / "data" / "sessions").iterdir())


# --- the settings file is the user's (item 3), the demo keeps its choices to itself (item 2) ------------

USER_FILE = """\
# My meeting-tui settings.
[capture]
mode = "meeting"   # both sides

[capture.gains_db]
mic = 0.0  # my headset is quiet

[session]
record_audio = "yes please"  # an invalid value: warned about, never rewritten
"""


async def test_a_gain_key_edits_the_file_in_place_keeping_comments_and_the_users_values():
    from tests.test_ui_app import SIZE
    from tests.ui_conftest_helpers import config_path, snapshot_app, wait_for, write_settings

    write_settings(USER_FILE)
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right_square_bracket")
        assert await wait_for(pilot, lambda: config_path().read_text() != USER_FILE, timeout=5)
    text = config_path().read_text()
    assert text == USER_FILE.replace("mic = 0.0  # my", "mic = 1.0  # my"), text  # that key, nothing else
    assert not list(config_path().parent.glob("settings.toml.*-*"))  # nothing to back up: nothing was lost


def test_two_instances_saving_keep_each_others_changes():
    from meeting_tui.settings import SettingsStore, load_settings
    from tests.ui_conftest_helpers import config_path, write_settings

    write_settings(USER_FILE)
    first, second = SettingsStore(), SettingsStore()  # both read the file before either saves
    assert first.set("capture.gains_db.mic", 4.0) is None
    assert second.set("ui.theme", "meeting-light") is None
    saved = load_settings().settings
    assert saved.capture.gains_db.mic == 4.0 and saved.ui.theme == "meeting-light"
    assert "# my headset is quiet" in config_path().read_text()


async def test_the_demo_writes_nothing_into_the_users_settings(tmp_path):
    from meeting_tui.cli import build_parser
    from meeting_tui.ui.launch import build_app
    from tests.test_ui_app import SIZE, live
    from tests.ui_conftest_helpers import config_path, quit_app, wait_for, write_settings

    write_settings(USER_FILE)
    app = build_app(build_parser().parse_args(["--demo"]))
    app.animation_level = "none"
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: live(app, Source.MIC, Source.LOOPBACK), timeout=30)
        await pilot.press("right_square_bracket", "t", "2")  # a gain, the theme, the mode
        await pilot.pause(0.8)
        assert app.settings.capture.gains_db.mic == 1.0  # applies in the demo ...
        await quit_app(app, pilot)
    assert config_path().read_text() == USER_FILE  # ... and stays there


# --- "silent" only when the mic is (item 4) ---------------------------------------------------------------


def write_gated_speech(path, *, bursts: int = 4, pause_s: float = 3.0, rate: int = 48000) -> str:
    """What a mic with a noise gate sends: a voice that fades out, then exact zeros until the next word."""
    import numpy as np
    import soundfile as sf

    t = np.arange(int(0.8 * rate)) / rate
    voice = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    voice[-int(0.25 * rate):] *= np.exp(-np.linspace(0, 6, int(0.25 * rate)))  # the word's end dies away
    gap = np.zeros(int(pause_s * rate))
    sf.write(path, np.concatenate([np.concatenate([voice, gap]) for _ in range(bursts)]).astype(np.float32), rate)
    return str(path)


def test_a_mic_with_a_noise_gate_is_not_called_silent_at_every_pause(rig, tmp_path, tiny_model_path):
    rig.play(write_gated_speech(tmp_path / "gated.wav"), "micsink")
    res = meeting_tui(tmp_path, "record", "--mode", "mic", "--mic", "mic", "--model", tiny_model_path,
                      "--duration", "12", "--no-session", "--no-partials", timeout=90, **rig_env(rig))
    assert res.returncode == 0, res.stderr
    health = [ln for ln in res.stderr.splitlines() if ln.startswith("[health]")]
    assert not any("silent" in ln for ln in health), health  # 3 s pauses of zeros, three of them


def test_a_muted_mic_is_called_silent_within_seconds(rig, tmp_path, tiny_model_path):
    """The other side of the gate: a mute cuts the sound off, and `record` says so in seconds, wherever in a
    capture block the mute lands (one just after a block boundary was taken for a gate: 120 s)."""
    from tests.support.capture import write_tone

    rig.play(write_tone(tmp_path / "tone.wav", 440, 40), "micsink")
    proc = subprocess.Popen([sys.executable, "-m", "meeting_tui", "record", "--mode", "mic", "--mic", "mic",
                             "--model", tiny_model_path, "--duration", "12", "--no-session", "--no-partials"],
                            env=env_for(tmp_path, **rig_env(rig)), cwd=REPO, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert rig.wait_until_recorded("mic", timeout=60)
        time.sleep(2.0)  # the tone is heard first: a live mic, then the mute
        rig.pactl("set-source-mute", "mic", "1")
        _, err = proc.communicate(timeout=90)
    finally:
        rig.pactl("set-source-mute", "mic", "0")
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    health = [ln for ln in err.splitlines() if ln.startswith("[health]")]
    assert any("mic: silent" in ln and "muted" in ln for ln in health), health


def test_the_doctors_mode_does_not_flip_with_a_pause():
    from meeting_tui.doctor import probes as d
    from tests.test_doctor import LINUX, probe

    speaking = d.recommend([probe("separate", "live", "live")], LINUX)
    pausing = d.recommend([probe("separate", "silent", "live")], LINUX)
    from meeting_tui.types import Mode

    assert speaking.mode is pausing.mode is Mode.MEETING
    assert any("Speak while the doctor listens" in w for w in d.warnings_for([probe("separate", "silent", "live")], LINUX, []))


def test_health_tells_a_gate_closing_from_a_mute():
    import numpy as np

    from meeting_tui.capture.gate import tail_db
    from meeting_tui.capture.health import HealthMonitor
    from meeting_tui.types import HealthState

    rate = 48000
    word = 0.3 * np.sin(np.arange(rate // 10) / 7.0)
    faded = np.concatenate([word * np.exp(-np.linspace(0, 8, word.size)), np.zeros(100)])
    for ending, state_after_3s in ((faded, HealthState.LIVE), (word, HealthState.SILENT)):
        h = HealthMonitor(Source.MIC)
        h.worker_started(0.0)
        h.block(0.1, -10.0, tail_db=tail_db(ending, rate))
        for i in range(30):  # 3 s of exact zeros
            h.block(0.2 + i * 0.1, float("-inf"), tail_db=None)
        assert h.evaluate(3.1).state is state_after_3s


# --- a model asked for by name is that model or an error (item 5) ------------------------------------------


def test_a_named_model_that_cannot_be_had_is_an_error_before_anything_is_created(shared_audio, tmp_path):
    res = meeting_tui(tmp_path, "record", "--mic-file", str(shared_audio / "jfk.flac"), "--model", "small",
                      "--duration", "120", timeout=60, HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(tmp_path / "empty-hub"))
    assert res.returncode == 1, res.stderr
    assert res.stderr.count("error:") == 1, res.stderr
    assert '"small"' in res.stderr and "auto" in res.stderr and "bundled" in res.stderr
    assert "tiny.en" not in res.stdout and res.stdout == ""
    assert not (tmp_path / "data").exists()


# --- raw errors (item 9) ------------------------------------------------------------------------------------


def test_a_settings_file_that_does_not_parse_is_reported_once(shared_audio, tmp_path):
    cfg = tmp_path / "cfg" / "settings.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[capture\nmode = "mic"\n')
    res = meeting_tui(tmp_path, "transcribe", str(shared_audio / "jfk.flac"), timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("could not be parsed") == 1, res.stderr
    assert "could not remember" not in res.stderr and "Illegal character" not in res.stderr.split("could not be parsed")[1]
    assert cfg.read_text() == '[capture\nmode = "mic"\n'  # the user's text, as it was


def test_sessions_into_a_reader_that_went_away_ends_quietly(tmp_path):
    cmd = f"{sys.executable} -m meeting_tui sessions | true"  # the reader is gone before the first line
    res = subprocess.run(["bash", "-c", "set -o pipefail; " + cmd], env=env_for(tmp_path), cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr and "BrokenPipe" not in res.stderr, res.stderr


async def test_o_without_xdg_open_says_what_to_install(monkeypatch, tmp_path):
    from tests.test_ui_app import SIZE
    from tests.ui_conftest_helpers import recorded_notifications, snapshot_app, wait_for

    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no xdg-open anywhere
    app = snapshot_app()
    notes = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        assert await wait_for(pilot, lambda: notes, timeout=5)
    assert "xdg-utils" in notes[-1] and str(app.core.sessions_dir) in notes[-1], notes
    assert "Errno" not in notes[-1]


def test_transcribe_on_a_file_that_is_not_audio_says_so(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("agenda: budget, hiring\n")
    res = meeting_tui(tmp_path, "transcribe", str(notes))
    assert res.returncode == 2
    assert res.stderr.count("error:") == 1 and "is not an audio or video file" in res.stderr, res.stderr
    assert "Errno" not in res.stderr and "Invalid data" not in res.stderr


# --- a second instance (item 7) ---------------------------------------------------------------------------


def wait_until(predicate, timeout: float, what: str):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_second_instance_says_one_is_running_record_warns_the_dashboard_offers_read_only(rig, tmp_path, tiny_model_path):
    import json
    import os
    import shutil

    from tests.support.capture import write_tone
    from tests.test_ui_rig import Tmux

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    cfg = tmp_path / "cfg" / "settings.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(USER_FILE)
    rig.play(write_tone(tmp_path / "tone.wav", 440, 60), "micsink")
    record = ["record", "--mode", "mic", "--mic", "mic", "--model", tiny_model_path, "--no-session", "--no-partials"]
    first_err = (tmp_path / "first.err").open("w")
    first = subprocess.Popen([sys.executable, "-m", "meeting_tui", *record, "--duration", "120"], cwd=REPO,
                             env=env_for(tmp_path, **rig_env(rig)), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=first_err)
    info = tmp_path / "data" / "locks" / "instance.json"
    tmux = Tmux(tmp_path / "tmux.sock")
    try:
        wait_until(lambda: info.exists() and json.loads(info.read_text())["pid"] == first.pid, 30, "the first record")
        holder = f"Another meeting-tui is running: `meeting-tui record` (pid {first.pid}, since "

        second = meeting_tui(tmp_path, *record, "--duration", "1", timeout=90, **rig_env(rig))
        assert second.returncode == 0, second.stderr
        assert second.stderr.count(holder) == 1 and "twice the CPU" in second.stderr, second.stderr

        quiet = meeting_tui(tmp_path, timeout=60)  # the dashboard, with no terminal to ask on
        assert quiet.returncode == 1, (quiet.stdout, quiet.stderr)
        assert quiet.stderr.count(holder) == 1 and "Quit the other one first" in quiet.stderr, quiet.stderr

        exit_file = tmp_path / "exit-code"
        env = {**rig_env(rig), "MEETING_TUI_CONFIG": str(cfg), "MEETING_TUI_DATA_DIR": str(tmp_path / "data"),
               "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), "TERM": "xterm-256color",
               "PATH": os.environ.get("PATH", "")}
        tmux.start(f"{sys.executable} -m meeting_tui; echo $? > {exit_file}", env)
        screen = tmux.wait(lambda s: "[y/N]" in s, 30, "the question")
        assert holder in " ".join(screen.split()), screen
        tmux.keys("n", "Enter")  # quit
        assert wait_until(lambda: exit_file.exists() and exit_file.read_text().strip(), 20, "a no") == "1"
        exit_file.unlink()
        tmux.kill()
        tmux.start(f"{sys.executable} -m meeting_tui; echo $? > {exit_file}", env)
        tmux.wait(lambda s: "[y/N]" in s, 30, "the question again")
        tmux.keys("y", "Enter")
        tmux.wait(lambda s: "(read-only)" in s, 30, "the read-only dashboard")
        tmux.keys("]", "r")
        tmux.wait(lambda s: "captures nothing" in s, 10, "why r does not record")
        assert "REC" not in tmux.screen()
        tmux.keys("C-q")
        wait_until(exit_file.exists, 20, "the dashboard to quit")
        assert exit_file.read_text().strip() == "0"
    finally:
        tmux.kill()
        first.terminate()
        first.wait(30)
        first_err.close()
    assert cfg.read_text() == USER_FILE  # neither the second record nor the read-only dashboard wrote it
    assert not (tmp_path / "data" / "sessions").exists() or not any((tmp_path / "data" / "sessions").iterdir())


async def test_a_gain_change_survives_the_doctor_saving_from_another_process(rig, tmp_path, monkeypatch):
    from tests.support.capture import write_tone
    from tests.test_ui_app import SIZE
    from tests.ui_conftest_helpers import config_path, quit_app, snapshot_app, wait_for, write_settings

    write_settings(USER_FILE.replace('mode = "meeting"', 'mode = "mic"'))
    rig.play(write_tone(tmp_path / "tone.wav", 440, 30), "micsink")
    app = snapshot_app()  # instance A: the dashboard
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right_square_bracket")
        assert await wait_for(pilot, lambda: "mic = 1.0" in config_path().read_text(), timeout=5)
        doctor = subprocess.run(  # instance B: the doctor, in another terminal, saving what it found
            [sys.executable, "-m", "meeting_tui", "doctor", "--only", "separate", "--seconds", "1.5", "--save"],
            env=env_for(tmp_path, MEETING_TUI_CONFIG=str(config_path()), **rig_env(rig)), cwd=REPO,
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert doctor.returncode == 0 and "saved mode meeting" in doctor.stderr, doctor.stderr
        await pilot.press("right_square_bracket")  # A again, after B
        assert await wait_for(pilot, lambda: "mic = 2.0" in config_path().read_text(), timeout=5)
        await quit_app(app, pilot)
    text = config_path().read_text()
    assert 'mode = "meeting"' in text and 'name = "mic"' in text, text  # B's, kept by A's second write
    assert "mic = 2.0  # my headset is quiet" in text and '"yes please"' in text, text  # A's, and the user's


async def test_a_read_only_second_dashboard_records_nothing_and_saves_nothing(monkeypatch):
    from meeting_tui.cli import build_parser
    from meeting_tui.ui.launch import build_app
    from tests.test_ui_app import SIZE
    from tests.ui_conftest_helpers import config_path, quit_app, recorded_notifications, wait_for, write_settings

    write_settings(USER_FILE)
    app = build_app(build_parser().parse_args([]), read_only="Another meeting-tui is running: the dashboard.")
    notes = recorded_notifications(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r", "right_square_bracket")
        assert await wait_for(pilot, lambda: sum("read-only" in n for n in notes) >= 1, timeout=5), notes
        await pilot.pause(0.8)
        assert not app.core.recording and app.core.engine is None
        await quit_app(app, pilot)
    assert config_path().read_text() == USER_FILE


def test_a_data_dir_that_cannot_hold_the_lock_does_not_stop_the_first_instance(tmp_path, monkeypatch):
    from meeting_tui.meeting.instance import InstanceLock

    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("MEETING_TUI_DATA_DIR", str(tmp_path / "a-file" / "data"))  # the dashboard says why itself
    lock = InstanceLock()
    assert lock.acquire("the dashboard") and lock.holder() == "another process"
    lock.release()
