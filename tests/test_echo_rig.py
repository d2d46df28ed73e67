"""Echo guard on the real PulseAudio rig, judged by words transcribed with the offline tiny.en model.

One double-talk scenario (the hardest case for keeping the user's words): remote speech played into
the virtual speakers and, delayed, attenuated and reverberated by sox, into the virtual mic, with the
user's speech (a real recording and espeak-ng) over it. bench/echo_bench.py runs every scenario.
"""

from __future__ import annotations

import pytest

from meeting_tui.echo.evaluate import Scenario, load_model, run_scenario

pytestmark = [pytest.mark.rig, pytest.mark.model, pytest.mark.slow]


def test_double_talk_on_the_rig_removes_echo_words_and_keeps_the_users(rig, tiny_model_path, shared_audio, tmp_path):
    sc = Scenario("double talk (test)", delay_ms=120, atten_db=6, reverb=50, double_talk=True, n_remote=3, n_local=2)
    res = run_scenario(sc, rig.env, load_model(tiny_model_path), shared_audio, workdir=tmp_path)
    report = "\n".join(f"{k}: {v}" for k, v in res.transcripts.items())
    a, both = res.audio, res.both
    assert a.dup_before >= 10, report  # the echo really was transcribed under "You" without the guard
    assert both.removed >= 0.95, (both, report)
    assert both.kept >= 0.98, (both, report)
    assert res.echo_present
    assert res.delay_ms is not None and abs(res.delay_ms - res.true_delay_ms) <= 25, (res.delay_ms, res.true_delay_ms)
    assert res.coupling_db is not None and -15 < res.coupling_db < 0
    assert res.cpu_per_s < 0.1
