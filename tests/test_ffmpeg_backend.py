"""The FFmpeg backend for real: one ffmpeg child capturing the rig's virtual mic and speakers monitor."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import wave

import numpy as np
import pytest

from meeting_tui.capture.backends.base import CaptureError
from meeting_tui.capture.backends.ffmpeg_backend import BlockClock, FfmpegBackend
from meeting_tui.capture.frames import FrameDecoder
from meeting_tui.capture import ffmpeg as ff

MIC_HZ, SPK_HZ = 440.0, 1250.0


def write_tone(path, hz, seconds=6.0, rate=48000, amp=0.3, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    x = (amp * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2")
    if channels == 2:
        x = np.repeat(x[:, None], 2, axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.tobytes())
    return path


def dominant_hz(x: np.ndarray, rate: int) -> float:
    x = x - x.mean()
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spec))])


def rms_db(x: np.ndarray) -> float:
    r = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0
    return 20 * np.log10(r) if r > 0 else float("-inf")


class Collector:
    def __init__(self):
        self.blocks, self.times, self.lock = [], [], threading.Lock()

    def __call__(self, samples, t, flags):
        with self.lock:
            self.blocks.append(np.array(samples))
            self.times.append(t)

    def frames(self) -> int:
        with self.lock:
            return sum(len(b) for b in self.blocks)

    def wait_seconds(self, seconds: float, rate: int = 48000, timeout: float = 20.0) -> None:
        """Until ``seconds`` more audio has arrived (not wall time: a loaded machine delivers late)."""
        want = self.frames() + int(seconds * rate)
        end = time.monotonic() + timeout
        while self.frames() < want and time.monotonic() < end:
            time.sleep(0.02)

    def audio(self, last_s=None, rate=48000):
        with self.lock:
            data = np.concatenate(self.blocks) if self.blocks else np.zeros((0, 2), np.float32)
        return data[-int(last_s * rate):] if last_s else data


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    d = tmp_path_factory.mktemp("tones")
    return write_tone(d / "mic.wav", MIC_HZ), write_tone(d / "spk.wav", SPK_HZ, channels=2)


pytestmark = pytest.mark.skipif(not ff.ffmpeg_available()[0], reason="ffmpeg not installed")


@pytest.mark.rig
def test_both_channels_carry_their_own_source(rig, tones):
    mic_wav, spk_wav = tones
    backend = FfmpegBackend("mic", "speakers.monitor", fmt="pulse")
    got = Collector()
    info = backend.open(got)
    try:
        assert (info.samplerate, info.channels) == (48000, 2)
        assert info.extra["channel_sources"] == ["mic", "loopback"]
        rig.play(mic_wav, "micsink")
        rig.play(spk_wav, "speakers")
        got.wait_seconds(2.5)
        assert backend.poll() is None
        data = got.audio(last_s=1.0)
        assert data.shape == (48000, 2)
        assert dominant_hz(data[:, 0], 48000) == pytest.approx(MIC_HZ, abs=3)
        assert dominant_hz(data[:, 1], 48000) == pytest.approx(SPK_HZ, abs=3)
        # each channel holds only its own tone: the other tone is far below
        for ch, other in ((0, SPK_HZ), (1, MIC_HZ)):
            spec = np.abs(np.fft.rfft(data[:, ch]))
            freqs = np.fft.rfftfreq(len(data), 1 / 48000)
            own = spec.max()
            leak = spec[np.argmin(np.abs(freqs - other))]
            assert leak < own * 1e-2
        # timeline: contiguous capture times, roughly real time
        times = np.array(got.times)
        assert np.all(np.diff(times) > 0)
        produced = sum(len(b) for b in got.blocks) / 48000
        assert produced == pytest.approx(times[-1] - times[0] + len(got.blocks[-1]) / 48000, abs=0.3)
    finally:
        backend.close()
    assert backend.returncode is not None


@pytest.mark.rig
def test_muted_mic_is_zeros_on_channel_0_only(rig, tones):
    mic_wav, spk_wav = tones
    rig.pactl("set-source-mute", "mic", "1")
    backend = FfmpegBackend("mic", "speakers.monitor", fmt="pulse")
    got = Collector()
    try:
        backend.open(got)
        rig.play(mic_wav, "micsink")
        rig.play(spk_wav, "speakers")
        got.wait_seconds(2.0)
        data = got.audio(last_s=1.0)
        assert rms_db(data[:, 0]) < -90
        assert rms_db(data[:, 1]) > -20
        assert backend.poll() is None  # silence is not an error at this level
    finally:
        backend.close()
        rig.pactl("set-source-mute", "mic", "0")


@pytest.mark.rig
def test_amix_makes_one_weighted_channel(rig, tones):
    mic_wav, spk_wav = tones
    backend = FfmpegBackend("mic", "speakers.monitor", fmt="pulse", mix="amix", gains_db=(0.0, -40.0))
    got = Collector()
    try:
        info = backend.open(got)
        assert info.channels == 1
        rig.play(mic_wav, "micsink")
        rig.play(spk_wav, "speakers")
        got.wait_seconds(2.0)
        data = got.audio(last_s=1.0)[:, 0]
        assert dominant_hz(data, 48000) == pytest.approx(MIC_HZ, abs=3)
        # normalize=0: the mic tone keeps its level (0.3 peak → about -13.5 dBFS RMS)
        assert rms_db(data) == pytest.approx(20 * np.log10(0.3 / np.sqrt(2)), abs=1.5)
    finally:
        backend.close()


@pytest.mark.rig
def test_unknown_source_fails_open_with_hint(rig):
    backend = FfmpegBackend("no-such-source", "speakers.monitor", fmt="pulse")
    with pytest.raises(CaptureError) as err:
        backend.open(Collector())
    assert "no-such-source" in str(err.value) and err.value.hint


@pytest.mark.rig
def test_worker_runs_the_ffmpeg_backend(rig, tones):
    """Through the integrator's worker entry: frames on stdout, started/stopped JSON on stderr."""
    mic_wav, spk_wav = tones
    rig.play(mic_wav, "micsink")
    rig.play(spk_wav, "speakers")
    proc = subprocess.Popen([sys.executable, "-m", "meeting_tui.capture.worker", "--backend", "ffmpeg",
                             "--ffmpeg-mic", "mic", "--ffmpeg-loopback", "speakers.monitor"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dec = FrameDecoder()
    frames = []
    deadline = time.monotonic() + 3.0
    import os

    while time.monotonic() < deadline:
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        frames.extend(dec.feed(chunk))
    proc.stdin.close()
    rest = proc.stdout.read()
    frames.extend(dec.feed(rest))
    err = proc.stderr.read().decode()
    assert proc.wait(15) == 0, err
    assert '"event": "started"' in err
    data = np.concatenate([f.samples for f in frames])[-48000:]
    assert frames[0].samplerate == 48000 and frames[0].channels == 2
    assert dominant_hz(data[:, 0], 48000) == pytest.approx(MIC_HZ, abs=3)
    assert dominant_hz(data[:, 1], 48000) == pytest.approx(SPK_HZ, abs=3)


def test_block_clock():
    clock = BlockClock(48000, reanchor_s=0.25)
    assert clock.place(480, 1.01) == pytest.approx(1.0)
    assert clock.place(480, 1.05) == pytest.approx(1.01)  # jitter absorbed
    assert clock.place(480, 2.0) == pytest.approx(1.99)  # a jump re-anchors
    assert clock.reanchors == 1


def test_missing_ffmpeg_is_a_capture_error():
    backend = FfmpegBackend("mic", "speakers.monitor", fmt="pulse", ffmpeg="/no/such/ffmpeg")
    with pytest.raises(CaptureError) as err:
        backend.open(Collector())
    assert "install" in err.value.hint.lower()


@pytest.mark.rig
def test_pulse_defaults_follow_the_default_source_and_monitor(rig, tones):
    """No names given: "default" and "@DEFAULT_MONITOR@" (the rig's defaults are mic and speakers)."""
    mic_wav, spk_wav = tones
    backend = FfmpegBackend(None, None, fmt="pulse")
    got = Collector()
    try:
        info = backend.open(got)
        assert info.extra["mic_device"] == "default" and info.extra["loopback_device"] == "@DEFAULT_MONITOR@"
        rig.play(mic_wav, "micsink")
        rig.play(spk_wav, "speakers")
        got.wait_seconds(2.0)
        data = got.audio(last_s=1.0)
        assert dominant_hz(data[:, 0], 48000) == pytest.approx(MIC_HZ, abs=3)
        assert dominant_hz(data[:, 1], 48000) == pytest.approx(SPK_HZ, abs=3)
    finally:
        backend.close()
