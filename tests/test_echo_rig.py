"""Echo guard on the real PulseAudio rig, judged by words transcribed with the offline tiny.en model.

Remote speech is played into the virtual speakers and, delayed, attenuated and reverberated by sox,
into the virtual mic; the user's speech (a real recording and espeak-ng) into the mic at other times,
or over the far side (double talk). bench/echo_bench.py runs every scenario and prints the figures;
docs/echo.md records them.
"""

from __future__ import annotations

import pytest

from tests.support.echo_scenarios import SESSION_SCENARIOS, Scenario, load_model, record_session, run_scenario
from meeting_tui.echo import ECHO_MESSAGE, WRONG_SOURCE_MESSAGE

pytestmark = [pytest.mark.rig, pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def model(tiny_model_path):
    return load_model(tiny_model_path)


def test_rig_room_echo_words_removed_and_users_words_kept(rig, model, shared_audio, tmp_path):
    # Four local sentences (~80 words with the real recordings): one word of tiny.en's run-to-run spread
    # must not decide a 98 % floor.
    sc = Scenario("room (test)", delay_ms=100, atten_db=10, reverb=60, n_remote=3, n_local=4)
    res = run_scenario(sc, rig.env, model, shared_audio, workdir=tmp_path)
    report = "\n".join(f"{k}: {v}" for k, v in res.transcripts.items())
    a, both = res.audio, res.both
    assert a.dup_before >= 10, report  # without the guard the echo really is transcribed under "You"
    # Regression bounds, not the floors (95 % removed, 98 % kept), which bench/echo_bench.py tracks.
    # One word is 4 % here and tiny.en decodes the residue differently on other CPUs: the bound sits below
    # every run measured and far above the guard's absence (docs/echo.md, "Tests versus floors").
    assert both.removed >= 0.75, (both, report)
    assert both.kept_vs_raw >= 0.95, (both, report)
    assert res.echo_present
    assert res.coupling_db is not None and -16 < res.coupling_db < -4


def test_rig_double_talk_keeps_the_users_words(rig, model, shared_audio, tmp_path):
    # While both talk the guard passes the linear path's output, which keeps the user's voice; the gate
    # opens on AEC3's output and on the subband canceller's own detector. Regression bounds, not the
    # issue's floors (98 % kept, 95 % removed): those are measured over 24 recordings by
    # bench/echo_bench.py (docs/echo.md, stop 12); one run of this scenario keeps 36-39 of 39 words.
    sc = Scenario("double talk (test)", delay_ms=120, atten_db=6, reverb=50, double_talk=True, n_remote=3, n_local=2)
    res = run_scenario(sc, rig.env, model, shared_audio, workdir=tmp_path)
    report = "\n".join(f"{k}: {v}" for k, v in res.transcripts.items())
    both = res.both
    assert both.dup_after <= max(2, both.dup_before // 3), (both, report)
    assert both.local_kept >= both.local_raw, (both, report)
    assert both.kept >= 0.75, (both, report)
    assert res.echo_present


# ------------------------------------------------------------ from the user's seat: `meeting-tui record`
def test_record_fresh_session_keeps_the_users_words_from_the_first_second(rig, model, tiny_model_path,
                                                                          shared_audio, tmp_path):
    # Issue 20: a new session whose mic hears the speakers (60 ms, -6 dB, reverberation), turns taken
    # in alternation. `meeting-tui record` as the user runs it; the "You" lines it writes are scored.
    sc = next(s for s in SESSION_SCENARIOS if s.name == "session, turns")
    res = record_session(sc, rig.env, tiny_model_path, shared_audio, tmp_path, model=model)
    report = f"rc {res.returncode}\nYou: {res.text('You')}\nThem: {res.text('Them')}\n{res.stderr[-2000:]}"
    assert res.returncode == 0, report
    early, late = res.early, res.late
    assert early.local_ref >= 15 and late.local_ref >= 5, (early, late, report)  # both spans have the user's words
    # The user's words in the first 30 s, while the guard learns (the issue: about 81 % kept, WER 0.189).
    # Measured with the raw warm-up: 30/30 and 37/37 in the first 30 s with no duplicated word, 16/17 and
    # 9/10 after with 0 and 4 (load average 8-13; without the guard 26/30 with 17 duplicated words in
    # the first 30 s, 25 after).
    # Judged against what the raw mic gave, with a floor on the whole: in one clean-clone CI run the raw,
    # unguarded mic itself gave 26/37 (the guard kept all 26): Whisper's or the rig's run, not the guard.
    assert early.kept_vs_raw >= 0.9 and early.kept >= 0.65, (early, report)
    # After 30 s the span holds about 10 of the user's words, so one word Whisper hears differently in the
    # reverberant mic (the raw, unguarded mic missed the same 2 of 10 in one CI run) moves `kept` by 0.1:
    # the guard is judged against what the raw mic gave, with a floor on the whole.
    assert late.kept_vs_raw >= 0.85 and late.kept >= 0.7, (late, report)
    assert early.dup_after <= 5 and late.dup_after <= 5, (early, late, report)  # the far side stays out of "You"
    # the echo is real here: the notice comes, and it is the echo one
    assert any(ECHO_MESSAGE in line for line in res.notices), report
    assert not any(WRONG_SOURCE_MESSAGE in line for line in res.notices), report


def test_record_alike_voices_without_an_echo_path_give_no_echo_notice(rig, tiny_model_path, shared_audio, tmp_path):
    # Two people with the same synthetic voice, on separate devices: the far side into the speakers,
    # the user into the mic, no path between them. Nothing to tell the user.
    sc = next(s for s in SESSION_SCENARIOS if s.name == "no echo, alike voices")
    res = record_session(sc, rig.env, tiny_model_path, shared_audio, tmp_path)
    report = f"rc {res.returncode}\nYou: {res.text('You')}\nThem: {res.text('Them')}\n{res.stderr[-2000:]}"
    assert res.returncode == 0, report
    assert res.text("You") and res.text("Them"), report  # both were heard and transcribed
    assert res.notices == [], report


def test_record_mic_stream_on_the_speakers_monitor_says_wrong_source_not_echo(rig, tiny_model_path, shared_audio,
                                                                            tmp_path):
    # The mic's device vanished and the system moved its stream to the speakers' monitor: here the mic
    # is pointed at the monitor outright. The user must read "pick your mic again", not "headphones".
    sc = Scenario("wrong source", 60, 6, 0, n_remote=4, n_local=0, real_local=False)
    res = record_session(sc, rig.env, tiny_model_path, shared_audio, tmp_path, mic="speakers.monitor")
    report = f"rc {res.returncode}\n{res.stderr[-3000:]}"
    assert res.returncode == 0, report
    assert any("pick your mic again" in line for line in res.notices), report
    assert not any(ECHO_MESSAGE in line for line in res.notices), report
