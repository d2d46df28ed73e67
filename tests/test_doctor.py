"""meeting-tui doctor: the verdict logic on plain data, and every probe for real on the PulseAudio rig."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import wave

import numpy as np
import pytest

from meeting_tui.capture.frames import FLAG_SYNTH_SILENCE, Frame
from meeting_tui.capture.wasapi_names import WASAPI
from meeting_tui.doctor import probes as d
from meeting_tui.types import Mode, Source

SECONDS = 1.5


def write_tone(path, hz=440.0, seconds=60.0, rate=48000, amp=0.3):
    t = np.arange(int(seconds * rate)) / rate
    x = (amp * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.tobytes())
    return path


# ------------------------------------------------------------------------------ plain data

def frame(t, samples, flags=0, rate=48000):
    return Frame(seq=0, capture_time=t, samplerate=rate, samples=np.asarray(samples, np.float32), flags=flags)


def test_analyze_frames_states():
    tone = 0.1 * np.sin(np.linspace(0, 200, 4800))[:, None]
    frames = [frame(i * 0.1, tone) for i in range(20)]
    res, audio, rate = d.analyze_frames(frames, ["mic"])
    assert res["mic"].state == "live" and res["mic"].rms_db == pytest.approx(-23, abs=0.5)
    assert rate == 48000 and len(audio["mic"]) == 17 * 4800  # the first 0.3 s is skipped
    zeros = [frame(i * 0.1, np.zeros((4800, 1))) for i in range(20)]
    assert d.analyze_frames(zeros, ["mic"])[0]["mic"].state == "silent"
    synth = [frame(i * 0.1, np.zeros((4800, 1)), FLAG_SYNTH_SILENCE) for i in range(20)]
    r = d.analyze_frames(synth, ["loopback"])[0]["loopback"]
    assert r.state == "idle" and r.synthesized_s == pytest.approx(1.7)
    assert d.analyze_frames([], ["mic"])[0]["mic"].state == "no data"
    two = [frame(i * 0.1, np.hstack([tone, np.zeros_like(tone)])) for i in range(20)]
    res = d.analyze_frames(two, ["mic", "loopback"])[0]
    assert res["mic"].state == "live" and res["loopback"].state == "silent"


def test_echo_correlation():
    sig = d.test_signal(3.0)
    rng = np.random.default_rng(0)
    delayed = np.concatenate([np.zeros(4800, np.float32), sig[:-4800]]) * 0.2 + 0.01 * rng.standard_normal(len(sig))
    assert d.echo_correlation(delayed, 48000, sig, 48000) > 0.6  # the mic hears the speakers, 100 ms late
    other = 0.1 * np.sin(2 * np.pi * 440 * np.arange(len(sig)) / 48000)
    assert d.echo_correlation(other, 48000, sig, 48000) < 0.1
    assert d.echo_correlation(np.zeros(10), 48000, sig, 48000) is None


def probe(name, mic=None, loop=None, error=None):
    p = d.ProbeResult(name, error=error)
    if mic:
        p.sources["mic"] = d.SourceResult("mic", mic, -20.0 if mic == "live" else float("-inf"))
    if loop:
        p.sources["loopback"] = d.SourceResult("loopback", loop, -20.0 if loop == "live" else float("-inf"))
    return p


LINUX = d.Plan("linux", "mic", "speakers.monitor", "PulseAudio", "PulseAudio", "speakers", "mic", "speakers.monitor")
WIN = d.Plan("win32", None, None, "", WASAPI)


def test_recommend_order():
    both = [probe("mic", "live"), probe("loopback", loop="live"), probe("separate", "live", "live"), probe("ffmpeg", "live", "live")]
    r = d.recommend(both, LINUX)
    assert (r.route, r.mode, r.mic_device, r.loopback_device) == ("meeting", Mode.MEETING, "mic", "speakers.monitor")
    ff_only = [probe("separate", "live", "silent"), probe("ffmpeg", "live", "live")]
    r = d.recommend(ff_only, LINUX)
    assert r.mode is Mode.MEETING_FFMPEG and r.hostapi == "ffmpeg pulse"
    crashed = [probe("separate", "live", "live", error="worker exited with code 4")]
    assert d.recommend(crashed, LINUX).mode is not Mode.MEETING


def test_recommend_fallbacks():
    # works alone, not together, no FFmpeg: the VoiceMeeter route
    apart = [probe("mic", "live"), probe("loopback", loop="live"), probe("separate", "live", "no data"),
             d.ProbeResult("ffmpeg", skipped="FFmpeg is not installed")]
    r = d.recommend(apart, WIN)
    assert r.route == "voicemeeter" and r.mode is Mode.MIC and "together" in r.text
    r = d.recommend(apart, WIN, device_names=["Voicemeeter Out B1 (VB-Audio Voicemeeter VAIO)"])
    assert r.mic_device == "Voicemeeter Out B1 (VB-Audio Voicemeeter VAIO)"
    assert d.recommend([probe("mic", "silent"), probe("loopback", loop="live")], LINUX).mode is Mode.LOOPBACK
    assert d.recommend([probe("mic", "live"), probe("loopback", loop="no data", error="x")], LINUX).mode is Mode.MIC
    none = d.recommend([probe("mic", "silent"), probe("loopback", loop="idle")], LINUX)
    assert none.mode is None and none.route == "none"


def test_no_tone_accepts_an_idle_loopback():
    runs = [probe("separate", "live", "idle")]
    assert d.recommend(runs, LINUX, tone=True).mode is not Mode.MEETING
    assert d.recommend(runs, LINUX, tone=False).mode is Mode.MEETING


def test_warnings():
    p = probe("separate", "silent", "live")
    p.echo_corr = 0.9
    w = d.warnings_for([p], d.Plan("win32", "Headset (WH-1000XM4 Hands-Free AG Audio)", None), [])
    text = " ".join(w)
    assert "hands-free" in text.lower() and "Echo" in text and "digital silence" in text
    assert d.warnings_for([probe("separate", "live", "live")], LINUX, ["Speakers (Realtek(R) Audio)"]) == []


def test_probe_workers_run_under_the_capture_supervisor(tmp_path):
    """No rig: a file worker and a crashing worker, run the way every probe runs them (the capture engine's
    WorkerSupervisor, no restarts). The live one is analysed as audio; the crash reaches the probe with the
    worker's own last words and is not printed a second time by the supervisor's log."""
    wav = str(write_tone(tmp_path / "tone.wav", seconds=3.0))
    runs = d.run_workers([["--backend", "file", "--path", wav, "--speed", "1"], ["--backend", "no-such-backend"]],
                         seconds=1.0)
    live, results = d._worker_probe("mic", runs[:1], [["mic"]])
    assert live.error is None and live.sources["mic"].state == "live", live
    assert abs(live.sources["mic"].rms_db - 20 * math.log10(0.3 / math.sqrt(2))) < 0.5
    crashed, _ = d._worker_probe("mic", runs[1:], [["mic"]])
    assert crashed.sources["mic"].state == "no data"
    assert "exit code 2" in crashed.error and "no-such-backend" in crashed.error
    out = subprocess.run([sys.executable, "-c", "from meeting_tui.doctor import probes as d; "
                          "d.run_workers([['--backend', 'no-such-backend']], 0.2)"], capture_output=True, text=True,
                         timeout=60)
    assert "doctor-probe" not in out.stderr, out.stderr


def test_worker_args():
    assert LINUX.worker_args(Source.MIC) == ["--backend", "sounddevice", "--device", "mic", "--hostapi", "PulseAudio",
                                             "--samplerate", "48000", "--channels", "1"]
    assert WIN.worker_args(Source.LOOPBACK) == ["--backend", "pyaudiowpatch", "--channels", "1"]
    win_named = d.Plan("win32", "Microphone (Realtek(R) Audio)", "Speakers (Realtek(R) Audio)", WASAPI, WASAPI)
    assert win_named.worker_args(Source.MIC)[:6] == ["--backend", "sounddevice", "--device",
                                                     "Microphone (Realtek(R) Audio)", "--hostapi", "Windows WASAPI"]
    assert win_named.worker_args(Source.LOOPBACK)[-2:] == ["--device", "Speakers (Realtek(R) Audio)"]
    assert LINUX.ffmpeg_args() == ["--backend", "ffmpeg", "--ffmpeg-mic", "mic", "--ffmpeg-loopback", "speakers.monitor"]


def test_save_recommendation(tmp_path):
    from meeting_tui import settings as st

    cfg = tmp_path / "settings.toml"
    rec = d.Recommendation("meeting-ffmpeg", Mode.MEETING_FFMPEG, "", "mic", "speakers.monitor", "ffmpeg pulse", "ffmpeg pulse")
    assert d.save_recommendation(rec, str(cfg)) == cfg
    loaded = st.load_settings(str(cfg))
    assert loaded.ok and loaded.settings.capture.mode is Mode.MEETING_FFMPEG
    assert loaded.settings.capture.mic_device.name == "mic"
    assert loaded.settings.capture.loopback_device.hostapi == "ffmpeg pulse"


# ------------------------------------------------------------------------------ on the rig

@pytest.fixture
def mic_tone(rig, tmp_path):
    rig.play(write_tone(tmp_path / "mic.wav"), "micsink")
    return rig


def _plan():
    return d.make_plan()


@pytest.mark.rig
def test_every_probe_live_recommends_meeting(mic_tone, tmp_path):
    plan = _plan()
    assert (plan.mic, plan.loopback, plan.tone_sink) == ("mic", "speakers.monitor", "speakers")
    probes = d.run_probes(plan, seconds=SECONDS)
    by = {p.name: p for p in probes}
    assert list(by) == list(d.PROBES)
    for name in ("separate", "same-process", "ffmpeg"):
        assert by[name].both_live, (name, by[name])
    assert by["mic"].sources["mic"].live and by["loopback"].sources["loopback"].live
    # the doctor's quiet test signal (-20 dBFS peak sweep) is what the loopback heard
    assert by["loopback"].sources["loopback"].peak_db == pytest.approx(-20, abs=1.5)
    assert by["mic"].sources["mic"].rms_db == pytest.approx(20 * math.log10(0.3 / math.sqrt(2)), abs=1.5)
    # the rig's mic does not hear the speakers: no echo
    assert by["separate"].echo_corr is not None and by["separate"].echo_corr < d.ECHO_CORR
    rec = d.recommend(probes, plan)
    assert rec.mode is Mode.MEETING and rec.mic_device == "mic" and rec.loopback_device == "speakers.monitor"
    assert not any("Echo" in w for w in d.warnings_for(probes, plan, []))


@pytest.mark.rig
def test_mic_that_goes_silent(mic_tone):
    mic_tone.pactl("set-source-mute", "mic", "1")
    try:
        plan = _plan()
        probes = d.run_probes(plan, seconds=SECONDS, only=("mic", "separate", "ffmpeg"))
    finally:
        mic_tone.pactl("set-source-mute", "mic", "0")
    for p in probes:
        assert p.sources["mic"].state == "silent", p
        assert p.sources["mic"].seconds > 1.0  # data kept coming: zeros, not a stall
    assert {p.name: p.sources.get("loopback") and p.sources["loopback"].live for p in probes} == {
        "mic": None, "separate": True, "ffmpeg": True}
    rec = d.recommend(probes, plan)
    # The mode does not hang on a mic that was quiet while it listened (a pause with a noise gate reads the
    # same): both sources open, so Meeting, and the warning names the zeros (issue 31).
    assert rec.mode is Mode.MEETING
    assert any("digital silence" in w and "Speak" in w for w in d.warnings_for(probes, plan, []))


@pytest.mark.rig
def test_echo_is_detected_when_the_mic_hears_the_test_signal(rig, tmp_path):
    # The rig's mic cannot hear its speakers, so feed it what the speakers play (as a room would).
    rig.play(d.write_test_signal(tmp_path / "echo.wav", 30.0, channels=1), "micsink")
    plan = _plan()
    probes = d.run_probes(plan, seconds=2.0, only=("separate", "ffmpeg"))
    for p in probes:
        assert p.echo_corr is not None and p.echo_corr > d.ECHO_CORR, p
    assert any(w.startswith("Echo") for w in d.warnings_for(probes, plan, []))


@pytest.mark.rig
def test_no_tone_leaves_the_loopback_idle(mic_tone):
    plan = _plan()
    probes = d.run_probes(plan, seconds=SECONDS, tone=False, only=("separate",))
    lb = probes[0].sources["loopback"]
    assert lb.state == "silent"  # a Pulse monitor delivers zeros (WASAPI would deliver nothing: "idle")
    assert any("--no-tone" in n for n in probes[0].notes)
    assert d.recommend(probes, plan, tone=False).mode is Mode.MEETING


@pytest.mark.rig
def test_wrong_loopback_device_is_reported(mic_tone):
    plan = d.make_plan(loopback="no_such_sink.monitor")
    probes = d.run_probes(plan, seconds=SECONDS, only=("loopback", "ffmpeg"))
    assert all(p.error for p in probes), probes
    assert d.recommend(probes, plan).mode is not Mode.MEETING


@pytest.mark.rig
def test_cli_doctor_json_and_save(mic_tone, tmp_path):
    cfg = tmp_path / "cfg.toml"
    out = subprocess.run([sys.executable, "-m", "meeting_tui.cli", "--config", str(cfg), "doctor", "--only",
                          "mic,loopback,separate", "--seconds", str(SECONDS), "--json", "--save"],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert [p["name"] for p in report["probes"]] == ["mic", "loopback", "separate"]
    assert report["recommendation"]["mode"] == "meeting"
    assert "saved mode meeting" in out.stderr
    from meeting_tui import settings as st

    assert st.load_settings(str(cfg)).settings.capture.mode is Mode.MEETING


def test_cli_rejects_unknown_probe():
    out = subprocess.run([sys.executable, "-m", "meeting_tui.cli", "doctor", "--only", "bogus"], capture_output=True,
                         text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 2 and "bogus" in out.stderr
