"""A real local HTTP server that speaks the OpenAI API and streams the text a test chooses.

It serves ``GET /v1/models`` (with the context length, as vLLM and newer Ollama report it) and
``POST /v1/completions`` and ``/v1/chat/completions`` as server-sent events ending in ``data: [DONE]``,
honouring ``max_tokens`` (one token per piece of the scripted backend's tokenizer) and ``stop``, with a usage
chunk at the end. Replies come from the same reply functions as the scripted backend's (for example a
:class:`~longwriter_desktop.testing.prose.ProseModel` that writes Russian), so the OpenAI backend, the writer
and the stats are tested over real HTTP, on any machine.

Like the scripted backend, it refuses to start unless ``LONGWRITER_SCRIPTED_BACKEND=1`` is set, and it binds
only to the loopback interface.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..engine.backend import GenerationRequest
from .scripted import ScriptedCall, _require_enabled, split_pieces


class ScriptedOpenAIServer(ThreadingHTTPServer):
    """Serves ``reply(call)`` for every completion request; use as a context manager."""

    daemon_threads = True

    def __init__(self, reply: Callable[[ScriptedCall], str], *, model: str = "scripted-model",
                 n_ctx: int = 32768, owned_by: str = "scripted") -> None:
        _require_enabled()
        self.reply = reply
        self.model = model
        self.n_ctx = n_ctx
        self.owned_by = owned_by
        self.calls: list[ScriptedCall] = []
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def start(self) -> ScriptedOpenAIServer:
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="scripted-openai",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def pieces(self, text: str) -> list[str]:
        return split_pieces(text)


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedOpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            entry = {"id": self.server.model, "object": "model", "owned_by": self.server.owned_by,
                     "max_model_len": self.server.n_ctx}
            self._json(200, {"object": "list", "data": [entry]})
        else:
            self._json(404, {"error": {"code": 404, "message": "File Not Found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        payload = json.loads(self.rfile.read(length) or b"{}")
        chat = self.path.rstrip("/") == "/v1/chat/completions"
        if self.path.rstrip("/") not in ("/v1/completions", "/v1/chat/completions"):
            self._json(404, {"error": {"code": 404, "message": "File Not Found"}})
            return
        prompt = (payload.get("messages") or [{}])[-1].get("content", "") if chat else payload.get("prompt", "")
        stops = [s for s in payload.get("stop") or [] if s]
        request = GenerationRequest(prompt=str(prompt), max_tokens=int(payload.get("max_tokens") or 16),
                                    stop=stops, grammar=payload.get("grammar"))
        call = ScriptedCall(request=request, prompt_text=str(prompt))
        with self.server._lock:
            self.server.calls.append(call)
        reply = self.server.reply(call)
        for stop in stops:
            if stop in reply:
                reply = reply[: reply.index(stop)]
        pieces = self.server.pieces(reply)
        finish = "stop"
        if len(pieces) > request.max_tokens:
            pieces, finish = pieces[: request.max_tokens], "length"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        prompt_tokens = len(self.server.pieces(str(prompt)))
        try:
            for piece in pieces:
                call.reply += piece
                choice = {"index": 0, "delta": {"content": piece}} if chat else {"index": 0, "text": piece}
                self._event({"object": "text_completion", "model": self.server.model,
                             "choices": [{**choice, "finish_reason": None}]})
            last = {"index": 0, "delta": {}} if chat else {"index": 0, "text": ""}
            self._event({"object": "text_completion", "model": self.server.model,
                         "choices": [{**last, "finish_reason": finish}]})
            self._event({"object": "text_completion", "model": self.server.model, "choices": [],
                         "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(pieces),
                                   "total_tokens": prompt_tokens + len(pieces)}})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (the writer stops a section at its length)

    def _event(self, data: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n\n")
        self.wfile.flush()
