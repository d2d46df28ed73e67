"""From device frames to 16 kHz mono on one session clock, and the gain-weighted mix of the sources.

``Track``: one source. Downmixed blocks go through a streaming soxr resampler (its filter state carries
across blocks, so block edges are inaudible) and are placed on the session clock by their capture time.
Two devices never run at exactly the same rate: the track measures its drift against the shared
monotonic clock and keeps itself aligned by stretching or squeezing a block by one sample (at 200 ppm, about
three a second at 16 kHz, each spread over a block: inaudible and harmless to speech recognition).

``MixBus``: sums the tracks in fixed-size chunks with per-source gain and a soft limiter. A stalled or
dead source never holds the mix back: the engine names the sources that stopped delivering (by wall
time, so replaying files faster than real time mixes exactly), the mix moves on without them and the
missing side is silence. ``max_wait`` caps how far any source may run ahead regardless. A hole longer
than ``SKIP_GAP_S`` (the machine slept) is skipped, not filled: what was buffered is mixed out, and the
mix goes on from the new position.
"""

from __future__ import annotations

import math

import numpy as np
import soxr

from meeting_tui.types import SESSION_RATE, SKIP_GAP_S, AudioChunk, Gap, Source

GAP_MIN_SAMPLES = SESSION_RATE // 10  # shorter holes are scheduling jitter, not gaps worth reporting
DRIFT_TAU_S = 2.0  # smoothing of the timestamp error: averages callback jitter away
RESYNC_SAMPLES = SESSION_RATE // 8  # a jump this big (125 ms) that persists is a discontinuity, not drift
RESYNC_AFTER_S = 0.5
SETTLE_S = 2.0  # the first blocks' timestamps set a constant offset: measured, kept, never "corrected"
CORRECT_THRESHOLD = 16  # samples (1 ms) of smoothed misalignment before a block is stretched or squeezed by one


def downmix(samples: np.ndarray) -> np.ndarray:
    """(frames, channels) → mono float32 (channel mean: a stereo loopback keeps both sides)."""
    if samples.ndim == 1:
        return samples.astype(np.float32, copy=False)
    if samples.shape[1] == 1:
        return samples[:, 0]
    if samples.shape[1] == 2:  # per frame: numpy's mean over a two-wide axis costs 20 times this (same values)
        return ((samples[:, 0] + samples[:, 1]) * np.float32(0.5)).astype(np.float32, copy=False)
    return samples.mean(axis=1, dtype=np.float32)


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


def stretch(x: np.ndarray, n: int) -> np.ndarray:
    """Resample a block to ``n`` samples by linear interpolation: a one-sample drift correction spread
    over the whole block instead of a dropped or doubled sample (which can delete a transient)."""
    return np.interp(np.linspace(0.0, len(x) - 1.0, n), np.arange(len(x)), x).astype(np.float32)


def soft_limit(x: np.ndarray, knee: float = 0.9) -> np.ndarray:
    """Identity below ``knee``; above it a tanh curve that approaches but never reaches full scale."""
    over = np.abs(x) > knee
    if not over.any():
        return x
    y = x.copy()
    v = np.abs(x[over])
    y[over] = np.sign(x[over]) * (knee + (1.0 - knee) * np.tanh((v - knee) / (1.0 - knee)))
    return y


class Track:
    def __init__(self, source: Source, t0: float) -> None:
        self.source = source
        self.t0 = t0
        self.end = 0  # session index after the last sample produced
        self.drift_ppm = 0.0
        self.corrections = 0  # net samples repeated (+) or dropped (-)
        self._resampler: soxr.ResampleStream | None = None
        self._rate = 0
        self._next: int | None = None
        self._start = 0
        self._reset_clock()

    def _reset_clock(self) -> None:
        self._first_time: float | None = None
        self._frames_in = 0
        self._err = 0.0
        self._baseline = 0.0
        self._settle_sum, self._settle_n = 0.0, 0
        self._jump_since: float | None = None
        self._last_time: float | None = None

    def restart(self) -> None:
        """A new worker: its first block is placed by its own timestamp; the hole becomes a gap."""
        self._resampler = None
        self._next = None
        self._reset_clock()

    def push(self, mono: np.ndarray, rate: int, capture_time: float) -> tuple[AudioChunk | None, Gap | None]:
        if self._resampler is None or rate != self._rate:
            self._resampler = soxr.ResampleStream(rate, SESSION_RATE, 1, dtype="float32", quality="HQ")
            self._rate = rate
            self._reset_clock()
        if self._first_time is None:
            self._first_time = capture_time
        out = self._resampler.resample_chunk(mono)
        gap = None
        expected = (capture_time - self.t0) * SESSION_RATE
        if self._next is None:
            start = max(int(round(expected)), self.end)
            if self.end and start - self.end >= GAP_MIN_SAMPLES:
                gap = Gap(self.source, self.end / SESSION_RATE, start / SESSION_RATE, "capture restarted")
            self._next = start
            self._start = start
        else:
            out, gap = self._align(out, expected, capture_time)
        self._measure_drift(capture_time, len(mono), rate)
        chunk = AudioChunk(self.source, self._next, out) if len(out) else None
        self._next += len(out)
        self.end = self._next
        return chunk, gap

    def flush(self) -> AudioChunk | None:
        """The resampler's last few milliseconds, at the end of a stream."""
        if self._resampler is None or self._next is None:
            return None
        tail = self._resampler.resample_chunk(np.zeros(0, np.float32), last=True)
        self._resampler = None
        if not len(tail):
            return None
        chunk = AudioChunk(self.source, self._next, tail)
        self._next += len(tail)
        self.end = self._next
        return chunk

    def _align(self, out: np.ndarray, expected: float, capture_time: float) -> tuple[np.ndarray, Gap | None]:
        # Where this block's first sample sits on the session clock, counted in input frames (exact),
        # not in resampler output (soxr releases output in bursts, which would read as jitter).
        placed = self._start + self._frames_in * SESSION_RATE / self._rate + self.corrections
        err = placed - expected  # >0: the device delivers faster than the shared clock
        dt = max(0.0, capture_time - (capture_time if self._last_time is None else self._last_time))
        self._last_time = capture_time
        if capture_time - self._first_time < SETTLE_S:
            # A stream's first callback times jitter by a millisecond or two; shifting the whole stream to
            # chase that would smear it for seconds. The mean offset while settling is the one to keep.
            self._settle_sum += err
            self._settle_n += 1
            self._baseline = self._err = self._settle_sum / self._settle_n
            return out, None
        gap = self._resync(err - self._baseline, capture_time)
        if gap is not None or self._jump_since is not None:
            return out, gap  # no drift correction while a discontinuity is being confirmed
        self._err += (1.0 - math.exp(-dt / DRIFT_TAU_S)) * (err - self._err)
        if len(out) > 16 and abs(self._err - self._baseline) > CORRECT_THRESHOLD:
            step = -1 if self._err > self._baseline else 1
            out = stretch(out, len(out) + step)
            self.corrections += step
            self._err += step
        return out, None

    def _resync(self, deviation: float, capture_time: float) -> Gap | None:
        """A stream that lost audio (suspended, moved to another source, overrun) jumps instead of being
        stretched back into place for minutes. Lost time becomes a gap; surplus becomes the new offset."""
        if abs(deviation) < RESYNC_SAMPLES:
            self._jump_since = None
            return None
        if self._jump_since is None:
            self._jump_since = capture_time
            return None
        if capture_time - self._jump_since < RESYNC_AFTER_S:
            return None
        self._jump_since = None
        if deviation > 0:  # more audio than time: keep it all and accept the new offset
            self._baseline += deviation
            self._err = self._baseline
            return None
        lost = int(round(-deviation))
        gap = Gap(self.source, self._next / SESSION_RATE, (self._next + lost) / SESSION_RATE, "audio lost")
        self._next += lost
        self._start += lost
        self._err = self._baseline
        return gap

    def _measure_drift(self, capture_time: float, frames: int, rate: int) -> None:
        span = capture_time - (capture_time if self._first_time is None else self._first_time)
        if span >= 5.0:
            measured_rate = self._frames_in / span  # frames delivered per second of the shared clock
            self.drift_ppm = (measured_rate / rate - 1.0) * 1e6
        self._frames_in += frames


class MixBus:
    def __init__(self, sources: tuple[Source, ...], *, chunk: int = SESSION_RATE // 10,
                 max_wait: int = 5 * SESSION_RATE) -> None:
        self.sources = sources
        self.chunk = chunk
        self.max_wait = max_wait
        self.pos = 0
        self.gains = {s: 1.0 for s in sources}
        self._buf = {s: np.zeros(0, np.float32) for s in sources}
        self._buf_start = {s: 0 for s in sources}
        self.ends = {s: 0 for s in sources}
        self.late_samples = 0  # samples that arrived after the mix had moved past them
        self.skipped_samples = 0  # session time jumped over (sleep), neither mixed nor filled
        self._done: list[AudioChunk] = []  # mixed before a skip, handed out by the next pull

    def set_gain_db(self, source: Source, db: float) -> None:
        self.gains[source] = db_to_gain(db)

    def add(self, chunk: AudioChunk) -> None:
        s = chunk.source
        start, samples = chunk.start, chunk.samples
        if start < self.pos:  # too late for the mix (the stream was held up); per-source audio kept it
            cut = min(len(samples), self.pos - start)
            self.late_samples += cut
            samples, start = samples[cut:], start + cut
            if not len(samples):
                self.ends[s] = max(self.ends[s], chunk.end)
                return
        buf, buf_start = self._buf[s], self._buf_start[s]
        if not len(buf):
            buf_start = max(self.pos, buf_start)
        if start - (buf_start + len(buf)) >= SKIP_GAP_S * SESSION_RATE:
            self._skip_to(start)
            buf, buf_start = self._buf[s], self._buf_start[s]
        hole = start - (buf_start + len(buf))
        if hole > 0:
            buf = np.concatenate([buf, np.zeros(hole, np.float32), samples])
        elif hole < 0:  # overlap (a restart placed on top of old audio): newest wins
            buf = np.concatenate([buf[: len(buf) + hole], samples])
        else:
            buf = np.concatenate([buf, samples])
        self._buf[s], self._buf_start[s] = buf, buf_start
        self.ends[s] = max(self.ends[s], chunk.end)

    def _skip_to(self, start: int) -> None:
        """Mix out what is buffered, then move every source's position to ``start`` without filling."""
        self._done.extend(self.pull(flush=True))
        self.skipped_samples += max(0, start - self.pos)
        self.pos = max(self.pos, start)
        for s in self.sources:
            self._buf[s] = np.zeros(0, np.float32)
            self._buf_start[s] = self.pos
            self.ends[s] = max(self.ends[s], self.pos)

    def pull(self, *, absent: frozenset[Source] | set[Source] = frozenset(), flush: bool = False) -> list[AudioChunk]:
        out, self._done = self._done, []
        lead = max(self.ends.values())
        waiting_for = [end for s, end in self.ends.items() if s not in absent]
        ready = min(waiting_for) if waiting_for else lead
        if lead - ready > self.max_wait:
            ready = lead - self.max_wait  # a lagging or dead source does not hold the mix back
        if flush:
            ready = lead
        while self.pos + self.chunk <= ready or (flush and self.pos < ready):
            n = min(self.chunk, ready - self.pos)
            out.append(AudioChunk(Source.MIX, self.pos, self._mix(n)))
        return out

    def _mix(self, n: int) -> np.ndarray:
        acc = np.zeros(n, np.float32)
        for s in self.sources:
            buf, start = self._buf[s], self._buf_start[s]
            lo = self.pos - start  # index into buf of the mix position
            if lo < 0:
                if -lo < n:
                    part = buf[: n + lo]
                    acc[-lo:-lo + len(part)] += self.gains[s] * part
                consumed_to = n + lo
            else:
                part = buf[lo:lo + n]
                acc[: len(part)] += self.gains[s] * part
                consumed_to = lo + n
            if consumed_to > 0:
                self._buf[s] = buf[consumed_to:]
                self._buf_start[s] = start + consumed_to
        self.pos += n
        return soft_limit(acc)
