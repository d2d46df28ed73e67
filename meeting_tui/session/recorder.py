"""Optional audio recording: one WAV file per source (and the mix), aligned to the session clock.

Why WAV and not FLAC: libsndfile writes a FLAC file's length only on close, and cannot read a FLAC file
whose writer was killed. A WAV file's header is rewritten every few seconds here (closing and reopening
the file in read-write mode, public soundfile API only), so a killed app loses at most those seconds
for strict readers; ``repair_audio`` (run by recovery) restores the rest from the file length.
Writing happens on a thread so the engine's listener callbacks stay cheap.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from meeting_tui import paths
from meeting_tui.types import SESSION_RATE, AudioChunk, Source

_STOP = object()
_MAX_PAD_S = 6 * 3600  # a jump further than this on the session clock is a bug upstream: don't fill disks


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
        self._written = dict.fromkeys(self.files, 0)  # frames per file, i.e. the session clock position
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
        if pad > 0:  # a gap on the session clock: keep the file aligned with silence
            pad = min(pad, _MAX_PAD_S * self.rate)
            for offset in range(0, pad, self.rate):
                handle.write(np.zeros(min(self.rate, pad - offset), dtype=np.float32))
            self._written[source] += pad
        elif pad < 0:  # overlap with what is already written: keep the first copy
            samples = samples[-pad:]
        if len(samples):
            handle.write(samples)
            self._written[source] += len(samples)

    def _rewrite_headers(self) -> None:
        # Closing makes libsndfile write the true length into the header; reopen to append.
        for source, handle in list(self._handles.items()):
            handle.close()
            reopened = sf.SoundFile(self.files[source], "r+")
            reopened.seek(0, sf.SEEK_END)
            self._handles[source] = reopened


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
