"""OpenAIBackend against a real llama-cpp-python server on 127.0.0.1 running the built-in model.

A small stdlib HTTP server stands in for a server that goes silent (a long prompt evaluation, a hung
box), which the real one cannot be made to do on demand.
"""

from __future__ import annotations

import http.server
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from longwriter_desktop.engine.backend import (
    Backend,
    Delta,
    Finish,
    FinishReason,
    GenerationRequest,
    Sampling,
)
from longwriter_desktop.engine.openai_backend import OpenAIBackend, ServerError
from longwriter_desktop.engine.prompts import Family, format_for
from longwriter_desktop.engine.server_dialects import CHAT_PROMPT_FORMAT, ServerKind, estimate_tokens
from longwriter_desktop.engine.server_transport import SseParser, parse_base_url
from longwriter_desktop.errors import InputError
from tests.llama_servers import API_KEY, LlamaServer, free_port, start_llama_server

CHATML = format_for(Family.CHATML)
GREEDY = Sampling(temperature=0.0, top_k=1, seed=7)


# --- a real server in a subprocess (the llama_server and keyed_server fixtures: tests/conftest.py) ---------


@pytest.fixture
def backend(llama_server: LlamaServer) -> Iterator[OpenAIBackend]:
    connected = OpenAIBackend(llama_server.url)
    yield connected
    connected.close()


def chatml_prompt(question: str) -> str:
    return CHATML.render(question, system="You are a helpful assistant.")


def run(backend: OpenAIBackend, request: GenerationRequest) -> tuple[str, Finish]:
    events = list(backend.generate(request))
    finish = events[-1]
    assert isinstance(finish, Finish)
    assert all(isinstance(event, Delta) for event in events[:-1])
    return "".join(event.text for event in events[:-1] if isinstance(event, Delta)), finish


def _get(url: str) -> None:
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()


# --- talking to the real server --------------------------------------------------------------------------


def test_connects_and_describes_the_server(backend: OpenAIBackend, builtin_gguf: Path) -> None:
    assert isinstance(backend, Backend)
    assert backend.kind is ServerKind.LLAMA_CPP_PYTHON
    assert backend.model == str(builtin_gguf)  # the default model is the first one the server lists
    assert backend.tokenizes is False
    assert backend.supports_grammar is True
    assert backend.prompt_format.family is Family.CHATML  # guessed from the served model's name
    assert backend.info.name == "openai"
    assert backend.info.model == str(builtin_gguf)
    assert backend.info.device.startswith(f"server {backend.url}")
    assert backend.bos_tokens() == []


def test_streams_a_completion_with_a_chatml_prompt(backend: OpenAIBackend) -> None:
    prompt = chatml_prompt("Write two sentences about a lighthouse.")
    text, finish = run(
        backend, GenerationRequest(prompt=prompt, max_tokens=24, sampling=GREEDY, stop=list(CHATML.stops))
    )
    assert text.strip()
    assert "<|im_end|>" not in text
    assert finish.reason in (FinishReason.STOP, FinishReason.LENGTH)
    assert 1 <= finish.completion_tokens <= 24
    # The server does not send usage, so the prompt is counted with its own tokenizer.
    assert finish.prompt_tokens == backend.count_tokens(prompt)
    assert finish.prompt_tokens_evaluated == finish.prompt_tokens  # it reports no cache figure
    assert finish.prompt_seconds > 0
    assert finish.generation_seconds >= 0


def test_max_tokens_ends_with_length(backend: OpenAIBackend) -> None:
    prompt = chatml_prompt("Write a long story about the sea.")
    text, finish = run(backend, GenerationRequest(prompt=prompt, max_tokens=6, sampling=GREEDY))
    assert finish.reason is FinishReason.LENGTH
    assert finish.completion_tokens == 6
    assert text


def test_chat_endpoint_sends_the_prompt_as_one_user_message(llama_server: LlamaServer) -> None:
    chat = OpenAIBackend(llama_server.url, chat=True)
    assert chat.prompt_format is CHAT_PROMPT_FORMAT
    prompt = chat.prompt_format.render("Name three colours.", system="Answer briefly.")
    assert prompt == "Answer briefly.\n\nName three colours."
    text, finish = run(chat, GenerationRequest(prompt=prompt, max_tokens=16, sampling=GREEDY))
    assert text.strip()
    assert "<|im_start|>" not in text
    assert finish.reason in (FinishReason.STOP, FinishReason.LENGTH)
    assert finish.completion_tokens >= 1


def test_grammar_constrains_the_answer(backend: OpenAIBackend) -> None:
    prompt = chatml_prompt("Is water wet? Answer yes or no.")
    grammar = 'root ::= "yes" | "no"'
    text, finish = run(backend, GenerationRequest(prompt=prompt, max_tokens=8, grammar=grammar))
    assert text in ("yes", "no")
    assert finish.reason is FinishReason.STOP


def test_tokenize_matches_the_model_tokenizer(backend: OpenAIBackend, builtin_gguf: Path) -> None:
    import llama_cpp

    text = "<|im_start|>user\nThe quick brown fox<|im_end|>"
    local = llama_cpp.Llama(model_path=str(builtin_gguf), vocab_only=True, verbose=False)
    try:
        expected = local.tokenize(text.encode(), add_bos=False, special=True)
    finally:
        local.close()
    assert backend.tokenize(text) == expected
    assert backend.count_tokens(text) == len(expected)


def test_cancel_mid_stream_returns_within_a_second(backend: OpenAIBackend) -> None:
    cancel = threading.Event()
    request = GenerationRequest(
        prompt=chatml_prompt("Write a very long essay about mountains."),
        max_tokens=2000,
        sampling=Sampling(seed=3),
        cancel=cancel,
    )
    received: list[str] = []
    cancelled_at = 0.0
    finish: Finish | None = None
    for event in backend.generate(request):
        if isinstance(event, Delta):
            received.append(event.text)
            if len(received) == 5:
                cancel.set()
                cancelled_at = time.monotonic()
        else:
            finish = event
    assert finish is not None
    assert time.monotonic() - cancelled_at < 1.0
    assert finish.reason is FinishReason.CANCELLED
    assert finish.completion_tokens == len(received) >= 5
    # The server is free again at once.
    _, after = run(backend, GenerationRequest(prompt=chatml_prompt("Hi"), max_tokens=3, sampling=GREEDY))
    assert after.completion_tokens >= 1


def test_count_tokens_during_a_stream_does_not_cut_it_short(backend: OpenAIBackend) -> None:
    prompt = chatml_prompt("Write a story about a fox.")
    events: list[Delta | Finish] = []
    counted = 0
    for event in backend.generate(GenerationRequest(prompt=prompt, max_tokens=30, sampling=GREEDY)):
        events.append(event)
        if len(events) == 3:
            counted = backend.count_tokens("four words right here")
    assert counted >= 4
    finish = events[-1]
    assert isinstance(finish, Finish)
    assert finish.reason in (FinishReason.STOP, FinishReason.LENGTH)


def test_a_stream_interrupted_by_another_request_raises_with_the_partial_text(
    backend: OpenAIBackend, llama_server: LlamaServer
) -> None:
    # llama-cpp-python's server ends a running stream with [DONE] and no reason when another request
    # arrives (interrupt_requests, on by default): that must not pass for a finished section.
    received: list[str] = []
    request = GenerationRequest(prompt=chatml_prompt("Write a long poem."), max_tokens=500, sampling=GREEDY)
    other: threading.Thread | None = None
    with pytest.raises(ServerError) as caught:
        for event in backend.generate(request):
            if isinstance(event, Delta):
                received.append(event.text)
                if len(received) == 3:
                    other = threading.Thread(target=_get, args=(f"{llama_server.url}/v1/models",))
                    other.start()
    if other is not None:
        other.join(30)
    assert "without saying why" in str(caught.value)
    assert caught.value.partial_text == "".join(received)
    assert caught.value.partial_text


# --- errors in plain words --------------------------------------------------------------------------------


def test_a_server_that_is_down_gives_a_clear_error_quickly() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ServerError) as caught:
        OpenAIBackend(url)  # default retries: 2, after 0.5 s and 1 s
    assert time.monotonic() - started < 5
    assert str(caught.value) == f"No server answers at {url}/v1 — is it running?"


def test_a_wrong_url_gives_404_advice(llama_server: LlamaServer) -> None:
    with pytest.raises(ServerError) as caught:
        OpenAIBackend(llama_server.url + "/not-the-api")
    assert caught.value.status == 404
    assert "no OpenAI-compatible API" in str(caught.value)
    assert "Check the URL" in str(caught.value)


def test_an_unknown_model_name_lists_the_served_models(llama_server: LlamaServer, builtin_gguf: Path) -> None:
    with pytest.raises(ServerError) as caught:
        OpenAIBackend(llama_server.url, model="longwriter-glm4-9b")
    assert caught.value.status == 404
    assert "no model named 'longwriter-glm4-9b'" in str(caught.value)
    assert str(builtin_gguf) in str(caught.value)
    assert caught.value.available_models == (str(builtin_gguf),)
    # The file name alone is enough to pick a model served under its full path.
    assert OpenAIBackend(llama_server.url, model=builtin_gguf.name).model == str(builtin_gguf)


def test_a_wrong_or_missing_api_key_gives_a_clear_message(keyed_server: LlamaServer) -> None:
    wrong_key = "sk-wrong-key-ABCDEFGHIJKLMNOP"
    with pytest.raises(ServerError) as wrong:
        OpenAIBackend(keyed_server.url, api_key=wrong_key)
    assert wrong.value.status == 401
    assert "refused the API key" in str(wrong.value)
    assert wrong_key not in str(wrong.value)
    with pytest.raises(ServerError) as missing:
        OpenAIBackend(keyed_server.url)
    assert "wants an API key" in str(missing.value)
    assert "--api-key-env" in str(missing.value)


def test_the_api_key_never_appears_in_reprs_or_logs(
    keyed_server: LlamaServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="longwriter_desktop")
    keyed = OpenAIBackend(keyed_server.url, api_key=API_KEY)
    text, finish = run(keyed, GenerationRequest(prompt=chatml_prompt("Hello"), max_tokens=4, sampling=GREEDY))
    assert finish.completion_tokens >= 1
    assert keyed.count_tokens("hello there") >= 2  # the tokenize endpoint takes the key too
    assert API_KEY not in repr(keyed)
    assert "****XYZW" in repr(keyed)
    assert caplog.records  # the backend did log its work
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(vars(keyed))


def test_killing_the_server_mid_stream_raises_with_the_partial_text(
    builtin_gguf: Path, tmp_path: Path
) -> None:
    server = start_llama_server(builtin_gguf, tmp_path)
    try:
        doomed = OpenAIBackend(server.url, retries=1, retry_backoff=0.1)
        received: list[str] = []
        request = GenerationRequest(
            prompt=chatml_prompt("Write a long story."), max_tokens=2000, sampling=GREEDY
        )
        with pytest.raises(ServerError) as caught:
            for event in doomed.generate(request):
                if isinstance(event, Delta):
                    received.append(event.text)
                    if len(received) == 4:
                        server.stop()
        assert caught.value.partial_text == "".join(received)
        assert len(received) >= 4
        assert "text so far is kept" in str(caught.value)
        # A new request to the dead server fails before any text, with the plain message.
        started = time.monotonic()
        with pytest.raises(ServerError, match="is it running"):
            list(doomed.generate(GenerationRequest(prompt="Hi", max_tokens=2)))
        assert time.monotonic() - started < 2
    finally:
        server.stop()


# --- a server that goes silent ------------------------------------------------------------------------------


class StallingServer(http.server.ThreadingHTTPServer):
    """Answers /v1/models, then on a completion sends headers (or not) and one chunk, and goes silent."""

    daemon_threads = True

    def __init__(self, headers_first: bool) -> None:
        self.headers_first = headers_first
        self.release = threading.Event()
        super().__init__(("127.0.0.1", 0), StallingHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class StallingHandler(http.server.BaseHTTPRequestHandler):
    server: StallingServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        models = {"object": "list", "data": [{"id": "stalled-model", "owned_by": "someone"}]}
        body = json.dumps(models).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not self.server.headers_first:
            self.server.release.wait(30)  # like llama-server evaluating a long prompt before any header
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        chunk = {"choices": [{"text": "Once", "index": 0, "finish_reason": None}]}
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.flush()
        self.server.release.wait(30)


@pytest.fixture(params=[True, False], ids=["after-headers", "before-headers"])
def stalling_server(request: pytest.FixtureRequest) -> Iterator[StallingServer]:
    server = StallingServer(headers_first=request.param)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def test_cancel_is_prompt_while_the_server_is_silent(stalling_server: StallingServer) -> None:
    silent = OpenAIBackend(stalling_server.url)
    assert silent.kind is ServerKind.UNKNOWN
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    events = list(silent.generate(GenerationRequest(prompt="Tell me", max_tokens=50, cancel=cancel)))
    assert time.monotonic() - started < 0.5 + 0.5
    finish = events[-1]
    assert isinstance(finish, Finish)
    assert finish.reason is FinishReason.CANCELLED


def test_a_silent_server_times_out_with_the_partial_text(stalling_server: StallingServer) -> None:
    silent = OpenAIBackend(stalling_server.url, read_timeout=0.6)
    started = time.monotonic()
    with pytest.raises(ServerError) as caught:
        list(silent.generate(GenerationRequest(prompt="Tell me", max_tokens=50)))
    assert time.monotonic() - started < 3
    expected = "Once" if stalling_server.headers_first else ""
    assert caught.value.partial_text == expected


# --- pieces without a server --------------------------------------------------------------------------------


def test_base_urls_are_normalised() -> None:
    assert parse_base_url("127.0.0.1:8080").api_url == "http://127.0.0.1:8080/v1"
    assert parse_base_url("http://gpu-box:8000/v1/").api_url == "http://gpu-box:8000/v1"
    assert parse_base_url("http://gpu-box:8000/v1/chat/completions").api_url == "http://gpu-box:8000/v1"
    assert parse_base_url("https://example.org/llm").api_url == "https://example.org/llm/v1"
    assert parse_base_url("https://example.org/llm").server_root == "/llm"
    assert parse_base_url("http://[::1]:11434").api_url == "http://[::1]:11434/v1"
    for bad in ("", "ftp://host", "http://host:port"):
        with pytest.raises(InputError):
            parse_base_url(bad)


def test_sse_parser_handles_split_chunks_comments_and_errors() -> None:
    parser = SseParser()
    assert parser.feed(b": ping - 2024-01-01\r\n\r\ndata: {\"a\"") == []
    assert parser.feed(b": 1}\r\n\r\ndata: line one\ndata: line two\n\n") == [
        ("message", '{"a": 1}'),
        ("message", "line one\nline two"),
    ]
    assert parser.feed('data: "café"\n\nevent: error\ndata: {"e": 1}\n\n'.encode()) == [
        ("message", '"café"'),
        ("error", '{"e": 1}'),
    ]
    assert parser.feed(b'error: {"code": 500, "message": "boom"}\n\n') == [
        ("error", '{"code": 500, "message": "boom"}')
    ]
    assert parser.feed(b"data: [DONE]") == []
    assert parser.close() == [("message", "[DONE]")]


def test_token_estimate_covers_english_and_chinese() -> None:
    assert estimate_tokens("") == 0
    english = "The quick brown fox jumps over the lazy dog. " * 20
    assert 180 <= estimate_tokens(english) <= 320
    chinese = "长篇写作需要计划" * 10
    assert estimate_tokens(chinese) >= 80


# --- other servers' dialects, replayed by a scripted server ----------------------------------------------
# No llama-server, vLLM or Ollama runs here; these replay the shapes their documentation gives
# (llama-server: owned_by "llamacpp", /props, /tokenize, `timings` and `usage` in the last chunk;
# vLLM: owned_by "vllm", max_model_len, usage with cached tokens; Ollama: tagged model names).


class ScriptedServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        models: list[dict[str, Any]],
        stream: list[str],
        props: dict[str, Any] | None = None,
        tokenizer: str | None = None,
        ollama_show: dict[str, Any] | None = None,
    ) -> None:
        self.models = models
        self.ollama_show = ollama_show
        self.stream = stream
        self.props = props
        self.tokenizer = tokenizer
        self.completions: list[dict[str, Any]] = []
        super().__init__(("127.0.0.1", 0), ScriptedHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ScriptedHandler(http.server.BaseHTTPRequestHandler):
    server: ScriptedServer

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
        if self.path == "/v1/models":
            self._json(200, {"object": "list", "data": self.server.models})
        elif self.path == "/props" and self.server.props is not None:
            self._json(200, self.server.props)
        else:
            self._json(404, {"error": {"code": 404, "message": "File Not Found"}})

    def do_POST(self) -> None:
        payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path == "/tokenize" and self.server.tokenizer == "llama.cpp" and "content" in payload:
            self._json(200, {"tokens": list(range(len(payload["content"].split())))})
        elif self.path == "/tokenize" and self.server.tokenizer == "vllm" and "prompt" in payload:
            tokens = list(range(len(payload["prompt"].split())))
            self._json(200, {"tokens": tokens, "count": len(tokens), "max_model_len": 16384})
        elif self.path == "/api/show" and self.server.ollama_show is not None:
            self._json(200, self.server.ollama_show)
        elif self.path == "/v1/completions":
            self.server.completions.append(payload)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for event in self.server.stream:
                self.wfile.write(event.encode())
                self.wfile.flush()
        else:
            self._json(404, {"error": {"code": 404, "message": "File Not Found"}})


@pytest.fixture
def scripted() -> Iterator[list[ScriptedServer]]:
    servers: list[ScriptedServer] = []
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def serve(servers: list[ScriptedServer], server: ScriptedServer) -> ScriptedServer:
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    servers.append(server)
    return server


def text_chunk(text: str, finish_reason: str | None = None) -> str:
    choice = {"text": text, "index": 0, "finish_reason": finish_reason}
    chunk = {"object": "text_completion", "choices": [choice]}
    return f"data: {json.dumps(chunk)}\n\n"


def test_llama_server_dialect_gives_cache_figures_and_context(scripted: list[ScriptedServer]) -> None:
    last = {
        "choices": [],
        "usage": {"prompt_tokens": 120, "completion_tokens": 2, "total_tokens": 122},
        "timings": {"cache_n": 112, "prompt_n": 8, "prompt_ms": 31.5, "predicted_n": 2, "predicted_ms": 40.0},
    }
    server = serve(
        scripted,
        ScriptedServer(
            models=[{"id": "LongWriter-glm4-9b.Q5_K_M.gguf", "object": "model", "owned_by": "llamacpp"}],
            stream=[text_chunk("Hello"), text_chunk(" world", "stop"), f"data: {json.dumps(last)}\n\n",
                    "data: [DONE]\n\n"],
            props={"default_generation_settings": {"n_ctx": 32768}},
            tokenizer="llama.cpp",
        ),
    )
    llama = OpenAIBackend(server.url)
    assert llama.kind is ServerKind.LLAMA_CPP
    assert llama.info.n_ctx == 32768
    assert llama.supports_grammar
    assert llama.prompt_format.family is Family.GLM4
    assert llama.count_tokens("three words here") == 3
    sampling = Sampling(repeat_penalty=1.1, seed=5)
    request = GenerationRequest(prompt="p", max_tokens=9, sampling=sampling, grammar="root ::= x")
    text, finish = run(llama, request)
    assert text == "Hello world"
    assert finish == Finish(FinishReason.STOP, 120, 8, 2, 0.0315, 0.04)
    sent = server.completions[0]
    assert sent["cache_prompt"] is True
    assert sent["grammar"] == "root ::= x"
    assert sent["repeat_penalty"] == 1.1
    assert sent["seed"] == 5
    assert sent["top_k"] == 50
    assert sent["stream_options"] == {"include_usage": True}
    # llama-server applies DRY, as the local backend does (Sampling's defaults).
    assert llama.applies_dry
    assert (sent["dry_multiplier"], sent["dry_base"], sent["dry_allowed_length"]) == (0.8, 1.75, 3)


def test_vllm_dialect_reads_cached_tokens_and_gets_its_field_names(scripted: list[ScriptedServer]) -> None:
    usage = {"prompt_tokens": 120, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 96}}
    server = serve(
        scripted,
        ScriptedServer(
            models=[{"id": "THUDM/LongWriter-llama3.1-8b", "owned_by": "vllm", "max_model_len": 16384}],
            stream=[text_chunk("Hi", "length"), f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n",
                    "data: [DONE]\n\n"],
            tokenizer="vllm",
        ),
    )
    vllm = OpenAIBackend(server.url + "/v1", model="LongWriter-llama3.1-8b")
    assert vllm.kind is ServerKind.VLLM
    assert vllm.model == "THUDM/LongWriter-llama3.1-8b"
    assert vllm.info.n_ctx == 16384
    assert vllm.prompt_format.family is Family.LONGWRITER_LLAMA
    assert not vllm.supports_grammar
    assert vllm.tokenize("two words") == [0, 1]
    request = GenerationRequest(prompt="p", max_tokens=1, sampling=Sampling(repeat_penalty=1.2), grammar="g")
    _, finish = run(vllm, request)
    assert finish.reason is FinishReason.LENGTH
    assert (finish.prompt_tokens, finish.prompt_tokens_evaluated, finish.completion_tokens) == (120, 24, 1)
    sent = server.completions[0]
    assert sent["repetition_penalty"] == 1.2
    assert "repeat_penalty" not in sent
    assert "cache_prompt" not in sent
    assert not vllm.applies_dry and "dry_multiplier" not in sent
    assert "grammar" not in sent


def test_ollama_names_match_without_tag_and_counts_are_estimates(
    scripted: list[ScriptedServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(
        scripted,
        ScriptedServer(
            models=[{"id": "longwriter-glm4:latest", "owned_by": "library"}],
            stream=[text_chunk("Done.", "stop"), "data: [DONE]\n\n"],
            ollama_show={"template": "{{ .Prompt }}", "parameters": 'num_ctx   32768\nstop "<|user|>"'},
        ),
    )
    ollama = OpenAIBackend(server.url, model="longwriter-glm4")
    assert ollama.kind is ServerKind.OLLAMA
    assert ollama.model == "longwriter-glm4:latest"
    assert ollama.info.n_ctx == 32768  # the Modelfile's num_ctx
    assert "wrapped twice" not in caplog.text  # its template passes raw prompts through
    server.ollama_show = {"template": "{{ if .System }}...{{ end }}{{ .Prompt }}<|assistant|>"}
    OpenAIBackend(server.url)
    assert "wrapped twice" in caplog.text
    assert ollama.prompt_format.family is Family.GLM4
    assert ollama.count_tokens("one two three four") == estimate_tokens("one two three four")
    with pytest.raises(ServerError, match="no tokenize endpoint"):
        ollama.tokenize("x")
    prompt = "word " * 40
    _, finish = run(ollama, GenerationRequest(prompt=prompt, max_tokens=5))
    assert finish.prompt_tokens == estimate_tokens(prompt)
    assert finish.completion_tokens == 1  # one chunk, no usage sent


def test_an_error_line_mid_stream_raises_with_the_partial_text(scripted: list[ScriptedServer]) -> None:
    server = serve(
        scripted,
        ScriptedServer(
            models=[{"id": "m.gguf", "owned_by": "llamacpp"}],
            stream=[text_chunk("Part one"), 'error: {"code": 500, "message": "KV cache is full"}\n\n'],
        ),
    )
    with pytest.raises(ServerError) as caught:
        run(OpenAIBackend(server.url, n_ctx=8192), GenerationRequest(prompt="p", max_tokens=5))
    assert "KV cache is full" in str(caught.value)
    assert caught.value.partial_text == "Part one"


def test_an_unfinished_character_from_the_server_never_reaches_the_text(scripted: list[ScriptedServer]) -> None:
    # llama.cpp's server sends the bytes of a character the model began and never finished as U+FFFD.
    server = serve(
        scripted,
        ScriptedServer(
            models=[{"id": "m.gguf", "owned_by": "llamacpp"}],
            stream=[text_chunk("茶园里\ufffd"), text_chunk("\ufffd"), text_chunk("\ufffd，猪", "stop"),
                    "data: [DONE]\n\n"],
        ),
    )
    events = list(OpenAIBackend(server.url, n_ctx=8192).generate(GenerationRequest(prompt="p", max_tokens=5)))
    deltas = [event for event in events if isinstance(event, Delta)]
    assert "".join(d.text for d in deltas) == "茶园里，猪"
    assert all(d.text for d in deltas)  # no empty pieces where a mark was taken out
    assert isinstance(events[-1], Finish) and events[-1].reason is FinishReason.STOP
