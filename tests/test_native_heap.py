"""After final decodes the front end hands glibc's freed heap back to the system: what the decodes freed
stayed resident, and RSS crept up all meeting long (docs/cost.md, "glibc's kept heap")."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from meeting_tui.transcribe.native_heap import HeapTrimmer, find_malloc_trim

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")

# ~100 MB of malloc'd blocks (bytes over pymalloc's 512-byte limit), all freed but the last, which pins the
# heap's top so that free() itself cannot give the pages back: only a trim can.
_FREED_HEAP = """
import json, psutil
from meeting_tui.transcribe.native_heap import HeapTrimmer
trimmer = HeapTrimmer()
me = psutil.Process()
blocks = [bytes(4000) for _ in range(25_000)]
pin = bytes(4000)
before = me.memory_info().rss
del blocks
freed = me.memory_info().rss
trimmed = trimmer.after_decode()
print(json.dumps({"before": before, "freed": freed, "after": me.memory_info().rss, "trimmed": trimmed}))
"""


@glibc
def test_a_trim_after_a_decode_gives_the_freed_heap_back():
    out = subprocess.run([sys.executable, "-c", _FREED_HEAP], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    import json

    mb = {k: v / 2**20 if not isinstance(v, bool) else v for k, v in json.loads(out.stdout).items()}
    assert mb["trimmed"]
    assert mb["freed"] > mb["before"] - 20, mb  # freeing alone kept the pages
    assert mb["after"] < mb["freed"] - 60, mb  # the trim returned them


@glibc
def test_trims_come_at_most_every_few_seconds():
    now = [100.0]
    trimmer = HeapTrimmer(every_s=2.0, clock=lambda: now[0])
    assert trimmer.available
    assert trimmer.after_decode()
    now[0] += 1.0
    assert not trimmer.after_decode()  # finals drained back to back: one trim for them
    now[0] += 1.5
    assert trimmer.after_decode()
    assert trimmer.trims == 2


def test_without_glibc_nothing_is_trimmed_and_nothing_fails(monkeypatch):
    monkeypatch.setattr(platform, "libc_ver", lambda *a, **k: ("musl", "1.2"))
    assert find_malloc_trim() is None
    trimmer = HeapTrimmer()
    assert not trimmer.available and not trimmer.after_decode() and trimmer.trims == 0
