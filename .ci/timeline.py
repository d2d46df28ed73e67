"""Each pytest-xdist worker's files in the order it ran them, with their start and wall time, from the
lines tests/conftest.py writes under MEETING_TUI_TEST_TIMELINE: which files the run ended waiting on."""

import sys
from collections import defaultdict

rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
t0 = min(float(r[2]) for r in rows)
files: dict[tuple[str, str], list[float]] = {}
for worker, name, start, end in rows:
    span = files.setdefault((worker, name), [float(start), float(end)])
    span[0], span[1] = min(span[0], float(start)), max(span[1], float(end))
by_worker: dict[str, list] = defaultdict(list)
for (worker, name), (start, end) in files.items():
    by_worker[worker].append((start - t0, end - t0, name))
for worker in sorted(by_worker, key=lambda w: max(e for _, e, _ in by_worker[w])):
    spans = sorted(by_worker[worker])
    busy = sum(e - s for s, e, _ in spans)
    print(f"timeline: {worker} ends at {spans[-1][1]:.0f} s, in files {busy:.0f} s; its last files: "
          + ", ".join(f"{n} ({s:.0f}-{e:.0f})" for s, e, n in spans[-4:]))
