"""What the streaming transcriber reports about itself: ``TranscriberStats``, ``DrainResult``, and the
running counts they are made from."""

from __future__ import annotations

import collections
import math
import time
from dataclasses import asdict, dataclass, field

from meeting_tui.transcribe.governor import GovernorState


@dataclass
class TranscriberStats:
    state: str
    queue_depth: int  # audio chunks waiting + utterances waiting for Whisper
    queued_audio_s: float  # audio seconds in those
    lag_s: float  # how long the oldest waiting audio has waited (0 when caught up)
    rtf: float  # Whisper seconds per audio second (finals, whole session)
    rtf_recent: float  # the same, exponentially weighted over recent finals
    busy: float  # fraction of wall time spent in Whisper since start (finals + partials)
    finals: int
    partials: int
    partials_dropped: int
    filtered: int  # decoded segments dropped as silence/hallucination
    repetitions: int  # segments whose repetition loop was collapsed
    audio_in_s: dict[str, float]
    asr_final_s: float  # wall seconds spent in Whisper for finals
    asr_partial_s: float  # ... and for partials
    asr_cpu_s: float  # process CPU seconds while Whisper ran (its own threads included)
    vad_s: float  # seconds spent in the VAD
    latency_last_s: float | None
    latency_median_s: float | None
    latency_p95_s: float | None
    model: str | None = None
    device: str | None = None
    compute_type: str | None = None
    governor: GovernorState = field(default_factory=GovernorState)  # the load governor's level and why
    early_finals: int = 0  # finals decoded during their closing pause and used
    early_wasted: int = 0  # ... decoded, then speech went on
    final_decodes: int = 0  # final decodes run (early ones included)
    final_decodes_paired: int = 0  # ... while another source's final was ready too (what batching could join)
    partial_decodes: int = 0  # partial decodes run (``partials`` counts those published)
    context_retries: int = 0  # finals decoded again alone: the context came back in the output, or the prefix did not
    heap_trims: int = 0  # times glibc's free heap was handed back after a final (native_heap.py; 0 off glibc)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class DrainResult:
    complete: bool  # False: the timeout passed first (the thread keeps going in the background)
    elapsed_s: float
    transcribed_s: float
    segments: int


@dataclass
class FinalCounts:
    """The finals published so far: how many, their audio and decode time, their latency."""

    t_start: float = field(default_factory=time.monotonic)
    finals: int = 0
    filtered: int = 0
    repetitions: int = 0
    audio_s: float = 0.0
    asr_s: float = 0.0
    rtf_recent: float = 0.0
    vad_s: float = 0.0
    latencies: collections.deque = field(default_factory=lambda: collections.deque(maxlen=500))

    def decoded(self, audio_s: float, asr_s: float) -> None:
        self.audio_s += audio_s
        self.asr_s += asr_s
        r = asr_s / audio_s
        self.rtf_recent = r if self.finals == 0 else 0.8 * self.rtf_recent + 0.2 * r

    @property
    def rtf(self) -> float:
        return round(self.asr_s / self.audio_s, 4) if self.audio_s else 0.0

    def latency(self) -> dict[str, float | None]:
        lat = sorted(self.latencies)
        return dict(latency_last_s=round(self.latencies[-1], 3) if self.latencies else None,
                    latency_median_s=round(quantile(lat, 0.5), 3) if lat else None,
                    latency_p95_s=round(quantile(lat, 0.95), 3) if lat else None)


def quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * q
    lo, hi = int(math.floor(k)), int(math.ceil(k))
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)
