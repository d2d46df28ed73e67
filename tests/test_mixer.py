"""Mixer: resampling, alignment, gains, limiting, a dead source, drift of an hour at 200 ppm."""

import asyncio

import numpy as np
import soundfile as sf

from meeting_tui.capture.engine import CaptureEngine, WorkerSpec
from meeting_tui.capture.mixer import MixBus, Track, db_to_gain, soft_limit
from meeting_tui.types import SESSION_RATE, AudioChunk, Source


def tone(freq, seconds, rate, amp=0.5):
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_freq(x, rate=SESSION_RATE):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.argmax(spec) * rate / len(x)


def test_track_resamples_to_16k_and_keeps_pitch():
    track = Track(Source.MIC, 0.0)
    sig = tone(1000, 2.0, 44100)
    out = []
    for i in range(0, len(sig), 441):
        chunk, gap = track.push(sig[i:i + 441], 44100, i / 44100)
        assert gap is None
        if chunk is not None:
            out.append(chunk.samples)
    tail = track.flush()
    y = np.concatenate(out + [tail.samples])
    assert abs(len(y) - 2 * SESSION_RATE) <= 2
    assert abs(dominant_freq(y[4000:-4000]) - 1000) < 5


def test_gains_and_soft_limit_never_wrap():
    bus = MixBus((Source.MIC, Source.LOOPBACK), chunk=1600)
    bus.set_gain_db(Source.MIC, 6.0)
    bus.set_gain_db(Source.LOOPBACK, -6.0)
    a = np.full(3200, 0.2, np.float32)
    bus.add(AudioChunk(Source.MIC, 0, a))
    bus.add(AudioChunk(Source.LOOPBACK, 0, a))
    mix = np.concatenate([c.samples for c in bus.pull()])
    np.testing.assert_allclose(mix, 0.2 * db_to_gain(6) + 0.2 * db_to_gain(-6), rtol=1e-5)
    bus.set_gain_db(Source.MIC, 20.0)  # 0.2 * 10 + ... = way over full scale
    bus.add(AudioChunk(Source.MIC, 3200, a))
    bus.add(AudioChunk(Source.LOOPBACK, 3200, a))
    loud = np.concatenate([c.samples for c in bus.pull()])
    assert loud.max() <= 1.0 and loud.min() >= -1.0  # limited to full scale, never wrapped
    assert loud.max() > 0.95
    x = np.linspace(-3, 3, 1001).astype(np.float32)
    y = soft_limit(x)
    assert np.all(np.diff(y) >= 0) and np.abs(y).max() <= 1.0  # monotonic: no wrap-around


def test_dead_source_does_not_hold_the_mix():
    bus = MixBus((Source.MIC, Source.LOOPBACK), chunk=1600)
    bus.add(AudioChunk(Source.MIC, 0, np.full(8000, 0.1, np.float32)))
    assert bus.pull() == []  # waiting for the loopback while it counts as present
    out = bus.pull(absent={Source.LOOPBACK})
    assert sum(len(c.samples) for c in out) == 8000
    np.testing.assert_allclose(np.concatenate([c.samples for c in out]), 0.1, rtol=1e-6)


def test_drift_of_an_hour_in_twenty_simulated_minutes(tmp_path):
    """A 44.1 kHz mic 600 ppm fast and a 48 kHz loopback 600 ppm slow stay aligned for 20 minutes: the
    drift an hour at 200 ppm builds up (34,560 samples each way), in a third of the CPU (CI's budget)."""
    PPM, SECONDS = 600, 1200
    mic, loop = tmp_path / "mic.flac", tmp_path / "loop.flac"
    # Clicks once a second in both: alignment is where the clicks land on the session clock.
    for path, rate in ((mic, 44100), (loop, 48000)):
        x = np.zeros(rate * 10, np.float32)
        x[rate // 2::rate] = 0.9
        sf.write(path, x, rate)
    specs = [WorkerSpec.file(Source.MIC, str(mic), speed=0, loop=True, drift_ppm=PPM),
             WorkerSpec.file(Source.LOOPBACK, str(loop), speed=0, loop=True, drift_ppm=-PPM)]
    for spec in specs:
        spec.extra_args = ["--max-seconds", str(SECONDS)]

    class Clicks:
        def __init__(self):
            self.at = {Source.MIC: [], Source.LOOPBACK: []}

        def on_audio(self, chunk):
            # A resampled click is a short sinc whose peak depends on its sub-sample phase.
            series = self.at[chunk.source]
            for i in np.flatnonzero(np.abs(chunk.samples) > 0.1):
                at = chunk.start + int(i)
                if not series or at - series[-1] > SESSION_RATE // 2:
                    series.append(at + int(np.argmax(chunk.samples[i:i + 8])))

    async def run():
        engine = CaptureEngine(specs)
        clicks = Clicks()
        engine.add_listener(clicks)
        await engine.start()
        assert await engine.wait_finished(600)
        stats = engine.stats()
        await engine.stop()
        return clicks, stats

    clicks, stats = asyncio.run(run())
    assert abs(stats["sources"]["mic"]["drift_ppm"] - PPM) < 5
    assert abs(stats["sources"]["loopback"]["drift_ppm"] + PPM) < 5
    # One click per device second; the device clock is off by ±600 ppm, so after 20 minutes of device
    # time uncorrected placement would differ by 1.44 s (69,120 samples) between the sources.
    mic_clicks = np.array(clicks.at[Source.MIC][-100:])
    loop_clicks = np.array(clicks.at[Source.LOOPBACK][-100:])
    assert len(mic_clicks) == len(loop_clicks) == 100
    start_offset = clicks.at[Source.LOOPBACK][0] - clicks.at[Source.MIC][0]
    # Relative to where each started, the last clicks must still line up within 5 ms of the wall clock.
    expected_gap = (SECONDS - 1) * SESSION_RATE
    for series, ppm in ((clicks.at[Source.MIC], PPM), (clicks.at[Source.LOOPBACK], -PPM)):
        gaps = [(i, b - a) for i, (a, b) in enumerate(zip(series, series[1:])) if abs(b - a - SESSION_RATE) > 100]
        assert len(series) == SECONDS, (len(series), gaps[:5], series[:3])
        elapsed = series[-1] - series[0]
        assert abs(elapsed - expected_gap / (1 + ppm * 1e-6)) < 80, (elapsed, ppm)
    assert stats["sources"]["mic"]["drift_corrections"] < -10_000
    assert stats["sources"]["loopback"]["drift_corrections"] > 10_000
    assert abs(start_offset) < SESSION_RATE  # both started within a second of each other


def test_lost_audio_becomes_a_gap_not_minutes_of_stretching():
    """A stream that loses 0.5 s (suspended, moved) jumps to where the clock says it is."""
    track = Track(Source.MIC, 0.0)
    rate, block = 48000, 480
    sig = tone(300, 10.0, rate, amp=0.2)
    gaps, t = [], 0.0
    for i in range(0, len(sig), block):
        if i == rate * 4:
            t += 0.5  # half a second of audio never arrives
        _, gap = track.push(sig[i:i + block], rate, t)
        t += block / rate
        if gap is not None:
            gaps.append(gap)
    assert len(gaps) == 1 and gaps[0].reason == "audio lost"
    assert abs((gaps[0].end_s - gaps[0].start_s) - 0.5) < 0.01
    assert abs(track.corrections) < 5  # absorbed by the jump, not by stretching
    assert abs(track.end - 10.5 * SESSION_RATE) < 600  # soxr's buffered tail (~30 ms) is not yet flushed
