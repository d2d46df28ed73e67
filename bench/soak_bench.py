"""An hour of meeting at real time: RSS and CPU of the whole process tree, sampled as it runs.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/soak_bench.py [--minutes 60] [--model bundled] [--json OUT]

The meeting is latency_bench's two-party call (57 s: You, then Them, three rounds) repeated to the length
asked, replayed at real time by file workers (``record --mic-file --loopback-file --speed 1``, meeting
mode: echo guard, partials and the session journal and recording on, as a user runs it). Every
``--every`` seconds it prints the front end's RSS, the tree's RSS and the tree's CPU over the interval
(% of one core); at the end, the RSS slope over the second half (MB per hour: flat is near 0), the lines
per 57 s meeting over the whole run and over its second half (the same when nothing slows down or is
lost as the hour goes on), and the tree's CPU over the whole run.

``--heap`` runs an allocator experiment in the front end only, never a product setting: ``trim``
(``malloc_trim(0)`` every ``--trim-every`` s), ``arena2`` (``mallopt(M_ARENA_MAX, 2)``), both through
heap_site/sitecustomize.py, or ``jemalloc`` (``LD_PRELOAD``, Debian's libjemalloc2). Except with jemalloc, the
result also gives glibc's ``mallinfo2`` over the second half: in use, free but kept, mapped apart.
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
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import psutil  # noqa: E402

JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"  # Debian's libjemalloc2, for --heap jemalloc


def long_meeting(tmp: Path, minutes: float) -> tuple[Path, Path, float, int]:
    import latency_bench

    latency_bench.ARGS = argparse.Namespace(rounds=3)
    mic, loop, seconds = latency_bench.turns(tmp)
    repeats = max(1, round(minutes * 60 / seconds))
    paths = []
    for src, name in ((mic, "you-long.wav"), (loop, "them-long.wav")):
        audio, rate = sf.read(src, dtype="float32")
        out = tmp / name
        sf.write(out, np.tile(audio, repeats), rate)
        paths.append(out)
    return paths[0], paths[1], seconds * repeats, repeats


def tree_sample(proc: psutil.Process) -> tuple[float, int, int]:
    """CPU seconds of the tree (children counted while alive), RSS of the parent and of the tree."""
    t = proc.cpu_times()
    cpu = t.user + t.system + t.children_user + t.children_system
    rss = proc.memory_info().rss
    tree = rss
    for k in proc.children(recursive=True):
        try:
            kt = k.cpu_times()
            cpu += kt.user + kt.system
            tree += k.memory_info().rss
        except psutil.Error:
            pass
    return cpu, rss, tree


def _rate(samples: list[dict], wall: float, unit_s: float) -> float | None:
    """Lines journaled per meeting repeat over the second half: the same as the whole run's when nothing
    slows down or is lost as the hour goes on."""
    half = [s for s in samples if s["t_s"] >= wall / 2]
    if len(half) < 2:
        return None
    return round((half[-1]["lines"] - half[0]["lines"]) / ((half[-1]["t_s"] - half[0]["t_s"]) / unit_s), 2)


def _quarter_max(samples: list[dict], wall: float) -> list[float]:
    """The front end's highest RSS in each quarter of the run: the top's drift, which a slope fitted
    through a saw-tooth (decodes' buffers coming and going, trims) hides."""
    return [max((s["rss_mb"] for s in samples if q * wall / 4 <= s["t_s"] < (q + 1) * wall / 4), default=0.0)
            for q in range(4)]


def _heap_env(env: dict, args: argparse.Namespace, tmp: Path) -> Path | None:
    """The allocator experiment asked for, set up in the child's environment; the mallinfo2 log's path."""
    if args.heap == "jemalloc":
        env["LD_PRELOAD"] = JEMALLOC
        return None
    log = tmp / "heap.log"
    env.update(PYTHONPATH=os.pathsep.join([str(REPO / "bench" / "heap_site"), env["PYTHONPATH"]]),
               SOAK_HEAP=args.heap, SOAK_HEAP_LOG=str(log), SOAK_HEAP_TRIM_S=str(args.trim_every))
    return log


def _heap_result(heap: str, log: Path | None, wall: float) -> dict:
    """glibc's heap over the second half: in use and free-but-kept, first and last sample (MB)."""
    out: dict = {"heap": heap}
    if log is None or not log.exists():
        return out
    rows = [[float(x) for x in line.split()] for line in log.read_text().splitlines() if line.strip()]
    half = [r for r in rows if r[0] >= wall / 2]
    if len(half) >= 2:
        out["malloc_in_use_mb"] = [half[0][2], half[-1][2]]
        out["malloc_free_kept_mb"] = [half[0][3], half[-1][3]]
        out["malloc_mmapped_mb"] = [half[0][4], half[-1][4]]
    if rows and len(rows[-1]) >= 7 and rows[-1][5]:
        out["bench_trims"], out["bench_trim_ms_mean"] = int(rows[-1][5]), round(1000 * rows[-1][6] / rows[-1][5], 2)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--model", default="bundled", help="bundled (tiny.en), a name or a folder")
    ap.add_argument("--every", type=float, default=60.0, help="seconds between printed samples")
    ap.add_argument("--speed", type=float, default=1.0, help="replay speed (1 = real time; more finds growth sooner)")
    ap.add_argument("--json", metavar="OUT")
    ap.add_argument("--heap", choices=("default", "trim", "arena2", "jemalloc"), default="default",
                    help="an allocator experiment in the front end (heap_site/sitecustomize.py; jemalloc: LD_PRELOAD)")
    ap.add_argument("--trim-every", type=float, default=2.0, help="seconds between malloc_trim(0) with --heap trim")
    args = ap.parse_args()

    from meeting_tui.meeting.model import bundled_model, display_name

    model = bundled_model() if args.model == "bundled" else args.model
    print(f"{os.cpu_count()} cores; load average at start {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="soak-bench-") as d:
        tmp = Path(d)
        mic, loop, seconds, repeats = long_meeting(tmp, args.minutes)
        (tmp / "settings.toml").write_text(f'[transcription.model]\nname = "{model}"\n', encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=str(REPO), MEETING_TUI_DATA_DIR=str(tmp / "data"),
                   MEETING_TUI_CONFIG=str(tmp / "settings.toml"))
        heap_log = _heap_env(env, args, tmp)
        cmd = [sys.executable, "-m", "meeting_tui", "record", "--mic-file", str(mic), "--loopback-file", str(loop),
               "--speed", str(args.speed), "--json", "--quiet"]
        print(f"{display_name(model)}, {seconds / 60:.1f} min of meeting ({repeats} x 57 s) at {args.speed:g}x",
              flush=True)
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
        out: list[str] = []
        err: list[str] = []
        readers = [threading.Thread(target=lambda s=s, b=b: b.extend(s), daemon=True)
                   for s, b in ((proc.stdout, out), (proc.stderr, err))]
        for r in readers:
            r.start()
        ps = psutil.Process(proc.pid)
        t0 = time.monotonic()
        samples: list[dict] = []
        last_cpu, last_t = 0.0, t0
        print("| minute | RSS parent MB | RSS tree MB | CPU tree, % of a core (interval) | lines so far |")
        print("|---|---|---|---|---|", flush=True)
        status = usage = None
        while True:
            # wait4 without blocking, not Popen.poll(): the rusage of the reaped tree is the total CPU.
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(min(args.every, 2.0))
            now = time.monotonic()
            if now - last_t < args.every:
                continue
            try:
                cpu, rss, tree = tree_sample(ps)
            except psutil.Error:
                continue
            if rss == 0:  # exiting: a zombie's RSS is 0, not a sample
                continue
            row = {"t_s": round(now - t0, 1), "rss_mb": round(rss / 2**20, 1), "tree_rss_mb": round(tree / 2**20, 1),
                   "cpu_pct": round(100 * (cpu - last_cpu) / (now - last_t), 1),
                   "lines": sum(1 for x in list(out) if '"type": "segment"' in x)}
            samples.append(row)
            last_cpu, last_t = cpu, now
            print(f"| {row['t_s'] / 60:.1f} | {row['rss_mb']} | {row['tree_rss_mb']} | {row['cpu_pct']} | {row['lines']} |",
                  flush=True)
        proc.returncode = os.waitstatus_to_exitcode(status)
        for r in readers:
            r.join(10)
        wall = time.monotonic() - t0
        rows = [json.loads(x) for x in out if x.startswith("{")]
        lines = [r for r in rows if r.get("type") == "segment"]
        second_half = [s for s in samples if s["t_s"] >= wall / 2]
        slope = (np.polyfit([s["t_s"] / 3600 for s in second_half], [s["rss_mb"] for s in second_half], 1)[0]
                 if len(second_half) >= 3 else float("nan"))
        total_cpu = usage.ru_utime + usage.ru_stime
        result = {"rc": os.waitstatus_to_exitcode(status), "minutes": round(wall / 60, 1),
                  "rss_peak_mb": max((s["rss_mb"] for s in samples), default=None),
                  "tree_rss_peak_mb": max((s["tree_rss_mb"] for s in samples), default=None),
                  "rss_slope_second_half_mb_per_hour": round(float(slope), 1),
                  "rss_max_by_quarter_mb": _quarter_max(samples, wall),
                  "cpu_tree_s": round(total_cpu, 1), "cpu_tree_pct": round(100 * total_cpu / wall, 1),
                  "lines": len(lines), "lines_per_57s": round(len(lines) / repeats, 2),
                  "lines_per_57s_second_half": _rate(samples, wall, seconds / repeats / args.speed),
                  "you_lines": sum(r.get("source") == "mic" for r in lines)}
        result.update(_heap_result(args.heap, heap_log, wall))
        summary = next((r for r in rows if r.get("type") == "summary"), {})
        result["latency"] = summary.get("latency")  # end of speech to line, as record measured it
        result["heap_trims"] = summary.get("heap_trims")
        if result["rc"] != 0:
            result["stderr_tail"] = err[-5:]
        print(json.dumps(result), flush=True)
        print(f"load average at end {os.getloadavg()[0]:.2f}")
        if args.json:
            Path(args.json).write_text(json.dumps({"result": result, "samples": samples}, indent=2))
        return 0 if result["rc"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
