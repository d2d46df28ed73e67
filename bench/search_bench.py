"""Meeting search at scale: 200 generated one-hour sessions, indexed and searched as `meeting-tui search`
does (memory/index.py, memory/query.py).

    .venv/bin/python bench/search_bench.py [--sessions 200] [--hours 1] [--queries 200] [--keep DIR]

Each session: a journal of one segment every 4 s (900 an hour), alternating You/Them, 8-20 words drawn
from a 5,000-word vocabulary with Zipf-like frequencies, plus meta.json. Prints:
- build: a fresh index over every session (what the first search after an upgrade, or a damaged index, costs);
- refresh with nothing new (paid by every search: a stat per session file);
- incremental update per segment: one segment appended to a journal, then a refresh (the index follows a
  live meeting), median and p95 over 100 appends;
- query p50/p95 over --queries searches (rare/common words, two-word AND, a phrase, a prefix, with
  --speaker), the refresh included as in the CLI;
- index size against the journals' size.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meeting_tui.memory.index import SearchIndex  # noqa: E402
from meeting_tui.memory.query import search  # noqa: E402
from meeting_tui.session.journal import encode  # noqa: E402

SEGMENT_EVERY_S = 4.0
SYLLABLES = ["ka", "lo", "mi", "ren", "to", "sa", "vi", "dor", "en", "pa", "lu", "ter", "mo", "na", "qui", "ba"]


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def make_sessions(root: Path, count: int, hours: float, rng: random.Random, vocab: list[str]) -> int:
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]  # Zipf: word k is 1/k as common as the first
    start_wall = time.time() - count * 86400
    total = 0
    for n in range(count):
        folder = root / f"2024-01-01_00-00-{n:04d}"
        folder.mkdir(parents=True)
        wall = start_wall + n * 86400
        (folder / "meta.json").write_text(json.dumps({"id": folder.name, "started_wall": wall, "mode": "meeting"}))
        lines = [encode({"t": "start", "v": 1, "id": folder.name, "wall": wall})]
        segments = int(hours * 3600 / SEGMENT_EVERY_S)
        for i in range(segments):
            words = rng.choices(vocab, weights, k=rng.randint(8, 20))
            t = i * SEGMENT_EVERY_S
            lines.append(encode({"t": "segment", "id": i + 1, "source": "mic" if i % 2 else "loopback",
                                 "start": t, "end": t + 3.5, "text": " ".join(words), "wall_start": wall + t}))
        lines.append(encode({"t": "end", "reason": "stopped", "duration_s": hours * 3600, "segments": segments}))
        data = b"".join(lines)
        (folder / "journal.jsonl").write_bytes(data)
        total += len(data)
    return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--keep", metavar="DIR", help="build in DIR (kept) instead of a temporary folder")
    args = ap.parse_args()
    rng = random.Random(26)
    vocab = vocabulary(rng)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        root, index_file = base / "sessions", base / "index.sqlite3"
        t0 = time.perf_counter()
        journal_bytes = make_sessions(root, args.sessions, args.hours, rng, vocab)
        print(f"generated {args.sessions} sessions x {args.hours:g} h ({int(args.hours * 3600 / SEGMENT_EVERY_S)} "
              f"segments each), journals {journal_bytes / 1e6:.1f} MB, in {time.perf_counter() - t0:.1f} s")

        index = SearchIndex(root, index_file)
        t0 = time.perf_counter()
        report = index.refresh()
        build = time.perf_counter() - t0
        rows = index.connection.execute("SELECT count(*) FROM segs").fetchone()[0]
        print(f"build: {build:.2f} s for {rows} segments ({rows / build:,.0f} segments/s)")

        idle = []
        for _ in range(20):
            t0 = time.perf_counter()
            index.refresh()
            idle.append(time.perf_counter() - t0)
        print(f"refresh with nothing new: median {statistics.median(idle) * 1000:.1f} ms")

        live = root / "2024-01-01_00-00-0000" / "journal.jsonl"
        append = []
        for i in range(100):
            words = " ".join(rng.choices(vocab, k=12))
            with open(live, "ab") as fh:
                fh.write(encode({"t": "segment", "id": 10_000 + i, "source": "mic", "start": 4000.0 + i,
                                 "end": 4001.0 + i, "text": words}))
            t0 = time.perf_counter()
            added = index.refresh().added
            append.append(time.perf_counter() - t0)
            assert added == 1, added
        print(f"incremental update per segment (append + refresh): median {statistics.median(append) * 1000:.1f} ms, "
              f"p95 {pct(append, 0.95) * 1000:.1f} ms")

        kinds = {
            "common word": lambda: vocab[rng.randint(0, 20)],
            "rare word": lambda: vocab[rng.randint(2000, 4999)],
            "two words": lambda: f"{vocab[rng.randint(0, 300)]} {vocab[rng.randint(0, 300)]}",
            "phrase": lambda: f'"{vocab[rng.randint(0, 50)]} {vocab[rng.randint(0, 50)]}"',
            "prefix": lambda: vocab[rng.randint(0, 4999)][:3] + "*",
        }
        times: dict[str, list[float]] = {k: [] for k in kinds}
        every = []
        for q in range(args.queries):
            kind = list(kinds)[q % len(kinds)]
            query = kinds[kind]()
            speaker = "You" if q % 3 == 0 else None
            t0 = time.perf_counter()
            index.refresh()
            search(index, query, speaker=speaker, limit=20)
            dt = time.perf_counter() - t0
            times[kind].append(dt)
            every.append(dt)
        print(f"query (refresh included, top 20): p50 {pct(every, 0.5) * 1000:.1f} ms, p95 {pct(every, 0.95) * 1000:.1f} ms")
        for kind, values in times.items():
            print(f"  {kind:<12} p50 {pct(values, 0.5) * 1000:7.1f} ms  p95 {pct(values, 0.95) * 1000:7.1f} ms")
        index.close()
        size = sum(p.stat().st_size for p in base.glob("index.sqlite3*"))
        print(f"index size: {size / 1e6:.1f} MB = {size / journal_bytes:.2f} x the journals ({journal_bytes / 1e6:.1f} MB)")
        print(f"(report: {report.sessions} sessions, {report.added} rows at build)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
