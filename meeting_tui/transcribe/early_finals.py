"""Early finals: an utterance's final is decoded during the pause that will close it, so that it can be
published the moment the pause completes.

Started before ``pad_s`` of silence, the decode takes the padding not heard yet as digital silence, in the
window the closed utterance will get (a shorter window moved base's words: docs/transcription.md). The
result is kept as long as no speech came (same utterance id and speech end); otherwise it was wasted.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

import numpy as np

from meeting_tui.transcribe.decoder import Decoded
from meeting_tui.transcribe.vad_segmenter import StreamingVAD, Utterance, VadConfig
from meeting_tui.types import SESSION_RATE, Source

#: An early final starts after at least this much silence (fewer pauses inside sentences get a wasted one)
EARLY_MIN_S = 0.1
#: ... and this long before the closing pause is expected to end, beyond its decode time.
EARLY_SLACK_S = 0.05


class EarlyFinals:
    def __init__(self, vad: VadConfig) -> None:
        self.vad = vad
        self.held: dict[Source, tuple[int, int, Decoded]] = {}  # source -> (id, speech_end, decoded)
        self.used = 0  # finals decoded during their closing pause and used
        self.wasted = 0  # ... decoded, then speech went on

    def start_after(self, final_dt: float, governor_level: int) -> int:
        """Silence (samples) after which an early final starts: late enough that few pauses inside a sentence
        get one, early enough that the decode ends as the closing pause does (a slow model starts sooner).
        Not sooner once the governor has stepped down: a decode wasted on a pause inside a sentence cannot be
        stopped, and a loaded CPU has no time for it."""
        vad = self.vad
        if governor_level > 0:
            return int(vad.pad_s * SESSION_RATE)
        start_s = vad.min_silence_s - final_dt - EARLY_SLACK_S
        return int(min(vad.pad_s, max(EARLY_MIN_S, start_s)) * SESSION_RATE)

    def maybe_decode(self, vads: dict[Source, StreamingVAD], after: int,
                     decode_final: Callable[[Utterance, Source], Decoded]) -> bool:
        """Decode the final of one utterance whose closing pause has begun; True if it decoded."""
        for source, vad in vads.items():
            utt = vad.closing(after)
            if utt is None:
                continue
            key = (utt.id, utt.speech_end)
            held = self.held.get(source)
            if held is not None and held[:2] == key:
                continue
            if held is not None:
                self.wasted += 1  # speech went on: that decode is of no use
            missing = utt.speech_end + vad.pad - utt.end
            if missing > 0:  # the padding not heard yet, as silence: the window the closed utterance will get
                utt = dataclasses.replace(utt, samples=np.concatenate([utt.samples, np.zeros(missing, np.float32)]))
            self.held[source] = (*key, decode_final(utt, source))
            return True
        return False

    def take(self, utt: Utterance, source: Source) -> Decoded | None:
        """The early decode of the closed ``utt``, if one is held for it."""
        held = self.held.pop(source, None)
        # a cut at the maximum length is no pause: its speech end is where it was cut
        if held is not None and held[:2] == (utt.id, utt.speech_end) and utt.cut != "max_length":
            self.used += 1
            return held[2]
        if held is not None:
            self.wasted += 1
        return None

    def other_ready(self, source: Source, queued: Iterable[Source], vads: dict[Source, StreamingVAD],
                    after: int) -> bool:
        """Whether another source has a final to decode now (queued, or its closing pause has begun)."""
        if any(other != source for other in queued):
            return True
        for other, vad in vads.items():
            utt = vad.closing(after) if other != source else None
            held = self.held.get(other)
            if utt is not None and (held is None or held[:2] != (utt.id, utt.speech_end)):
                return True
        return False
