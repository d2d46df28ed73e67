"""The echo guard's CPU per audio second, as the app runs it (one BLAS thread, 60 ms chunks), on the
cost bench's meeting and on the echo scenarios, without the rig: the tracks are fed straight to the guard.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/echo_guard_cpu.py [--tree before=DIR]... [--rounds 3] [--only NAME]
                                                             [--profile CASE] [--recordings DIR]

Cases: ``meeting`` (latency_bench's turns: You on the mic, Them on the loopback, no echo; the rig's
digital silence between turns), ``meeting, noisy mic`` (the same with a -60 dBFS noise floor on the mic,
as a real mic has), every echo scenario of tests/support/echo_scenarios.py (the mic feed the rig
would play: the user's voice plus sox's echo of the far side), and with ``--recordings DIR`` the rig's
recordings that ``bench/echo_bench.py --save DIR`` kept (as recorded, on their clocks). ``--tree NAME=DIR`` measures another
checkout's guard too, in a subprocess per round, alternating with this one, so that the figures compare
on a busy machine; it also prints how far each tree's output is from the first's (0: the same audio to
the transcriber). ``--profile CASE``: cProfile of this tree's guard on that case instead.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
RATE = 16_000
CHUNK_MS = 60.0


def build_cases(out: Path, only: str, recordings: str | None = None) -> None:
    """Every case's (mic, loopback) tracks into ``out`` (one npz): built once, fed to every tree."""
    sys.path.insert(0, str(REPO))
    from tests.support.echo_scenarios import SCENARIOS, build_tracks, material

    from bench import latency_bench

    latency_bench.ARGS = argparse.Namespace(rounds=3)
    tracks: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        mic_path, loop_path, _ = latency_bench.turns(Path(tmp))
        import soundfile as sf

        mic, loop = (sf.read(str(p), dtype="float32")[0] for p in (mic_path, loop_path))
        noise = np.random.default_rng(0).standard_normal(len(mic)).astype(np.float32) * 10 ** (-60 / 20)
        cases = {"meeting": (mic, loop), "meeting, noisy mic": (mic + noise, loop)}
        shared = REPO.parent / "shared" / "audio"
        for sc in SCENARIOS:
            remote, local = material(Path(tmp), shared if shared.exists() else None, sc.n_remote, sc.n_local,
                                     sc.local_voice, sc.real_local)
            tr = build_tracks(sc, remote, local, Path(tmp))
            cases[sc.name] = (tr.mic_feed, tr.spk)
    if recordings:
        from tests.support.echo_scenarios import load_recording

        for path in sorted(Path(recordings).glob("*.npz")):
            sc, _, rec = load_recording(path)
            cases[f"rig: {sc.name}"] = (rec.mic.samples, rec.loopback.samples, (rec.mic.start, rec.loopback.start))
    for i, (name, (mic, loop, *starts)) in enumerate(cases.items()):
        if only and only not in name:
            continue
        tracks[f"{i:02d} {name}|mic"] = np.asarray(mic, np.float32)
        tracks[f"{i:02d} {name}|loop"] = np.asarray(loop, np.float32)
        tracks[f"{i:02d} {name}|starts"] = np.array(starts[0] if starts else (0, 0), np.int64)
    np.savez(out, **tracks)


def run_cases(tracks: Path, out: Path, profile: str | None = None) -> None:
    """This process's guard (whichever ``meeting_tui`` is first on the path) on every case."""
    from threadpoolctl import threadpool_limits

    from meeting_tui.echo.guard import EchoGuard
    from meeting_tui.types import AudioChunk, Source

    threadpool_limits(limits=1, user_api="blas")  # as the app (transcribe/blas.py)
    z = np.load(tracks)
    names = sorted({k.split("|")[0] for k in z.files})
    result: dict[str, dict] = {}
    outputs: dict[str, np.ndarray] = {}
    step = int(RATE * CHUNK_MS / 1000)
    for name in names:
        if profile and profile not in name:
            continue
        mic, loop = z[f"{name}|mic"], z[f"{name}|loop"]
        m0, l0 = (int(v) for v in z[f"{name}|starts"])
        guard = EchoGuard(RATE)
        outs = []

        def feed() -> None:
            for t in range(min(m0, l0), max(m0 + len(mic), l0 + len(loop)), step):  # interleaved by clock
                a, b = max(t, l0), min(t + step, l0 + len(loop))
                if b > a:
                    guard.push_reference(AudioChunk(Source.LOOPBACK, a, loop[a - l0:b - l0]))
                a, b = max(t, m0), min(t + step, m0 + len(mic))
                if b > a:
                    o = guard.push_mic(AudioChunk(Source.MIC, a, mic[a - m0:b - m0]))
                    if o is not None:
                        outs.append(o.samples)
            o = guard.flush()
            if o is not None:
                outs.append(o.samples)

        if profile:
            import cProfile
            import pstats

            cProfile.runctx("feed()", globals(), locals(), str(out) + ".prof")
            pstats.Stats(str(out) + ".prof").sort_stats("cumulative").print_stats(40)
            print(f"{name}: {guard.cpu_per_audio_s:.4f} CPU s per audio s (profiled)")
            return
        feed()
        outputs[name] = np.concatenate(outs) if outs else np.zeros(0, np.float32)
        result[name] = {"cpu": guard.cpu_s, "audio": guard.audio_s}
    np.savez(str(out) + ".npz", **outputs)
    Path(str(out) + ".json").write_text(json.dumps(result))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=DIR")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--profile", metavar="CASE")
    ap.add_argument("--recordings", metavar="DIR", help="also the rig recordings echo_bench.py --save kept here")
    ap.add_argument("--worker", nargs=2, metavar=("TRACKS", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        run_cases(Path(args.worker[0]), Path(args.worker[1]))
        return 0
    trees = {"this": REPO} | {k: Path(v).resolve() for k, v in (t.split("=", 1) for t in args.tree)}
    with tempfile.TemporaryDirectory() as tmp:
        tracks = Path(tmp) / "tracks.npz"
        build_cases(tracks, args.only, args.recordings)
        if args.profile:
            sys.path.insert(0, str(REPO))
            run_cases(tracks, Path(tmp) / "profile", args.profile)
            return 0
        cpu: dict[str, dict[str, list[float]]] = {t: {} for t in trees}
        audio: dict[str, float] = {}
        outputs: dict[str, dict[str, np.ndarray]] = {}
        for r in range(args.rounds):
            for name, root in trees.items():
                out = Path(tmp) / f"{name}-{r}"
                env = dict(os.environ, PYTHONPATH=str(root), OMP_NUM_THREADS="1")
                subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", str(tracks), str(out)],
                               env=env, check=True, cwd=root)
                for case, v in json.loads(Path(str(out) + ".json").read_text()).items():
                    cpu[name].setdefault(case, []).append(v["cpu"])
                    audio[case] = v["audio"]
                if r == 0:
                    with np.load(str(out) + ".npz") as z:
                        outputs[name] = {k: z[k] for k in z.files}
    first = next(iter(trees))
    print(f"echo guard CPU per audio second, median of {args.rounds} rounds (min-max); "
          f"output vs '{first}': largest sample difference")
    print(f"{'case':<24} {'audio s':>7} " + " ".join(f"{t:>26}" for t in trees))
    for case in sorted(audio):
        cells = []
        for t in trees:
            v = [c / audio[case] for c in cpu[t][case]]
            a, b = outputs[first][case], outputs[t][case]
            diff = float(np.max(np.abs(a - b))) if len(a) == len(b) else float("nan")
            cells.append(f"{statistics.median(v):.4f} ({min(v):.4f}-{max(v):.4f}) {diff:5.0e}")
        print(f"{case[3:]:<24} {audio[case]:>7.1f} " + " ".join(f"{c:>26}" for c in cells))
    total = {t: sum(statistics.median(cpu[t][c]) for c in audio) for t in trees}
    print(f"{'all cases, CPU s':<32} " + " ".join(f"{total[t]:>26.2f}" for t in trees))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
