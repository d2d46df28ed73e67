"""Every registered capture backend keeps the contract the worker relies on: its module has
``add_arguments``, ``create`` and ``list_devices``, and its class is a ``CaptureBackend`` with the protocol's
method signatures. Adding a backend is one ``registry.Backend`` entry; this test then checks it."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from meeting_tui.capture.backends import registry
from meeting_tui.capture.backends.base import CaptureBackend
from meeting_tui.capture.worker import build_parser


def _params(fn) -> list[str]:
    return [p.name for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("entry", registry.BACKENDS, ids=lambda e: e.name)
def test_each_registered_backend_satisfies_the_capture_backend_protocol(entry):
    module = entry.load()
    for name in ("add_arguments", "create", "list_devices"):
        assert callable(getattr(module, name, None)), f"{entry.module} has no {name}()"
    cls = entry.backend_class()
    assert issubclass(cls, CaptureBackend), f"{cls.__name__} lacks a CaptureBackend method"
    for method in ("open", "poll", "close"):
        assert _params(getattr(cls, method)) == _params(getattr(CaptureBackend, method)), (cls.__name__, method)


def test_a_class_missing_a_method_is_not_a_capture_backend():
    class NoPoll:
        def open(self, emit):
            ...

        def close(self):
            ...

    assert not issubclass(NoPoll, CaptureBackend)


def test_the_worker_offers_exactly_the_registered_backends():
    backend = next(a for a in build_parser()._actions if a.dest == "backend")
    assert tuple(backend.choices) == registry.NAMES
    for entry in registry.BACKENDS:
        assert registry.backend(entry.name) is entry


def test_the_worker_refuses_an_unknown_backend_naming_the_registered_ones():
    run = subprocess.run([sys.executable, "-m", "meeting_tui.capture.worker", "--backend", "nope"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "invalid choice: 'nope'" in run.stderr and all(n in run.stderr for n in registry.NAMES)


def _replaying_worker_rss(path) -> int:
    """RSS of a file worker a second into replaying ``path`` at real time (its frames read and dropped)."""
    import time

    import psutil

    proc = subprocess.Popen([sys.executable, "-m", "meeting_tui.capture.worker", "--backend", "file", "--path",
                             str(path), "--speed", "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        first = proc.stdout.read(4096)  # frames flow: the file is open and playing
        assert first, proc.stderr.read().decode()
        time.sleep(1.0)
        return psutil.Process(proc.pid).memory_info().rss
    finally:
        proc.kill()
        proc.wait()


def test_replaying_a_long_file_holds_no_more_memory_than_a_short_one(tmp_path):
    # An hour-long --mic-file (bench/soak_bench.py) held the whole file as float32 in each worker: 250 MB.
    import numpy as np
    import soundfile as sf

    rate = 16000
    noise = np.random.default_rng(0).normal(0, 0.05, rate * 2).astype(np.float32)
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    sf.write(short, noise, rate, subtype="PCM_16")
    sf.write(long, np.tile(noise, 300), rate, subtype="PCM_16")  # 10 minutes: 38 MB as float32
    assert _replaying_worker_rss(long) < _replaying_worker_rss(short) + 15 * 2**20
