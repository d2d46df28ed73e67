"""CPU-first transcription: sized encoder windows, the load governor, model "auto" and "bundled".

Real faster-whisper with the bundled tiny.en on real speech (../shared/audio), the CLI as a subprocess.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path


from meeting_tui.settings import load_settings
from meeting_tui.transcribe.audio_io import feed_arrays, read_audio
from meeting_tui.transcribe.governor import Governor, GovernorConfig
from meeting_tui.transcribe.model import ModelConfig
from meeting_tui.transcribe.transcriber import Transcriber, TranscriberConfig
from meeting_tui.transcribe.vad_segmenter import VadConfig
from meeting_tui.transcribe.wer import wer
from meeting_tui.transcribe.window import FINAL_WINDOW, FULL, PARTIAL_WINDOW, WindowPolicy, sized_window
from meeting_tui.types import SESSION_RATE, Source
from tests.support.speech import JFK

REPO = Path(__file__).resolve().parent.parent


class _EncodeSpy:
    """Stands in for the CTranslate2 model to record the feature lengths the encoder is given."""

    def __init__(self, inner) -> None:
        self.inner, self.frames = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, features, *args, **kwargs):
        self.frames.append(features.shape[-1])
        return self.inner.encode(features, *args, **kwargs)


def test_window_policy_frames():
    assert FULL.frames(SESSION_RATE) == 3000
    assert WindowPolicy(2.0, 10.0).frames(3 * SESSION_RATE) == 1000  # the minimum
    assert WindowPolicy(2.0, 10.0).frames(15 * SESSION_RATE) == 1702  # audio + margin, even
    assert WindowPolicy(2.0, 10.0).frames(29 * SESSION_RATE) == 3000  # never more than Whisper's 30 s
    assert all(WindowPolicy(1.0, 0.0).frames(n) % 2 == 0 for n in range(0, 50_000, 777))


def test_sized_window_transcribes_real_speech_with_a_shorter_encoder_input(tiny, shared_audio):
    audio = read_audio(shared_audio / "jfk.flac")[0]
    spy = _EncodeSpy(tiny.model.model)
    tiny.model.model = spy
    try:
        with sized_window(tiny.model, FINAL_WINDOW, len(audio)):
            text = " ".join(s.text for s in tiny.model.transcribe(audio, language="en", beam_size=5,
                                                                  vad_filter=False)[0])
        windowed = list(spy.frames)
        spy.frames.clear()
        plain = " ".join(s.text for s in tiny.model.transcribe(audio, language="en", beam_size=5,
                                                               vad_filter=False)[0])
    finally:
        tiny.model.model = spy.inner
    assert windowed and max(windowed) == FINAL_WINDOW.frames(len(audio)) < 3000
    assert spy.frames and set(spy.frames) == {3000}  # outside the block: faster-whisper's own 30 s
    assert wer(JFK, text) <= 0.10, text
    assert wer(JFK, plain) <= 0.10, plain


def test_live_decoding_uses_sized_windows_and_keeps_the_words(tiny, shared_audio):
    """The Transcriber's finals and partials both encode less than 30 s, and the transcript stays right."""
    left, right = read_audio(shared_audio / "stereo_diarization.wav", channels="split")
    jfk = read_audio(shared_audio / "jfk.flac")[0]
    spy = _EncodeSpy(tiny.model.model)
    tiny.model.model = spy
    lines, partials = [], []
    try:
        cfg = TranscriberConfig(model=ModelConfig(tiny.path, cpu_threads=1), sources=(Source.MIC, Source.LOOPBACK))
        tr = Transcriber(cfg, model=tiny, on_segment=lines.append, on_partial=partials.append).start()
        feed_arrays(tr, {Source.MIC: jfk, Source.LOOPBACK: left}, realtime=4.0)
        tr.drain_and_stop()
    finally:
        tiny.model.model = spy.inner
    you = " ".join(s.text for s in lines if s.source == Source.MIC)
    them = " ".join(s.text for s in lines if s.source == Source.LOOPBACK)
    assert wer(JFK, you) <= 0.10, you
    assert wer("He began a confused complaint against the wizard, who had vanished behind the curtain on the left.",
               them) <= 0.15, them
    assert spy.frames and max(spy.frames) < 3000
    assert min(spy.frames) >= min(FINAL_WINDOW.frames(0), PARTIAL_WINDOW.frames(0))


def test_governor_steps_down_one_level_at_a_time_and_back_up():
    g = Governor(GovernorConfig(down_dwell_s=1.0, up_dwell_s=5.0), partial_interval_s=1.0, beam_size=5,
                 partials=True, model="base.en", smaller_model="tiny.en")
    assert g.state.level == 0 and g.state.partials and g.state.beam_size == 5
    t = 0.0
    seen = []
    while t < 20:
        t += 1.0
        if g.update(t, busy=0.95, lag_s=0.5):
            seen.append(g.state)
    assert g.state.level == 3  # busy alone never costs the model: finals still keep up
    t += 1.0
    assert g.update(t, busy=0.95, lag_s=3.5)  # falling behind: the smaller model
    seen.append(g.state)
    assert not g.update(t + 1.0, busy=0.99, lag_s=9.0)  # the last step: nothing below it
    assert [s.name for s in seen] == ["slower partials", "no partials", "small beam", "smaller model"]
    assert seen[0].partial_interval_s == 3.0 and seen[0].partials
    assert not seen[1].partials and seen[1].beam_size == 5
    assert seen[2].beam_size == 1 and seen[2].model == "base.en"
    assert seen[3].model == "tiny.en" and "lag 3.5 s" in seen[3].reason
    t += 2.0
    assert not g.update(t, busy=0.2, lag_s=0.0)  # room, but too soon after a change
    t += 5.0
    assert g.update(t, busy=0.2, lag_s=0.0) and g.state.name == "small beam" and "room" in g.state.reason
    assert g.update(t + 6, busy=0.9, lag_s=4.0) and g.state.name == "smaller model" and "lag 4.0 s" in g.state.reason


def test_governor_without_a_smaller_model_stops_at_the_small_beam():
    g = Governor(GovernorConfig(down_dwell_s=0.0), partial_interval_s=1.0, beam_size=5, partials=True,
                 model="tiny.en", smaller_model=None)
    for i in range(10):
        g.update(float(i), busy=1.0, lag_s=10.0)
    assert g.state.level == 3 and g.state.model == "tiny.en"


def test_overloaded_transcriber_drops_partials_never_finals(tiny, shared_audio):
    """A governor that finds the decoder overloaded at once (busy over 0.0) steps down to "no partials"
    and beyond; every utterance still becomes a final line, and the state is in stats() and the callback."""
    jfk = read_audio(shared_audio / "jfk.flac")[0]
    left = read_audio(shared_audio / "stereo_diarization.wav", channels="split")[0]
    lines, states = [], []
    gov = GovernorConfig(down_busy=0.0, down_dwell_s=0.5, up_busy=-1.0)
    cfg = TranscriberConfig(model=ModelConfig(tiny.path, cpu_threads=1), sources=(Source.MIC,), governor=gov)
    tr = Transcriber(cfg, model=tiny, on_segment=lines.append, on_governor=states.append).start()
    feed_arrays(tr, {Source.MIC: jfk}, realtime=1.0)
    mid = tr.stats().governor
    feed_arrays(tr, {Source.MIC: left}, start=len(jfk) + SESSION_RATE, realtime=2.0)
    partials_before = tr.stats().partials
    tr.drain_and_stop()
    st = tr.stats()
    assert mid.level >= 1 and states and states[0].name == "slower partials"
    assert st.governor.level == 3 and st.governor.beam_size == 1 and not st.governor.partials
    assert st.partials == partials_before  # no partial once "no partials" was reached
    assert wer(JFK, " ".join(s.text for s in lines if s.end <= len(jfk) / SESSION_RATE + 0.5)) <= 0.15
    assert any("wizard" in s.text.lower() for s in lines)
    assert st.as_dict()["governor"]["name"] == "small beam"


def _cli(args, tmp_path, **env_extra):
    env = dict(os.environ, HF_HUB_OFFLINE="1", MEETING_TUI_CONFIG=str(tmp_path / "cfg" / "settings.toml"),
               MEETING_TUI_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO),
               HF_HUB_CACHE=str(tmp_path / "empty-hub"), **env_extra)
    return subprocess.run([sys.executable, "-m", "meeting_tui", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_default_model_is_auto_with_one_notice_and_remembered(tiny_model_path, shared_audio, tmp_path):
    """A new user, offline, default settings: the transcript comes with one line saying which model was
    chosen and why (and what could not be had), no "not available" warning; the choice is written to the
    settings and reused on the next run."""
    jfk = str(shared_audio / "jfk.flac")
    first = _cli(["transcribe", jfk], tmp_path)
    assert first.returncode == 0, first.stderr
    assert wer(JFK, " ".join(line.split(": ", 1)[1] for line in first.stdout.splitlines())) <= 0.15
    assert "not available" not in first.stderr and "Fix:" not in first.stderr
    ready = re.findall(r"\[ready\][^\[\r\n]*", first.stderr)  # progress lines may share a line
    assert len(ready) == 1 and "tiny.en ready" in ready[0]
    assert "could not be had (offline): base.en, small.en" in ready[0]
    model = load_settings(tmp_path / "cfg" / "settings.toml").settings.transcription.model
    assert model.name == "auto" and model.auto_choice == "tiny.en" and "the only model" in model.auto_reason
    again = _cli(["transcribe", jfk, "--quiet"], tmp_path)
    assert again.returncode == 0 and "Speaker:" in again.stdout


def test_bundled_names_the_offline_model(tiny_model_path, shared_audio, tmp_path):
    cfg = tmp_path / "cfg" / "settings.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text('[transcription.model]\nname = "bundled"\n')
    run = _cli(["transcribe", str(shared_audio / "jfk.flac")], tmp_path)
    assert run.returncode == 0, run.stderr
    assert "not available" not in run.stderr and "bundled ready" in run.stderr
    assert wer(JFK, " ".join(line.split(": ", 1)[1] for line in run.stdout.splitlines())) <= 0.15


def test_auto_measures_and_picks_the_largest_model_that_keeps_up(tiny_model_path, monkeypatch):
    """With two models present the self-benchmark runs on bundled speech and the larger one wins when it
    keeps up; the reason carries the measured cost. (tiny.en stands in for base.en: only it is offline.)"""
    from meeting_tui.transcribe import model_select

    monkeypatch.setattr(model_select, "local_path", lambda name, root=None: tiny_model_path
                        if name in ("tiny.en", "base.en") else None)
    monkeypatch.setattr(model_select, "KEEP_UP_RTF", 5.0)
    t0 = time.monotonic()
    choice = model_select.choose(ModelConfig("auto", cpu_threads=1))
    assert choice.name == "base.en" and set(choice.measured) == {"tiny.en", "base.en"}
    assert "s per second of speech on 1 thread" in choice.reason and "small.en" in choice.reason
    assert time.monotonic() - t0 < 120
    monkeypatch.setattr(model_select, "KEEP_UP_RTF", 1e-6)  # nothing keeps up: the smallest, said so
    slow = model_select.choose(ModelConfig("auto", cpu_threads=1))
    assert slow.name == "tiny.en" and "expect fewer partials" in slow.reason


def test_early_finals_are_decoded_in_the_closing_pause_and_match(tiny, shared_audio):
    """At real time, most finals are decoded while their closing pause runs and published as it ends.
    Started once the padding after speech has passed (a quick decoder), they are the words of the closed
    utterance exactly; started after 0.1 s of silence (a slow one), they are kept though the closed
    utterance has more trailing silence, and are as accurate."""
    jfk = read_audio(shared_audio / "jfk.flac")[0]
    pad = int(VadConfig().pad_s * SESSION_RATE)
    texts, stats = {}, {}
    for run, after in (("off", None), ("at the padding", pad), ("sooner", int(0.1 * SESSION_RATE))):
        lines = []
        cfg = TranscriberConfig(model=ModelConfig(tiny.path, cpu_threads=1), sources=(Source.MIC,), partials=False,
                                early_finals=after is not None)
        tr = Transcriber(cfg, model=tiny, on_segment=lines.append)
        if after is not None:
            tr._early_after = lambda after=after: after  # this machine's decode time must not choose for the test
        decoded = []  # (samples decoded, samples the closed utterance has up to speech end + padding)
        original = tr._decode_final

        def decode_final(utt, source, original=original, decoded=decoded):
            decoded.append((len(utt.samples), utt.speech_end + int(VadConfig().pad_s * SESSION_RATE) - utt.start))
            return original(utt, source)

        tr._decode_final = decode_final
        tr.start()
        feed_arrays(tr, {Source.MIC: jfk}, realtime=1.0)
        time.sleep(1.0)
        tr.drain_and_stop()
        texts[run], stats[run] = " ".join(s.text for s in lines), tr.stats()
        # every final, early ones included, is decoded in its closed utterance's window (an early one started
        # before the padding has passed gets the rest as silence); the last may close at the end of the audio
        assert sum(n != want for n, want in decoded) <= 1, (run, decoded)
    assert stats["off"].early_finals == 0
    assert stats["at the padding"].early_finals >= 1 and stats["sooner"].early_finals >= 1
    assert texts["at the padding"] == texts["off"]
    assert wer(JFK, texts["off"]) <= 0.10 and wer(JFK, texts["sooner"]) <= 0.10


def test_auto_online_does_not_download_a_model_predicted_too_slow(tiny_model_path, monkeypatch):
    """Online, a larger model is downloaded only if the smaller one's measured cost leaves room for it."""
    from meeting_tui.transcribe import model_select

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(model_select, "local_path", lambda name, root=None: tiny_model_path
                        if name == "tiny.en" else None)
    downloads = []
    monkeypatch.setattr(model_select, "resolve_model_path", lambda cfg, progress=None: downloads.append(cfg.name))
    monkeypatch.setattr(model_select, "measure", lambda *a: 0.1)  # tiny.en at 0.1 s/s: base.en about 0.3
    choice = model_select.choose(ModelConfig("auto", cpu_threads=1))
    assert choice.name == "tiny.en" and downloads == []
    assert "base.en not downloaded (predicted" in choice.reason
