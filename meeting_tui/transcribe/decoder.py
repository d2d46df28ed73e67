"""One Whisper decode, with the options of a final (beam search, temperatures, a forced prefix) or of a
partial (greedy, capped), in an encoder window sized to the audio; timed for the stats and the governor."""

from __future__ import annotations

import collections
import time
from typing import Any

import numpy as np

from meeting_tui.transcribe.config import TranscriberConfig
from meeting_tui.transcribe.model_swap import ModelSwitch
from meeting_tui.transcribe.window import sized_window
from meeting_tui.types import SESSION_RATE, Source

Decoded = tuple[list[Any], Any, float]  # (segments, info, seconds)


class Decoder:
    def __init__(self, config: TranscriberConfig, models: ModelSwitch) -> None:
        self.config, self.models = config, models
        self.language: str | None = config.model.language  # None: detected once, then kept (English models: en)
        self.prev_text: dict[Source, str] = {}  # per source, the latest final (for ``context_prompt``)
        self.recent: collections.deque[tuple[float, float]] = collections.deque()  # (end, seconds): governor
        self.asr_s = 0.0  # wall seconds in Whisper (finals + partials)
        self.asr_cpu_s = 0.0  # process CPU seconds meanwhile
        self.final_dt = 0.0  # recent final decode time (EWMA): when early finals start, how much context
        self.final_decodes = 0
        self.vocabulary_retries = 0  # finals whose glossary decode was not kept as it was (vocabulary_guard.py)

    def glossary(self) -> tuple[str, ...]:
        """The glossary's terms when finals are to be checked by the vocabulary guard, else ()."""
        dec = self.config.decode
        return dec.vocabulary.terms if dec is not None and self.config.vocabulary_guard else ()

    def decode(self, audio: np.ndarray, *, final: bool, source: Source, prefix: str | None = None,
               plain: bool = False) -> Decoded:
        """``plain``: without the glossary (the vocabulary guard's second decode)."""
        loaded = self.models.loaded
        assert loaded is not None
        model = self.models.current().model
        gov = self.models.state
        prompt = None
        if final and self.config.context_prompt:
            prompt = self.prev_text.get(source) or None
        kwargs: dict[str, Any] = dict(
            language=self.language, task="transcribe", vad_filter=False, condition_on_previous_text=False,
            initial_prompt=prompt,
        )
        dec = self.config.decode
        if dec is not None:  # the vocabulary, and this source's language (fixed, set live or detected)
            dec.languages.english_only = loaded.english_only
            opts = dec.kwargs(source, context_prompt=prompt)
            if plain:
                opts = {k: v for k, v in opts.items() if k != "hotwords"} | {"initial_prompt": prompt}
            kwargs.update(opts, language=opts["language"] or self.language)
        if final:
            kwargs.update(beam_size=gov.beam_size, temperature=list(self.config.temperatures))
            if prefix:
                kwargs.update(prefix=prefix, without_timestamps=True)
        else:
            # a cap on the tokens: in a short window a greedy decode without timestamps may not stop
            kwargs.update(beam_size=1, temperature=0.0, without_timestamps=True,
                          max_new_tokens=min(200, 10 + int(8 * len(audio) / SESSION_RATE)))
        t0, c0 = time.perf_counter(), time.process_time()
        window = self.config.final_window if final else self.config.partial_window
        with sized_window(model, window, len(audio)):
            segments, info = model.transcribe(audio, **kwargs)
            segments = list(segments)
        dt = time.perf_counter() - t0
        self.recent.append((time.monotonic(), dt))
        self.asr_s += dt
        self.asr_cpu_s += time.process_time() - c0
        if dec is not None:
            if final and not plain and kwargs["language"] is None:  # the same audio is no second observation
                dec.observe(source, info, len(audio) / SESSION_RATE)
        elif final and self.language is None and info is not None and len(audio) >= 2 * SESSION_RATE \
                and (info.language_probability or 0) >= 0.7:
            self.language = info.language  # lock the detected language for the rest of the session
        return segments, info, dt

    def final_took(self, dt: float) -> None:
        """A final's decode (context retries included) took ``dt`` seconds."""
        self.final_dt = dt if self.final_decodes == 1 else 0.7 * self.final_dt + 0.3 * dt
