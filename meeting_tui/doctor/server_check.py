"""`meeting-tui doctor` on the speech server of ``[transcription] engine = "server"``: is it reachable, does
it list the model, and how long does 3 s of speech take there (the round trip a live line pays)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ServerCheck:
    url: str
    ok: bool = False
    round_trip_s: float | None = None
    text: str = ""
    model_listed: bool | None = None  # None: the server does not list its models (GET /models)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"url": self.url, "ok": self.ok, "round_trip_s": self.round_trip_s, "text": self.text,
                "model_listed": self.model_listed, "problems": self.problems}

    def format(self) -> str:
        head = "[server]" + ("" if self.ok else " FAILED") + f" {self.url}"
        lines = [head]
        if self.round_trip_s is not None:
            lines.append(f"    3 s of speech in {self.round_trip_s:.2f} s: {self.text.strip()!r}")
        if self.model_listed is False:
            lines.append("    the model is not among those the server lists")
        lines += [f"    error: {p}" for p in self.problems]
        return "\n".join(lines)


def check_server(server: Any, speech: Any) -> ServerCheck:
    """``server``: a transcribe.server.ServerConfig; ``speech``: 16 kHz float32 samples to send."""
    from meeting_tui.transcribe.server import RemoteWhisper, ServerError, url_problem

    out = ServerCheck(server.url)
    problem = url_problem(server.url, server.allow_plain_http)
    if problem:
        out.problems.append(problem)
        return out
    remote = RemoteWhisper(server)
    try:
        resp = remote._session.get(server.url.rstrip("/") + "/models", timeout=server.timeout_s)
        if resp.status_code == 200:
            listed = [m.get("id") for m in resp.json().get("data", []) if isinstance(m, dict)]
            out.model_listed = server.model in listed
    except Exception:  # not every server lists its models; the transcription below decides
        pass
    t0 = time.perf_counter()
    try:
        segments, _ = remote.transcribe(speech[: 3 * 16000], language="en")
    except ServerError as exc:
        out.problems.append(str(exc))
        return out
    out.round_trip_s = round(time.perf_counter() - t0, 3)
    out.text = " ".join(s.text.strip() for s in segments)
    out.ok = bool(out.text) and out.model_listed is not False
    if not out.text:
        out.problems.append("the server answered, but heard no words in 3 s of speech: check its model")
    return out
