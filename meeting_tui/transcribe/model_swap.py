"""The model the transcriber decodes with, and the load governor that decides how much quality it affords.

The governor (governor.py) steps quality down when the decoder is too busy or falls behind; at its last
step the next smaller model (model_select.smaller_model) is loaded in the background and used once ready.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from typing import Any, Callable

from meeting_tui.transcribe.callbacks import call
from meeting_tui.transcribe.config import TranscriberConfig
from meeting_tui.transcribe.governor import Governor, GovernorState
from meeting_tui.transcribe.model import LoadedModel, ModelLoader
from meeting_tui.transcribe.model_select import smaller_model

log = logging.getLogger("meeting_tui.transcribe")

#: The governor's step at which the smaller model replaces the configured one.
SMALLER_MODEL_LEVEL = 4


class ModelSwitch:
    def __init__(self, config: TranscriberConfig, on_governor: Callable[[GovernorState], None] | None = None) -> None:
        self.config = config
        self.on_governor = on_governor
        self.loaded: LoadedModel | None = None  # the configured model, once loaded
        self.governor: Governor | None = None  # made once the model is known
        self._smaller: LoadedModel | None = None  # the governor's last step, loaded when first needed
        self._smaller_loader: ModelLoader | None = None
        self._smaller_spec: tuple[str, str] | None = None

    def ready(self, loaded: LoadedModel) -> None:
        """The configured model is loaded: decodes may start, governed from now on."""
        self.loaded = loaded
        cfg = self.config
        smaller = smaller_model(loaded) if cfg.governor.enabled else None
        self.governor = Governor(cfg.governor, partial_interval_s=cfg.partial_interval_s,
                                 beam_size=cfg.model.beam_size, partials=cfg.partials,
                                 model=loaded.name, smaller_model=smaller[0] if smaller else None)
        self._smaller_spec = smaller

    @property
    def state(self) -> GovernorState:
        """The governor's current level, what it uses now and why (any thread)."""
        if self.governor is None:
            cfg = self.config
            return GovernorState(partials=cfg.partials, partial_interval_s=cfg.partial_interval_s,
                                 beam_size=cfg.model.beam_size, model=cfg.model.name)
        return self.governor.state

    @property
    def level(self) -> int:
        return self.governor.state.level if self.governor is not None else 0

    def govern(self, now: float, since: float, decodes: collections.deque[tuple[float, float]],
               lag: Callable[[], float]) -> None:
        """Feed the governor how busy the decoder was (``decodes``: (end, seconds), pruned here to the
        governor's window) and how far behind it is; start or pick up the smaller model at its last step."""
        gv = self.governor
        if gv is None:
            return
        window = gv.config.window_s
        while decodes and decodes[0][0] < now - window:
            decodes.popleft()
        span = min(window, now - since)
        if span < 2.0:
            return
        busy = min(1.0, sum(dt for _, dt in decodes) / span)
        if gv.update(now, busy, lag()):
            st = gv.state
            log.info("load governor: %s (%s)", st.name, st.reason)
            if st.level >= SMALLER_MODEL_LEVEL and self._smaller is None and self._smaller_loader is None \
                    and self._smaller_spec:
                _name, path = self._smaller_spec
                mc = dataclasses.replace(self.config.model, name=path, bundled_fallback=False)
                self._smaller_loader = ModelLoader(mc).start()
            call(self.on_governor, st)
        if self._smaller is None and self._smaller_loader is not None and self._smaller_loader.done:
            try:
                self._smaller = self._smaller_loader.result(0)
                self._smaller.name = self._smaller_spec[0]  # type: ignore[index]
            except Exception as exc:
                log.warning("the governor's smaller model could not be loaded: %s", exc)
                self._smaller_spec = None

    def current(self) -> LoadedModel:
        """The model to decode with: the smaller one at the governor's last step once it is loaded."""
        assert self.loaded is not None
        if self._smaller is not None and self.level >= SMALLER_MODEL_LEVEL:
            return self._smaller
        return self.loaded

    def wrap(self, model: Any) -> LoadedModel:
        """A model handed in by the client (a WhisperModel or a LoadedModel) as a LoadedModel."""
        if isinstance(model, LoadedModel):
            return model
        name = self.config.model.name
        return LoadedModel(model=model, name=name, path="", device="?", compute_type="?", cpu_threads=0,
                           load_s=0.0, english_only=name.endswith(".en"))
