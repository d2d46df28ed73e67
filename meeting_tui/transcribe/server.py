"""Transcription on a speech server: an OpenAI-compatible ``/v1/audio/transcriptions`` endpoint (speaches,
faster-whisper-server, vLLM, LocalAI, whisper.cpp's server, hosted APIs).

``RemoteWhisper`` answers ``transcribe(audio, **options)`` as faster-whisper's ``WhisperModel`` does, so the
live decoder, polish and ``transcribe`` use it unchanged: each utterance goes up as a WAV file with the
prompt (the source's previous line and the vocabulary) and the language; its segments come back.

``FailoverWhisper`` keeps the meeting going when the server is slow, refuses, answers garbage or goes away:
the utterance is decoded on this machine when a local model is loaded, or it waits, and is retried with
backoff until the server answers. Either way no utterance is skipped and the transcriber's queue keeps the
order. The user is told once when the server goes and once when it comes back.

The API key comes from the environment (``[transcription.server] api_key_env``) or the OS keyring (service
``meeting-tui``, user = the server URL), never from a file we write.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable
from urllib.parse import urlsplit

import numpy as np

log = logging.getLogger("meeting_tui.transcribe")

KEYRING_SERVICE = "meeting-tui"
RETRY_AFTER_S = (1.0, 2.0, 4.0, 5.0)  # while nobody can decode an utterance: the server is asked again
PROBE_EVERY_S = 5.0  # while a local model stands in: how often the server is tried again
PARTIAL_RTT_S = 0.5  # partials go to the server only while its round trip is below this


class ServerError(RuntimeError):
    """The server did not give a usable answer (unreachable, timed out, refused, garbage)."""


@dataclass(frozen=True)
class ServerConfig:
    url: str  # the API base, e.g. http://localhost:8000/v1 (".../audio/transcriptions" is added)
    model: str = "whisper-1"
    api_key_env: str = "MEETING_TUI_SERVER_KEY"
    timeout_s: float = 15.0
    allow_plain_http: bool = False
    local_fallback: bool = True
    polish_model: str = ""  # what `polish` asks the server for; empty: ``model``

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/audio/transcriptions") else base + "/audio/transcriptions"

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc or self.url


def url_problem(url: str, allow_plain_http: bool = False) -> str | None:
    """Why ``url`` must not be used (with the fix), or None. Plain http is for this machine or the local
    network only: elsewhere audio of the meeting would cross the internet unencrypted."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return (f"[transcription.server] url {url!r} is not an http(s) URL; write it as "
                "https://host:port/v1 (an OpenAI-compatible API base)")
    if parts.scheme == "http" and not allow_plain_http and not _is_local(parts.hostname):
        return (f"[transcription.server] url {url!r} would send the meeting's audio unencrypted to "
                f"{parts.hostname}; use https, or set allow_plain_http = true if that network is yours")
    return None


def _is_local(host: str) -> bool:
    if host in ("localhost",) or host.endswith(".local"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local


def api_key(config: ServerConfig) -> str | None:
    value = os.environ.get(config.api_key_env) if config.api_key_env else None
    if value:
        return value
    try:
        import keyring  # optional: the OS keyring, where the user keeps the key
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, config.url) or None
    except Exception:  # no keyring backend on this machine
        return None


def wav_bytes(audio: np.ndarray, rate: int = 16000) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.asarray(audio, dtype=np.float32), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


class RemoteWhisper:
    """One server, asked as faster-whisper's ``WhisperModel.transcribe`` is."""

    english_only = False

    def __init__(self, config: ServerConfig, session: Any = None) -> None:
        import requests

        self.config = config
        self._session = session or requests.Session()  # keep-alive: one TLS handshake per meeting
        key = api_key(config)
        if key:
            self._session.headers["Authorization"] = f"Bearer {key}"

    def encode(self, features: Any) -> Any:  # transcribe.window wraps this; nothing is encoded here
        return features

    def transcribe(self, audio: np.ndarray, *, language: str | None = None, initial_prompt: str | None = None,
                   prefix: str | None = None, temperature: Any = 0.0, hotwords: str | None = None,
                   timeout_s: float | None = None, **_ignored: Any) -> tuple[list[Any], Any]:
        import requests

        prompt = " ".join(p for p in (hotwords, initial_prompt, prefix) if p) or None
        data: dict[str, Any] = {"model": self.config.model, "response_format": "verbose_json"}
        if language:
            data["language"] = language
        if prompt:
            data["prompt"] = prompt
        temp = temperature[0] if isinstance(temperature, (list, tuple)) and temperature else temperature
        if isinstance(temp, (int, float)):
            data["temperature"] = str(float(temp))
        files = {"file": ("utterance.wav", wav_bytes(audio), "audio/wav")}
        try:
            resp = self._session.post(self.config.endpoint, data=data, files=files,
                                      timeout=timeout_s or self.config.timeout_s)
        except requests.RequestException as exc:
            raise ServerError(f"{self.config.host} did not answer ({type(exc).__name__})") from exc
        if resp.status_code in (401, 403):
            raise ServerError(f"{self.config.host} refused the key (HTTP {resp.status_code}): set "
                              f"{self.config.api_key_env} or store the key in the OS keyring")
        if resp.status_code != 200:
            raise ServerError(f"{self.config.host} answered HTTP {resp.status_code}")
        try:
            body = resp.json()
            return self._segments(body, len(audio) / 16000)
        except (ValueError, TypeError, KeyError) as exc:
            raise ServerError(f"{self.config.host} answered something that is not a transcription") from exc

    @staticmethod
    def _segments(body: dict, duration: float) -> tuple[list[Any], Any]:
        if not isinstance(body, dict) or not isinstance(body.get("text", ""), str):
            raise ValueError("no text")
        raw = body.get("segments")
        if raw is None:  # the plain "json" form: one piece of text
            raw = [{"start": 0.0, "end": duration, "text": body["text"]}] if body["text"].strip() else []
        segments = [SimpleNamespace(start=float(s.get("start", 0.0)), end=float(s.get("end", duration)),
                                    text=str(s["text"]), avg_logprob=float(s.get("avg_logprob", -0.2)),
                                    no_speech_prob=float(s.get("no_speech_prob", 0.0)),
                                    compression_ratio=float(s.get("compression_ratio", 1.0)), words=None,
                                    # servers send token ids in verbose_json; where not, the words weigh the
                                    # segment in the line's confidence instead
                                    tokens=list(s.get("tokens") or str(s["text"]).split()))
                    for s in raw]
        language = body.get("language")
        info = SimpleNamespace(language=language, language_probability=1.0 if language else 0.0, duration=duration)
        return segments, info


@dataclass
class ServerHealth:
    """What the status line and the notices say about the server."""

    up: bool = True
    rtt_s: float | None = None  # recent round trip of a final (EWMA)
    sent: int = 0
    failed: int = 0
    local_decodes: int = 0  # utterances a local model decoded while the server was away
    waits: int = 0  # utterances that waited for the server (no local model)
    history: list[tuple[float, str]] = field(default_factory=list)  # (time, "down"/"up")


class FailoverWhisper:
    """The server first; a local model (if any) while it is away; otherwise wait and retry, in order."""

    def __init__(self, remote: RemoteWhisper, local: Any = None,
                 on_change: Callable[[str, str], None] | None = None, *,
                 retry_after_s: tuple[float, ...] = RETRY_AFTER_S, probe_every_s: float = PROBE_EVERY_S) -> None:
        self.remote, self.local = remote, local
        self.on_change = on_change or (lambda text, severity: None)
        self.retry_after_s, self.probe_every_s = retry_after_s, probe_every_s
        self.health = ServerHealth()
        self._next_probe = 0.0
        self._lock = threading.Lock()
        self.english_only = bool(getattr(local, "english_only", False))

    def encode(self, features: Any) -> Any:
        return features

    def transcribe(self, audio: np.ndarray, **options: Any) -> tuple[list[Any], Any]:
        partial = "max_new_tokens" in options  # the live decoder caps partials' tokens, never finals'
        if partial:
            return self._partial(audio, options)
        attempt = 0
        while True:
            if self.health.up or time.monotonic() >= self._next_probe or self.local is None:
                try:
                    return self._remote(audio, options)
                except ServerError as exc:
                    self._went_down(str(exc))
            if self.local is not None:
                self.health.local_decodes += 1
                return self.local.transcribe(audio, **options)
            self.health.waits += 1 if attempt == 0 else 0
            time.sleep(self.retry_after_s[min(attempt, len(self.retry_after_s) - 1)])
            attempt += 1

    def _partial(self, audio: np.ndarray, options: dict) -> tuple[list[Any], Any]:
        h = self.health
        if h.up and h.rtt_s is not None and h.rtt_s < PARTIAL_RTT_S:
            try:
                return self._remote(audio, options, timeout_s=2 * PARTIAL_RTT_S)
            except ServerError:
                pass  # a partial is only a preview: the final will ask again
        elif self.local is not None and not h.up:
            return self.local.transcribe(audio, **options)
        return [], SimpleNamespace(language=None, language_probability=0.0, duration=len(audio) / 16000)

    def _remote(self, audio: np.ndarray, options: dict, timeout_s: float | None = None) -> tuple[list[Any], Any]:
        t0 = time.perf_counter()
        out = self.remote.transcribe(audio, timeout_s=timeout_s, **options)
        dt = time.perf_counter() - t0
        with self._lock:
            h = self.health
            h.sent += 1
            h.rtt_s = dt if h.rtt_s is None else 0.7 * h.rtt_s + 0.3 * dt
            if not h.up:
                h.up = True
                h.history.append((time.monotonic(), "up"))
                self.on_change(f"the speech server {self.remote.config.host} is back (round trip {dt:.2f} s); "
                               "what waited is being sent in order", "information")
        return out

    def _went_down(self, reason: str) -> None:
        with self._lock:
            h = self.health
            h.failed += 1
            self._next_probe = time.monotonic() + self.probe_every_s
            if not h.up:
                return
            h.up = False
            h.history.append((time.monotonic(), "down"))
        then = ("transcribing on this machine until it is back" if self.local is not None
                else "the meeting is kept and transcribed when it is back")
        self.on_change(f"the speech server is unreachable: {reason}; {then}", "warning")
