"""Streaming voice-activity segmentation with faster-whisper's own Silero VAD (offline, ONNX, CPU).

``StreamingVAD`` takes one source's 16 kHz mono audio in arbitrary pieces and cuts it into utterances:
an utterance opens when a 32 ms window's speech probability reaches ``threshold``, and closes after
``min_silence_s`` of windows below ``neg_threshold`` (a pause), or is cut at ``max_segment_s`` at its
quietest point (so segments stay bounded while someone talks without pausing). Each utterance keeps
``pad_s`` of audio either side. Utterances with less than ``min_speech_s`` of voiced windows (clicks,
coughs, keyboard) are dropped.

The Silero state (LSTM h/c and the 64-sample context) is carried across calls, so feeding audio in pieces
gives exactly the probabilities of faster-whisper's one-shot ``get_speech_timestamps`` over the same audio.
Cost on the 2-core dev machine: about 2-4 ms per second of audio.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from meeting_tui.types import SESSION_RATE

WINDOW = 512  # samples per Silero window at 16 kHz (32 ms)
CONTEXT = 64


@dataclass
class VadConfig:
    threshold: float = 0.5
    neg_threshold: float = 0.35
    min_silence_s: float = 0.5  # a pause this long ends an utterance
    min_speech_s: float = 0.25  # fewer voiced seconds than this: not speech
    pad_s: float = 0.25  # audio kept before the first and after the last voiced window
    max_segment_s: float = 15.0  # bounded segment length
    max_gap_fill_s: float = 2.0  # a clock gap up to this is filled with silence; longer ones close the utterance


@dataclass
class Utterance:
    """A closed span of speech. ``start``/``end`` are session-clock samples of ``samples`` (padding included);
    ``speech_start``/``speech_end`` bound the voiced windows."""

    id: int
    start: int
    samples: np.ndarray
    speech_start: int
    speech_end: int
    voiced_s: float
    cut: str = "pause"  # "pause", "max_length", "flush", "gap"
    extra: dict = field(default_factory=dict)

    @property
    def end(self) -> int:
        return self.start + len(self.samples)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SESSION_RATE


class SileroStream:
    """Silero VAD probabilities for consecutive 512-sample windows, state carried between calls."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self._session = get_vad_model().session
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._ctx = np.zeros((1, CONTEXT), np.float32)

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """``windows``: (n, 512) float32. Returns n probabilities."""
        if len(windows) == 0:
            return np.zeros(0, np.float32)
        ctx = np.concatenate([self._ctx, windows[:-1, -CONTEXT:]], axis=0)
        x = np.ascontiguousarray(np.concatenate([ctx, windows], axis=1), dtype=np.float32)
        out, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
        self._ctx = windows[-1:, -CONTEXT:].copy()
        return np.asarray(out, np.float32).reshape(-1)


class StreamingVAD:
    """Cuts one source's audio into utterances. Not thread-safe: one owner thread."""

    def __init__(self, config: VadConfig | None = None, *, id_source=None) -> None:
        self.cfg = config or VadConfig()
        self._silero = SileroStream()
        self._next_id = id_source if id_source is not None else itertools.count(1)
        self._pos: int | None = None  # session sample of the next window's first sample
        self._rest = np.zeros(0, np.float32)  # < WINDOW samples waiting for a full window
        self._pad = int(self.cfg.pad_s * SESSION_RATE)
        # pre-roll: the last `pad` samples before an utterance opens
        self._pre = np.zeros(0, np.float32)
        self._pre_start = 0
        # the open utterance
        self._open = False
        self._buf: list[np.ndarray] = []
        self._buf_len = 0
        self._start = 0  # session sample of _buf[0][0]
        self._probs: list[float] = []  # one per window since _start_win
        self._first_win = 0  # session sample of the first window in _probs
        self._speech_start = 0
        self._speech_end = 0  # end sample of the last voiced window
        self._voiced = 0  # voiced windows
        self._silence_run = 0  # windows since the last voiced one, once below neg_threshold
        self._in_silence = False
        self._id = 0
        self.windows = 0
        self.last_prob = 0.0

    # --- public -----------------------------------------------------------------------------------

    @property
    def position(self) -> int:
        """Session sample up to which audio has been received (including a partial window)."""
        if self._pos is None:
            return 0
        return self._pos + len(self._rest)

    @property
    def pad(self) -> int:
        """Samples of audio kept after the last voiced window of an utterance."""
        return self._pad

    @property
    def in_pause(self) -> bool:
        """The open utterance's latest windows are silence: it may close within ``min_silence_s``."""
        return self._open and self._in_silence

    def current(self) -> tuple[int, int, np.ndarray, float] | None:
        """The open utterance so far: (id, speech_start sample, samples from its padded start, voiced seconds)."""
        if not self._open:
            return None
        return self._id, self._speech_start, self._joined(), self._voiced * WINDOW / SESSION_RATE

    def open_start(self) -> int | None:
        return self._start if self._open else None

    def closing(self, after: int | None = None) -> Utterance | None:
        """The utterance this pause will close with, if it lasts ``min_silence_s``: known once ``after``
        samples of it have passed (default: the padding kept after speech, when the samples are those ``feed``
        will return; fewer leave out some of the trailing silence). None otherwise."""
        after = self._pad if after is None else min(after, self._pad)
        if not (self._open and self._in_silence) or self._silence_run * WINDOW < after:
            return None
        if self._voiced * WINDOW < self.cfg.min_speech_s * SESSION_RATE:
            return None
        end = min(self._speech_end + self._pad, self._start + self._buf_len)
        audio = self._joined()
        keep = max(0, min(len(audio), end - self._start))
        return Utterance(id=self._id, start=self._start, samples=audio[:keep], speech_start=self._speech_start,
                         speech_end=min(self._speech_end, self._start + keep),
                         voiced_s=self._voiced * WINDOW / SESSION_RATE)

    def feed(self, samples: np.ndarray, start: int) -> list[Utterance]:
        """Add audio starting at session sample ``start``; returns utterances closed by it."""
        out: list[Utterance] = []
        samples = np.asarray(samples, np.float32).reshape(-1)
        if self._pos is None:
            self._pos = start
            self._pre_start = start
        expected = self.position
        if start > expected:  # a gap on the clock (restart, stall): fill short ones, close on long ones
            gap = start - expected
            if gap > self.cfg.max_gap_fill_s * SESSION_RATE:
                out += self._flush_rest(cut="gap")
                self._pos = start
                self._rest = np.zeros(0, np.float32)
                self._pre, self._pre_start = np.zeros(0, np.float32), start
                self._silero.reset()
            else:
                samples = np.concatenate([np.zeros(gap, np.float32), samples])
        elif start < expected:  # overlap: keep only the new part
            samples = samples[expected - start:]
        if len(samples) == 0:
            return out
        data = np.concatenate([self._rest, samples]) if len(self._rest) else samples
        n = len(data) // WINDOW
        self._rest = data[n * WINDOW:].copy()
        if n:
            windows = data[: n * WINDOW].reshape(n, WINDOW)
            probs = self._silero(windows)
            for i in range(n):
                out += self._step(windows[i], float(probs[i]))
        return out

    def flush(self) -> list[Utterance]:
        """End of stream: close the open utterance (with whatever partial window remains)."""
        return self._flush_rest(cut="flush")

    # --- internals --------------------------------------------------------------------------------

    def _flush_rest(self, cut: str) -> list[Utterance]:
        if not self._open:
            return []
        if len(self._rest):
            self._append(self._rest)
            self._pos += len(self._rest)
            self._rest = np.zeros(0, np.float32)
        utt = self._close(self._start + self._buf_len, cut=cut, trailing_speech_end=self._speech_end)
        return [utt] if utt is not None else []

    def _joined(self) -> np.ndarray:
        if len(self._buf) > 1:
            self._buf = [np.concatenate(self._buf)]
        return self._buf[0] if self._buf else np.zeros(0, np.float32)

    def _append(self, w: np.ndarray) -> None:
        self._buf.append(w)
        self._buf_len += len(w)

    def _step(self, w: np.ndarray, p: float) -> list[Utterance]:
        cfg = self.cfg
        win_start = self._pos
        self._pos += WINDOW
        self.windows += 1
        self.last_prob = p
        out: list[Utterance] = []
        if not self._open:
            if p >= cfg.threshold:
                self._open_utterance(win_start)
                self._append(w)
                self._probs.append(p)
                self._voiced = 1
                self._speech_end = win_start + WINDOW
            else:
                self._pre = np.concatenate([self._pre, w])[-self._pad:] if self._pad else self._pre[:0]
                self._pre_start = self._pos - len(self._pre)
            return out
        self._append(w)
        self._probs.append(p)
        if p >= cfg.threshold:
            self._voiced += 1
            self._speech_end = win_start + WINDOW
            self._in_silence = False
            self._silence_run = 0
        elif p < cfg.neg_threshold or self._in_silence:
            self._in_silence = True
            self._silence_run += 1
        if self._in_silence and self._silence_run * WINDOW >= cfg.min_silence_s * SESSION_RATE:
            end = min(self._speech_end + self._pad, self._start + self._buf_len)
            utt = self._close(end, cut="pause", trailing_speech_end=self._speech_end)
            if utt is not None:
                out.append(utt)
            return out
        if self._buf_len >= cfg.max_segment_s * SESSION_RATE:
            out += self._cut_at_quietest()
        return out

    def _open_utterance(self, win_start: int) -> None:
        self._open = True
        self._id = next(self._next_id)
        pre = self._pre
        self._buf, self._buf_len = [], 0
        self._start = win_start - len(pre)
        if len(pre):
            self._append(pre.copy())
        self._pre = np.zeros(0, np.float32)
        self._probs = []
        self._first_win = win_start
        self._speech_start = win_start
        self._voiced = 0
        self._silence_run = 0
        self._in_silence = False

    def _close(self, end: int, *, cut: str, trailing_speech_end: int) -> Utterance | None:
        audio = self._joined()
        keep = max(0, min(len(audio), end - self._start))
        samples = audio[:keep].copy()
        tail = audio[keep:]
        voiced_s = self._voiced * WINDOW / SESSION_RATE
        utt = Utterance(id=self._id, start=self._start, samples=samples, speech_start=self._speech_start,
                        speech_end=min(trailing_speech_end, self._start + keep), voiced_s=voiced_s, cut=cut)
        self._open = False
        self._buf, self._buf_len, self._probs = [], 0, []
        # what follows the kept part becomes pre-roll for the next utterance
        self._pre = tail[-self._pad:].copy() if self._pad else np.zeros(0, np.float32)
        self._pre_start = self._start + len(audio) - len(self._pre)
        if voiced_s < self.cfg.min_speech_s:
            return None
        return utt

    def _cut_at_quietest(self) -> list[Utterance]:
        """Max length reached: close at the lowest-probability point of the latter 60%, keep talking after it."""
        probs = np.asarray(self._probs, np.float32)
        n = len(probs)
        lo = int(n * 0.4)
        if n - lo < 3:
            lo = 0
        # smooth over 3 windows so one dip inside a word does not win over a real breath pause
        sm = np.convolve(probs, np.ones(3, np.float32) / 3, mode="same")
        k = lo + int(np.argmin(sm[lo:]))
        cut_sample = self._first_win + k * WINDOW
        audio = self._joined()
        rel = cut_sample - self._start
        head, tail = audio[:rel], audio[rel:]
        voiced_head = int((probs[:k] >= self.cfg.threshold).sum())
        voiced_tail = int((probs[k:] >= self.cfg.threshold).sum())
        speech_end = cut_sample
        utt = Utterance(id=self._id, start=self._start, samples=head.copy(), speech_start=self._speech_start,
                        speech_end=speech_end, voiced_s=voiced_head * WINDOW / SESSION_RATE, cut="max_length")
        # reopen with the remainder as a new utterance, still in speech
        tail_probs = list(self._probs[k:])
        self._id = next(self._next_id)
        self._buf, self._buf_len = [], 0
        self._append(tail.copy())
        self._start = cut_sample
        self._first_win = cut_sample
        self._probs = tail_probs
        self._speech_start = cut_sample
        self._voiced = voiced_tail
        return [utt] if utt.voiced_s >= self.cfg.min_speech_s else []
