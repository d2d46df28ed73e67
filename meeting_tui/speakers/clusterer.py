"""Online clustering of utterance embeddings into speakers, revised only forward.

Each utterance joins the most similar speaker when the cosine similarity to its centroid reaches
``assign``; otherwise a long enough utterance starts a new speaker. A young speaker (few utterances, never
grown by a merge) whose centroid comes within ``merge`` of an older one is folded into it: the lines it
labelled are relabelled once, and since the older speaker has now absorbed another it can never be
merged away itself, no line is relabelled twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Cluster:
    key: int  # 1, 2, ... in order of appearance; never reused
    total: np.ndarray  # duration-weighted sum of member embeddings
    weight: float = 0.0
    members: int = 0
    absorbed: bool = False  # took in another speaker: may not be merged away any more
    line_ids: list[int] = field(default_factory=list)

    @property
    def centroid(self) -> np.ndarray:
        return self.total / (np.linalg.norm(self.total) + 1e-12)

    def add(self, emb: np.ndarray, weight: float, line_id: int | None) -> None:
        self.total = self.total + emb * weight
        self.weight += weight
        self.members += 1
        if line_id is not None:
            self.line_ids.append(line_id)


@dataclass(frozen=True)
class Merge:
    gone: Cluster  # folded into ``kept``; its lines now belong to ``kept``
    kept: Cluster
    line_ids: tuple[int, ...]


@dataclass
class ClusterParams:
    assign: float = 0.65  # join a speaker at or above this similarity to its centroid
    merge: float = 0.75  # fold a young speaker into an older one this similar
    min_new_s: float = 1.5  # shorter utterances never start a speaker (their embeddings are noisy)
    young_members: int = 3  # a speaker with at most this many utterances may still be merged away
    max_speakers: int = 8
    max_weight_s: float = 8.0  # one long utterance counts no more than this in a centroid


class OnlineClusterer:
    def __init__(self, params: ClusterParams | None = None) -> None:
        self.params = params or ClusterParams()
        self.clusters: dict[int, Cluster] = {}
        self._next_key = 1

    def similarities(self, emb: np.ndarray) -> dict[int, float]:
        return {k: float(c.centroid @ emb) for k, c in self.clusters.items()}

    def add(self, emb: np.ndarray, seconds: float, line_id: int | None = None) -> tuple[Cluster, list[Merge], bool]:
        """Place one utterance; returns its speaker, any merges it caused, and whether the speaker is new."""
        p = self.params
        sims = self.similarities(emb)
        best = max(sims, key=sims.get) if sims else None
        new = best is None or (
            sims[best] < p.assign and seconds >= p.min_new_s and len(self.clusters) < p.max_speakers
        )
        if new:
            cluster = Cluster(self._next_key, np.zeros_like(emb))
            self.clusters[cluster.key] = cluster
            self._next_key += 1
        else:
            cluster = self.clusters[best]
        cluster.add(emb, min(seconds, p.max_weight_s), line_id)
        created = cluster.key if new else None
        merges = self._merge_young()
        for m in merges:  # the utterance now belongs to the speaker that absorbed its own
            if m.gone is cluster:
                cluster = m.kept
        return cluster, merges, cluster.key == created

    def _merge_young(self) -> list[Merge]:
        merges: list[Merge] = []
        while True:
            pair = self._closest_mergeable()
            if pair is None:
                return merges
            gone, kept = pair
            kept.total = kept.total + gone.total
            kept.weight += gone.weight
            kept.members += gone.members
            kept.line_ids.extend(gone.line_ids)
            kept.absorbed = True
            del self.clusters[gone.key]
            merges.append(Merge(gone, kept, tuple(gone.line_ids)))

    def _closest_mergeable(self) -> tuple[Cluster, Cluster] | None:
        p = self.params
        best: tuple[float, Cluster, Cluster] | None = None
        for young in self.clusters.values():
            if young.absorbed or young.members > p.young_members:
                continue
            for old in self.clusters.values():
                if old.key >= young.key:
                    continue
                sim = float(young.centroid @ old.centroid)
                if sim >= p.merge and (best is None or sim > best[0]):
                    best = (sim, young, old)
        return None if best is None else (best[1], best[2])
