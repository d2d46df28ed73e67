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
