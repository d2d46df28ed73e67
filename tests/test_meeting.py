"""The headless meeting: re-timing across capture restarts and mode switches (file workers), echo
verdicts turned into retractions (journal, events), the typed engine listener contracts."""

from __future__ import annotations

import asyncio
import json

import pytest

from meeting_tui.capture.engine import CaptureEngine, WorkerSpec
from meeting_tui.meeting import CaptureSetup, Meeting, RetractionEvent, SegmentEvent, transcriber_config
from meeting_tui.meeting.echo_stage import EchoPlan
from meeting_tui.meeting.setup import file_specs
from meeting_tui.session.journal import read_journal
from meeting_tui.session.store import Session
from meeting_tui.transcribe.model import ModelConfig
from meeting_tui.types import Mode, Segment, Source


class Collect:
    def __init__(self) -> None:
        self.events = []

    def on_event(self, event) -> None:
        self.events.append(event)

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]


def test_engine_rejects_a_listener_that_implements_no_contract():
    engine = CaptureEngine([WorkerSpec.file(Source.MIC, "x.wav")])
    with pytest.raises(TypeError, match="listener contracts"):
        engine.add_listener(object())

    class MixOnly:
        def on_mix(self, chunk) -> None: ...

    engine.add_listener(MixOnly())  # one contract is enough
    assert len(engine._mix) == 1 and not engine._audio


def test_journal_retraction_drops_or_marks_the_segment(tmp_path):
    session = Session.open(tmp_path)
    you = Segment(Source.MIC, 1.0, 2.0, "what them said", id=3)
    keep = Segment(Source.MIC, 3.0, 4.0, "my own words", id=4)
    for s in (you, keep, Segment(Source.LOOPBACK, 0.8, 1.9, "what them said", id=2)):
        session.append_segment(s)
    session.append_retraction(you, "drop", 0.92)
    session.append_retraction(keep, "mark", 0.61)
    assert [s.text for s in session.items if isinstance(s, Segment)] == ["my own words", "what them said"]
    session.close()
    contents = read_journal(session.path / "journal.jsonl")
    assert [s.text for s in contents.segments] == ["my own words", "what them said"]
    assert contents.segments[0].echo_score == 0.61
    records = [json.loads(x) for x in (session.path / "journal.jsonl").read_text().splitlines()]
    assert {"t": "retract", "id": 3, "source": "mic", "action": "drop", "score": 0.92} in records


def test_echo_verdicts_judge_a_delivered_you_line_once_them_is_transcribed_past_it():
    verdicts = EchoPlan(True, "auto", "drop").make_verdicts()
    echo = Segment(Source.MIC, 10.2, 12.0, "the quarterly numbers look strong this year", id=5)
    own = Segment(Source.MIC, 20.0, 21.5, "I disagree about the budget", id=6)
    assert verdicts.feed(echo) == []  # no verdict yet: "Them" has not been transcribed that far
    assert verdicts.feed(Segment(Source.LOOPBACK, 10.0, 11.9, "The quarterly numbers look strong this year.",
                                 id=4)) == []  # still held (the loopback ends before the mic line + 0.5 s)
    judged = verdicts.tick(now_s=16.0)  # the filter's own clock: held longer than hold_s
    assert [v.segment.id for v in judged] == [5] and judged[0].score >= 0.6
    assert verdicts.feed(own) == [] and verdicts.flush() == []  # the user's own words are never retracted




@pytest.mark.model
@pytest.mark.slow
async def test_retiming_across_a_restart_and_a_mode_switch_keeps_times_increasing(shared_audio, tiny_model_path,
                                                                                 tmp_path):
    """File workers, no rig: a session through a capture restart (same mode) and a switch to mic-only;
    every chunk reaching the transcriber and every journaled line is later than the one before."""
    client = Collect()
    config = transcriber_config(model=ModelConfig(tiny_model_path), partials=False)
    def label_them(segment: Segment) -> Segment:  # where a speaker-labelling stage goes
        if segment.source is Source.LOOPBACK:
            segment.extra["speaker"] = "S1"
        return segment

    meeting = Meeting(client, config=config, echo=EchoPlan(), sessions_dir=tmp_path, segment_stages=[label_them])
    seen: dict[Source, list[tuple[int, int]]] = {Source.MIC: [], Source.LOOPBACK: []}
    original = meeting._audio

    def spy(chunk) -> None:
        seen[chunk.source].append((chunk.start, chunk.end))
        original(chunk)

    meeting._audio = spy
    wav = str(shared_audio / "stereo_diarization.wav")
    both = CaptureSetup(Mode.MEETING, files=file_specs({Source.MIC: wav, Source.LOOPBACK: wav},
                                                       channels={Source.MIC: 0, Source.LOOPBACK: 1}))
    mic_only = CaptureSetup(Mode.MIC, files=file_specs({Source.MIC: str(shared_audio / "jfk.flac")}))
    meeting.preload_model()
    path = meeting.start_session()
    await meeting.start_capture(both)
    await asyncio.sleep(3.0)
    first = meeting.engine
    await meeting.start_capture(both)  # a restart: a new engine, its own sample clock from 0
    assert meeting.engine is not first
    await asyncio.sleep(3.0)
    await meeting.start_capture(mic_only)  # a mode switch
    await asyncio.sleep(4.0)
    await meeting.shutdown()
    for source, spans in seen.items():
        assert len(spans) > 10, source
        for (s0, e0), (s1, e1) in zip(spans, spans[1:]):
            assert s1 >= e0 and e1 > s1, (source, (s0, e0), (s1, e1))  # strictly later, never overlapping
    # Three engines, one clock: the mic's last chunk is ~10 s into the session, not ~4 s (its own engine).
    assert seen[Source.MIC][-1][1] / 16000 > 9.0
    segments = read_journal(path / "journal.jsonl").segments
    assert segments, client.events
    for source in (Source.MIC, Source.LOOPBACK):
        starts = [s.start for s in segments if s.source is source]
        assert starts == sorted(starts) and len(set(starts)) == len(starts), (source, starts)
    assert [e.segment.text for e in client.of(SegmentEvent)] == [s.text for s in segments]
    assert not client.of(RetractionEvent)
    assert all(s.extra.get("speaker") == "S1" for s in segments if s.source is Source.LOOPBACK)
