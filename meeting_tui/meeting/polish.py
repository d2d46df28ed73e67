"""Polish a session after the meeting: re-transcribe its recorded audio, per source, with a larger model.

Offline faster-whisper over each whole recording (its own Silero VAD, beam search, each 30 s window
conditioned on the text before it) beats the live per-utterance decoding, and once the meeting is over
the CPU is free. The result goes to ``polished.jsonl`` (``session/polished.py``) beside the live journal,
which stays as it was.

    job = PolishJob(folder, PolishConfig.from_settings(settings), on_progress=..., on_done=...)
    job.start()       # a background thread; callbacks run on it
    job.cancel()      # stops after the current segment; what was written is kept, and resumes later
    result = job.wait()
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

from meeting_tui.meeting.model import display_name
from meeting_tui.meeting.polish_turns import keep_turns
from meeting_tui.meeting.polish_model import live_model, polish_model_for, same_model_problem  # noqa: F401
from meeting_tui.transcribe.model_spec import ModelLoadError
from meeting_tui.transcribe.server import ServerError
from meeting_tui.types import SESSION_RATE, Segment, Source

log = logging.getLogger(__name__)

class PolishError(RuntimeError):
    """Why a session cannot be polished; the message says what to do."""


@dataclass
class PolishConfig:
    model: str = "auto"
    beam_size: int = 5
    device: str = "auto"
    compute_type: str = "default"
    cpu_threads: int = 0  # 0: every core (the meeting is over)
    vocabulary: tuple[str, ...] = ()
    languages: dict[Source, str | None] = field(default_factory=dict)  # fixed per source; else the live one
    language: str | None = None
    restart: bool = False  # discard an interrupted polish instead of resuming it
    server: Any = None  # a transcribe.server.ServerConfig: polish on the speech server
    explicit_model: bool = False  # the user named the model (--model): the live model again is run, and said

    @classmethod
    def from_settings(cls, settings: Any, engine: str | None = None, **overrides: Any) -> "PolishConfig":
        from meeting_tui.transcribe.config import server_config

        tr = settings.transcription
        values: dict[str, Any] = dict(model=tr.polish.model, beam_size=tr.polish.beam_size, device=tr.model.device,
                                      compute_type=tr.model.compute_type, vocabulary=tuple(tr.vocabulary),
                                      language=tr.model.language,
                                      languages={k: v for k, v in tr.languages.as_dict().items() if v},
                                      server=server_config(tr, engine))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass(frozen=True)
class PolishProgress:
    stage: str  # "loading", "transcribing", "done", "cancelled", "error"
    message: str
    done_s: float = 0.0  # audio seconds polished (all sources)
    total_s: float = 0.0
    source: Source | None = None

    @property
    def fraction(self) -> float:
        return 1.0 if self.total_s <= 0 else min(1.0, self.done_s / self.total_s)


@dataclass
class PolishResult:
    ok: bool
    message: str
    segments: int = 0
    audio_s: float = 0.0
    asr_s: float = 0.0  # wall seconds spent transcribing
    model: str = ""
    resumed: bool = False


def audio_sources(folder: Path, meta: dict[str, Any]) -> dict[Source, Path]:
    """The recorded audio to polish: each source on its own (mic, loopback), else the mix."""
    files = {}
    for key, rel in (meta.get("audio") or {}).items():
        path = folder / rel
        try:
            if path.is_file() and path.stat().st_size > 44:
                files[Source(key)] = path
        except ValueError:
            continue
    separate = {s: p for s, p in files.items() if s != Source.MIX}
    return separate or files


def check_polishable(folder: str | os.PathLike[str]) -> dict[Source, Path]:
    """The audio files to polish, or PolishError saying why not (no audio, still recording)."""
    from meeting_tui.session.lock import is_locked
    from meeting_tui.session.retention import disk_cost
    from meeting_tui.session.store import read_meta

    folder = Path(folder)
    meta = read_meta(folder)
    files = audio_sources(folder, meta)
    if not files and meta.get("audio_pruned"):
        raise PolishError(f"Session {folder.name} has no audio left to polish: it was deleted on "
                          f"{meta['audio_pruned']}, past [session] keep_audio_days. The transcript is kept. To keep "
                          "audio longer, raise keep_audio_days (0 keeps it until you delete the session).")
    if not files:
        why = ("it was recorded without audio" if not meta.get("record_audio")
               else "its audio files are missing or empty")
        raise PolishError(f"Session {folder.name} has no recorded audio to polish ({why}). Only the live transcript "
                          "exists. To polish future meetings, set [session] record_audio = true in the settings "
                          f"({disk_cost()}, kept [session] keep_audio_days).")
    if is_locked(folder):
        raise PolishError(f"Session {folder.name} is still being recorded; polish it after it stops.")
    return files


class PolishJob:
    """Polish one session in a background thread. See the module docstring."""

    def __init__(self, folder: str | os.PathLike[str], config: PolishConfig | None = None, *,
                 on_progress: Callable[[PolishProgress], None] | None = None,
                 on_done: Callable[[PolishResult], None] | None = None, model: Any = None) -> None:
        self.folder = Path(folder)
        self.config = config or PolishConfig()
        self.on_progress, self.on_done = on_progress, on_done
        self._given_model = model  # a loaded faster_whisper.WhisperModel (benches, tests)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self.result: PolishResult | None = None
        self.progress = PolishProgress("loading", "starting")

    def start(self) -> "PolishJob":
        self._thread = threading.Thread(target=self._run_safely, name="polish", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> PolishResult | None:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result

    def run(self) -> PolishResult:
        """Polish in the calling thread (the CLI)."""
        self._run_safely()
        assert self.result is not None
        return self.result

    # --- internals ------------------------------------------------------------------------------------

    def _report(self, p: PolishProgress) -> None:
        self.progress = p
        if self.on_progress is not None:
            try:
                self.on_progress(p)
            except Exception:
                log.exception("polish progress callback failed")

    def _run_safely(self) -> None:
        # ``result`` is published whole: the CLI prints it the moment it is set
        try:
            result = self._run()
        except PolishError as exc:
            result = PolishResult(False, str(exc))
        except ModelLoadError as exc:  # the message names the model and the fix: no traceback
            fix = ("connect to the internet once (it is downloaded), or name a model folder: --model DIR "
                   "([transcription.polish] model)") if exc.unavailable else exc.fix
            result = PolishResult(False, f"Polish cannot load {exc.model}: {exc.problem}. Fix: {fix}")
        except ServerError as exc:
            result = PolishResult(False, f"polish on the speech server stopped: {exc}; what was done is kept and "
                                         "resumes when you run it again")
        except Exception as exc:  # a bug or an I/O error: say it, keep what was written
            log.exception("polish failed")
            result = PolishResult(False, f"polish failed: {type(exc).__name__}: {exc}")
        if result.ok:
            result.message += _rewrite_note(self.folder)
        self.result = result
        if not self.result.ok:
            self._report(PolishProgress("cancelled" if self._cancel.is_set() else "error", self.result.message,
                                        self.progress.done_s, self.progress.total_s))
        if self.on_done is not None:
            self.on_done(self.result)

    def _run(self) -> PolishResult:
        from meeting_tui.session.lock import SessionLock
        from meeting_tui.session.polished import POLISH_LOCK, read_polished, recover_polished
        from meeting_tui.session.store import read_meta

        files = check_polishable(self.folder)
        meta = read_meta(self.folder)
        cfg = self.config
        name, same = self._model_name(meta)
        lock = SessionLock(self.folder)
        lock.path = self.folder / POLISH_LOCK
        if not lock.acquire():
            raise PolishError(f"Session {self.folder.name} is already being polished by another meeting-tui.")
        try:
            notes = recover_polished(self.folder)
            previous = None if cfg.restart else read_polished(self.folder)
            if previous is not None and previous.complete:
                return PolishResult(True, f"Session {self.folder.name} is already polished ({previous.describe()}); "
                                          "use --restart to polish it again.", len(previous.items), model=previous.model)
            if previous is not None and previous.start and Path(previous.model).name != Path(name).name:
                previous = None  # a different model: start over rather than mix two models' text
            return self._polish(files, meta, name, previous, notes + same)
        finally:
            lock.release(remove=True)

    def _model_name(self, meta: dict[str, Any]) -> tuple[str, list[str]]:
        """The model to polish with, and a note when it is the live one (named by the user); PolishError
        when "auto" or the settings would re-run the live model."""
        cfg, live = self.config, live_model(meta)
        server = cfg.server
        if server is not None:
            from meeting_tui.transcribe.server import url_problem

            problem = url_problem(server.url, server.allow_plain_http)
            if problem:
                raise PolishError(f"Polish on the speech server: {problem}")
            name = cfg.model if cfg.explicit_model else (server.polish_model or server.model)
        else:
            name = polish_model_for(live, cfg.model)
        problem = same_model_problem(self.folder.name, live, name, server is not None)
        if problem and not cfg.explicit_model:
            raise PolishError(problem)
        return name, ["the same model as the live transcript, so expect little gain"] if problem else []

    def _load(self, name: str) -> Any:
        if self._given_model is not None:
            return self._given_model
        if self.config.server is not None:
            from meeting_tui.meeting.polish_server import ServerPolish

            self._report(PolishProgress("loading", f"polishing on {self.config.server.host} with {name}"))
            return ServerPolish(self.config.server, name)
        from meeting_tui.transcribe.model import ModelConfig, load_model

        self._report(PolishProgress("loading", f"loading {display_name(name)}"))
        threads = self.config.cpu_threads or min(8, os.cpu_count() or 2)
        mc = ModelConfig(name=name, device=self.config.device, compute_type=self.config.compute_type,
                         beam_size=self.config.beam_size, cpu_threads=threads, bundled_fallback=False)
        return load_model(mc).model

    def _polish(self, files: dict[Source, Path], meta: dict[str, Any], name: str, previous: Any,
                notes: list[str]) -> PolishResult:
        from meeting_tui.session.journal import JOURNAL_NAME, read_journal
        from meeting_tui.session.polished import PolishedWriter
        from meeting_tui.session.recorder import SkipMap
        from meeting_tui.transcribe.audio_io import read_audio
        from meeting_tui.transcribe.filters import FilterConfig, judge
        from meeting_tui.transcribe.vocabulary import Vocabulary

        audio = {s: read_audio(p)[0] for s, p in files.items()}
        total = sum(len(a) for a in audio.values()) / SESSION_RATE
        resumed = previous is not None
        maps = {s: SkipMap(p.parent, s) for s, p in files.items()}  # file time <-> session time across sleeps
        done = {s: (len(audio[s]) / SESSION_RATE if s in previous.done else maps[s].to_file(previous.resume_at(s)))
                for s in audio} if resumed else {s: 0.0 for s in audio}
        next_id = 1 + max((seg.id for seg in previous.items), default=0) if resumed else 1
        segments = len(previous.items) if resumed else 0
        live = read_journal(self.folder / JOURNAL_NAME).segments
        model = self._load(name)
        writer = PolishedWriter(self.folder, model=name, beam_size=self.config.beam_size, sources=list(audio),
                                restart=not resumed)
        vocab = Vocabulary(self.config.vocabulary, "hotwords")
        filters = FilterConfig()
        asr_s = sum(float(r.get("asr_s", 0)) for r in previous.done.values()) if resumed else 0.0
        turns = {s: [(seg.start, seg.end, seg.text) for seg in live if seg.source == s and seg.final] for s in audio}
        kept_live = 0
        try:
            for source, samples in audio.items():
                if resumed and source in previous.done:
                    continue
                offset = done[source]
                clip = samples[int(offset * SESSION_RATE):]
                at = maps[source].to_session
                language = self._language(source, live)
                t0 = time.perf_counter()
                if len(clip) >= SESSION_RATE // 2:
                    self._report(PolishProgress("transcribing", f"{source.value}: transcribing",
                                                sum(done.values()), total, source))
                    # hotwords, not the prompt: offline decoding has no prefix, and hotwords reach every
                    # 30 s window while an initial prompt only conditions the first.
                    segs, _info = model.transcribe(clip, beam_size=self.config.beam_size, language=language,
                                                   vad_filter=True, hotwords=vocab.hotwords(),
                                                   condition_on_previous_text=True, word_timestamps=True)
                    polished = []
                    for seg in segs:
                        if self._cancel.is_set():
                            raise PolishError("polish cancelled; what was done is kept and resumes next time")
                        verdict = judge(seg.text, no_speech_prob=seg.no_speech_prob, avg_logprob=seg.avg_logprob,
                                        voiced_s=seg.end - seg.start, config=filters)
                        done[source] = offset + seg.end
                        if verdict.keep and verdict.text:  # in session time (across sleeps skipped)
                            polished.append(SimpleNamespace(
                                start=at(offset + seg.start), end=at(offset + seg.end), text=verdict.text,
                                words=[SimpleNamespace(start=at(offset + w.start), end=at(offset + w.end),
                                                       word=w.word) for w in (getattr(seg, "words", None) or [])]))
                        self._report(PolishProgress("transcribing", f"{source.value}: {done[source]:.0f} s",
                                                    sum(done.values()), total, source))
                    # on the live lines after what an earlier run wrote (a resumed polish)
                    since = maps[source].to_session(offset) if offset else float("-inf")
                    for piece in keep_turns(polished, [t for t in turns[source] if t[0] >= since]):
                        writer.segment(Segment(source, round(piece.start, 3), round(piece.end, 3), piece.text,
                                               final=True, id=next_id,
                                               extra={"polished": True} if piece.polished else
                                               {"polished": False, "kept": "live"}))
                        next_id += 1
                        segments += 1
                        kept_live += not piece.polished
                dt = time.perf_counter() - t0
                asr_s += dt
                done[source] = len(samples) / SESSION_RATE
                writer.source_done(source, len(samples) / SESSION_RATE, dt)
            writer.end(segments=segments, audio_s=round(total, 3), asr_s=round(asr_s, 3), model=name)
        finally:
            writer.close()
        where = f" on {self.config.server.host}" if self.config.server is not None else ""
        if kept_live:
            notes = [*notes, f"{kept_live} live line{'s' if kept_live > 1 else ''} kept as they were (the polish "
                             "had no text there)"]
        msg = f"Polished {self.folder.name}: {segments} segments from {total:.0f} s of audio with " \
              f"{display_name(name)}{where} in {asr_s:.0f} s" + (" (resumed)" if resumed else "") + \
              "".join(f"; {n}" for n in notes)
        self._report(PolishProgress("done", msg, total, total))
        return PolishResult(True, msg, segments, total, asr_s, name, resumed)

    def _language(self, source: Source, live: list[Segment]) -> str | None:
        """Fixed for the source, else the common one, else what the live decoding settled on."""
        cfg = self.config
        if cfg.languages.get(source):
            return cfg.languages[source]
        if cfg.language:
            return cfg.language
        seen: dict[str, int] = {}
        for seg in live:
            lang = seg.extra.get("language") if seg.source == source else None
            if lang:
                seen[lang] = seen.get(lang, 0) + 1
        if seen and sum(seen.values()) >= 3:
            best = max(seen, key=seen.__getitem__)
            if seen[best] >= 0.8 * sum(seen.values()):
                return best
        return None


def polish_offer(folder: str | os.PathLike[str], settings: Any) -> str | None:
    """The dashboard's question after Stop, or None when there is nothing to offer (the setting is off, no
    recorded audio, still recording, or it would re-run the live model)."""
    from meeting_tui.session.store import read_meta
    from meeting_tui.transcribe.config import server_config

    if not settings.transcription.polish.offer_after_stop:
        return None
    try:
        files = check_polishable(folder)
    except PolishError:
        return None
    meta = read_meta(Path(folder))
    server = server_config(settings.transcription)
    live = live_model(meta)
    name = (server.polish_model or server.model) if server is not None else \
        polish_model_for(live, settings.transcription.polish.model)
    if same_model_problem(Path(folder).name, live, name, server is not None):
        return None
    try:
        import soundfile as sf

        minutes = max(sf.info(str(p)).duration for p in files.values()) / 60
    except Exception:
        minutes = 0.0
    length = f" ({minutes:.0f} min of audio)" if minutes >= 1 else ""
    where = f" on {server.host}" if server is not None else ""
    days = settings.session.keep_audio_days
    size = sum(w.stat().st_size for w in (Path(folder) / "audio").glob("*.wav")) / 1e6
    kept = (f" Its audio{f' ({size:.0f} MB)' if size >= 1 else ''} is kept {days} days ([session] keep_audio_days)."
            if days else "")
    return (f"Polish this meeting's transcript{length} with {display_name(name)}{where}, beam "
            f"{settings.transcription.polish.beam_size}?{kept}")


def _rewrite_note(folder: Path) -> str:
    """The session's vault note rewritten with the polished text; what to add to the result's message."""
    from meeting_tui.memory.vault import VaultError, rewrite_note

    try:
        note = rewrite_note(folder)
    except VaultError as exc:
        return f"; {exc}"
    return f"; note rewritten: {note}" if note else ""
