"""The oneDNN primitive cache under CTranslate2 is bounded in every process that transcribes: sized encoder
windows make a new shape per long utterance, and the unbounded cache grew RSS all meeting long."""

from __future__ import annotations

import os
import subprocess
import sys


def _capacity_seen(env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    if env_value is not None:
        env["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = env_value
    code = ("import os, meeting_tui.transcribe.transcriber; "
            "print(os.environ.get('ONEDNN_PRIMITIVE_CACHE_CAPACITY'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_importing_the_transcriber_bounds_the_primitive_cache_before_any_decode():
    from meeting_tui.transcribe.native_caches import PRIMITIVE_CACHE_CAPACITY

    assert _capacity_seen(None) == str(PRIMITIVE_CACHE_CAPACITY)


def test_a_capacity_the_user_set_is_kept():
    assert _capacity_seen("64") == "64"
