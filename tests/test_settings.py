"""The settings file: validation messages, corrupt files, unwritable dirs, atomic private writes, devices."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from meeting_tui import paths
from meeting_tui.settings import (
    DeviceSetting,
    Settings,
    SettingsSaveError,
    SettingsStore,
    load_settings,
    resolve_device,
    save_settings,
)
from meeting_tui.types import DeviceInfo, DeviceRef, Mode, Source

POSIX = os.name == "posix"


@pytest.fixture
def config(tmp_path) -> Path:
    # The autouse fixture in conftest already points MEETING_TUI_CONFIG here.
    return paths.config_file()


def test_paths_follow_env_overrides(tmp_path, monkeypatch):
    assert paths.config_file() == tmp_path / "config" / "settings.toml"
    assert paths.config_dir() == tmp_path / "config"
    assert paths.data_dir() == tmp_path / "data"
    assert paths.sessions_dir() == tmp_path / "data" / "sessions"
    assert paths.log_dir() == tmp_path / "data" / "logs"
    assert paths.config_file(tmp_path / "other.toml") == tmp_path / "other.toml"  # --config wins
    assert paths.sessions_dir(tmp_path / "mine") == tmp_path / "mine"
    monkeypatch.delenv("MEETING_TUI_CONFIG")
    assert paths.config_file().name == "settings.toml" and "meeting-tui" in str(paths.config_file())


def test_missing_file_gives_defaults_silently(config):
    loaded = load_settings()
    assert loaded.settings == Settings() and loaded.warnings == [] and loaded.path == config
    assert not config.exists()  # loading never creates files


def test_round_trip_everything_the_ui_sets(config):
    s = Settings()
    s.capture.mode = Mode.MIC
    s.capture.mic_device = DeviceSetting(name="USB Mic", hostapi="ALSA")
    s.capture.loopback_device = DeviceSetting.from_ref(DeviceRef("Speakers", "Windows WASAPI"))
    s.capture.gains_db.mic = 6.5
    s.capture.gains_db.loopback = -3
    s.transcription.model.name = "/models/my-whisper"
    s.transcription.model.device = "cuda"
    s.transcription.model.compute_type = "float16"
    s.transcription.model.language = "de"
    s.transcription.model.beam_size = 2
    s.transcription.style = "mixed"
    s.ui.labels.mic = "Ana"
    s.ui.labels.loopback = "Guests"
    s.ui.theme = "nord"
    s.ui.keymap = {"stop": "ctrl+s,f2"}
    s.session.export_format = "srt"
    s.session.dir = Path("/somewhere/sessions")
    s.session.record_audio = True
    s.session.start_on_launch = True
    s.echo.enabled = False
    s.echo.dedupe = "mark"
    save_settings(s)
    loaded = load_settings()
    assert loaded.warnings == []
    assert loaded.settings == s
    assert loaded.settings.capture.mic_device.to_ref() == DeviceRef("USB Mic", "ALSA")
    assert loaded.settings.sessions_dir() == Path("/somewhere/sessions")
    assert [p.name for p in config.parent.iterdir()] == ["settings.toml"]  # no temp file left


@pytest.mark.skipif(not POSIX, reason="POSIX permissions")
def test_saved_file_is_private(config):
    save_settings(Settings())
    assert config.stat().st_mode & 0o777 == 0o600
    assert config.parent.stat().st_mode & 0o777 == 0o700


def test_corrupt_toml_is_backed_up_and_defaults_used(config):
    config.parent.mkdir(parents=True)
    broken = '[capture]\nmode = "mic"\ngains_db = {mic = \n'
    config.write_text(broken)
    loaded = load_settings()
    assert loaded.settings == Settings()
    assert len(loaded.warnings) == 1
    warning = loaded.warnings[0]
    assert "could not be parsed" in warning and "default settings" in warning and str(config) in warning
    assert loaded.backup is not None and loaded.backup.read_text() == broken
    assert str(loaded.backup) in warning
    assert config.read_text() == broken  # the original stays for the user to fix
    if POSIX:
        assert loaded.backup.stat().st_mode & 0o777 == 0o600


def test_wrong_type_names_key_and_expected_form(config):
    config.parent.mkdir(parents=True)
    config.write_text('[capture.gains_db]\nmic = "loud"\nloopback = -4.5\n\n[session]\nrecord_audio = 3\n')
    loaded = load_settings()
    assert loaded.settings.capture.gains_db.mic == 0.0  # bad value: default
    assert loaded.settings.capture.gains_db.loopback == -4.5  # the rest of the file still applies
    gain = next(w for w in loaded.warnings if "capture.gains_db.mic" in w)
    assert '"loud"' in gain and "Expected a number from -60 to 40" in gain
    record = next(w for w in loaded.warnings if "session.record_audio" in w)
    assert "true or false" in record


def test_bad_choice_lists_the_choices(config):
    config.parent.mkdir(parents=True)
    config.write_text('[capture]\nmode = "meting"\n[transcription.model]\ndevice = "gpu"\nbeam_size = 0\n')
    warnings = load_settings().warnings
    assert any('"capture.mode"' in w and '"mic", "loopback", "meeting", "meeting-ffmpeg"' in w for w in warnings)
    assert any('"transcription.model.device"' in w and '"auto", "cpu", "cuda"' in w for w in warnings)
    assert any('"transcription.model.beam_size"' in w and "a whole number from 1 to 20" in w for w in warnings)


def test_unknown_key_says_did_you_mean(config):
    config.parent.mkdir(parents=True)
    config.write_text('[capture]\nmod = "mic"\n\n[sesion]\nrecord_audio = true\n\n[ui]\nthem = "nord"\n')
    loaded = load_settings()
    assert loaded.settings == Settings()
    assert any('unknown setting "capture.mod"' in w and 'Did you mean "capture.mode"?' in w for w in loaded.warnings)
    assert any('unknown setting "sesion"' in w and 'Did you mean "session"?' in w for w in loaded.warnings)
    assert any('Did you mean "ui.theme"?' in w for w in loaded.warnings)
    assert len(loaded.warnings) == 3


def test_saving_over_an_invalid_file_keeps_its_entries_as_written(config):
    config.parent.mkdir(parents=True)
    config.write_text('[capture]\nmod = "mic"\n')
    s = Settings()
    s.ui.theme = "nord"
    save_settings(s)
    assert config.read_text().startswith('[capture]\nmod = "mic"\n')  # edited in place, nothing to back up
    assert load_settings().settings.ui.theme == "nord"


def test_unwritable_config_dir_keeps_running_in_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    target = blocker / "meeting-tui" / "settings.toml"  # root can't create a dir under a file either
    monkeypatch.setenv("MEETING_TUI_CONFIG", str(target))
    with pytest.raises(SettingsSaveError) as err:
        save_settings(Settings())
    assert str(target) in str(err.value) and "--config" in str(err.value) and "MEETING_TUI_CONFIG" in str(err.value)

    store = SettingsStore()
    assert store.warnings == []
    notice = store.set("capture.gains_db.mic", 6.0)
    assert notice is not None and "Could not save settings" in notice and "until you quit" in notice
    assert store.writable is False
    assert store.settings.capture.gains_db.mic == 6.0  # still applies in memory
    assert blocker.read_text() == "not a folder"


def test_store_validates_assignments_and_saves(config):
    store = SettingsStore()
    assert store.set("transcription.model.beam_size", 3) is None
    assert load_settings().settings.transcription.model.beam_size == 3
    with pytest.raises(ValueError):  # pydantic's ValidationError is a ValueError
        store.set("transcription.model.beam_size", 0)
    with pytest.raises(AttributeError):
        store.set("capture.nope", 1)


def test_explicit_config_path_overrides_env(tmp_path):
    other = tmp_path / "elsewhere" / "my.toml"
    s = Settings()
    s.ui.theme = "gruvbox"
    save_settings(s, other)
    assert load_settings(other).settings.ui.theme == "gruvbox"
    assert load_settings().settings.ui.theme == Settings().ui.theme


# --- devices --------------------------------------------------------------------------------------------

MIC_A = DeviceInfo(DeviceRef("Headset Mic", "ALSA"), Source.MIC, 1, 48000.0)
MIC_DEFAULT = DeviceInfo(DeviceRef("Built-in Mic", "ALSA"), Source.MIC, 2, 44100.0, is_default=True)
LOOP = DeviceInfo(DeviceRef("Speakers", "PulseAudio"), Source.LOOPBACK, 2, 48000.0, is_default=True)


def test_resolve_device_present():
    assert resolve_device(DeviceRef("Headset Mic", "ALSA"), [MIC_A, MIC_DEFAULT]) == (MIC_A.ref, None)


def test_resolve_device_missing_falls_back_with_notice():
    ref, notice = resolve_device(DeviceRef("Old USB Mic", "ALSA"), [MIC_A, MIC_DEFAULT, LOOP], Source.MIC)
    assert ref == MIC_DEFAULT.ref
    assert notice is not None and "Old USB Mic (ALSA)" in notice and "Built-in Mic (ALSA)" in notice


def test_resolve_device_same_name_other_hostapi_is_not_a_match():
    ref, notice = resolve_device(DeviceSetting(name="Headset Mic", hostapi="JACK"), [MIC_A, MIC_DEFAULT])
    assert ref == MIC_DEFAULT.ref and notice is not None


def test_resolve_device_unset_or_nothing_available():
    assert resolve_device(None, [MIC_A, MIC_DEFAULT]) == (MIC_DEFAULT.ref, None)
    ref, notice = resolve_device(DeviceRef("Gone", "ALSA"), [LOOP], Source.MIC)
    assert ref is None and "no other microphone" in notice


def test_the_echo_section_is_the_one_echo_model_the_meeting_reads(config):
    """[echo] in the settings file reaches the meeting's echo plan; a bad backend names the choices."""
    from meeting_tui.meeting.echo_stage import EchoPlan

    config.parent.mkdir(parents=True)
    config.write_text('[echo]\nbackend = "gate"\ndedupe = "mark"\ntext_window_s = 6.0\ntext_threshold = 0.7\n')
    loaded = load_settings()
    assert loaded.warnings == []
    plan = EchoPlan.from_settings(loaded.settings, "separate")
    assert (plan.guard_enabled, plan.backend, plan.text_action) == (True, "gate", "mark")
    assert plan.make_verdicts().filter.window_s == 6.0 and plan.make_verdicts().filter.threshold == 0.7
    assert type(plan.make_guard()).__name__ == "EchoGuard" and plan.make_guard().backend.name == "spectral-gate"
    assert EchoPlan.from_settings(loaded.settings, "mixed").text_action == "off"  # one stream: nothing to compare
    assert loaded.settings.echo.active_for(Mode.MEETING) and not loaded.settings.echo.active_for(Mode.MIC)

    config.write_text('[echo]\nbackend = "speex"\n')
    loaded = load_settings()
    assert loaded.settings.echo.backend == "auto"
    assert any("echo.backend" in w and "gate" in w for w in loaded.warnings)
    assert EchoPlan.from_settings(Settings(), "separate") == EchoPlan(True, "auto", "drop", 4.0, 0.6)  # the defaults
