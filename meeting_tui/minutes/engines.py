"""Which engine makes the minutes: ``[minutes] engine`` in the settings, or ``--engine``.

- ``rules``: the deterministic extractor (``rules.py``, always there): ``None`` here.
- ``openai``: any OpenAI-compatible chat endpoint (``llm_openai.py``).
- ``local``: a GGUF model on the CPU through CTranslate2 (``llm_local.py``, the ``llm`` extra).
"""

from __future__ import annotations

from typing import Any

from meeting_tui.minutes.errors import MinutesError

ENGINES = ("rules", "openai", "local")


def engine_from_settings(cfg: Any, override: str | None = None):
    """The engine ``[minutes]`` (``cfg``) names, checked before any work (a missing model file, an endpoint that
    does not answer: MinutesError); None for the rule-based extractor."""
    name = override or cfg.engine
    if name == "rules":
        return None
    if name == "openai":
        from meeting_tui.minutes.llm_openai import OpenAIEngine

        return OpenAIEngine.from_settings(cfg)
    if name == "local":
        from meeting_tui.minutes.llm_local import LocalEngine

        return LocalEngine.from_settings(cfg)
    raise MinutesError(f'unknown minutes engine "{name}": use one of {", ".join(ENGINES)}')
