"""The capture engine's per-frame arithmetic (gate tail level, downmix): their fast paths give what the
plain definitions give."""

import numpy as np

from meeting_tui.capture.gate import TAIL_S, StreamTail, faded_out, tail_db
from meeting_tui.capture.levels import dbfs
from meeting_tui.capture.mixer import downmix

RATE = 48000


def reference_tail_db(samples: np.ndarray, rate: int) -> float | None:
    """The definition: peak of the last TAIL_S before the trailing zeros, over all channels."""
    flat = np.abs(samples).max(axis=1) if samples.ndim > 1 else np.abs(samples)
    sound = np.flatnonzero(flat)
    if not sound.size:
        return None
    end = int(sound[-1]) + 1
    return dbfs(float(flat[max(0, end - int(TAIL_S * rate)):end].max()))


def test_tail_level_of_blocks_that_end_in_sound_in_zeros_and_of_silence():
    rng = np.random.default_rng(3)
    loud_then_quiet = np.concatenate([0.5 * rng.standard_normal((1700, 2)), 0.001 * rng.standard_normal((1180, 2))])
    cut_off = np.concatenate([0.5 * rng.standard_normal((1500, 2)), np.zeros((1380, 2))])
    faded = np.concatenate([0.5 * rng.standard_normal((1000, 2)), 0.002 * rng.standard_normal((1000, 2)),
                            np.zeros((880, 2))])
    one_channel_ends = 0.3 * rng.standard_normal((2880, 2))
    one_channel_ends[-10:, 0] = 0.0
    blocks = [loud_then_quiet, cut_off, faded, one_channel_ends, np.zeros((2880, 2)),
              0.2 * rng.standard_normal(300), np.zeros(300), 0.4 * rng.standard_normal((100, 1))]
    for block in blocks:
        block = block.astype(np.float32)
        assert tail_db(block, RATE) == reference_tail_db(block, RATE)
    assert tail_db(np.zeros((2880, 2), np.float32), RATE) is None
    assert tail_db(loud_then_quiet.astype(np.float32), RATE) < -40 < tail_db(cut_off.astype(np.float32), RATE)


def test_stream_tail_looks_back_across_blocks():
    """Fed block by block, the tail is the definition's over the whole stream so far."""
    rng = np.random.default_rng(5)
    stream = np.concatenate([0.4 * rng.standard_normal(5000), np.zeros(700), 0.3 * rng.standard_normal(90),
                             np.zeros(4000), 0.2 * rng.standard_normal(3000)]).astype(np.float32)
    tail, start = StreamTail(), 0
    for size in (1600, 160, 1600, 50, 3, 1600, 1600, 1600, 2000, 1600):
        block = stream[start:start + size]
        start += size
        got = tail.feed(block, 16000)
        assert got == (reference_tail_db(stream[:start], 16000) if block.any() else None), start


def test_a_mute_just_after_a_block_boundary_is_not_a_fade():
    """What the sound server sends when a source is muted at a block boundary: the tone, then a block that
    starts with a few samples of its resampler ringing (-42 dBFS) and goes on in zeros (seen on the rig)."""
    tone = (0.4 * np.sin(2 * np.pi * 440 * np.arange(1600) / 16000)).astype(np.float32)
    after = np.zeros(1600, np.float32)
    after[:8] = 0.008 * np.array([1, -0.8, 0.6, -0.5, 0.4, -0.3, 0.2, -0.1], np.float32)
    assert faded_out(tail_db(after, 16000))  # the block alone looks like a gate closing
    tail = StreamTail()
    tail.feed(tone, 16000)
    assert not faded_out(tail.feed(after, 16000))  # the stream says it was cut off


def test_downmix_is_the_channel_mean():
    rng = np.random.default_rng(4)
    for channels in (1, 2, 3):
        block = rng.standard_normal((2880, channels)).astype(np.float32)
        out = downmix(block)
        assert out.dtype == np.float32 and out.shape == (2880,)
        assert np.array_equal(out, block.mean(axis=1, dtype=np.float32))
