"""An OpenAI-compatible chat server for the minutes tests, run as its own process on localhost:
``GET /v1/models`` and ``POST /v1/chat/completions``, answered by a real model on the CPU (the local
engine's CTranslate2 runtime and a GGUF file), or with a fixed answer (``--answer FILE``) where a test
needs to know what the model says. It prints ``listening on PORT`` once it accepts connections.

No OpenAI-compatible server installs from PyPI without a compiler here (llama-cpp-python's server is a
source package; llama-cpp-py-sync's Linux wheels need glibc 2.38), so the tests bring this one.

    python tests/support/openai_server.py --model FILE.gguf | --answer FILE | --first-line
                                  [--key SECRET] [--delay S] [--no-json-mode] [--log FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--model", help="a GGUF file or CTranslate2 folder")
    p.add_argument("--answer", help="answer every chat with this file's text")
    p.add_argument("--first-line", action="store_true",
                   help="answer each chat with the first transcript line it was given, as a decision")
    p.add_argument("--name", default="smollm2", help="the model name served")
    p.add_argument("--key", help="require this bearer key")
    p.add_argument("--delay", type=float, default=0.0, help="wait this long before each chat answer")
    p.add_argument("--no-json-mode", action="store_true", help="refuse response_format (HTTP 400)")
    p.add_argument("--log", help="append each chat request's JSON body (and its auth header) here")
    args = p.parse_args()
    engine = None
    if args.model:
        from meeting_tui.minutes.llm_local import LocalEngine, resolve_model

        engine = LocalEngine(resolve_model(args.model), threads=2, context_tokens=8192)
        engine.prepare(lambda fraction, text: None)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a) -> None:
            pass

        def _send(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            if args.key and self.headers.get("Authorization") != f"Bearer {args.key}":
                self._send(401, {"error": {"message": "invalid api key"}})
                return False
            return True

        def do_GET(self) -> None:
            if not self._authorised():
                return
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": args.name, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            if not self._authorised():
                return
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": "not found"}})
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if args.log:
                with lock, open(args.log, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"auth": self.headers.get("Authorization"), "body": body}) + "\n")
            if body.get("model") != args.name:
                self._send(404, {"error": {"message": f"model {body.get('model')!r} not found"}})
                return
            if args.no_json_mode and "response_format" in body:
                self._send(400, {"error": {"message": "response_format is not supported"}})
                return
            time.sleep(args.delay)
            if args.answer:
                content = Path(args.answer).read_text(encoding="utf-8")
            elif args.first_line:
                import re

                m = re.search(r"^\[(\d+)\] \S+ [^:]+: (.*)$", body["messages"][-1]["content"], re.M)
                items = [{"kind": "decisions", "line": int(m.group(1)), "text": m.group(2)}] if m else []
                content = json.dumps({"summary": "A part of the meeting.", "items": items})
            else:
                with lock:
                    content = engine.chat(body["messages"], int(body.get("max_tokens") or 256), lambda: False)
            self._send(200, {"id": "chatcmpl-1", "object": "chat.completion", "model": args.name,
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": content}}]})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
