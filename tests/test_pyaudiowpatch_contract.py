"""Contract tests for the WASAPI loopback backend, runnable on every OS.

The device dicts below have exactly the keys PyAudioWPatch builds in
``PyAudio._make_device_info_dictionary`` (src/pyaudiowpatch/__init__.py), and the loopback entries follow
``FillLooopbackDeviceInfo`` in its patched pa_win_wasapi.c: name + " [Loopback]", input channels = the
render device's output channels, no output channels, same host API, appended after the other devices.
Errors are ``OSError(code, text)`` as raised by its C module (``PyErr_SetObject(PyExc_IOError, (i, s))``).
The stand-in module at the bottom implements only that documented surface, so the backend's own glue
(device choice, callback → emit, silence fill, is_active polling) runs here too.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import types

import numpy as np
import pytest

from meeting_tui.capture.backends import pyaudiowpatch_backend as pawp
from meeting_tui.capture.backends.base import CaptureError
from meeting_tui.capture.frames import FLAG_SYNTH_SILENCE


def dev(index, name, host_api, ins, outs, rate, loop=False):
    return {
        "index": index, "structVersion": 2, "name": name, "hostApi": host_api,
        "maxInputChannels": ins, "maxOutputChannels": outs,
        "defaultLowInputLatency": 0.003 if ins else 0.09, "defaultLowOutputLatency": 0.0 if loop else 0.003,
        "defaultHighInputLatency": 0.01 if ins else 0.18, "defaultHighOutputLatency": 0.0 if loop else 0.01,
        "defaultSampleRate": rate, "isLoopbackDevice": loop,
    }


WASAPI = 2  # host API index of WASAPI in a typical list (MME 0, DirectSound 1, WASAPI 2, WDM-KS 3)

# A realistic machine: one name contains another ("Speakers" / "Speakers (2- USB Audio)") and a headset.
DEVICES = [
    dev(0, "Microsoft Sound Mapper - Input", 0, 2, 0, 44100.0),
    dev(1, "Microphone (Realtek(R) Audio)", 0, 2, 0, 44100.0),
    dev(10, "Speakers (Realtek(R) Audio)", WASAPI, 0, 2, 48000.0),
    dev(11, "Speakers", WASAPI, 0, 8, 48000.0),
    dev(12, "Speakers (2- USB Audio)", WASAPI, 0, 2, 44100.0),
    dev(13, "Headset Earphone (Jabra Evolve 65)", WASAPI, 0, 2, 16000.0),
    dev(14, "Microphone (Realtek(R) Audio)", WASAPI, 2, 0, 48000.0),
    dev(20, "Speakers (Realtek(R) Audio) [Loopback]", WASAPI, 2, 0, 48000.0, loop=True),
    dev(21, "Speakers [Loopback]", WASAPI, 8, 0, 48000.0, loop=True),
    dev(22, "Speakers (2- USB Audio) [Loopback]", WASAPI, 2, 0, 44100.0, loop=True),
    dev(23, "Headset Earphone (Jabra Evolve 65) [Loopback]", WASAPI, 2, 0, 16000.0, loop=True),
]


def by_name(name):
    return next(d for d in DEVICES if d["name"] == name)


# ---------------------------------------------------------------- matching

def test_exact_match_beats_substring_trap():
    # PyAudioWPatch's analogue helper does `name in loopback["name"]`, which for "Speakers" returns the
    # first loopback containing "Speakers": "Speakers (Realtek(R) Audio) [Loopback]". We must not.
    assert pawp.find_loopback(DEVICES, "Speakers")["index"] == 21
    assert pawp.find_loopback(DEVICES, "Speakers (2- USB Audio)")["index"] == 22


def test_loopback_name_is_accepted_as_is():
    assert pawp.find_loopback(DEVICES, "Speakers [Loopback]")["index"] == 21


def test_default_output_maps_to_its_loopback():
    assert pawp.find_loopback(DEVICES, None, default_output=by_name("Speakers"))["index"] == 21
    assert pawp.find_loopback(DEVICES, None, default_output=by_name("Speakers (Realtek(R) Audio)"))["index"] == 20
    loop = by_name("Speakers [Loopback]")
    assert pawp.find_loopback(DEVICES, None, default_output=loop) is loop


def test_unknown_device_is_invalid_device_with_list():
    with pytest.raises(CaptureError) as err:
        pawp.find_loopback(DEVICES, "HDMI (NVIDIA High Definition Audio)")
    assert err.value.code == -9996
    assert "Speakers (2- USB Audio)" in str(err.value)
    assert err.value.hint


def test_no_default_output():
    with pytest.raises(CaptureError) as err:
        pawp.find_loopback(DEVICES, None, default_output=None)
    assert err.value.code == -9996


def test_mic_with_same_name_is_never_a_loopback():
    with pytest.raises(CaptureError):
        pawp.find_loopback(DEVICES, "Microphone (Realtek(R) Audio)")


def test_stream_params_use_device_rate_and_channels():
    assert pawp.stream_params(by_name("Speakers [Loopback]")) == (48000, 8)
    assert pawp.stream_params(by_name("Headset Earphone (Jabra Evolve 65) [Loopback]")) == (16000, 2)
    with pytest.raises(CaptureError):
        pawp.stream_params(dev(30, "Broken [Loopback]", WASAPI, 0, 0, 0.0, loop=True))


def test_render_twin():
    twin = pawp.find_render_twin(DEVICES, by_name("Speakers [Loopback]"))
    assert twin["index"] == 11


def test_listing_rows():
    rows = pawp.device_listing(DEVICES, "Speakers [Loopback]")
    assert [r["name"] for r in rows] == [d["name"] for d in DEVICES if d["isLoopbackDevice"]]
    assert all(r["kind"] == "loopback" and r["hostapi"] == "Windows WASAPI" for r in rows)
    assert [r["is_default"] for r in rows] == [False, True, False, False]
    assert set(rows[0]) >= {"name", "hostapi", "kind", "channels", "samplerate", "is_default"}


def test_list_devices_is_empty_without_pyaudiowpatch():
    if sys.platform == "win32":
        pytest.skip("PyAudioWPatch is installed on Windows")
    assert pawp.list_devices() == []


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("code, words", [
    (-9999, "exclusive"), (-9996, "unplugged"), (-9985, "Privacy"), (-9997, "mix rate"), (-9979, "WASAPI"),
])
def test_oserror_codes_map_to_hints(code, words):
    exc = OSError(code, "Unanticipated host error")  # the C module's (code, text) tuple
    assert exc.errno == code
    err = pawp.map_oserror(exc, device="'Speakers [Loopback]'")
    assert err.code == code
    assert words.lower() in err.hint.lower()
    assert "Speakers [Loopback]" in str(err) and str(code) in str(err)


def test_oserror_without_code():
    err = pawp.map_oserror(OSError("Stream not open"))
    assert err.code is None and err.hint


# ---------------------------------------------------------------- timeline / silence fill

def test_idle_loopback_is_filled_by_elapsed_time():
    tl = pawp.LoopbackTimeline(48000, grace_s=0.25)
    tl.start(100.0)
    assert tl.silence(100.2) == []  # within grace
    blocks = tl.silence(101.25)
    assert sum(n for _, n in blocks) == 48000  # exactly one second, up to now - grace
    assert blocks[0][0] == pytest.approx(100.0)
    assert all(n <= 4800 for _, n in blocks)
    # contiguous capture times
    for (t0, n0), (t1, _) in zip(blocks, blocks[1:]):
        assert t1 == pytest.approx(t0 + n0 / 48000)
    assert tl.silence(101.25) == []
    assert tl.synth_frames == 48000


def test_resume_after_idle_fills_the_hole_then_places_the_packet():
    tl = pawp.LoopbackTimeline(48000, grace_s=0.25)
    tl.start(0.0)
    tl.silence(1.25)  # covers 0 .. 1.0
    t, zeros = tl.real(480, 1.51)  # packet measured at 1.50
    assert sum(n for _, n in zeros) == 24000  # 1.0 .. 1.5
    assert t == pytest.approx(1.5)
    assert tl.end == pytest.approx(1.51)


def test_continuous_playback_is_laid_end_to_end_despite_jitter():
    tl = pawp.LoopbackTimeline(48000, grace_s=0.25)
    tl.start(0.0)
    rng = np.random.default_rng(1)
    now, times = 0.0, []
    for i in range(500):
        now = 0.01 * (i + 1) + rng.uniform(0, 0.03)  # 10 ms packets, up to 30 ms late
        t, zeros = tl.real(480, now)
        assert not zeros or i == 0
        times.append(t)
        assert tl.silence(now) == []  # never zeros inside audio
    diffs = np.diff(times)
    assert np.allclose(diffs, 0.01)


def test_continuous_playback_reanchors_on_large_disagreement():
    tl = pawp.LoopbackTimeline(48000, grace_s=0.25, reanchor_s=0.5)
    tl.start(0.0)
    for i in range(10):
        tl.real(480, 0.01 * (i + 1))
    # packets keep coming (each within the grace period) but the device delivers far fewer frames than
    # the clock says: small disagreements are absorbed, one beyond reanchor_s re-anchors.
    t, _ = tl.real(480, 0.24)
    assert t == pytest.approx(0.10)
    t, _ = tl.real(480, 0.44)
    assert t == pytest.approx(0.11)
    t, _ = tl.real(480, 0.64)  # measured 0.63 vs end 0.12
    assert t == pytest.approx(0.63)


def test_downmix():
    block = np.array([[1.0, 0.0], [0.5, 0.5]], dtype=np.float32)
    assert pawp.downmix(block, 1).tolist() == [[0.5], [0.5]]
    assert pawp.downmix(block, None) is block


# ---------------------------------------------------------------- the backend against a stand-in module

class _FakeStream:
    def __init__(self, pa, kwargs):
        self.kwargs = kwargs
        self.active = True
        self.closed = False
        self.callback = kwargs.get("stream_callback")

    def is_active(self):
        if self.closed:
            raise OSError("Stream not open")
        return self.active

    def stop_stream(self):
        self.active = False

    def close(self):
        self.closed = True


def _fake_module(devices, default_out_index, fail_open=None):
    mod = types.ModuleType("pyaudiowpatch")
    mod.paFloat32, mod.paContinue, mod.paWASAPI = 1, 0, 13
    by_index = {d["index"]: d for d in devices}
    by_index.update({i: {"index": i, "name": f"MME {i}", "hostApi": 0, "maxInputChannels": 2,
                         "maxOutputChannels": 0, "defaultSampleRate": 44100.0, "isLoopbackDevice": False}
                     for i in range(max(by_index) + 1) if i not in by_index})

    class PyAudio:
        instances = []

        def __init__(self):
            self.streams = []
            self.terminated = False
            PyAudio.instances.append(self)

        def get_device_info_generator_by_host_api(self, *, host_api_index=None, host_api_type=None):
            assert host_api_type == mod.paWASAPI
            return iter([d for d in devices if d["hostApi"] == WASAPI])

        def get_default_wasapi_device(self, *, d_out=False, d_in=False):
            return next(d for d in devices if d["index"] == default_out_index)

        # The calls the backend makes (pyaudiowpatch/__init__.py: get_device_count, get_device_info_by_index,
        # get_host_api_info_by_type returning the host API dict with "index" and "defaultOutputDevice").
        def get_device_count(self):
            return len(by_index)

        def get_device_info_by_index(self, i):
            return by_index[i]

        def get_host_api_info_by_type(self, t):
            assert t == mod.paWASAPI
            return {"index": WASAPI, "type": t, "name": "Windows WASAPI", "defaultOutputDevice": default_out_index}

        def open(self, **kwargs):
            if fail_open and kwargs.get("input"):
                raise OSError(*fail_open)
            s = _FakeStream(self, kwargs)
            self.streams.append(s)
            return s

        def terminate(self):
            self.terminated = True

    mod.PyAudio = PyAudio
    return mod


@pytest.fixture
def fake_pyaudio(monkeypatch):
    def install(**kw):
        mod = _fake_module(DEVICES, 11, **kw)
        monkeypatch.setitem(sys.modules, "pyaudiowpatch", mod)
        return mod
    return install


def _collect():
    got = []
    lock = threading.Lock()

    def emit(samples, t, flags):
        with lock:
            got.append((np.array(samples), t, flags))
    return got, emit


def test_backend_opens_default_loopback_at_device_format(fake_pyaudio):
    mod = fake_pyaudio()
    ns = argparse.Namespace(device=None, hostapi=None, samplerate=16000, channels=None, blocksize=0,
                            pawp_no_keepalive=False, pawp_idle_grace=0.25)
    backend = pawp.create(ns)
    got, emit = _collect()
    info = backend.open(emit)
    pa = mod.PyAudio.instances[-1]
    capture, render = pa.streams
    assert capture.kwargs["input"] and capture.kwargs["input_device_index"] == 21
    assert capture.kwargs["rate"] == 48000 and capture.kwargs["channels"] == 8
    assert capture.kwargs["format"] == mod.paFloat32
    assert render.kwargs["output"] and render.kwargs["output_device_index"] == 11  # silent keep-alive
    out, flag = render.callback(None, 256, {}, 0)
    assert out == bytes(4 * 8 * 256) and flag == mod.paContinue
    # opened at the device's 8 channels, sent downmixed to stereo (front pair + centre at -3 dB)
    assert (info.device, info.hostapi, info.samplerate, info.channels) == ("Speakers [Loopback]", "Windows WASAPI", 48000, 2)
    assert info.extra["device_channels"] == 8
    assert "rate_note" in info.extra

    # one real packet, then nothing: zeros flagged as synthesized follow by elapsed time
    data = np.tile(np.arange(8, dtype=np.float32), (480, 1))
    assert capture.callback(data.tobytes(), 480, {}, 0) == (None, mod.paContinue)
    assert backend.poll() is None
    time.sleep(0.6)
    assert backend.poll() is None
    real = [g for g in got if g[2] == 0]
    synth = [g for g in got if g[2] & FLAG_SYNTH_SILENCE]
    # channels 0..7 carry 0..7: left = FL(0) + 0.707 * FC(2), right = FR(1) + 0.707 * FC(2); LFE (3) dropped
    assert len(real) == 1 and real[0][0].shape == (480, 2)
    assert real[0][0][0].tolist() == pytest.approx([0 + 0.7071 * 2, 1 + 0.7071 * 2], abs=1e-5)
    assert synth and all(not s[0].any() and s[0].shape[1] == 2 for s in synth)
    assert synth[0][1] == pytest.approx(real[0][1] + 0.01, abs=1e-6)

    # the endpoint is invalidated: is_active() turns False and poll() reports it
    capture.active = False
    reason = backend.poll()
    assert reason and "lost" in reason
    backend.close()
    assert pa.terminated and capture.closed and render.closed


def test_backend_mono_downmix_and_named_device(fake_pyaudio):
    fake_pyaudio()
    backend = pawp.PyAudioWPatchBackend("Speakers (2- USB Audio)", channels=1, keepalive=False)
    got, emit = _collect()
    info = backend.open(emit)
    assert (info.samplerate, info.channels, info.device) == (44100, 1, "Speakers (2- USB Audio) [Loopback]")
    stream = sys.modules["pyaudiowpatch"].PyAudio.instances[-1].streams[0]
    stream.callback(np.ones((441, 2), dtype=np.float32).tobytes(), 441, {}, pawp.PA_INPUT_OVERFLOW_FLAG)
    assert got[0][0].shape == (441, 1) and backend.overflows == 1
    backend.close()


def test_backend_open_error_is_mapped(fake_pyaudio):
    mod = fake_pyaudio(fail_open=(-9985, "Device unavailable"))
    backend = pawp.PyAudioWPatchBackend(None)
    with pytest.raises(CaptureError) as err:
        backend.open(lambda *a: None)
    assert err.value.code == -9985 and "privacy" in err.value.hint.lower()
    assert mod.PyAudio.instances[-1].terminated  # nothing left open


def test_backend_on_linux_says_windows_only():
    if sys.platform == "win32":
        pytest.skip("Windows has the real module")
    sys.modules.pop("pyaudiowpatch", None)
    with pytest.raises(CaptureError) as err:
        pawp.PyAudioWPatchBackend(None).open(lambda *a: None)
    assert "Windows" in str(err.value)


# --- names PortAudio cut at 127 bytes (char name[PA_WASAPI_DEVICE_NAME_LEN = 128], pa_win_wasapi.c) ---------

def _cut(name: str) -> bytes:
    return name.encode("utf-8")[:pawp.NAME_BYTES]


def test_a_loopback_name_cut_at_127_bytes_is_found_by_prefix():
    render = "Haut-parleurs de la salle de réunion " + "é" * 45  # the loopback name passes 127 bytes
    cut = _cut(pawp.loopback_name(render)).decode("utf-8", "ignore")
    devices = [dev(30, cut, WASAPI, 2, 0, 48000.0, loop=True), *DEVICES]
    assert pawp.find_loopback(devices, render)["index"] == 30
    assert pawp.find_loopback(devices, None, default_output={"name": render, "isLoopbackDevice": False})["index"] == 30
    # a short name is never taken for a cut one
    assert not pawp.name_matches("Speakers", "Speakers (2- USB Audio) [Loopback]")


def test_a_name_cut_inside_a_character_does_not_break_the_device_list():
    render = "Réunion " + "é" * 60  # 128 bytes with the suffix: the cut lands inside an "é"
    raw = pawp.loopback_name(render).encode("utf-8")[:pawp.NAME_BYTES - 1]
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # what PyUnicode_FromString does with it (strict UTF-8)
    good = dev(5, "Speakers", WASAPI, 0, 2, 48000.0)

    class RawInfo:  # the _portaudiowpatch paDeviceInfo object: every field but the name still reads
        structVersion, hostApi, maxInputChannels, maxOutputChannels = 2, WASAPI, 2, 0
        defaultLowInputLatency = defaultLowOutputLatency = 0.01
        defaultHighInputLatency = defaultHighOutputLatency = 0.1
        defaultSampleRate, isLoopbackDevice = 48000.0, True

    class PA:
        def get_device_info_by_index(self, i):
            if i == 5:
                return good
            raw.decode("utf-8")  # raises exactly as the C getter does

    assert pawp.device_info(PA(), 5) is good
    info = pawp.device_info(PA(), 6, raw_info=RawInfo())
    assert info["name"] == raw.decode("utf-8", "ignore") and info["isLoopbackDevice"] and info["index"] == 6
    assert pawp.find_loopback([info], render)["index"] == 6


def test_5_1_and_7_1_downmix_keeps_the_front_pair_and_the_centre():
    n = 480
    t = np.arange(n) / 48000
    fl, fr, fc, lfe = (np.sin(2 * np.pi * f * t).astype(np.float32) for f in (500, 700, 900, 60))
    z = np.zeros(n, np.float32)
    for block in (np.stack([fl, fr, fc, lfe, z, z], 1), np.stack([fl, fr, fc, lfe, z, z, z, z], 1)):
        out = pawp.downmix(block, None)
        assert out.shape == (n, 2)
        np.testing.assert_allclose(out[:, 0], fl + 0.7071 * fc, atol=1e-6)
        np.testing.assert_allclose(out[:, 1], fr + 0.7071 * fc, atol=1e-6)
    # dialogue only in the centre of a 5.1 stream: a plain mean over 6 channels loses 10-12 dB against this
    speech = np.stack([z, z, fc, z, z, z], 1)
    ours = np.sqrt(np.mean(pawp.downmix(speech, 1) ** 2))
    mean = np.sqrt(np.mean(speech.mean(axis=1) ** 2))
    assert 20 * np.log10(ours / mean) > 10
    # quad (no centre): fronts only; stereo and mono pass through
    quad = np.stack([fl, fr, lfe, lfe], 1)
    np.testing.assert_allclose(pawp.downmix(quad, None), np.stack([fl, fr], 1))
    assert pawp.downmix(np.stack([fl, fr], 1), None).shape == (n, 2)
