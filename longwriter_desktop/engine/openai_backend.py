"""A backend that writes through an OpenAI-compatible server: llama.cpp's llama-server,
llama-cpp-python's server, vLLM or Ollama, for users with a GPU box elsewhere.

Prompts travel as text (``tokenizes`` is False): the pipeline renders them with :attr:`prompt_format`
and the server tokenizes them, adding BOS itself. Two endpoints:

- ``/v1/completions`` (the default) takes the raw prompt, so the LongWriter prompt formats reach the model
  exactly as they were trained. llama.cpp servers are asked to keep the prompt in their KV cache
  (``cache_prompt``) so the next section's prompt, which starts with this one, is not evaluated again.
- ``/v1/chat/completions`` (``chat=True``) is for servers that only do chat. The whole text prompt is sent
  as one user message and the server wraps it in the model's own chat template, so the prompt format here
  is a plain one (:data:`CHAT_PROMPT_FORMAT`). The trade-off: the model's template is used instead of the
  LongWriter format (MODELS.md: the LongWriter GGUFs often carry a wrong one), earlier sections arrive as
  part of the user's message rather than as the model's own words, and stop strings come from the
  server's template, not from us.

Per-token control is not available over HTTP: ``GenerationRequest.allow_end`` (banning the end of text
below a minimum length) is ignored, so a section may end short and the pipeline has to ask for more.
A GBNF grammar is sent only to servers that take one (llama.cpp's and llama-cpp-python's, as the
``grammar`` field); :attr:`OpenAIBackend.supports_grammar` tells the pipeline whether to rely on it.

Why the standard library's ``http.client`` and not httpx: the HTTP client that comes with
huggingface-hub differs by version (httpx2 with hub 2.x, which needs Python 3.11, httpx or requests
before), so leaning on it would be an undeclared dependency that changes under us; and cancelling within
a fraction of a second while the server is silent needs a reader thread whatever the library, which
``http.client`` makes simple (the socket can be shut down from the caller's thread). Streaming SSE over
one connection needs nothing more.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import GenerationError
from ..secret import Secret
from .backend import BackendInfo, CancelToken, Delta, Finish, FinishReason, GenerationRequest
from .prompts import PromptFormat, format_for
from .server_dialects import (
    CHAT_PROMPT_FORMAT,
    TOKENIZE_ORDER,
    ServerKind,
    detect_kind,
    estimate_tokens,
    guess_family,
    listed_context,
    match_model,
    ollama_show,
    props_context,
    server_message,
    tokenize_requests,
    tokens_from,
)
from .server_transport import Exchange, SseParser, parse_base_url, request_json

log = logging.getLogger(__name__)

DRY_WINDOW = 4096  # tokens llama-server's DRY looks back over (LlamaBackend uses the same)

AVOID_BIAS = -3.0  # the logit bias on words a document over-uses (servers take one static bias per request)
DEFAULT_CONNECT_TIMEOUT = 10.0
# Long: a server evaluating a 30,000-token prompt on a slow machine can stay silent for minutes.
DEFAULT_READ_TIMEOUT = 600.0
DEFAULT_RETRIES = 2
DEFAULT_RETRY_BACKOFF = 0.5
# How often a waiting stream looks at the cancel event, however long the server stays silent.
CANCEL_POLL_SECONDS = 0.1
# Used when the server does not say its context size (llama-cpp-python's server never does).
FALLBACK_N_CTX = 4096
_SMALL_REQUEST_TIMEOUT = 30.0
_MAX_ERROR_BODY = 64 * 1024
_RETRY_STATUSES = (502, 503, 504)

class ServerError(GenerationError):
    """The server could not be reached, refused the request, or broke off an answer.

    ``partial_text`` holds what arrived before a stream broke, so the pipeline can keep it and resume
    from there instead of asking again for text it already has.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        partial_text: str = "",
        completion_tokens: int = 0,
        available_models: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.partial_text = partial_text
        self.completion_tokens = completion_tokens
        self.available_models = tuple(available_models)


@dataclass
class _StreamState:
    chat: bool
    parts: list[str] = field(default_factory=list)
    chunks: int = 0
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None
    done: bool = False
    first_text_at: float | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)


_FINISH_REASONS = {"stop": FinishReason.STOP, "eos": FinishReason.STOP, "length": FinishReason.LENGTH}


class OpenAIBackend:
    """Streams completions from an OpenAI-compatible server; implements the ``Backend`` protocol."""

    def __init__(
        self,
        base_url: str,
        api_key: str | Secret | None = None,
        model: str | None = None,
        prompt_format: PromptFormat | None = None,
        chat: bool = False,
        *,
        n_ctx: int | None = None,
        supports_grammar: bool | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        retry_backoff: float = DEFAULT_RETRY_BACKOFF,
    ) -> None:
        """Connect: list the server's models, pick or check the model, learn what the server is."""
        self.address = parse_base_url(base_url)
        self.url = self.address.api_url
        self._api_key = api_key if isinstance(api_key, Secret) else Secret(api_key or "")
        self.chat = chat
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retries = max(0, retries)
        self.retry_backoff = retry_backoff
        self._lock = threading.Lock()
        self._active: set[Exchange] = set()
        self._closed = False
        self._tokenizer: str | None = None  # which tokenize endpoint works: "llama.cpp", "extras", "vllm", ""
        self._server_bos: list[int] = []
        self._ollama_passes_prompts_through = False
        self._word_token: dict[str, int] = {}  # a word's first token id (-1: none known)
        self._end_ids: list[int] | None = None

        listed = self._list_models()
        self.models = [str(entry.get("id", "")) for entry in listed if entry.get("id")]
        self.kind = detect_kind(listed)
        self.model = self._choose_model(model)
        entry = next((e for e in listed if e.get("id") == self.model), {})
        detected_ctx = self._detect_n_ctx(entry)
        if n_ctx is None and detected_ctx is None:
            log.warning(
                "The %s at %s does not say its context size; assuming %d tokens.",
                self.kind.value, self.url, FALLBACK_N_CTX,
            )
        self.supports_grammar = (
            supports_grammar
            if supports_grammar is not None
            else self.kind in (ServerKind.LLAMA_CPP, ServerKind.LLAMA_CPP_PYTHON)
        )
        if prompt_format is None:
            prompt_format = CHAT_PROMPT_FORMAT if chat else format_for(guess_family(self.model))
        self.prompt_format = prompt_format
        self.info = BackendInfo(
            name="openai",
            model=self.model,
            n_ctx=n_ctx or detected_ctx or FALLBACK_N_CTX,
            device=f"server {self.url} ({self.kind.value})",
        )
        if self.kind is ServerKind.OLLAMA and not chat and not self._ollama_passes_prompts_through:
            log.warning(
                "Ollama wraps /v1/completions prompts in the model's own template, so the LongWriter prompt "
                "format arrives wrapped twice. Use chat mode, or a model whose Modelfile has "
                "TEMPLATE {{ .Prompt }}."
            )
        log.info(
            "Connected to the %s at %s: model %s, context %d tokens, prompt format %s, %s endpoint.",
            self.kind.value, self.url, self.model, self.info.n_ctx, self.prompt_format.family.value,
            "chat" if chat else "completions",
        )

    def __repr__(self) -> str:
        return (
            f"OpenAIBackend(url={self.url!r}, model={self.model!r}, kind={self.kind.value!r}, "
            f"chat={self.chat}, api_key={str(self._api_key)!r})"
        )

    # --- the Backend protocol ---------------------------------------------------------------------

    @property
    def tokenizes(self) -> bool:
        """False: prompts go to the server as text and deltas carry no token ids."""
        return False

    @property
    def applies_dry(self) -> bool:
        """Whether the server applies DRY: llama-server does; llama-cpp-python's, vLLM and Ollama don't."""
        return self.kind is ServerKind.LLAMA_CPP

    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        """The server's token ids for text, without BOS; raises ServerError when it has no tokenizer."""
        tokens = self._server_tokenize(text, special=special)
        if tokens is None:
            raise ServerError(
                f"The {self.kind.value} at {self.url} has no tokenize endpoint; token counts are estimates.",
                url=self.url,
            )
        return tokens

    def bos_tokens(self) -> list[int]:
        """Empty: the server adds BOS itself to every text prompt."""
        return []

    def count_tokens(self, text: str) -> int:
        """Tokens in text, from the server's tokenizer where it has one, else :func:`estimate_tokens`."""
        with self._lock:
            streaming = bool(self._active)
        # llama-cpp-python's server cuts a running stream short when any other request arrives
        # (its interrupt_requests setting, on by default), so while one runs, estimate instead.
        if streaming and self.kind is ServerKind.LLAMA_CPP_PYTHON:
            return estimate_tokens(text)
        try:
            tokens = self._server_tokenize(text, special=True)
        except ServerError as exc:
            log.warning("Token count falls back to an estimate: %s", exc)
            tokens = None
        return len(tokens) if tokens is not None else estimate_tokens(text)

    def generate(self, request: GenerationRequest) -> Iterator[Delta | Finish]:
        """Stream deltas, then one Finish; a stream that breaks raises ServerError with the partial text."""
        if not isinstance(request.prompt, str):
            raise TypeError("OpenAIBackend takes text prompts (its tokenizes is False), not token lists.")
        prompt = request.prompt
        path, payload = self._payload(request)
        cancel = request.cancel
        state = _StreamState(chat=self.chat)
        started = time.monotonic()
        exchange = self._open_stream(path, payload, cancel)
        if exchange is None:
            yield self._finish(FinishReason.CANCELLED, prompt, state, started, estimate=True)
            return
        parser = SseParser()
        last_activity = time.monotonic()
        try:
            while not state.done:
                if cancel is not None and cancel.is_set():
                    exchange.abort()
                    yield self._finish(FinishReason.CANCELLED, prompt, state, started, estimate=True)
                    return
                item = exchange.get(CANCEL_POLL_SECONDS)
                now = time.monotonic()
                if item is None:
                    if now - last_activity > self.read_timeout:
                        exchange.abort()
                        raise self._broken(
                            f"The server at {self.url} sent nothing for {self.read_timeout:.0f} s", state
                        )
                    continue
                last_activity = now
                # "eof" and "broken" may leave a last event that lacked its blank line.
                events = parser.feed(item[1]) if item[0] == "data" else parser.close()
                for event, data in events:
                    if cancel is not None and cancel.is_set():
                        break  # a fast server sends many events at once: stop means stop, mid-chunk too
                    yield from self._on_event(event, data, state)
                    if state.done:
                        break
                if state.done:
                    break
                if item[0] == "eof":
                    if state.finish_reason is not None:
                        break  # a server that ends without [DONE] but did say why it stopped
                    raise self._ended_early(state)
                if item[0] == "broken":
                    raise self._broken(f"The connection to {self.url} broke ({item[1]})", state)
        finally:
            exchange.abort()
            with self._lock:
                self._active.discard(exchange)
        if state.finish_reason is None:
            raise self._ended_early(state)
        reason = _FINISH_REASONS.get(state.finish_reason, FinishReason.STOP)
        yield self._finish(reason, prompt, state, started, estimate=False)

    def close(self) -> None:
        """Break off any running stream; the server keeps running."""
        with self._lock:
            self._closed = True
            active = list(self._active)
        for exchange in active:
            exchange.abort()

    # --- requests -----------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key.reveal()}"
        return headers

    def _request_json(self, method: str, path: str, payload: Any = None) -> tuple[int, bytes]:
        """A small request with retries on connection errors; returns the status and body."""
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        try:
            return request_json(self.address, method, path, body, self._headers(),
                                connect_timeout=self.connect_timeout, timeout=_SMALL_REQUEST_TIMEOUT,
                                retries=self.retries, backoff=self.retry_backoff, retry_statuses=_RETRY_STATUSES)
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from None

    def _list_models(self) -> list[dict[str, Any]]:
        status, body = self._request_json("GET", self.address.api_root + "/models")
        if status != 200:
            raise self._status_error(status, body, "/models")
        try:
            data = json.loads(body)
            entries = data["data"] if isinstance(data, dict) else data
            return [entry for entry in entries if isinstance(entry, dict)]
        except (ValueError, KeyError, TypeError):
            raise ServerError(
                f"{self.url}/models did not answer like an OpenAI-compatible server. Check the URL.",
                url=self.url,
            ) from None

    def _choose_model(self, wanted: str | None) -> str:
        if not self.models:
            raise ServerError(
                f"The {self.kind.value} at {self.url} serves no models. Load or pull one there first.",
                url=self.url,
                status=404,
            )
        if not wanted:
            return self.models[0]
        served = match_model(self.models, wanted)
        if served is not None:
            return served
        raise ServerError(
            f"The {self.kind.value} at {self.url} has no model named '{wanted}'. "
            f"It serves: {', '.join(self.models)}.",
            url=self.url,
            status=404,
            available_models=self.models,
        )

    def _detect_n_ctx(self, entry: dict[str, Any]) -> int | None:
        listed = listed_context(entry)
        if listed is not None:
            return listed
        if self.kind is ServerKind.LLAMA_CPP:
            try:
                status, body = self._request_json("GET", self.address.server_root + "/props")
                if status == 200:
                    return props_context(body)
            except ServerError:
                pass
        if self.kind is ServerKind.OLLAMA:
            return self._ollama_show()
        return None

    def _ollama_show(self) -> int | None:
        """Ollama's own /api/show: whether the model's template passes prompts through, and its num_ctx."""
        try:
            path = self.address.server_root + "/api/show"
            status, body = self._request_json("POST", path, {"model": self.model})
            shown = json.loads(body) if status == 200 else {}
        except (ServerError, ValueError):
            return None
        self._ollama_passes_prompts_through, num_ctx = ollama_show(shown)
        return num_ctx

    def _server_tokenize(self, text: str, *, special: bool) -> list[int] | None:
        """Token ids without BOS from the first tokenize endpoint that works, or None if none does."""
        if self._tokenizer == "":
            return None
        candidates = tokenize_requests(self.address.server_root, text, self.model, special=special)
        names = [self._tokenizer] if self._tokenizer else TOKENIZE_ORDER[self.kind]
        for name in names:
            path, payload = candidates[name]
            status, body = self._request_json("POST", path, payload)
            tokens = tokens_from(body) if status == 200 else None
            if tokens is None:
                continue
            if self._tokenizer is None:
                self._tokenizer = name
                if name == "extras":
                    # llama-cpp-python adds BOS where the model wants one: learn it to strip it.
                    status, body = self._request_json("POST", path, {"input": "", "model": self.model})
                    self._server_bos = (tokens_from(body) or []) if status == 200 else []
            if self._server_bos and tokens[: len(self._server_bos)] == self._server_bos:
                tokens = tokens[len(self._server_bos) :]
            return tokens
        if self._tokenizer is None:
            log.info(
                "The %s at %s has no tokenize endpoint: token counts are estimates.",
                self.kind.value,
                self.url,
            )
            self._tokenizer = ""
        return None

    def _end_token_ids(self) -> list[int]:
        """The ids of the prompt format's stop markers that are single tokens (end of turn, end of text)."""
        if self._end_ids is None:
            ids: list[int] = []
            for marker in self.prompt_format.stops:
                try:
                    tokens = self._server_tokenize(marker, special=True)
                except ServerError:
                    tokens = None
                if tokens is not None and len(tokens) == 1:
                    ids.append(tokens[0])
            self._end_ids = ids
        return self._end_ids

    def _avoid_bias(self, words: Sequence[str]) -> dict[str, float]:
        """A logit bias against the first token of each word (as it follows a space), from the server's tokenizer."""
        bias: dict[str, float] = {}
        for word in words:
            token = self._word_token.get(word, -2)
            if token == -2:
                try:
                    tokens = self._server_tokenize(" " + word, special=False)
                except ServerError:
                    tokens = None
                token = tokens[0] if tokens else -1
                self._word_token[word] = token
            if token >= 0:
                bias[str(token)] = AVOID_BIAS
        return bias

    def _payload(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        sampling = request.sampling
        payload: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.chat:
            path = self.address.api_root + "/chat/completions"
            payload["messages"] = [{"role": "user", "content": request.prompt}]
        else:
            path = self.address.api_root + "/completions"
            payload["prompt"] = request.prompt
        if request.stop:
            payload["stop"] = list(request.stop)
        if sampling.seed is not None:
            payload["seed"] = sampling.seed
        if sampling.presence_penalty:
            payload["presence_penalty"] = sampling.presence_penalty
        if sampling.frequency_penalty:
            payload["frequency_penalty"] = sampling.frequency_penalty
        # Fields beyond OpenAI's: llama.cpp servers and vLLM read them, others ignore them.
        if sampling.top_k > 0:
            payload["top_k"] = sampling.top_k
        if sampling.min_p > 0:
            payload["min_p"] = sampling.min_p
        if sampling.repeat_penalty != 1.0:
            key = "repetition_penalty" if self.kind is ServerKind.VLLM else "repeat_penalty"
            payload[key] = sampling.repeat_penalty
        if sampling.dry_multiplier > 0 and self.applies_dry:
            # The cure for small models that copy earlier sections; the window matches LlamaBackend's.
            payload["dry_multiplier"] = sampling.dry_multiplier
            payload["dry_base"] = sampling.dry_base
            payload["dry_allowed_length"] = sampling.dry_allowed_length
            payload["dry_penalty_last_n"] = DRY_WINDOW
        bias: dict[str, float] = {}
        if request.avoid_words and self.kind is not ServerKind.OLLAMA:
            # The client-side n-gram control: the words this document over-uses, pushed down for this request.
            bias.update(self._avoid_bias(request.avoid_words))
        if request.allow_end is not None and self.kind is not ServerKind.OLLAMA and not request.allow_end():
            # The text is still short: the end-of-turn tokens are banned for this request, as LlamaBackend bans
            # them per token (max_tokens is sized to what the section still needs).
            for token in self._end_token_ids():
                bias[str(token)] = -100.0
        if bias:
            payload["logit_bias"] = bias
        if self.kind is not ServerKind.VLLM:  # vLLM caches prefixes on its own (--enable-prefix-caching)
            payload["cache_prompt"] = True
        if request.grammar:
            if self.supports_grammar:
                payload["grammar"] = request.grammar
            else:
                log.warning("The %s takes no grammar; the request goes without one.", self.kind.value)
        if request.allow_end is not None and "logit_bias" not in payload:
            log.debug("allow_end cannot be applied per token over HTTP; the server decides when to stop.")
        return path, payload

    def _open_stream(
        self, path: str, payload: dict[str, Any], cancel: CancelToken | None
    ) -> Exchange | None:
        """Start the request, retrying connection errors and busy answers before any text arrives.

        Returns the open exchange, or None when cancelled first.
        """
        body = json.dumps(payload).encode("utf-8")
        log.debug(
            "POST %s%s: max_tokens %s, prompt %d characters",
            self.url, path.removeprefix(self.address.api_root), payload["max_tokens"],
            len(payload.get("prompt") or payload.get("messages", [{}])[0].get("content", "")),
        )
        attempt = 0
        while True:
            exchange = Exchange(
                self.address,
                path,
                body=body,
                headers=self._headers(),
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
            )
            with self._lock:
                if self._closed:
                    raise ServerError("The connection to the server was closed.", url=self.url)
                self._active.add(exchange)
            exchange.start()
            # The connect timeout is the socket's own; once connected, the read timeout runs from here.
            connected_at: float | None = None
            failure: BaseException | ServerError | None = None
            while True:
                if cancel is not None and cancel.is_set():
                    self._drop(exchange)
                    return None
                item = exchange.get(CANCEL_POLL_SECONDS)
                if item is None:
                    if connected_at is not None and time.monotonic() - connected_at > self.read_timeout:
                        self._drop(exchange)
                        raise ServerError(
                            f"The server at {self.url} did not answer within {self.read_timeout:.0f} s.",
                            url=self.url,
                        )
                    continue
                if item[0] == "connected":
                    connected_at = time.monotonic()
                    continue
                if item[0] == "open":
                    return exchange
                if item[0] in ("connect_error", "send_error"):
                    failure = item[1]
                elif item[0] == "status":
                    status, _reason, error_body = item[1], item[2], item[3]
                    failure = self._status_error(status, error_body, path.removeprefix(self.address.api_root))
                    if status not in _RETRY_STATUSES:
                        self._drop(exchange)
                        raise failure
                else:
                    failure = RuntimeError(f"unexpected {item[0]} before the response")
                break
            self._drop(exchange)
            if attempt >= self.retries:
                if isinstance(failure, ServerError):
                    raise failure
                raise self._unreachable(failure)
            delay = self.retry_backoff * 2**attempt
            log.info(
                "The server at %s did not answer (%s); trying again in %.1f s.", self.url, failure, delay
            )
            if cancel is not None:
                if cancel.wait(delay):
                    return None
            else:
                time.sleep(delay)
            attempt += 1

    def _drop(self, exchange: Exchange) -> None:
        exchange.abort()
        with self._lock:
            self._active.discard(exchange)

    # --- reading the stream -------------------------------------------------------------------------

    def _on_event(self, event: str, data: str, state: _StreamState) -> Iterator[Delta]:
        if data.strip() == "[DONE]":
            state.done = True
            return
        try:
            chunk = json.loads(data)
        except ValueError:
            log.debug("Skipping a stream event that is not JSON: %.200s", data)
            return
        if not isinstance(chunk, dict):
            return
        if event == "error" or "error" in chunk:
            message = server_message(data.encode("utf-8"))
            raise self._broken(f"The server at {self.url} reported an error: {message}", state)
        if isinstance(chunk.get("usage"), dict):
            state.usage = chunk["usage"]
        if isinstance(chunk.get("timings"), dict):
            state.timings = chunk["timings"]
        choices = chunk.get("choices") or []
        if not choices or not isinstance(choices[0], dict):
            return
        choice = choices[0]
        if state.chat:
            delta = choice.get("delta") or {}
            text = delta.get("content") if isinstance(delta, dict) else None
        else:
            text = choice.get("text")
        if isinstance(text, str):
            # A server sends bytes that are no UTF-8 (a character the model began and never finished) as U+FFFD:
            # no writer wants that mark in the text.
            text = text.replace("\ufffd", "")
        if text:
            if state.first_text_at is None:
                state.first_text_at = time.monotonic()
            state.parts.append(text)
            state.chunks += 1
            yield Delta(text=text)
        if choice.get("finish_reason"):
            state.finish_reason = str(choice["finish_reason"])

    def _finish(
        self, reason: FinishReason, prompt: str, state: _StreamState, started: float, *, estimate: bool
    ) -> Finish:
        ended = time.monotonic()
        usage = state.usage or {}
        timings = state.timings or {}
        prompt_tokens = _int(usage.get("prompt_tokens"))
        if prompt_tokens is None:
            prompt_tokens = estimate_tokens(prompt) if estimate else self._prompt_token_count(prompt)
        completion_tokens = _int(usage.get("completion_tokens"))
        if completion_tokens is None:
            completion_tokens = _int(timings.get("predicted_n"))
        if completion_tokens is None:
            completion_tokens = state.chunks
        evaluated = _int(timings.get("prompt_n"))
        if evaluated is None:
            details = usage.get("prompt_tokens_details")
            cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else None
            evaluated = prompt_tokens - cached if cached is not None else prompt_tokens
        prompt_ms, predicted_ms = timings.get("prompt_ms"), timings.get("predicted_ms")
        first = state.first_text_at
        prompt_seconds = (
            float(prompt_ms) / 1000 if isinstance(prompt_ms, (int, float)) else (first or ended) - started
        )
        generation_seconds = (
            float(predicted_ms) / 1000
            if isinstance(predicted_ms, (int, float))
            else (ended - first if first is not None else 0.0)
        )
        return Finish(
            reason=reason,
            prompt_tokens=prompt_tokens,
            prompt_tokens_evaluated=max(0, min(evaluated, prompt_tokens)),
            completion_tokens=completion_tokens,
            prompt_seconds=max(0.0, prompt_seconds),
            generation_seconds=max(0.0, generation_seconds),
        )

    def _prompt_token_count(self, prompt: str) -> int:
        """Prompt tokens as the server counts them (with its BOS), or the estimate."""
        try:
            tokens = self._server_tokenize(prompt, special=True)
        except ServerError:
            tokens = None
        if tokens is None:
            return estimate_tokens(prompt)
        return len(tokens) + len(self._server_bos)

    # --- errors in plain words ------------------------------------------------------------------------

    def _unreachable(self, exc: BaseException | None) -> ServerError:
        if isinstance(exc, socket.gaierror):
            message = f"The server name '{self.address.host}' could not be found. Check the URL {self.url}."
        elif isinstance(exc, ConnectionRefusedError):
            message = f"No server answers at {self.url} — is it running?"
        elif isinstance(exc, (TimeoutError, socket.timeout)):
            message = (
                f"The server at {self.url} did not answer within {self.connect_timeout:.0f} s. "
                "Is the address right and the port open?"
            )
        elif isinstance(exc, ssl.SSLError):
            message = f"A secure connection to {self.url} failed: {exc}."
        else:
            message = f"No server answers at {self.url} — is it running? ({exc})"
        return ServerError(self._api_key.redact(message), url=self.url)

    def _status_error(self, status: int, body: bytes, endpoint: str) -> ServerError:
        detail = self._api_key.redact(server_message(body))
        if status in (401, 403):
            if self._api_key:
                message = f"The server at {self.url} refused the API key ({status}: {detail}). Check the key."
            else:
                message = (
                    f"The server at {self.url} wants an API key ({status}: {detail}). "
                    "Put it in an environment variable and name it with --api-key-env."
                )
        elif status == 404:
            if endpoint == "/models":
                message = (
                    f"There is no OpenAI-compatible API at {self.url} (404 for {endpoint}). Check the URL: "
                    "it is the server's address, usually with port 8080 (llama.cpp), 8000 (vLLM, "
                    "llama-cpp-python) or 11434 (Ollama)."
                )
            else:
                available = ", ".join(self.models) if getattr(self, "models", None) else "none listed"
                hint = " If the server only does chat, use chat mode." if endpoint == "/completions" else ""
                message = (
                    f"The server at {self.url} answered 404 for {endpoint} ({detail}): wrong URL or model "
                    f"name. It serves: {available}.{hint}"
                )
        elif status in (400, 422):
            message = f"The server at {self.url} rejected the request: {detail}"
        elif status == 503:
            message = (
                f"The server at {self.url} is busy or still loading its model (503: {detail}). Try again."
            )
        elif status >= 500:
            message = f"The server at {self.url} failed ({status}: {detail}). Its own log may say more."
        else:
            message = f"The server at {self.url} answered {status}: {detail}"
        return ServerError(message, url=self.url, status=status, available_models=getattr(self, "models", ()))

    def _broken(self, what: str, state: _StreamState) -> ServerError:
        text = state.text
        return ServerError(
            f"{what} after {len(text)} characters. The text so far is kept; writing can resume from it.",
            url=self.url,
            partial_text=text,
            completion_tokens=state.chunks,
        )

    def _ended_early(self, state: _StreamState) -> ServerError:
        if not state.text:
            return ServerError(
                f"The server at {self.url} ended its answer without any text or reason. llama-cpp-python's "
                "server does this when the prompt is longer than its context (--n_ctx) or a grammar is "
                "invalid; the server's own log says which.",
                url=self.url,
            )
        return self._broken(
            f"The server at {self.url} ended the stream without saying why (another request may have "
            "interrupted it)",
            state,
        )


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
