"""Transcription end to end: capture engine file workers and the real PulseAudio rig into the Transcriber,
and the `record` / `transcribe` commands."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meeting_tui.capture.engine import CaptureEngine, WorkerSpec, specs_for_mode
from meeting_tui.transcribe.model import ModelConfig
from meeting_tui.transcribe.transcriber import Transcriber, TranscriberConfig
from meeting_tui.transcribe.wer import normalize, wer
from meeting_tui.types import DeviceRef, Mode, Source
from tests.support.speech import JFK

REPO = Path(__file__).resolve().parent.parent
LEFT = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."
RIGHT = "The horizon seems extremely distant."

pytestmark = pytest.mark.model


async def run_engine(specs, transcriber: Transcriber, *, until_finished: bool = True, seconds: float = 0.0):
    engine = CaptureEngine(specs)
    engine.add_listener(transcriber)
    transcriber.start()
    await engine.start()
    transcriber.set_session_start_wall(time.time() - (time.monotonic() - engine.t0))
    try:
        if until_finished:
            assert await engine.wait_finished(timeout=60)
        else:
            await asyncio.sleep(seconds)
    finally:
        await engine.stop()
    return await transcriber.drain_async(timeout=60)


def test_jfk_through_a_file_worker(tiny, shared_audio):
    finals = []
    tr = Transcriber(TranscriberConfig(model=ModelConfig(tiny.path), sources=(Source.MIC,)), model=tiny,
                     on_segment=finals.append)
    specs = [WorkerSpec.file(Source.MIC, str(shared_audio / "jfk.flac"), channel=0, speed=2.0, restart=False)]
    result = asyncio.run(run_engine(specs, tr))
    assert result.complete
    text = " ".join(s.text for s in finals)
    assert wer(JFK, text) <= 0.10, text
    assert all(s.source is Source.MIC and s.wall_start and s.wall_start > 1e9 for s in finals)


def test_stereo_file_left_as_mic_right_as_loopback(tiny, shared_audio):
    finals = []
    tr = Transcriber(TranscriberConfig(model=ModelConfig(tiny.path), partials=False), model=tiny,
                     on_segment=finals.append)
    wav = str(shared_audio / "stereo_diarization.wav")
    specs = [WorkerSpec.file(Source.MIC, wav, channel=0, speed=1.0, restart=False),
             WorkerSpec.file(Source.LOOPBACK, wav, channel=1, speed=1.0, restart=False)]
    asyncio.run(run_engine(specs, tr))
    you = " ".join(s.text for s in finals if s.source is Source.MIC)
    them = " ".join(s.text for s in finals if s.source is Source.LOOPBACK)
    assert wer(LEFT, you) <= 0.15, you
    assert wer(RIGHT, them) <= 0.15, them
    assert "horizon" not in normalize(you) and "wizard" not in normalize(them)
    assert {tr.label(s.source) for s in finals} == {"You", "Them"}


def test_mixed_style_through_the_engine(tiny, shared_audio, tmp_path):
    """Mixed style transcribes the engine's gain-weighted mix as one "Mixed" stream.

    One side talks (jfk) while the other is silent: two *overlapping* voices in one stream garble tiny.en
    (that is why meeting mode defaults to separate), so overlap is not what this test is about.
    """
    import numpy as np
    import soundfile as sf

    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, np.zeros(12 * 16000, np.float32), 16000)
    finals = []
    tr = Transcriber(TranscriberConfig(model=ModelConfig(tiny.path), style="mixed", partials=False), model=tiny,
                     on_segment=finals.append)
    specs = [WorkerSpec.file(Source.MIC, str(shared_audio / "jfk.flac"), channel=0, speed=2.0, restart=False),
             WorkerSpec.file(Source.LOOPBACK, str(quiet), speed=2.0, restart=False)]
    asyncio.run(run_engine(specs, tr))
    assert finals and {s.source for s in finals} == {Source.MIX}
    assert {tr.label(s.source) for s in finals} == {"Mixed"}
    text = " ".join(s.text for s in finals)
    assert wer(JFK, text) <= 0.15, text


def _espeak(text: str, path: Path) -> Path:
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    return path


@pytest.mark.rig
def test_rig_mic_and_speakers_each_transcribed_with_their_label(rig, tiny, tmp_path):
    import shutil

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    mine = "Please send me the quarterly report before Friday."
    theirs = "The weather in London was cold and rainy yesterday."
    a = _espeak(mine, tmp_path / "mine.wav")
    b = _espeak(theirs, tmp_path / "theirs.wav")
    finals = []
    tr = Transcriber(TranscriberConfig(model=ModelConfig(tiny.path), partials=False), model=tiny,
                     on_segment=finals.append)
    specs = specs_for_mode(Mode.MEETING, DeviceRef("mic", "PulseAudio"), DeviceRef("speakers.monitor", "PulseAudio"))

    async def run():
        engine = CaptureEngine(specs)
        engine.add_listener(tr)
        tr.start()
        await engine.start()
        await asyncio.sleep(1.0)
        players = [rig.play(a, "micsink"), rig.play(b, "speakers")]
        for p in players:  # both said in full, then the workers' last blocks (50 ms latency, 100 ms writes)
            await asyncio.to_thread(p.wait, 30)
        await asyncio.sleep(0.5)
        await engine.stop()
        return await tr.drain_async(timeout=60)

    asyncio.run(run())
    you = " ".join(s.text for s in finals if s.source is Source.MIC)
    them = " ".join(s.text for s in finals if s.source is Source.LOOPBACK)
    assert wer(mine, you) <= 0.25, you
    assert wer(theirs, them) <= 0.25, them
    assert "london" not in normalize(you) and "report" not in normalize(them)


# --- commands ---------------------------------------------------------------------------------------------


def _cli_env(tmp_path) -> dict:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", MEETING_TUI_CONFIG=str(tmp_path / "cfg" / "settings.toml"),
               MEETING_TUI_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO))
    return env


def test_transcribe_command_splits_stereo(tiny, shared_audio, tmp_path, capsys):
    from meeting_tui.cli import main

    out = tmp_path / "t.jsonl"
    rc = main(["transcribe", str(shared_audio / "stereo_diarization.wav"), "--split-stereo", "--model", tiny.path,
               "--quiet", "-o", str(out)])
    assert rc == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    you = " ".join(r["text"] for r in rows if r["label"] == "You")
    them = " ".join(r["text"] for r in rows if r["label"] == "Them")
    assert wer(LEFT, you) <= 0.15 and wer(RIGHT, them) <= 0.15
    rc = main(["transcribe", str(shared_audio / "jfk.flac"), "--model", tiny.path, "--quiet"])
    printed = capsys.readouterr().out
    assert rc == 0 and "Speaker:" in printed and wer(JFK, " ".join(
        line.split(": ", 1)[1] for line in printed.splitlines())) <= 0.10


def test_transcribe_command_trades_no_words_for_time():
    """A file has no real time to keep up with: `transcribe` feeds it as fast as it decodes, so the load
    governor (which steps to a smaller beam when busy) and the shorter context of slow finals stay off, and
    the text does not depend on what else the machine is doing."""
    from meeting_tui.cli import build_parser
    from meeting_tui.commands.transcribe import file_config

    for extra, sources in (([], (Source.MIC,)), (["--split-stereo"], (Source.MIC, Source.LOOPBACK))):
        cfg = file_config(build_parser().parse_args(["transcribe", "x.wav", *extra]), None)
        assert not cfg.paced and not cfg.governor.enabled and cfg.context_enough_s == float("inf")
        assert cfg.sources == sources and not cfg.partials


def test_transcribe_command_bad_model_is_a_clear_error(shared_audio, tmp_path, capsys):
    from meeting_tui.cli import main

    rc = main(["transcribe", str(shared_audio / "jfk.flac"), "--model", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert rc == 1 and "nope" in err and "Fix:" in err


def test_record_stops_on_sigterm_and_transcribes_what_was_captured(tiny, shared_audio, tmp_path):
    out = tmp_path / "rec.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "meeting_tui.cli", "record", "--mic-file", str(shared_audio / "jfk.flac"),
         "--mic-channel", "0", "--model", tiny.path, "--no-partials", "--out", str(out)],
        cwd=REPO, env=_cli_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (out.exists() and out.read_text().strip()):
            time.sleep(0.1)  # the first utterance (0.3-3.2 s of the file) has been transcribed
        time.sleep(5.5)  # now at least 8.7 s of the 11 s are captured, the rest is not
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    rows = [json.loads(x) for x in out.read_text().splitlines() if json.loads(x)["type"] == "segment"]
    text = normalize(" ".join(r["text"] for r in rows))
    assert "fellow americans" in text and "ask not" in text, (text, stderr)
    assert "your country" in text  # "what your country can do for you" was captured before the signal
    assert "You:" in stdout and "[draining]" in stderr
    # the session journal has the same segments and is closed
    journals = list((tmp_path / "data" / "sessions").glob("*/journal.jsonl"))
    assert len(journals) == 1
    records = [json.loads(x) for x in journals[0].read_text().splitlines()]
    assert [r["text"] for r in records if r["t"] == "segment"] == [r["text"] for r in rows]
    assert records[-1]["t"] == "end"


def test_record_duration_with_two_file_sources(tiny, shared_audio, tmp_path):
    wav = str(shared_audio / "stereo_diarization.wav")
    res = subprocess.run(
        [sys.executable, "-m", "meeting_tui.cli", "record", "--mic-file", wav, "--mic-channel", "0",
         "--loopback-file", wav, "--loopback-channel", "1", "--model", tiny.path, "--duration", "30",
         "--label-mic", "Me", "--json", "--no-session"],
        cwd=REPO, env=_cli_env(tmp_path), capture_output=True, text=True, timeout=90)
    assert res.returncode == 0, res.stderr
    rows = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    assert {r["label"] for r in rows if r["type"] == "segment"} == {"Me", "Them"}
    assert not (tmp_path / "data" / "sessions").exists()
