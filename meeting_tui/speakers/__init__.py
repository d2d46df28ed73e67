"""Speaker labels for the far side: "Them 1", "Them 2", ... from voice embeddings (docs/speakers.md).

No Textual here. Entry points: ``SpeakerLabeller`` (label one segment), ``SpeakerStage`` (capture listener
+ labeller + journal), ``VoiceMemory`` (opt-in voices across sessions), ``apply_speaker_events``.
"""

from meeting_tui.speakers.clusterer import ClusterParams, OnlineClusterer
from meeting_tui.speakers.labeller import SpeakerEvent, SpeakerLabeller

__all__ = ["ClusterParams", "OnlineClusterer", "SpeakerEvent", "SpeakerLabeller"]
