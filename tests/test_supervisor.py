"""Worker supervision with real subprocesses: garbage, truncation, and a parent that dies."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from meeting_tui.capture.engine import CaptureEngine, WorkerSpec
from meeting_tui.capture.supervisor import BACKOFF_S, WorkerEvents, WorkerSupervisor
from meeting_tui.types import HealthState, Source
from tests.support.capture import Recorder, wait_for, write_tone

# First run: some good frames, then `bad` on stdout. Later runs: good frames until stdin closes.
MISBEHAVING = r"""
import os, sys, time, numpy as np
from meeting_tui.capture.frames import encode_frame
marker = sys.argv[1]; bad = sys.argv[2]
first = not os.path.exists(marker)
open(marker, "a").write("x")
out = sys.stdout.buffer
sys.stderr.write('{"event": "started", "samplerate": 16000, "channels": 1}\n'); sys.stderr.flush()
for i in range(20):
    out.write(encode_frame(i, time.monotonic(), 16000, np.full((160, 1), 0.1, np.float32))); out.flush()
    time.sleep(0.01)
if first:
    frame = encode_frame(99, time.monotonic(), 16000, np.full((160, 1), 0.1, np.float32))
    out.write(b"Traceback (most recent call last): garbage" if bad == "garbage" else frame[:-20])
    out.flush()
    sys.exit(0)
while os.read(0, 1024):
    pass
"""


@pytest.mark.parametrize("bad", ["garbage", "truncated"])
def test_bad_worker_output_is_detected_and_worker_restarted(tmp_path, bad):
    events = {"frames": 0, "exits": [], "starts": 0}

    async def run():
        sup = WorkerSupervisor(
            "mic", [sys.executable, "-c", MISBEHAVING, str(tmp_path / "marker"), bad],
            WorkerEvents(on_spawned=lambda: None, on_started=lambda info: events.__setitem__("starts", events["starts"] + 1),
                         on_frames=lambda fr: events.__setitem__("frames", events["frames"] + len(fr)),
                         on_exit=events["exits"].append, on_finished=lambda: None))
        sup.start()
        ok = await wait_for(lambda: events["starts"] >= 2 and events["frames"] >= 30, 10)
        await sup.stop()
        return ok, sup

    ok, sup = asyncio.run(run())
    assert ok, events
    assert len(events["exits"]) == 1
    assert ("garbled" in events["exits"][0]) if bad == "garbage" else ("inside a frame" in events["exits"][0])
    assert sup.stats.restarts == 1


def test_file_worker_dies_with_killed_parent(tmp_path, shared_audio):
    """The parent killed with SIGKILL: no worker is left alive 2 s later."""
    flac = shared_audio / "jfk.flac"
    proc = subprocess.Popen([sys.executable, "-m", "meeting_tui", "monitor", "--mic-file", str(flac),
                             "--loopback-file", str(flac), "--duration", "60"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 15
        workers = []
        while time.monotonic() < deadline:
            workers = [c for c in parent.children(recursive=True) if "meeting_tui.capture.worker" in " ".join(c.cmdline())]
            if len(workers) == 2 and proc.stdout.readline():
                break
            time.sleep(0.1)
        assert len(workers) == 2
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        gone, alive = psutil.wait_procs(workers, timeout=2.0)
        # An exited worker whose parent is gone stays a zombie until init reaps it: it is dead all the same.
        alive = [p for p in alive if _running(p)]
        assert not alive, f"workers still alive 2 s after the parent died: {[p.pid for p in alive]}"
    finally:
        if proc.poll() is None:
            proc.kill()


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_worker_that_cannot_open_reports_the_error_and_backs_off(tmp_path):
    spec = WorkerSpec.file(Source.MIC, str(tmp_path / "missing.wav"))

    async def run():
        engine = CaptureEngine([spec])
        rec = Recorder()
        engine.add_listener(rec)
        t0 = time.monotonic()
        await engine.start()
        # tried again (a condition: on a loaded machine one start of a worker can take seconds)
        await wait_for(lambda: engine.stats()["sources"]["mic"]["starts"] >= 2, timeout=60)
        await asyncio.sleep(1.0)
        stats = engine.stats()
        elapsed = time.monotonic() - t0
        await engine.stop()
        return rec, stats, elapsed

    rec, stats, elapsed = asyncio.run(run())
    crashed = [h for _, h in rec.health if h.state is HealthState.CRASHED]
    assert crashed and "cannot read" in crashed[0].reason
    # Backoff 0.2, 0.5, 1.0, 2.0 s ...: no more starts than the backoff allows in the time, not a busy loop.
    allowed = 1 + sum(1 for k in range(len(BACKOFF_S)) if sum(BACKOFF_S[:k + 1]) <= elapsed)
    assert 2 <= stats["sources"]["mic"]["starts"] <= allowed, (stats["sources"]["mic"]["starts"], elapsed)


def test_finite_file_sources_finish_cleanly(tmp_path):
    wav = write_tone(tmp_path / "t.wav", 440, 1.0, rate=44100)

    async def run():
        engine = CaptureEngine([WorkerSpec.file(Source.MIC, wav, speed=0)])
        rec = Recorder()
        engine.add_listener(rec)
        await engine.start()
        finished = await engine.wait_finished(10)
        await engine.stop()
        return finished, rec

    finished, rec = asyncio.run(run())
    assert finished
    assert abs(len(rec.samples(Source.MIC)) - 16000) <= 2
    assert HealthState.CRASHED not in rec.states(Source.MIC)


# Opens its "device" slowly (argv[1] seconds), then streams frames until stdin closes; argv[2] == "never"
# never finishes opening.
SLOW_OPEN = r"""
import os, sys, time, threading, numpy as np
from meeting_tui.capture.frames import encode_frame
time.sleep(float(sys.argv[1]))
if sys.argv[2] == "never":
    time.sleep(60)
sys.stderr.write('{"event": "started", "samplerate": 16000, "channels": 1}\n'); sys.stderr.flush()
stop = threading.Event()
threading.Thread(target=lambda: (os.read(0, 1), stop.set()), daemon=True).start()
i = 0
while not stop.is_set():
    sys.stdout.buffer.write(encode_frame(i, time.monotonic(), 16000, np.full((160, 1), 0.1, np.float32)))
    sys.stdout.buffer.flush(); i += 1; time.sleep(0.01)
"""


def _supervise(argv, seconds, **kw):
    seen = {"frames": 0, "exits": [], "messages": []}

    async def run():
        sup = WorkerSupervisor("mic", argv, WorkerEvents(
            on_spawned=lambda: None, on_started=lambda info: None,
            on_frames=lambda fr: seen.__setitem__("frames", seen["frames"] + len(fr)),
            on_exit=seen["exits"].append, on_finished=lambda: None, on_message=seen["messages"].append), **kw)
        sup.start()
        await asyncio.sleep(seconds)
        await sup.stop()
        return sup

    return asyncio.run(run()), seen


def test_a_slow_device_open_is_not_taken_for_a_stall():
    # Opening takes 3 s, more than the 2 s stall limit: the start-up limit (10 s) applies until "started".
    sup, seen = _supervise([sys.executable, "-c", SLOW_OPEN, "3.0", "open"], 5.5, stall_restart_s=2.0,
                           startup_timeout_s=10.0)
    assert seen["exits"] == [] and sup.stats.starts == 1
    assert seen["frames"] > 50


def test_a_device_that_never_opens_is_restarted_after_the_startup_timeout():
    sup, seen = _supervise([sys.executable, "-c", SLOW_OPEN, "0", "never"], 3.5, stall_restart_s=1.0,
                           startup_timeout_s=1.5)
    assert seen["exits"] and "did not open within 2 s" in seen["exits"][0]  # 1.5 rounds to 2
    assert sup.stats.starts >= 2


def test_restart_now_replaces_the_worker_without_reporting_a_crash():
    async def run():
        seen = {"exits": [], "messages": [], "spawned": 0}
        sup = WorkerSupervisor("mic", [sys.executable, "-c", SLOW_OPEN, "0", "open"], WorkerEvents(
            on_spawned=lambda: seen.__setitem__("spawned", seen["spawned"] + 1), on_started=lambda info: None,
            on_frames=lambda fr: None, on_exit=seen["exits"].append, on_finished=lambda: None,
            on_message=seen["messages"].append))
        sup.start()
        assert await wait_for(lambda: sup.stats.frames > 10, 10)
        first = sup.pid
        assert sup.restart_now("the default microphone changed")
        assert await wait_for(lambda: seen["spawned"] >= 2 and sup.pid != first and sup.stats.frames > 0, 10)
        await sup.stop()
        return sup, seen, first

    sup, seen, first = asyncio.run(run())
    assert seen["exits"] == []
    assert {"event": "restart", "message": "the default microphone changed"} in seen["messages"]
    assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE


def test_health_waits_for_the_device_to_open_before_calling_it_stalled():
    from meeting_tui.capture.health import START_GRACE_S, HealthMonitor

    h = HealthMonitor(Source.MIC)
    h.worker_started(0.0)
    assert h.evaluate(10.0).state is HealthState.STARTING  # still opening after 10 s (dshow: up to 8)
    h.device_opened(10.0)
    assert h.evaluate(10.0 + START_GRACE_S - 0.1).state is HealthState.STARTING
    assert h.evaluate(10.0 + START_GRACE_S + 0.1).state is HealthState.STALLED


def test_stop_while_the_worker_is_being_started_leaves_no_process_behind():
    """Stopping while the process is being created (a restart under way, a slow spawn on Windows) saw
    no process to stop: the worker it was creating ran on, ours no more, and nobody ended it."""
    # ignores its stdin closing (the polite stop) and never prints: only terminate ends it
    argv = [sys.executable, "-c", "import time; time.sleep(60)"]

    async def run():
        sup = WorkerSupervisor("mic", argv, WorkerEvents(on_spawned=lambda: None, on_started=lambda info: None,
                                                         on_frames=lambda fr: None, on_exit=lambda r: None,
                                                         on_finished=lambda: None))
        sup.start()
        await asyncio.sleep(0)  # the task is inside create_subprocess_exec
        await sup.stop()
        return sup.proc

    proc = asyncio.run(run())
    assert proc is not None, "the worker was never started"
    assert not psutil.pid_exists(proc.pid) or psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE
