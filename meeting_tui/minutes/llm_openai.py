"""Minutes from any OpenAI-compatible chat endpoint: Ollama, LM Studio, llama-server, vLLM, a hosted API.

``[minutes] endpoint`` is the API's base URL (``.../v1``), ``model`` the name it serves, ``timeout_s`` how
long one answer may take; the key (if the endpoint needs one) comes from the variable ``api_key_env`` names,
else from the OS keyring (``keyring``, service "meeting-tui", user = the endpoint URL), never from a file.
One POST per part to ``/chat/completions`` (temperature 0, a JSON answer asked for; a server that refuses
JSON mode is asked again without it).
"""

from __future__ import annotations

import os
from typing import Any, Callable

import requests

from meeting_tui.minutes.errors import MinutesError
from meeting_tui.minutes.llm import ChatEngine, Progress

KEYRING_SERVICE = "meeting-tui"
PROBE_TIMEOUT_S = 10.0


def api_key(env_name: str, endpoint: str) -> str | None:
    key = os.environ.get(env_name) if env_name else None
    if key:
        return key
    try:
        import keyring  # optional (the server extra): the OS keyring, where the user keeps the key
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, endpoint) or None
    except Exception:  # no keyring backend on this machine
        return None


class OpenAIEngine(ChatEngine):
    name = "openai"

    def __init__(self, endpoint: str, model: str, *, key: str | None = None, timeout_s: float = 120.0,
                 context_tokens: int = 4096) -> None:
        super().__init__()
        self.endpoint = endpoint.rstrip("/")
        self.model = model
        self.key = key
        self.timeout_s = timeout_s
        self.context_tokens = context_tokens
        self._json_mode = True  # response_format json_object, dropped if the server refuses it
        self._http = requests.Session()

    @classmethod
    def from_settings(cls, cfg: Any) -> OpenAIEngine:
        """Checked before any work: the URL, the model name, and that the endpoint answers (GET /models)."""
        if not cfg.endpoint.startswith(("http://", "https://")):
            raise MinutesError(f'[minutes] endpoint "{cfg.endpoint}" is not an http(s) URL: set it to the API\'s '
                               'base URL, e.g. "http://localhost:11434/v1" (Ollama)')
        if not cfg.model:
            raise MinutesError("[minutes] model is empty: set it to the name of a model the endpoint serves "
                               f'(e.g. "qwen2.5:1.5b" for Ollama; {cfg.endpoint.rstrip("/")}/models lists them)')
        engine = cls(cfg.endpoint, cfg.model, key=api_key(cfg.api_key_env, cfg.endpoint), timeout_s=cfg.timeout_s,
                     context_tokens=cfg.context_tokens)
        engine.probe()
        return engine

    def _request(self, path: str, body: dict | None, timeout: float) -> dict:
        url = f"{self.endpoint}{path}"
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        try:
            if body is None:
                resp = self._http.get(url, headers=headers, timeout=timeout)
            else:
                resp = self._http.post(url, json=body, headers=headers, timeout=timeout)
        except requests.Timeout as exc:
            raise MinutesError(f"the minutes endpoint {url} did not answer within {timeout:.0f} s: a slow model needs "
                               "a larger [minutes] timeout_s (or a smaller model)") from exc
        except requests.RequestException as exc:
            raise MinutesError(f"cannot reach the minutes endpoint {url} ({type(exc).__name__}): start the server "
                               "(e.g. `ollama serve`) or fix [minutes] endpoint") from exc
        if resp.status_code != 200:
            raise _http_error(url, resp.status_code, resp.text[:300], self.model)
        try:
            return resp.json()
        except ValueError as exc:
            raise MinutesError(f"the minutes endpoint {url} did not answer with JSON: is it an OpenAI-compatible "
                               "API's base URL (ending in /v1)?") from exc

    def probe(self) -> None:
        self._request("/models", None, min(PROBE_TIMEOUT_S, self.timeout_s))

    def chat(self, messages: list[dict[str, str]], max_tokens: int, cancelled: Callable[[], bool]) -> str:
        body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": 0, "max_tokens": max_tokens,
                                "stream": False}
        if self._json_mode:
            body["response_format"] = {"type": "json_object"}
        try:
            reply = self._request("/chat/completions", body, self.timeout_s)
        except MinutesError as exc:
            if self._json_mode and "HTTP 400" in str(exc):  # a server without JSON mode: ask in plain text
                self._json_mode = False
                return self.chat(messages, max_tokens, cancelled)
            raise
        try:
            return str(reply["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError) as exc:
            raise MinutesError(f"the minutes endpoint {self.endpoint} answered without a chat message: is it "
                               "OpenAI-compatible?") from exc

    def prepare(self, progress: Progress) -> None:
        progress(0.0, f"asking {self.model} at {self.endpoint}")


def _http_error(url: str, code: int, detail: str, model: str) -> MinutesError:
    if code in (401, 403):
        return MinutesError(f"the minutes endpoint {url} refused the request (HTTP {code}): put its key in the "
                            "variable [minutes] api_key_env names, or in the OS keyring")
    if code == 404:
        return MinutesError(f"the minutes endpoint {url} answered HTTP 404: check [minutes] endpoint (the base URL, "
                            f'ending in /v1) and model ("{model}")')
    return MinutesError(f"the minutes endpoint {url} answered HTTP {code}: {' '.join(detail.split()) or 'no detail'}")
