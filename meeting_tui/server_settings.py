"""The ``[transcription.server]`` section: a speech server to transcribe on (transcribe/server.py).

Kept apart from ``settings.py`` so that file stays small. No key here: it is read from the environment
variable named by ``api_key_env`` or from the OS keyring, never from a file we write."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    url: str = ""  # an OpenAI-compatible API base, e.g. "https://speech.example.com/v1"
    model: str = Field("whisper-1", min_length=1)  # the model name the server knows
    polish_model: str = ""  # the (bigger) server model `polish` asks for; empty: ``model``
    api_key_env: str = "MEETING_TUI_SERVER_KEY"  # the environment variable holding the key (or the OS keyring)
    timeout_s: float = Field(15.0, gt=0.0, le=300.0)
    allow_plain_http: bool = False  # http:// to another machine than this one or the local network
    local_fallback: bool = True  # while the server is away, transcribe with the local model
