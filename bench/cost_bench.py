"""What the whole program costs: CPU of the process tree (the front end and its capture workers) and RSS,
per part, against offline faster-whisper on the same two tracks, all in one run.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/cost_bench.py [--model bundled --model .models/whisper-base-ct2]
        [--on rig --on files] [--only NAME ...] [--json OUT]

The meeting is latency_bench's two-party call (You: the left voice of stereo_diarization, Them: JFK,
alternating, 1.5 s pauses, three rounds, 57 s). Each run is the CLI as a user starts it, a subprocess:
``monitor`` (capture and meters only) or ``record`` (capture, echo guard, transcription, journal) with the
echo guard and partials on or off. On the PulseAudio rig the tracks play into the virtual mic and speakers;
on files the same tracks are replayed at real time by file workers (``--mic-file``, ``--speed 1``).

CPU: ``os.wait4`` on the front end, which counts it and every child it waited for (the capture workers),
plus a psutil sampler (every 0.2 s) that splits the tree into the parent and its workers and keeps the RSS
peak. Offline: faster-whisper's ``transcribe()`` (beam 5) of each whole track in this process, model load
excluded; the ratio is the tree's CPU over that. The machine is shared: compare ratios from one run only.
Each tree's package is byte-compiled first, as an installed one is (``compile_trees``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import psutil  # noqa: E402


@dataclass
class Variant:
    name: str
    command: str  # "monitor" or "record"
    flags: list[str] = field(default_factory=list)
    transcribes: bool = True


VARIANTS = [
    Variant("monitor", "monitor", transcribes=False),
    Variant("defaults", "record"),
    Variant("no echo guard", "record", ["--no-echo-guard"]),
    Variant("no partials", "record", ["--no-partials"]),
    Variant("neither", "record", ["--no-echo-guard", "--no-partials"]),
]


STEADY_AFTER_S = 10.0  # start-up (imports, devices, the model) is over well before this


class TreeSampler(threading.Thread):
    """Samples a process and its descendants: last CPU seen per worker pid, RSS peaks."""

    def __init__(self, proc: psutil.Process, period: float = 0.2):
        super().__init__(daemon=True)
        self.proc, self.period = proc, period
        self.worker_cpu: dict[int, float] = {}
        self.parent_cpu = 0.0
        self.parent_rss_peak = 0
        self.tree_rss_peak = 0
        self.timeline: list[tuple[float, float]] = []  # (seconds since start, tree CPU so far)
        self.stopped = threading.Event()

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.stopped.is_set():
            try:
                t = self.proc.cpu_times()
                self.parent_cpu = t.user + t.system
                rss = self.proc.memory_info().rss
                kids = self.proc.children(recursive=True)
            except psutil.Error:
                return
            tree = rss
            for k in kids:
                try:
                    kt = k.cpu_times()
                    self.worker_cpu[k.pid] = kt.user + kt.system + kt.children_user + kt.children_system
                    tree += k.memory_info().rss
                except psutil.Error:
                    pass
            self.parent_rss_peak = max(self.parent_rss_peak, rss)
            self.tree_rss_peak = max(self.tree_rss_peak, tree)
            self.timeline.append((time.monotonic() - t0, self.parent_cpu + sum(self.worker_cpu.values())))
            self.stopped.wait(self.period)

    def steady_rate(self, after_s: float = STEADY_AFTER_S) -> float | None:
        """Tree CPU per second from ``after_s`` to the last sample: what capture costs once it runs (start-up
        and the imports out). None for a run too short to say."""
        window = [(t, c) for t, c in self.timeline if t >= after_s]
        if len(window) < 2 or window[-1][0] - window[0][0] < 10:
            return None
        return (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])


def settings_file(tmp: Path, model: str) -> Path:
    path = tmp / "settings.toml"
    path.write_text(f'[capture]\nmode = "meeting"\nmic_device = {{ name = "mic", hostapi = "PulseAudio" }}\n'
                    f'loopback_device = {{ name = "speakers.monitor", hostapi = "PulseAudio" }}\n'
                    f'[transcription.model]\nname = "{model}"\n', encoding="utf-8")
    return path


def run_cli(variant: Variant, model: str, on: str, rig, env: dict, seconds: float, mic: Path, loop: Path,
            tree: Path = REPO) -> dict:
    args = [sys.executable, "-m", "meeting_tui", variant.command, "--duration", str(round(seconds + 4, 1))]
    if variant.command == "record":
        args += ["--model", model, "--json", "--no-session", *variant.flags]
    else:
        args += ["--json", "--rate", "4"]
    if on == "files":
        args += ["--mic-file", str(mic), "--loopback-file", str(loop)]
        if variant.command == "record":
            args += ["--speed", "1"]
    proc = subprocess.Popen(args, env=dict(env, PYTHONPATH=str(tree)), cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    sampler = TreeSampler(psutil.Process(proc.pid))
    sampler.start()
    out_lines: list[str] = []
    reader = threading.Thread(target=lambda: out_lines.extend(proc.stdout), daemon=True)
    err_lines: list[str] = []
    err_reader = threading.Thread(target=lambda: err_lines.extend(proc.stderr), daemon=True)
    reader.start()
    err_reader.start()
    taps = []
    if on == "rig":
        time.sleep(3.0)  # capture and the model are up (latency_bench does the same)
        taps = tap_sources(rig, mic.parent / "captured") if variant.transcribes else []
        rig.play(mic, "micsink")
        rig.play(loop, "speakers")
    t0 = time.perf_counter()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        captured = [stop_tap(*tap) for tap in taps]  # no parec left recording, whatever happened
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    sampler.stopped.set()
    sampler.join()
    reader.join(10)
    err_reader.join(10)
    if rig is not None:
        rig.stop_players()
    total = usage.ru_utime + usage.ru_stime
    workers = sum(sampler.worker_cpu.values())
    rows = [json.loads(x) for x in out_lines if x.startswith("{")]
    summary = next((r for r in rows if r.get("type") == "summary"), {})
    said = {src: " ".join(r["text"] for r in rows if r.get("type") == "segment" and r.get("source") == src)
            for src in ("mic", "loopback")}
    result = {"rc": proc.returncode, "wall_s": round(wall, 1), "cpu_s": round(total, 2),
              "workers_cpu_s": round(workers, 2), "parent_cpu_s": round(total - workers, 2),
              "parent_rss_peak_mb": round(sampler.parent_rss_peak / 2**20),
              "tree_rss_peak_mb": round(sampler.tree_rss_peak / 2**20),
              "steady_cpu_per_s": None if (rate := sampler.steady_rate()) is None else round(rate, 4),
              "lines": sum(r.get("type") == "segment" for r in rows),
              "latency": summary.get("latency"), "transcriber": summary.get("transcriber"),
              "decodes": summary.get("decodes"), "texts": said}
    if captured:
        result["captured"] = [str(x) for x in captured]
    if proc.returncode != 0:
        result["stderr_tail"] = err_lines[-5:]
    return result


def tap_sources(rig, folder: Path) -> list[tuple[subprocess.Popen, Path]]:
    """Record what the rig's mic and speakers carry, as the workers get it from the server (16 kHz mono),
    outside the measured tree: offline faster-whisper on this audio is the WER floor on the same audio."""
    folder.mkdir(exist_ok=True)
    taps = []
    for name, device in (("mic", "mic"), ("loopback", "speakers.monitor")):
        raw = folder / f"{name}.f32"
        with open(raw, "wb") as f:
            taps.append((subprocess.Popen(["parec", f"--device={device}", "--rate=16000", "--channels=1",
                                           "--format=float32le", "--raw"], env=rig.env, stdout=f,
                                          stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL), raw))
    return taps


def stop_tap(proc: subprocess.Popen, raw: Path) -> Path:
    import numpy as np
    import soundfile as sf

    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    wav = raw.with_suffix(".wav")
    sf.write(wav, np.fromfile(raw, dtype="<f4"), 16000)
    return wav


def compile_trees(trees: list[Path]) -> None:
    """Bytecode for each tree's package, as an installed one has (pip compiles on install). A checkout run
    with PYTHONDONTWRITEBYTECODE (this machine sets it) compiles every module it imports at each start:
    about 0.1 s of CPU in the front end and a little in every worker, which a user never pays."""
    import compileall

    for tree in trees:
        compileall.compile_dir(str(tree / "meeting_tui"), quiet=1)


def offline(model: str, tracks: list[Path]) -> dict:
    from transcribe_bench import run_offline

    from meeting_tui.transcribe.model import default_cpu_threads

    from faster_whisper import WhisperModel

    c0 = time.process_time()
    WhisperModel(model, device="cpu", compute_type="int8", cpu_threads=default_cpu_threads())
    load = time.process_time() - c0
    r = run_offline(model, tracks, default_cpu_threads())
    return {"cpu_s": round(r["cpu_s"], 2), "wall_s": round(r["wall_s"], 2), "load_cpu_s": round(load, 2),
            "texts": r["texts"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", help="bundled (tiny.en), a name or a folder; repeatable")
    ap.add_argument("--on", action="append", choices=["rig", "files"], help="where audio comes from; repeatable")
    ap.add_argument("--only", action="append", help="variant names to run (default: all)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tree", action="append", metavar="NAME=DIR",
                    help="also run the CLI of another checkout (e.g. before=/tmp/old), in the same run")
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()

    import latency_bench
    from meeting_tui.meeting.model import bundled_model, display_name

    latency_bench.ARGS = argparse.Namespace(rounds=args.rounds)
    models = [bundled_model() if m in (None, "bundled") else m for m in (args.model or ["bundled"])]
    places = args.on or ["rig"]
    variants = [v for v in VARIANTS if not args.only or v.name in args.only]
    results: list[dict] = []
    trees = [("", REPO)] + [(f" ({t.split('=', 1)[0]})", Path(t.split("=", 1)[1]).resolve()) for t in args.tree or []]
    compile_trees([tree for _, tree in trees])
    print(f"{os.cpu_count()} cores; load average at start {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="cost-bench-") as d:
        tmp = Path(d)
        mic, loop, seconds = latency_bench.turns(tmp)
        offline_cpu = {m: offline(m, [mic, loop]) for m in models}
        for m in models:
            print(f"offline {display_name(m)}: {offline_cpu[m]['cpu_s']} s CPU; model load "
                  f"{offline_cpu[m]['load_cpu_s']} s CPU", flush=True)
        for on in places:
            rig = None
            env = dict(os.environ, PYTHONPATH=str(REPO), MEETING_TUI_DATA_DIR=str(tmp / "data"))
            if on == "rig":
                from tests.support.rig.rig import start_rig

                rig = start_rig(tmp / "rig")
                env = dict(rig.env, PYTHONPATH=str(REPO), MEETING_TUI_DATA_DIR=str(tmp / "data"))
            try:
                for v in variants:
                    for m in (models if v.transcribes else models[:1]):
                        for tree_name, tree in trees:
                            env["MEETING_TUI_CONFIG"] = str(settings_file(tmp, m))
                            r = run_cli(v, m, on, rig, env, seconds, mic, loop, tree)
                            r.update(on=on, variant=v.name + tree_name,
                                     model=display_name(m) if v.transcribes else "-", audio_s=round(seconds, 1))
                            if v.transcribes:
                                from meeting_tui.transcribe.wer import wer

                                # live against offline on the same track: You is the mic's, Them the loopback's
                                r["wer_vs_offline"] = {side: round(wer(offline_cpu[m]["texts"][i], r["texts"][src]), 3)
                                                       for i, (side, src) in enumerate((("you", "mic"), ("them", "loopback")))}
                                # the floor: live WER at most offline's + 0.01, each against what was said
                                said = [" ".join([t] * latency_bench.ARGS.rounds)
                                        for t in (latency_bench.YOU_SAYS, latency_bench.THEM_SAYS)]
                                # offline on the played files, and on what the server delivered (the same audio)
                                floors = [offline_cpu[m]["texts"]]
                                if r.get("captured"):
                                    floors.append(offline(m, [Path(x) for x in r["captured"]])["texts"])
                                r["wer_vs_said"] = {side: [round(wer(said[i], r["texts"][src]), 3)]
                                                    + [round(wer(said[i], f[i]), 3) for f in floors]
                                                    for i, (side, src) in enumerate((("you", "mic"), ("them", "loopback")))}
                                r["offline_cpu_s"] = offline_cpu[m]["cpu_s"]
                                r["ratio"] = round(r["cpu_s"] / max(1e-6, offline_cpu[m]["cpu_s"]), 2)
                            results.append(r)
                            print(json.dumps(r), flush=True)
            finally:
                if rig is not None:
                    rig.stop()
    print(f"\nload average at end {os.getloadavg()[0]:.2f}; audio {seconds:.1f} s; CPU in seconds")
    print("| on | run | model | CPU tree | workers | parent | offline | ratio | RSS parent / tree MB | lines | "
          "WER to offline, You / Them | WER to what was said, live (offline on the files / on the audio captured): "
          "You; Them |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        w, ws = r.get("wer_vs_offline"), r.get("wer_vs_said")
        wer_cell = f"{w['you']} / {w['them']}" if w else "-"
        said_cell = "; ".join(f"{ws[k][0]} ({' / '.join(map(str, ws[k][1:]))})" for k in ("you", "them")) if ws else "-"
        print(f"| {r['on']} | {r['variant']} | {r['model']} | {r['cpu_s']} | {r['workers_cpu_s']} | "
              f"{r['parent_cpu_s']} | {r.get('offline_cpu_s', '-')} | {r.get('ratio', '-')} | "
              f"{r['parent_rss_peak_mb']} / {r['tree_rss_peak_mb']} | {r['lines']} | {wer_cell} | {said_cell} |")
    for r in results:
        if r["variant"].startswith("monitor"):
            per_stream = 100 * r["cpu_s"] / (r["audio_s"] + 4) / 2
            print(f"capture ({r['on']}, {r['variant']}): {per_stream:.2f} % of a core per stream (tree CPU / run time / 2 streams, start-up included)")
            if r.get("steady_cpu_per_s") is not None:
                print(f"capture ({r['on']}, {r['variant']}): {50 * r['steady_cpu_per_s']:.2f} % of a core per stream "
                      f"once running (tree CPU from {STEADY_AFTER_S:.0f} s to the end / 2 streams)")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "offline": offline_cpu}, indent=2))
    return 0 if all(r["rc"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
