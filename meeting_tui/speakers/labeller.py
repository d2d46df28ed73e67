"""The speaker stage: a final loopback Segment in, the same Segment with ``speaker`` set out.

``SpeakerLabeller.label(segment, audio)`` embeds the utterance, places it with the online clusterer and
returns a copy of the segment labelled "Them 1", "Them 2", ... (or the name the user gave that voice).
When a young speaker turns out to be an older one, the labeller emits a ``SpeakerEvent`` ("merge") listing
the lines already shown that change label; ``rename`` emits one too ("rename"). Journal both with
``journal.speaker_event_record`` so exports and recovered sessions show the same names.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from meeting_tui.speakers.clusterer import ClusterParams, OnlineClusterer
from meeting_tui.types import SESSION_RATE, Segment

MIN_EMBED_S = 0.6  # shorter utterances take the previous speaker: too little voice to embed
WINDOW_MATCH = 0.55  # a 0.8 s window this similar to a known voice is that voice (windows are noisier)
KNOWN_SHARE = 0.7  # an unfamiliar-sounding line whose windows are mostly known voices is not a new voice


@dataclass(frozen=True)
class SpeakerEvent:
    kind: str  # "merge" (a young speaker was an older one) or "rename" (the user named a voice)
    old: str  # the label lines had
    new: str  # the label they have now
    line_ids: tuple[int, ...] = ()  # ids of the segments already labelled that change


class SpeakerLabeller:
    def __init__(
        self,
        params: ClusterParams | None = None,
        *,
        embedder=None,
        memory=None,
        recognise_threshold: float = 0.75,
        prefix: str = "Them",
        on_event: Callable[[SpeakerEvent], None] | None = None,
    ) -> None:
        if embedder is None:
            from meeting_tui.speakers.embedder import VoiceEmbedder

            embedder = VoiceEmbedder()
        self.embedder = embedder
        self.memory = memory  # a VoiceMemory when the user opted in, else None
        self.recognise_threshold = recognise_threshold
        self.prefix = prefix
        self.on_event = on_event
        self.clusterer = OnlineClusterer(params)
        self.names: dict[int, str] = {}  # cluster key -> label shown
        self.events: list[SpeakerEvent] = []
        self._last_key: int | None = None
        self._lock = threading.RLock()  # on_event callbacks may call back (speakers(), rename())
        self.audio_s = 0.0  # speech seconds embedded (for cost figures)

    @classmethod
    def from_settings(cls, speakers, **kwargs) -> SpeakerLabeller:
        """From a ``settings.SpeakerSettings``; opens the voice memory when ``remember_voices`` is on."""
        params = ClusterParams(assign=speakers.assign_threshold, merge=speakers.merge_threshold,
                               max_speakers=speakers.max_speakers)
        if speakers.remember_voices and "memory" not in kwargs:
            from meeting_tui.speakers.memory import VoiceMemory

            kwargs["memory"] = VoiceMemory()
        return cls(params, recognise_threshold=speakers.recognise_threshold, **kwargs)

    # --- labelling ------------------------------------------------------------------------------------

    def label(self, segment: Segment, audio: np.ndarray) -> Segment:
        """``segment`` labelled from ``audio`` (16 kHz mono, the segment's span). Thread-safe."""
        seconds = len(audio) / SESSION_RATE
        with self._lock:
            if seconds < MIN_EMBED_S and self._last_key is not None:
                return dataclasses.replace(segment, speaker=self.names[self._last_key])
            windows = self.embedder.windows(audio)
            emb = windows.mean(axis=0)
            emb = (emb / (np.linalg.norm(emb) + 1e-12)).astype(np.float32)
            self.audio_s += seconds
            owner = self._known_voices_in_turn(windows, emb, seconds)
            if owner is not None:  # two known voices in one line (a turn change the segmenter kept together)
                self.clusterer.clusters[owner].line_ids.append(segment.id)
                self._last_key = owner
                return dataclasses.replace(segment, speaker=self.names[owner])
            cluster, merges, created = self.clusterer.add(emb, seconds, segment.id)
            for m in merges:
                old, new = self.names.pop(m.gone.key), self.names[m.kept.key]
                shown = tuple(i for i in m.line_ids if i != segment.id)
                if self._last_key == m.gone.key:
                    self._last_key = m.kept.key
                if shown and old != new:
                    self._emit(SpeakerEvent("merge", old, new, shown))
            if created:
                self.names[cluster.key] = self._recognise(emb) or f"{self.prefix} {cluster.key}"
            self._last_key = cluster.key
            return dataclasses.replace(segment, speaker=self.names[cluster.key])

    def _known_voices_in_turn(self, windows: np.ndarray, emb: np.ndarray, seconds: float) -> int | None:
        """The voice owning most of a line that would otherwise start a new voice, when known voices own
        most of its 0.8 s windows; None when the line really sounds new (or joins a voice as usual)."""
        p = self.clusterer.params
        sims = self.clusterer.similarities(emb)
        if not sims or max(sims.values()) >= p.assign or seconds < p.min_new_s or len(windows) < 3:
            return None
        keys = list(self.clusterer.clusters)
        cents = np.stack([self.clusterer.clusters[k].centroid for k in keys])
        win_sims = windows @ cents.T
        best = win_sims.argmax(axis=1)
        known = win_sims.max(axis=1) >= WINDOW_MATCH
        if known.mean() < KNOWN_SHARE:
            return None
        counts = np.bincount(best[known], minlength=len(keys))
        return keys[int(counts.argmax())]

    def _recognise(self, emb: np.ndarray) -> str | None:
        if self.memory is None:
            return None
        hit = self.memory.match(emb, self.recognise_threshold)
        if hit is None or hit[0] in self.names.values():
            return None
        return hit[0]

    # --- the user's names -----------------------------------------------------------------------------

    def speakers(self) -> list[str]:
        """Labels in use, in order of appearance."""
        return [self.names[k] for k in sorted(self.names)]

    def rename(self, old: str, new: str) -> SpeakerEvent:
        """Call voice ``old`` ``new`` from now on and on every line already shown. Raises KeyError/ValueError.

        Naming a voice like another one says they are the same person: both become ``new``.
        """
        new = " ".join(new.split())
        if not new:
            raise ValueError("a speaker name cannot be empty")
        with self._lock:
            key = next((k for k, n in self.names.items() if n == old), None)
            if key is None:
                raise KeyError(f'no speaker "{old}" in this session (speakers: {", ".join(self.speakers())})')
            lines = tuple(self.clusterer.clusters[key].line_ids)
            for k, n in self.names.items():
                if n == new and k != key:
                    lines += tuple(self.clusterer.clusters[k].line_ids)
                    self.names[k] = new
            self.names[key] = new
            if self.memory is not None and not new.startswith(f"{self.prefix} "):
                c = self.clusterer.clusters[key]
                self.memory.remember(new, c.centroid, c.weight)
            event = SpeakerEvent("rename", old, new, lines)
            self._emit(event)
            return event

    def voices(self) -> dict[str, tuple[np.ndarray, float]]:
        """Label -> (centroid, seconds of speech) of every speaker so far."""
        with self._lock:
            return {self.names[k]: (c.centroid, c.weight) for k, c in self.clusterer.clusters.items()}

    def remember_all(self) -> list[str]:
        """At the end of a session: refresh the stored voice of every speaker the user named."""
        if self.memory is None:
            return []
        done = []
        with self._lock:
            for key, name in self.names.items():
                if not name.startswith(f"{self.prefix} "):
                    c = self.clusterer.clusters[key]
                    self.memory.remember(name, c.centroid, c.weight)
                    done.append(name)
        return done

    def _emit(self, event: SpeakerEvent) -> None:
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)
