"""The ``[minutes]`` section of the settings file: which engine makes the minutes and how to reach it.

Kept apart from ``settings.py`` so that file stays small; ``Settings`` holds one. Keys never go here:
``api_key_env`` names the environment variable that holds one (else the OS keyring has it)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MinutesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    engine: Literal["rules", "openai", "local"] = "rules"  # rules: no language model (docs/minutes.md)
    endpoint: str = "http://localhost:11434/v1"  # engine "openai": the API's base URL (Ollama's here)
    model: str = ""  # engine "openai": the model name it serves (e.g. "qwen2.5:1.5b")
    api_key_env: str = "OPENAI_API_KEY"  # the variable holding the endpoint's key; else the OS keyring
    timeout_s: float = Field(120.0, gt=0.0, le=3600.0)  # one answer from the endpoint
    model_file: str = ""  # engine "local": a GGUF file, a CTranslate2 folder, or hf:OWNER/REPO/FILE.gguf
    context_tokens: int = Field(4096, ge=512, le=131072)  # the transcript is split to fit this
    threads: int = Field(0, ge=0, le=256)  # engine "local": 0 = every core
