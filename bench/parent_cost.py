"""Where the front end's own CPU goes in ``record`` (the parent process, not its capture workers): per
thread, per part of the transcriber, and the start-up, on latency_bench's two-party meeting replayed by
file workers at real time.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/parent_cost.py [--model bundled] [--flags "--no-echo-guard"]
        [--session] [--tree before=/tmp/old] [--json OUT]

Each run is ``meeting-tui record --mic-file you.wav --loopback-file them.wav --speed 1`` in a subprocess
started through this file (``--child``), which wraps a few functions with counters before calling the CLI:
thread CPU (``time.thread_time``) and calls of the VAD, each kind of decode (partial, early final, final,
context retry), the journal and the recording; and CPU per OS thread (``/proc/self/task/*/schedstat``)
named by Python's threads, so CTranslate2's and onnxruntime's own threads show. Start-up: process CPU
when the CLI is entered (imports of Python and this file), when capture has begun, when the model is
ready. ``--tree`` runs another checkout's CLI the same way, in the same run.
"""

from __future__ import annotations

import argparse
import atexit
import collections
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


# --- the child: counters around the CLI -------------------------------------------------------------

class Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cpu: dict[str, float] = collections.defaultdict(float)
        self.wall: dict[str, float] = collections.defaultdict(float)
        self.native: dict[str, float] = collections.defaultdict(float)
        self.calls: dict[str, int] = collections.Counter()
        self.marks: dict[str, float] = {}
        self.thread_cpu: dict[int, float] = {}
        self.thread_name: dict[int, str] = {}

    def wrap(self, owner, attr: str, name: str, kind=None, native: bool = False) -> None:
        """``native``: also count the CPU of the threads Python did not start (CTranslate2's) meanwhile."""
        fn = getattr(owner, attr)
        counters = self

        def wrapped(*args, **kwargs):
            key = name if kind is None else f"{name}: {kind(args, kwargs)}"
            n0 = counters.native_cpu() if native else 0.0
            c0, t0 = time.thread_time(), time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                n1 = counters.native_cpu() if native else 0.0
                with counters.lock:
                    counters.cpu[key] += time.thread_time() - c0
                    counters.wall[key] += time.perf_counter() - t0
                    counters.native[key] += n1 - n0
                    counters.calls[key] += 1

        setattr(owner, attr, wrapped)

    def native_cpu(self) -> float:
        """CPU seconds of this process's threads that are not Python threads."""
        python = {t.native_id for t in threading.enumerate()}
        total = 0
        for tid in os.listdir("/proc/self/task"):
            if int(tid) in python:
                continue
            try:
                total += int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[0])
            except (OSError, ValueError):
                continue
        return total / 1e9

    def mark(self, name: str) -> None:
        if name not in self.marks:
            self.marks[name] = time.process_time()

    def sample_threads(self) -> None:
        for t in threading.enumerate():
            if t.native_id is not None:
                self.thread_name[t.native_id] = t.name
        for tid in os.listdir("/proc/self/task"):
            try:
                ns = int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[0])
                if int(tid) not in self.thread_name:
                    self.thread_name[int(tid)] = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
            except (OSError, ValueError):
                continue
            self.thread_cpu[int(tid)] = ns / 1e9


def child(argv: list[str], out: Path) -> int:
    counters = Counters()
    counters.mark("python and imports until the CLI")
    stop = threading.Event()

    def sampler() -> None:
        while not stop.wait(0.5):
            counters.sample_threads()

    threading.Thread(target=sampler, name="bench-sampler", daemon=True).start()

    from meeting_tui.transcribe import context_policy, decoder, early_finals, partials, transcriber, vad_segmenter

    phase = threading.local()

    def decode_kind(args, kwargs) -> str:
        if not kwargs.get("final"):
            return "partial"
        what = getattr(phase, "what", "final")
        return f"{what}{' in context' if kwargs.get('prefix') else ''}"

    def in_phase(owner, attr: str, what: str) -> None:
        fn = getattr(owner, attr)

        def wrapped(*args, **kwargs):
            before = getattr(phase, "what", "final")
            phase.what = what
            try:
                return fn(*args, **kwargs)
            finally:
                phase.what = before

        setattr(owner, attr, wrapped)

    in_phase(early_finals.EarlyFinals, "maybe_decode", "early final")
    from faster_whisper.transcribe import WhisperModel

    def whisper_kind(args, kwargs) -> str:
        return getattr(phase, "decode", "?")

    def fallback_kind(args, kwargs) -> str:
        return getattr(phase, "decode", "?")

    counters.wrap(WhisperModel, "encode", "whisper encode", whisper_kind)
    counters.wrap(WhisperModel, "generate_with_fallback", "whisper generate_with_fallback", fallback_kind)
    orig_model_generate = WhisperModel.generate_with_fallback

    def count_fallbacks(self, *a, **k):
        out = orig_model_generate(self, *a, **k)
        if out[2]:  # a temperature above 0: the greedy/beam result failed a threshold
            with counters.lock:
                counters.calls[f"whisper fell back to temperature {out[2]:g}: {getattr(phase, 'decode', '?')}"] += 1
        return out

    WhisperModel.generate_with_fallback = count_fallbacks
    counters.wrap(decoder.Decoder, "decode", "decode", decode_kind, native=True)
    orig_decode = decoder.Decoder.decode

    def set_decode_kind(self, *a, **k):
        before = getattr(phase, "decode", "?")
        phase.decode = decode_kind(a, k)
        try:
            return orig_decode(self, *a, **k)
        finally:
            phase.decode = before

    decoder.Decoder.decode = set_decode_kind
    counters.wrap(vad_segmenter.SileroStream, "__call__", "VAD: Silero (onnxruntime)")
    counters.wrap(vad_segmenter.StreamingVAD, "feed", "VAD: StreamingVAD.feed (Silero included)")
    counters.wrap(transcriber.Transcriber, "_ingest", "transcriber: intake + VAD")
    counters.wrap(transcriber.Transcriber, "_publish_final", "transcriber: publish final (its decode included)")
    counters.wrap(transcriber.Transcriber, "_govern", "transcriber: governor")
    counters.wrap(transcriber.Transcriber, "feed", "event loop: Transcriber.feed")
    counters.wrap(context_policy.ContextPolicy, "context_for", "context: choose")
    counters.wrap(partials.Partials, "maybe_publish", "partials: maybe_publish (decode included)")
    try:
        from meeting_tui.session import journal, recorder

        counters.wrap(journal.JournalWriter, "append", "journal: append (fsync)")
        counters.wrap(recorder.AudioRecorder, "write", "recording: write (event loop)")
        counters.wrap(recorder.AudioRecorder, "_write", "recording: _write (its thread)")
    except ImportError:
        pass
    orig_status = transcriber.Transcriber._set_status

    def set_status(self, status):
        if status.state == "ready":
            counters.mark("model ready")
        return orig_status(self, status)

    transcriber.Transcriber._set_status = set_status
    orig_feed = transcriber.Transcriber.feed

    def first_feed(self, *a, **k):
        counters.mark("first audio to the transcriber")
        return orig_feed(self, *a, **k)

    transcriber.Transcriber.feed = first_feed

    def report() -> None:
        stop.set()
        counters.sample_threads()
        c = counters
        out.write_text(json.dumps({
            "process_cpu_s": time.process_time(),
            "marks": c.marks,
            "threads": sorted(([c.thread_name.get(t, str(t)), round(v, 3)] for t, v in c.thread_cpu.items()),
                              key=lambda x: -x[1]),
            "parts": {k: {"calls": c.calls[k], "thread_cpu_s": round(c.cpu[k], 3), "wall_s": round(c.wall[k], 3),
                          "native_cpu_s": round(c.native[k], 3)}
                      for k in sorted(c.calls)},
        }, indent=1))

    atexit.register(report)
    from meeting_tui.cli import main

    profile_dir = os.environ.get("PARENT_COST_PROFILE")
    if not profile_dir:
        return main(argv)
    import cProfile

    orig_run = transcriber.Transcriber._run

    def profiled_run(self):
        prof = cProfile.Profile(time.thread_time)
        try:
            return prof.runcall(orig_run, self)
        finally:
            prof.dump_stats(os.path.join(profile_dir, "transcriber.prof"))

    transcriber.Transcriber._run = profiled_run
    prof = cProfile.Profile(time.thread_time)
    try:
        return prof.runcall(main, argv)
    finally:
        prof.dump_stats(os.path.join(profile_dir, "main.prof"))


# --- the parent: run each tree, print the table -------------------------------------------------------

def run_one(tree: Path, args: list[str], env: dict, tmp: Path) -> dict:
    out = tmp / f"child-{time.monotonic_ns()}.json"
    cmd = [sys.executable, str(REPO / "bench" / "parent_cost.py"), "--child", str(out), "--", *args]
    proc = subprocess.Popen(cmd, env=dict(env, PYTHONPATH=str(tree)), cwd=tree, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"record failed ({proc.returncode}):\n{stderr[-2000:]}")
    r = json.loads(out.read_text())
    rows = [json.loads(x) for x in stdout.splitlines() if x.startswith("{")]
    summary = next((x for x in rows if x.get("type") == "summary"), {})
    r["latency"] = summary.get("latency")
    r["lines"] = [x.get("text") for x in rows if x.get("type") == "segment"]
    r["text"] = {side: " ".join(x["text"] for x in rows if x.get("type") == "segment" and x.get("source") == side)
                 for side in ("mic", "loopback")}
    r["decodes"] = summary.get("decodes")
    return r


def print_run(name: str, r: dict) -> None:
    print(f"\n## {name}: parent process CPU {r['process_cpu_s']:.2f} s; latency {json.dumps(r['latency'])}")
    if "wer" in r:
        print("WER live / offline:", ", ".join(f"{k} {v[0]:.2f} % / {v[1]:.2f} %" for k, v in r["wer"].items()),
              f"; decodes {json.dumps(r.get('decodes'))}")
    print("start-up (process CPU at):", ", ".join(f"{k} {v:.2f} s" for k, v in r["marks"].items()))
    print("threads (CPU s):", ", ".join(f"{n} {v}" for n, v in r["threads"] if v >= 0.01))
    print("| part | calls | thread CPU s | native threads' CPU s | wall s |\n|---|---|---|---|---|")
    for k, v in r["parts"].items():
        print(f"| {k} | {v['calls']} | {v['thread_cpu_s']} | {v['native_cpu_s'] or ''} | {v['wall_s']} |")


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        sys.path.insert(0, os.environ.get("PYTHONPATH", str(REPO)))
        return child(sys.argv[4:], Path(sys.argv[2]))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="bundled")
    ap.add_argument("--flags", action="append", help="record's flags (default: --no-echo-guard); repeatable: "
                                                     "each set is run in turn")
    ap.add_argument("--session", action="store_true", help="write a session (journal, recording): no --no-session")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each tree, alternated")
    ap.add_argument("--tree", action="append", metavar="NAME=DIR", help="another checkout's CLI, same run")
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "bench"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import latency_bench

    from meeting_tui.meeting.model import bundled_model

    latency_bench.ARGS = argparse.Namespace(rounds=args.rounds)
    model = bundled_model() if args.model == "bundled" else args.model
    from transcribe_bench import JFK, LEFT, run_offline

    from meeting_tui.transcribe.model import default_cpu_threads
    from meeting_tui.transcribe.wer import wer_details

    reference = {"mic": " ".join([LEFT] * args.rounds), "loopback": " ".join([JFK] * args.rounds)}
    trees = [("after", REPO)] + [(t.split("=", 1)[0], Path(t.split("=", 1)[1]).resolve()) for t in args.tree or []]
    results = []
    print(f"{os.cpu_count()} cores; load average at start {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="parent-cost-") as d:
        tmp = Path(d)
        mic, loop, seconds = latency_bench.turns(tmp)
        offline = dict(zip(("mic", "loopback"), run_offline(model, [mic, loop], default_cpu_threads())["texts"]))
        settings = tmp / "settings.toml"
        settings.write_text(f'[capture]\nmode = "meeting"\n[transcription.model]\nname = "{model}"\n', encoding="utf-8")
        env = dict(os.environ, MEETING_TUI_CONFIG=str(settings), MEETING_TUI_DATA_DIR=str(tmp / "data"))
        for i in range(args.repeat):
            for flags in args.flags or ["--no-echo-guard"]:
                cli = ["record", "--duration", str(round(seconds + 4, 1)), "--model", model, "--json",
                       "--mic-file", str(mic), "--loopback-file", str(loop), "--speed", "1", *shlex.split(flags)]
                if not args.session:
                    cli.append("--no-session")
                for name, tree in trees:
                    r = run_one(tree, cli, env, tmp)
                    r["tree"], r["run"], r["flags"] = name, i, flags
                    r["wer"] = {side: (100 * wer_details(reference[side], r["text"][side]).wer,
                                       100 * wer_details(reference[side], offline[side]).wer) for side in reference}
                    results.append(r)
                    print_run(f"{name} {flags or '(defaults)'} (run {i + 1})", r)
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
