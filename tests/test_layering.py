"""The package graph is a DAG (import-linter contracts in pyproject.toml) and the headless core never
imports Textual (checked in a fresh interpreter, as Harlequin does)."""

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CORE_MODULES = [
    "meeting_tui.types", "meeting_tui.cli", "meeting_tui.capture.engine", "meeting_tui.capture.worker",
    "meeting_tui.capture.commands", "meeting_tui.capture.devices", "meeting_tui.settings",
    "meeting_tui.session.store", "meeting_tui.session.exports", "meeting_tui.session.recovery",
    "meeting_tui.transcribe", "meeting_tui.transcribe.transcriber", "meeting_tui.meeting", "meeting_tui.commands.record", "meeting_tui.commands.monitor",
    "meeting_tui.commands.transcribe", "meeting_tui.echo", "meeting_tui.doctor.probes",
    "meeting_tui.capture.ffmpeg", "meeting_tui.capture.mixer", "meeting_tui.capture.supervisor",
    "meeting_tui.wording", "meeting_tui.session.commands",
]


def test_core_imports_no_textual():
    code = ("import importlib, sys\n"
            f"for m in {CORE_MODULES!r}:\n"
            "    try:\n        importlib.import_module(m)\n"
            "    except ModuleNotFoundError as e:\n        raise SystemExit(f'cannot import {m}: {e}')\n"
            "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
            "print(bad); sys.exit(1 if bad else 0)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_worker_imports_neither_textual_nor_whisper():
    code = ("import sys, meeting_tui.capture.worker, meeting_tui.capture.backends.file_backend\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'faster_whisper', 'ctranslate2')]\n"
            "print(bad); sys.exit(1 if bad else 0)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_package_layers_hold():
    """types -> settings -> capture -> echo -> transcribe -> session -> meeting -> front ends."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is missing: pip install -e '.[test]'"
    out = subprocess.run([lint, "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    import tomllib

    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert f"Contracts: {len(contracts)} kept, 0 broken." in out.stdout
