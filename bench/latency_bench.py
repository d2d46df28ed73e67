"""Client latency of a meeting of alternating turns on the PulseAudio rig: `record` and the dashboard.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/latency_bench.py [--model PATH_OR_NAME] [--rounds 3] [--both] [--json OUT]

Latency is measured where the user sees a line: from the end of speech (the moment the utterance's last
voiced sample reached the app) to the line delivered to the client (printed by `record`, drawn by the
dashboard's frame), for "You" (the rig's virtual mic) and "Them" (its speakers' monitor). ``--both``: instead
of alternating turns, transcribe_bench's two tracks play at once, so both sides talk, often together. Both front ends
drive the same meeting (meeting_tui/meeting); figures per source: median (p50) and p95. Default model:
the bundled tiny.en. Report the load average with any figure (printed at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from meeting_tui.types import Source  # noqa: E402
from tests.support.rig.rig import start_rig  # noqa: E402

SHARED = REPO.parent / "shared" / "audio"


# What each side says in ``turns`` (../shared/audio/REFERENCES.md), once per round.
YOU_SAYS = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."
THEM_SAYS = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def turns(tmp: Path) -> tuple[Path, Path, float]:
    """You (left voice of stereo_diarization), then Them (JFK), alternating, each side silent while the
    other talks: two 16 kHz files of the same length to play into the rig's mic and speakers."""
    from meeting_tui.transcribe.audio_io import read_audio

    rate = 16000
    you = read_audio(SHARED / "stereo_diarization.wav", channels="split")[0]
    them = read_audio(SHARED / "jfk.flac", channels="mix")[0]
    pause = np.zeros(int(1.5 * rate), np.float32)
    mic, loop = [], []
    for _ in range(ARGS.rounds):
        for speaker, other in ((you, mic), (them, loop)):
            line = [speaker, pause]
            for track in (mic, loop):
                track.extend(line if track is other else [np.zeros_like(speaker), pause])
    mic_path, loop_path = tmp / "you.wav", tmp / "them.wav"
    sf.write(mic_path, np.concatenate(mic), rate)
    sf.write(loop_path, np.concatenate(loop), rate)
    return mic_path, loop_path, len(np.concatenate(mic)) / rate


def both_talking(tmp: Path) -> tuple[Path, Path, float]:
    """transcribe_bench's two 111 s tracks (21 utterances each, the second in reverse order with other
    pauses): both sides talk, often at once."""
    sys.path.insert(0, str(REPO / "bench"))
    from transcribe_bench import build_recording

    mic, _ = build_recording(tmp)
    loop, _ = build_recording(tmp, reverse=True, gap_shift=4, name="them.wav")
    return mic, loop, sf.info(str(mic)).duration


def settings_file(tmp: Path, model: str) -> Path:
    path = tmp / "settings.toml"
    path.write_text(f'[capture]\nmode = "meeting"\nmic_device = {{ name = "mic", hostapi = "PulseAudio" }}\n'
                    f'loopback_device = {{ name = "speakers.monitor", hostapi = "PulseAudio" }}\n'
                    f'[transcription.model]\nname = "{model}"\n', encoding="utf-8")
    return path


def run_record(rig, env, model: str, seconds: float, mic: Path, loop: Path) -> dict:
    proc = subprocess.Popen([sys.executable, "-m", "meeting_tui", "record", "--model", model, "--json",
                             "--duration", str(seconds + 4)], env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    time.sleep(3.0)  # capture and the model are up
    rig.play(mic, "micsink")
    rig.play(loop, "speakers")
    out, err = proc.communicate(timeout=seconds + 120)
    rig.stop_players()
    rows = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    summary_row = next((r for r in rows if r["type"] == "summary"), {"latency": {}})
    return {"latency": summary_row["latency"], "lines": sum(r["type"] == "segment" for r in rows),
            "retractions": [r.get("action") for r in rows if r["type"] == "retraction"],
            "stderr_tail": err.splitlines()[-3:]}


def run_dashboard(rig, model: str, seconds: float, mic: Path, loop: Path, tmp: Path) -> dict:
    from meeting_tui.ui.app import MeetingApp

    app = MeetingApp(record_on_launch=True, sessions_dir=tmp / "dashboard-sessions")
    result: dict = {}

    async def drive() -> None:
        async with app.run_test(size=(110, 34)) as pilot:
            deadline = time.monotonic() + 60
            while not (app.core.recording and app.core.tstats.state == "ready") and time.monotonic() < deadline:
                await pilot.pause(0.2)
            await pilot.pause(1.0)
            rig.play(mic, "micsink")
            rig.play(loop, "speakers")
            end = time.monotonic() + seconds + 4
            while time.monotonic() < end:
                await pilot.pause(0.2)
            rig.stop_players()
            lat = app.core.latency
            result.update(values={s.value: lat.values(s) for s in (Source.MIC, Source.LOOPBACK)},
                          lines=len(app.transcript.segments))
            await pilot.press("ctrl+q")
            deadline = time.monotonic() + 120
            while app.is_running and time.monotonic() < deadline:
                await pilot.pause(0.2)

    asyncio.run(drive())
    return result


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    v = sorted(values)
    return {"n": len(v), "p50": round(statistics.median(v), 2), "p95": round(v[min(len(v) - 1, int(0.95 * len(v)))], 2)}


def main() -> None:
    from meeting_tui.meeting.model import bundled_model, display_name

    model = ARGS.model or bundled_model()
    with tempfile.TemporaryDirectory(prefix="latency-bench-") as d:
        tmp = Path(d)
        rig = start_rig(tmp / "rig")
        try:
            mic, loop, seconds = both_talking(tmp) if ARGS.both else turns(tmp)
            env = dict(rig.env, MEETING_TUI_CONFIG=str(settings_file(tmp, model)),
                       MEETING_TUI_DATA_DIR=str(tmp / "data"), PYTHONPATH=str(REPO))
            os.environ.update({k: v for k, v in env.items() if k.startswith(("PULSE", "RIG", "MEETING_TUI"))})
            record = run_record(rig, env, model, seconds, mic, loop)
            dashboard = run_dashboard(rig, model, seconds, mic, loop, tmp)
        finally:
            rig.stop()
    report = {
        "model": display_name(model), "audio_s": round(seconds, 1), "both_talking": ARGS.both,
        "record": record["latency"], "record_lines": record["lines"], "record_retractions": record["retractions"],
        "dashboard": {"You": summary(dashboard["values"]["mic"]), "Them": summary(dashboard["values"]["loopback"])},
        "dashboard_lines": dashboard["lines"], "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(report, indent=2))
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="default: the bundled tiny.en")
    p.add_argument("--rounds", type=int, default=3, help="You/Them turn pairs")
    p.add_argument("--both", action="store_true", help="both sides talking (transcribe_bench's two tracks)")
    p.add_argument("--json", metavar="OUT")
    ARGS = p.parse_args()
    main()
