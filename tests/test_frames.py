import numpy as np
import pytest

from meeting_tui.capture.frames import FLAG_SYNTH_SILENCE, FrameDecoder, FrameError, encode_frame


def test_round_trip_in_arbitrary_pieces():
    rng = np.random.default_rng(1)
    blocks = [rng.standard_normal((n, 2)).astype(np.float32) for n in (1, 441, 480, 1024)]
    stream = b"".join(encode_frame(i, 10.0 + i, 48000, b, FLAG_SYNTH_SILENCE if i == 2 else 0)
                      for i, b in enumerate(blocks))
    dec = FrameDecoder()
    frames = []
    for i in range(0, len(stream), 777):  # pipe reads never line up with frames
        frames += dec.feed(stream[i:i + 777])
    dec.finish()
    assert [f.seq for f in frames] == [0, 1, 2, 3]
    assert [f.synthesized for f in frames] == [False, False, True, False]
    for f, b in zip(frames, blocks):
        assert f.samplerate == 48000 and f.channels == 2
        np.testing.assert_array_equal(f.samples, b)


def test_garbage_is_rejected():
    with pytest.raises(FrameError, match="bad frame header"):
        FrameDecoder().feed(b"Traceback (most recent call last):\n" * 4)


def test_corrupted_payload_fails_checksum():
    data = bytearray(encode_frame(0, 0.0, 16000, np.ones((100, 1), np.float32)))
    data[40] ^= 0xFF
    with pytest.raises(FrameError, match="checksum"):
        FrameDecoder().feed(bytes(data))


def test_truncated_frame_detected_at_end():
    data = encode_frame(0, 0.0, 16000, np.ones((100, 1), np.float32))
    dec = FrameDecoder()
    assert dec.feed(data[:-10]) == []
    with pytest.raises(FrameError, match="inside a frame"):
        dec.finish()


def test_implausible_sizes_rejected_before_buffering():
    import struct

    from meeting_tui.capture.frames import HEADER, MAGIC, VERSION

    bad = HEADER.pack(MAGIC, VERSION, 0, 2, 48000, 0, 0.0, 10_000_000)
    with pytest.raises(FrameError, match="implausible"):
        FrameDecoder().feed(bad)
    assert struct.calcsize("<4sBBHIQdI") == 32


class _Pipe:
    """What the worker's stdout sees: each write() is one pipe write, so one wake-up of the parent."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def flush(self) -> None:
        pass


def test_writer_merges_10ms_blocks_into_fewer_frames_and_keeps_every_sample_and_its_time():
    import time

    from meeting_tui.capture.worker import COALESCE_S, FrameWriter

    rate = 48_000
    pipe = _Pipe()
    writer = FrameWriter(pipe)
    writer.start(rate)
    rng = np.random.default_rng(3)
    blocks = [rng.standard_normal((480, 2)).astype(np.float32) for _ in range(30)]
    t0 = 100.0
    times = [t0 + 0.01 * i for i in range(30)]
    times[20:] = [t + 0.1 for t in times[20:]]  # a 100 ms jump (a stalled device): not merged across
    for i, (b, t) in enumerate(zip(blocks, times)):
        writer.emit(b, t, FLAG_SYNTH_SILENCE if i == 25 else 0)  # one made-up block: its own frame
        time.sleep(0.01)  # blocks arrive in real time, as from the audio callback
    writer.close()
    dec = FrameDecoder()
    frames = [f for w in pipe.writes for f in dec.feed(w)]
    dec.finish()
    assert len(pipe.writes) <= 30 * 0.01 / COALESCE_S + 4  # about one write per COALESCE_S, not per block
    assert len(frames) < 20
    np.testing.assert_array_equal(np.concatenate([f.samples for f in frames]), np.concatenate(blocks))
    starts = np.cumsum([0] + [len(f.samples) for f in frames])[:-1] // 480  # each frame's first block
    for f, k in zip(frames, starts):
        assert f.capture_time == pytest.approx(times[k]), k
        assert f.synthesized == (k == 25)
    assert 20 in starts and 25 in starts and 26 in starts
    assert [f.seq for f in frames] == list(range(len(frames)))


def test_portaudio_bytes_make_the_same_frames_as_numpy_blocks():
    """The sounddevice worker hands on PortAudio's bytes (RawBlock): the pipe carries what numpy blocks give."""
    from meeting_tui.capture.backends.base import RawBlock
    from meeting_tui.capture.worker import FrameWriter

    rng = np.random.default_rng(5)
    blocks = [rng.standard_normal((2880, 2)).astype(np.float32) for _ in range(4)]
    pipes = []
    for raw in (False, True):
        pipe = _Pipe()
        writer = FrameWriter(pipe)
        writer.start(48_000)
        for i, b in enumerate(blocks):
            writer.emit(RawBlock(memoryview(b.tobytes()), 2) if raw else b, 5.0 + 0.06 * i)
        writer.close()
        pipes.append(b"".join(pipe.writes))
    assert pipes[0] == pipes[1]
    frames = FrameDecoder().feed(pipes[1])
    np.testing.assert_array_equal(np.concatenate([f.samples for f in frames]), np.concatenate(blocks))


def test_a_worker_reading_pulse_through_portaudio_loads_no_numpy():
    # numpy's import is most of a worker's start-up CPU (docs/cost.md, "Third pass on the capture path").
    import subprocess
    import sys

    code = ("import sys; from meeting_tui.capture.worker import backend_module; backend_module('sounddevice'); "
            "print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_the_rate_asked_of_the_sound_server_is_the_meetings():
    from meeting_tui.capture.backends.sounddevice_backend import SERVER_RATE
    from meeting_tui.types import SESSION_RATE

    assert SERVER_RATE == SESSION_RATE


def test_writer_sends_small_blocks_as_frames_of_about_coalesce_s_not_split_in_two():
    # WASAPI, FFmpeg and file replay deliver 10 ms blocks: one gather is one frame of about COALESCE_S (a
    # frame costs the parent a wake-up and a pass through meters and mixer), not a full one and a sliver.
    import time

    from meeting_tui.capture.worker import COALESCE_S, FrameWriter

    rate = 16_000
    pipe = _Pipe()
    writer = FrameWriter(pipe)
    writer.start(rate)
    start = time.monotonic()
    for i in range(60):
        writer.emit(np.zeros((160, 1), np.float32), 50.0 + 0.01 * i)
        time.sleep(max(0.0, start + 0.01 * (i + 1) - time.monotonic()))  # on the device's clock, as callbacks come
    writer.close()
    dec = FrameDecoder()
    frames = [f for w in pipe.writes for f in dec.feed(w)]
    dec.finish()
    assert sum(len(f.samples) for f in frames) == 60 * 160
    lengths = [len(f.samples) / rate for f in frames[:-1]]  # the last one is what was left at the close
    assert sum(lengths) / len(lengths) >= 0.8 * COALESCE_S, lengths
