"""Optional audio recording: one WAV file per source (and the mix), aligned to the session clock.

Why WAV and not FLAC: libsndfile writes a FLAC file's length only on close, and cannot read a FLAC file
whose writer was killed. A WAV file's header is rewritten every few seconds here (closing and reopening
the file in read-write mode, public soundfile API only), so a killed app loses at most those seconds
for strict readers; ``repair_audio`` (run by recovery) restores the rest from the file length.
Writing happens on a thread so the engine's listener callbacks stay cheap.

Holes on the session clock are written as silence, so a file's time is the session's time; a hole of
``SKIP_GAP_S`` or more (the machine slept) is skipped instead and noted in ``skips.json`` beside the files,
which ``session_time`` reads to map a file position back to the session clock.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from meeting_tui import paths
from meeting_tui.types import SESSION_RATE, SKIP_GAP_S, AudioChunk, Source

_STOP = object()
SKIPS_FILE = "skips.json"
# An antivirus scanner or the search indexer may hold a WAV file for a moment when the header is
# rewritten (a sharing violation on Windows): the reopen is retried before recording gives up.
_REOPEN_TRIES = 8
_REOPEN_WAIT_S = 0.05


class AudioRecorder:
    def __init__(
        self,
        folder: str | os.PathLike[str],
        sources: Iterable[Source],
        *,
        rate: int = SESSION_RATE,
        header_every_s: float = 2.0,
        subtype: str = "PCM_16",
    ) -> None:
        self.folder = paths.private_dir(folder)
        self.rate = rate
        self.header_every_s = header_every_s
        self.files: dict[Source, Path] = {Source(s): self.folder / f"{Source(s).value}.wav" for s in sources}
        self.error: str | None = None  # set when writing failed; the transcript is unaffected
        self._subtype = subtype
        self._written = dict.fromkeys(self.files, 0)  # the session clock position each file has reached
        self._file_frames = dict.fromkeys(self.files, 0)  # frames in each file (less than _written after a skip)
        self.skips: list[dict] = []
        self._handles: dict[Source, sf.SoundFile] = {}
        for source, path in self.files.items():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, paths.FILE_MODE))  # private from birth
            self._handles[source] = sf.SoundFile(path, "w", samplerate=rate, channels=1, format="WAV", subtype=subtype)
            paths.make_private(path)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="audio-recorder", daemon=True)
        self._thread.start()

    def write(self, chunk: AudioChunk) -> None:
        """Queue a chunk (any thread). Chunks of sources not recorded are ignored."""
        if chunk.source in self.files and self.error is None:
            self._queue.put((chunk.source, chunk.start, np.array(chunk.samples, dtype=np.float32, copy=True)))

    # Engine listener names, so a recorder can be added to the engine directly.
    on_audio = write
    on_mix = write

    def close(self) -> None:
        """Write what is queued, finalize the headers. Idempotent."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        for handle in self._handles.values():
            with contextlib.suppress(Exception):
                handle.close()

    def frames(self, source: Source) -> int:
        return self._written[source]

    def _run(self) -> None:
        last_header = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=self.header_every_s)
            except queue.Empty:
                item = None
            if item is _STOP:
                return
            try:
                if item is not None:
                    self._write(*item)
                if time.monotonic() - last_header >= self.header_every_s:
                    self._rewrite_headers()
                    last_header = time.monotonic()
            except Exception as exc:  # disk full, folder removed: stop recording, keep the session going
                self.error = f"audio recording stopped: {exc}"
                return

    def _write(self, source: Source, start: int, samples: np.ndarray) -> None:
        handle = self._handles[source]
        pad = start - self._written[source]
        if pad >= SKIP_GAP_S * self.rate:  # the machine slept: note the jump instead of filling the disk
            self.skips.append({"source": source.value, "file_s": self._file_frames[source] / self.rate,
                               "session_s": start / self.rate})
            paths.atomic_write(self.folder / SKIPS_FILE, json.dumps(self.skips, indent=1))
            self._written[source] = start
        elif pad > 0:  # a gap on the session clock: keep the file aligned with silence
            for offset in range(0, pad, self.rate):
                handle.write(np.zeros(min(self.rate, pad - offset), dtype=np.float32))
            self._written[source] += pad
            self._file_frames[source] += pad
        elif pad < 0:  # overlap with what is already written: keep the first copy
            samples = samples[-pad:]
        if len(samples):
            handle.write(samples)
            self._written[source] += len(samples)
            self._file_frames[source] += len(samples)

    def _rewrite_headers(self) -> None:
        # Closing makes libsndfile write the true length into the header; reopen to append.
        for source, handle in list(self._handles.items()):
            handle.close()
            self._handles[source] = _reopen_for_append(self.files[source])


def _reopen_for_append(path: Path) -> sf.SoundFile:
    for attempt in range(_REOPEN_TRIES):
        try:
            handle = sf.SoundFile(path, "r+")
            break
        except (OSError, RuntimeError):  # libsndfile reports a sharing violation as its own error
            if attempt == _REOPEN_TRIES - 1:
                raise
            time.sleep(_REOPEN_WAIT_S * (attempt + 1))
    handle.seek(0, sf.SEEK_END)
    return handle


class SkipMap:
    """Maps positions in one source's WAV file to the session clock and back, across skipped sleeps."""

    def __init__(self, folder: str | os.PathLike[str], source: Source) -> None:
        try:
            skips = json.loads((Path(folder) / SKIPS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            skips = []
        name = Source(source).value
        self._skips = sorted((float(k["file_s"]), float(k["session_s"])) for k in skips if k.get("source") == name)

    def to_session(self, file_s: float) -> float:
        shift = 0.0
        for at, session_s in self._skips:
            if file_s >= at:
                shift = session_s - at
        return file_s + shift

    def to_file(self, session_s: float) -> float:
        shift = 0.0
        for at, skipped_to in self._skips:
            if session_s >= skipped_to:
                shift = skipped_to - at
        return session_s - shift


def repair_audio(folder: str | os.PathLike[str]) -> list[str]:
    """Fix the headers of WAV files left by a killed recorder; returns a problem note per unreadable file."""
    notes = []
    for path in sorted(Path(folder).glob("*.wav")):
        try:
            with sf.SoundFile(path, "r+") as handle:  # libsndfile recomputes the length from the file size
                handle.seek(0, sf.SEEK_END)
        except Exception as exc:
            notes.append(f"{path.name}: {exc}")
    return notes
