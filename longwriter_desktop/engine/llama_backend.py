"""The local backend: llama-cpp-python, imported lazily so the app starts fast.

One :class:`LlamaBackend` owns one ``Llama``; it is not thread-safe, so one worker thread creates it,
generates with it and closes it. Prompts are token lists, so consecutive calls that share a prefix reuse
llama.cpp's KV cache (ENGINE_NOTES.md). Generation is driven token by token through ``Llama.generate``:
that gives the token ids (needed to extend the next prompt exactly), per-token cancel, an end-of-text ban
while a section is short, and stop strings handled here.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import io
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GenerationError, InputError, ModelError
from .backend import BackendInfo, CancelToken, Delta, Finish, FinishReason, GenerationRequest, Sampling
from .gguf import GGUFInfo, check_complete, read_gguf
from .prompts import (
    FORMAT_MARKERS,
    Family,
    PromptFormat,
    detect_family,
    format_for,
    is_longwriter_trained,
    template_format,
)

log = logging.getLogger(__name__)
llama_log = logging.getLogger("longwriter_desktop.llama_cpp")

DEFAULT_CTX = 8192
DRY_WINDOW = 4096  # tokens of context the repetition samplers look back over
PROSE_PENALTY = 6.0  # logits taken off markup tokens (bold, headings, list numbers) when prose is asked for
MIN_CTX = 512
CTX_STEP = 256

_LOAD_LOCK = threading.Lock()
_log_callback_ref: Any = None


@dataclass(frozen=True)
class LoadSettings:
    """How to load a model. ``n_ctx`` None means the default capped by the model's trained context."""

    n_ctx: int | None = None
    gpu_layers: int | str = "auto"  # "auto", "all", or a number of layers
    threads: int | None = None
    family: Family | None = None  # override the family detected from the GGUF
    kv_type: str = "f16"  # f16, q8_0, q4_0 (quantized V needs flash attention, turned on for it)
    flash_attn: bool = False


def choose_n_ctx(requested: int | None, trained: int | None, default: int = DEFAULT_CTX) -> int:
    """A context size that is a multiple of 256, never 0, and never above the model's trained context."""
    if requested is not None and requested <= 0:
        raise InputError("The context size must be a positive number of tokens (for example 8192).")
    value = requested if requested is not None else default
    if trained:
        value = min(value, trained)
    value = max(MIN_CTX, value)
    return value - value % CTX_STEP if value % CTX_STEP else value


def parse_gpu_layers(value: int | str) -> int | str:
    """Accept "auto", "all", -1 or a non-negative number of layers."""
    if isinstance(value, int):
        if value < -1:
            raise InputError("GPU layers must be auto, all, or a number of layers (0 = CPU only).")
        return "all" if value == -1 else value
    text = str(value).strip().lower()
    if text in ("auto", "all"):
        return text
    try:
        return parse_gpu_layers(int(text))
    except ValueError:
        raise InputError(f"GPU layers must be auto, all, or a number; got '{value}'.") from None


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - an install problem
        raise ModelError(
            f"llama-cpp-python is not installed or failed to load ({exc}). Run ./run.sh to set it up."
        ) from exc
    _route_llama_log(llama_cpp)
    return llama_cpp


def _route_llama_log(llama_cpp: Any) -> None:
    """Send llama.cpp's native log to our logger (verbose=False would silence the whole process).

    llama.cpp logs from any thread, and also while a model is freed by the garbage collector, which can run
    in the middle of another log record being written to the same file: the callback only queues lines
    (SimpleQueue is safe to re-enter) and one thread writes them.
    """
    global _log_callback_ref
    if _log_callback_ref is not None:
        return
    # ggml's levels: 0 none, 1 debug, 2 info, 3 warn, 4 error, 5 continues the previous line.
    levels = {1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
    lines = _llama_lines
    pending: list[str] = []

    def callback(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        message = text.decode("utf-8", errors="replace") if text else ""
        pending.append(message)
        if message.endswith("\n"):
            line = "".join(pending).rstrip()
            pending.clear()
            if line:
                lines.put((levels.get(level, logging.DEBUG), line))

    def write_lines() -> None:
        while True:
            level, line = lines.get()
            if isinstance(line, threading.Event):
                line.set()
            else:
                llama_log.log(level, "%s", line)

    threading.Thread(target=write_lines, name="llama-log", daemon=True).start()
    _log_callback_ref = llama_cpp.llama_log_callback(callback)
    llama_cpp.llama_log_set(_log_callback_ref, ctypes.c_void_p(0))


_llama_lines: queue.SimpleQueue[tuple[int, str | threading.Event]] = queue.SimpleQueue()


def flush_llama_log(timeout: float = 2.0) -> None:
    """Wait until llama.cpp's queued log lines are written (not from a finalizer: it blocks)."""
    if _log_callback_ref is None:
        return
    written = threading.Event()
    _llama_lines.put((0, written))
    written.wait(timeout)


class _LogWriter(io.TextIOBase):
    """A stream for llama-cpp-python's own Python prints during load; lines go to the log."""

    _inside = threading.local()

    def write(self, text: str) -> int:
        # Whatever logging prints about its own failure comes back here: never log that again.
        if getattr(self._inside, "active", False):
            return len(text)
        self._inside.active = True
        try:
            for line in text.splitlines():
                if line.strip():
                    llama_log.debug("%s", line)
        finally:
            self._inside.active = False
        return len(text)


def build_uses_amx(llama_cpp: Any) -> bool:
    """True when this llama.cpp was compiled with its AMX path (system info AMX_INT8 = 1) and the CPU has AMX.

    ./run.sh builds llama.cpp without that path on CPUs that report AMX; a build made elsewhere
    (-march=native on a Sapphire Rapids machine) may still have it.
    """
    try:
        info = llama_cpp.llama_print_system_info()
        with open("/proc/cpuinfo", encoding="utf-8") as cpu:
            flags = next((line.split() for line in cpu if line.startswith("flags")), [])
    except (OSError, AttributeError):
        return False
    text = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
    return "AMX_INT8 = 1" in text and "amx_tile" in flags


@contextlib.contextmanager
def model_params(llama_cpp: Any, progress: Callable[[float], bool] | None = None) -> Iterator[None]:
    """Adjust the model params the Llama constructor builds itself: a progress callback, and no AMX.

    On a Xeon with AMX, llama.cpp 0.3.36's AMX weight buffers (its "extra buffer types") crash with a
    segfault in ggml_backend_amx_mul_mat as soon as a prompt of a few dozen tokens is evaluated (checked on
    a 2-core Intel Xeon VM: a 150-token prompt on the built-in model). Without them the weights stay in the
    plain CPU buffers, which work everywhere.
    """
    callback = None
    if progress is not None:

        def on_progress(fraction: float, _data: ctypes.c_void_p) -> bool:
            try:
                return bool(progress(float(fraction)))
            except Exception:  # a failing observer must not abort the load
                log.exception("load progress observer failed")
                return True

        callback = llama_cpp.llama_progress_callback(on_progress)
    no_amx = build_uses_amx(llama_cpp)
    if callback is None and not no_amx:
        yield
        return
    module = llama_cpp.llama_cpp
    original = module.llama_model_default_params

    def adjusted() -> Any:
        params = original()
        if callback is not None:
            params.progress_callback = callback
        if no_amx and hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False
        return params

    module.llama_model_default_params = adjusted
    try:
        yield
    finally:
        module.llama_model_default_params = original


class LlamaBackend:
    """A loaded GGUF model behind the Backend protocol."""

    def __init__(
        self,
        model_path: str | Path,
        settings: LoadSettings | None = None,
        *,
        model_id: str | None = None,
        progress: Callable[[float], bool] | None = None,
        header: GGUFInfo | None = None,
    ) -> None:
        settings = settings or LoadSettings()
        path = Path(model_path)
        self.header = header or read_gguf(path)
        self.settings = settings
        self.calls: list[Finish] = []  # each free call's figures, for the speed model (engine/estimate.py)
        check_complete(self.header)
        llama_cpp = _import_llama_cpp()
        self._llama_cpp = llama_cpp
        n_ctx = choose_n_ctx(settings.n_ctx, self.header.context_length)
        gpu_layers = parse_gpu_layers(settings.gpu_layers)
        offload = bool(llama_cpp.llama_supports_gpu_offload())
        if gpu_layers == "auto":
            n_gpu_layers = -1 if offload else 0
        elif gpu_layers == "all":
            n_gpu_layers = -1
        else:
            n_gpu_layers = int(gpu_layers)
        kwargs: dict[str, Any] = {
            "model_path": str(path),
            "n_ctx": n_ctx,
            "n_gpu_layers": n_gpu_layers,
            "verbose": True,  # keeps stdout/stderr of the process open; the log goes through our callback
            "logits_all": False,
        }
        if settings.threads:
            kwargs["n_threads"] = settings.threads
        kv_types = {"f16": 1, "q8_0": 8, "q4_0": 2}  # ggml type ids
        if settings.kv_type not in kv_types:
            raise InputError(f"Unknown KV cache type '{settings.kv_type}': use f16, q8_0 or q4_0.")
        if settings.kv_type != "f16":
            kwargs["type_k"] = kv_types[settings.kv_type]
            kwargs["type_v"] = kv_types[settings.kv_type]
        if settings.flash_attn or settings.kv_type != "f16":
            kwargs["flash_attn"] = True
        started = time.perf_counter()
        try:
            with _LOAD_LOCK, model_params(llama_cpp, progress), contextlib.redirect_stderr(_LogWriter()):
                self._llm = llama_cpp.Llama(**kwargs)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(
                f"llama.cpp could not load {path.name}: {exc}. The file may be damaged, or made for a newer "
                "llama.cpp; see the log for details."
            ) from exc
        self._llm.verbose = False  # no per-call prints from llama-cpp-python from here on
        flush_llama_log()  # the load's log lines (buffer sizes, device) are in the log when the load returns
        self.load_seconds = time.perf_counter() - started
        self.n_ctx = int(self._llm.n_ctx())
        self.prompt_format = self._choose_format(settings.family, path.name)
        self.longwriter_trained = self.prompt_format.longwriter_trained or is_longwriter_trained(
            self.header.metadata, path.name)
        self._abort = threading.Event()
        self._abort_ref = llama_cpp.ggml_abort_callback(lambda _data: self._abort.is_set())
        llama_cpp.llama_set_abort_callback(self._llm.ctx, self._abort_ref, None)
        self._end_tokens: list[int] | None = None
        self._word_index: tuple[dict[str, list[int]], dict[str, list[int]]] | None = None
        self._word_tokens: dict[tuple[str, bool], Any] = {}
        self._markup: tuple[Any, Any] | None = None
        # Llama.generate builds its sampler chain itself, without DRY and blind to the prompt: build it here.
        self._history: list[int] = []
        self._sampling: Sampling | None = None
        self._llm._init_sampler = self._make_sampler
        self._vocab = llama_cpp.llama_model_get_vocab(self._llm.model)
        layers = self.header.block_count or 0
        offloaded = 0 if not offload else (layers + 1 if n_gpu_layers < 0 else min(n_gpu_layers, layers + 1))
        device = "CPU" if offloaded == 0 else f"GPU ({min(offloaded, layers)}/{layers} layers)"
        self.info = BackendInfo(
            name="llama.cpp",
            model=model_id or path.stem,
            n_ctx=self.n_ctx,
            device=device,
            gpu_layers=offloaded,
        )
        log.info("loaded %s in %.2f s: n_ctx=%d, %s, family=%s", path.name, self.load_seconds, self.n_ctx,
                 device, self.prompt_format.family.value)

    # -- tokens ---------------------------------------------------------------------------------------

    @property
    def tokenizes(self) -> bool:
        return True

    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=special))

    def bos_tokens(self) -> list[int]:
        if not self.prompt_format.add_bos:
            return []
        bos = int(self._llm.token_bos())
        add = self.header.get("tokenizer.ggml.add_bos_token")
        return [bos] if bos >= 0 and add is not False else []

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text, special=True))

    def detokenize(self, tokens: Sequence[int]) -> str:
        return bytes(self._llm.detokenize(list(tokens))).decode("utf-8", errors="replace")

    def end_tokens(self) -> list[int]:
        """End-of-generation and control tokens: they end a turn, and are banned while a text is short."""
        if self._end_tokens is None:
            lib = self._llama_cpp
            n_vocab = int(self._llm.n_vocab())
            is_eog, is_control = lib.llama_vocab_is_eog, lib.llama_vocab_is_control
            self._end_tokens = [t for t in range(n_vocab) if is_eog(self._vocab, t) or is_control(self._vocab, t)]
        return self._end_tokens

    def _words_index(self) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        """Tokens that are a word's start: (with a leading space, without), keyed by their lower-case letters."""
        if self._word_index is None:
            spaced: dict[str, list[int]] = {}
            bare: dict[str, list[int]] = {}
            for token in range(int(self._llm.n_vocab())):
                try:
                    piece = bytes(self._llm.detokenize([token])).decode("utf-8")
                except (UnicodeDecodeError, RuntimeError):
                    continue
                if piece.startswith(" ") and piece[1:].isalpha():
                    spaced.setdefault(piece[1:].lower(), []).append(token)
                elif piece.isalpha():
                    bare.setdefault(piece.lower(), []).append(token)
            self._word_index = (spaced, bare)
        return self._word_index

    def _markup_tokens(self) -> tuple[Any, Any]:
        """(tokens with bold, heading or table marks; tokens that open a list item at a line's start)."""
        if self._markup is None:
            import numpy as np

            markup: list[int] = []
            starts: list[int] = []
            for token in range(int(self._llm.n_vocab())):
                try:
                    piece = bytes(self._llm.detokenize([token])).decode("utf-8")
                except (UnicodeDecodeError, RuntimeError):
                    continue
                if "**" in piece or "#" in piece or "|" in piece or "__" in piece:
                    markup.append(token)
                elif piece.strip() and (piece.lstrip()[0].isdigit() or piece.lstrip()[0] in "-*•"):
                    starts.append(token)
            self._markup = (np.array(markup, dtype=np.intc), np.array(starts, dtype=np.intc))
        return self._markup

    def word_start_tokens(self, word: str, at_boundary: bool) -> Any:
        """Token ids that would begin ``word`` next (a prefix of it of two letters or more, or the whole word)."""
        key = (word, at_boundary)
        cached = self._word_tokens.get(key)
        if cached is None:
            import numpy as np

            spaced, bare = self._words_index()
            ids: list[int] = []
            shortest = min(2, len(word))
            for size in range(shortest, len(word) + 1):
                piece = word[:size]
                # Bare pieces too: after a whole word, gluing the banned word on ("toinspire") is no way out.
                ids.extend(spaced.get(piece, ()))
                ids.extend(bare.get(piece, ()))
            cached = np.array(sorted(set(ids)), dtype=np.intc)
            if len(self._word_tokens) > 50_000:
                self._word_tokens.clear()
            self._word_tokens[key] = cached
        return cached

    # -- generation -----------------------------------------------------------------------------------

    def _choose_format(self, override: Family | None, file_name: str) -> PromptFormat:
        family = override or detect_family(self.header.metadata, file_name)
        # Without a template, a chat format is used only where its markers are the model's own tokens.
        if override is None and not self.header.chat_template and family in FORMAT_MARKERS and not all(
                len(self.tokenize(marker, special=True)) == 1 for marker in FORMAT_MARKERS[family]):
            log.info("%s has no chat template and no %s tokens: prompting it as a base model", file_name,
                     family.value)
            family = Family.PLAIN
        if family is Family.TEMPLATE:
            template = self.header.chat_template
            if template:
                try:
                    return template_format(template, self._token_text(self._llm.token_bos()),
                                           self._token_text(self._llm.token_eos()))
                except Exception as exc:  # a template we cannot take apart: ChatML is the safest fallback
                    log.warning("cannot use the model's chat template (%s); using ChatML", exc)
            family = Family.CHATML
        return format_for(family)

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return bytes(self._llm._model.token_get_text(token)).decode("utf-8", errors="replace") \
            if hasattr(self._llm._model, "token_get_text") else self.detokenize([token])

    def _make_sampler(self, *, top_k: int, top_p: float, min_p: float, temp: float, repeat_penalty: float,
                      frequency_penalty: float, presence_penalty: float, logits_processor: Any = None,
                      grammar: Any = None, **_unused: Any) -> Any:
        """The sampler chain for one generate call: penalties and DRY see the prompt, not only new tokens."""
        from llama_cpp import _internals

        llama_cpp = self._llama_cpp
        llm = self._llm
        sampler = _internals.LlamaSampler()
        if logits_processor is not None:
            import numpy as np

            def apply(token_data_array: Any) -> None:
                size = token_data_array.contents.size
                address = ctypes.addressof(token_data_array.contents.data.contents)
                records = np.recarray(
                    shape=(size,),
                    dtype=np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True),
                    buf=(llama_cpp.llama_token_data * size).from_address(address),
                )
                for processor in logits_processor:
                    records.logit[:] = processor(llm._input_ids, records.logit)

            sampler.add_custom(apply)
        sampler.add_penalties(llm._n_vocab, llm.last_n_tokens_size, repeat_penalty, frequency_penalty,
                              presence_penalty)
        sampling = self._sampling
        if sampling is not None and sampling.dry_multiplier > 0:
            sampler.add_dry(llm._model, sampling.dry_multiplier, sampling.dry_base, sampling.dry_allowed_length,
                            DRY_WINDOW, ["\n", ":", "\"", "*"])
        if grammar is not None:
            sampler.add_grammar(llm._model, grammar)
        if temp <= 0:
            sampler.add_greedy()
        else:
            sampler.add_top_k(top_k)
            sampler.add_top_p(top_p, 1)
            sampler.add_min_p(min_p, 1)
            sampler.add_temp(temp)
            sampler.add_dist(llm._seed)
        if grammar is None:
            for token in self._history[-DRY_WINDOW:]:
                llama_cpp.llama_sampler_accept(sampler.sampler, token)
        return sampler

    def _cached_prefix(self, tokens: Sequence[int]) -> int:
        """How many leading tokens of this prompt llama.cpp will reuse from its KV cache."""
        n_cached = int(self._llm.n_tokens)
        if n_cached <= 0:
            return 0
        cached = self._llm._input_ids[:n_cached]
        prefix = 0
        for a, b in zip(cached, tokens):
            if a != b:
                break
            prefix += 1
        if prefix == len(tokens):
            prefix -= 1  # the last prompt token is evaluated again to get fresh logits
        return max(prefix, 0)

    def generate(self, request: GenerationRequest) -> Iterator[Delta | Finish]:
        if isinstance(request.prompt, str):
            tokens = self.bos_tokens() + self.tokenize(request.prompt, special=True)
        else:
            tokens = list(request.prompt)
        if not tokens:
            raise GenerationError("The prompt is empty.")
        if len(tokens) >= self.n_ctx:
            raise GenerationError(
                f"The prompt has {len(tokens)} tokens but the context holds {self.n_ctx}: it cannot fit."
            )
        max_tokens = max(0, min(request.max_tokens, self.n_ctx - len(tokens)))
        cancel: CancelToken = request.cancel or threading.Event()
        if cancel.is_set():
            yield Finish(FinishReason.CANCELLED, len(tokens), 0, 0, 0.0, 0.0)
            return
        yield from self._generate(tokens, max_tokens, request, cancel)

    def _generate(
        self, tokens: list[int], max_tokens: int, request: GenerationRequest, cancel: CancelToken
    ) -> Iterator[Delta | Finish]:
        llama_cpp = self._llama_cpp
        sampling = request.sampling
        if sampling.seed is not None:
            self._llm.set_seed(sampling.seed & 0xFFFFFFFF)
        processors: list[Any] = []
        if request.allow_end is not None:
            allow_end = request.allow_end
            import numpy as np

            banned = np.array(self.end_tokens(), dtype=np.intc)

            def ban_end(_input_ids: Any, scores: Any) -> Any:
                if not allow_end():
                    scores[banned] = -np.inf
                return scores

            processors.append(ban_end)
        if request.avoid is not None and request.avoid_penalty > 0:
            avoid, penalty = request.avoid, float(request.avoid_penalty)
            soft, soft_penalty = request.avoid_soft, float(request.avoid_soft_penalty)
            self._words_index()

            def no_repeat(_input_ids: Any, scores: Any) -> Any:
                words, at_boundary = avoid()
                for word in words:
                    ids = self.word_start_tokens(word, at_boundary)
                    if len(ids):
                        scores[ids] -= penalty
                if soft is not None and soft_penalty > 0:
                    for word in soft() - words:
                        ids = self.word_start_tokens(word, at_boundary)
                        if len(ids):
                            scores[ids] -= soft_penalty
                return scores

            processors.append(no_repeat)
        if request.prose:
            markup, line_start = self._markup_tokens()
            last = [self.detokenize(tokens[-1:])]

            def prose(input_ids: Any, scores: Any) -> Any:
                if len(input_ids) > len(tokens):
                    last[0] = self.detokenize([int(input_ids[-1])])
                scores[markup] -= PROSE_PENALTY
                if last[0].endswith("\n"):
                    scores[line_start] -= PROSE_PENALTY
                return scores

            processors.append(prose)
        logits_processor = llama_cpp.LogitsProcessorList(processors) if processors else None
        grammar = llama_cpp.LlamaGrammar.from_string(request.grammar, verbose=False) if request.grammar else None
        self._history = tokens
        self._sampling = sampling
        end_tokens = set(self.end_tokens())
        stops = [s for s in request.stop if s]
        holdback = max((len(s) for s in stops), default=0)
        # Bytes that are no UTF-8 (the model began a character in byte tokens and went on with another) are left
        # out: the Chinese tea essay of the built-in model held "猪��" where a U+FFFD mark stood for each.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="ignore")
        reused = self._cached_prefix(tokens)
        evaluated = len(tokens) - reused
        self._abort.clear()
        # Watch the caller's cancel event during prompt evaluation (the abort callback reads _abort).
        watcher_done = threading.Event()

        def watch() -> None:
            while not watcher_done.is_set():
                if cancel.wait(0.05):
                    self._abort.set()
                    return

        watcher = threading.Thread(target=watch, name="llama-abort-watch", daemon=True)
        watcher.start()
        started = time.perf_counter()
        first_token_at: float | None = None
        produced = 0
        pending_text = ""
        pending_tokens: list[int] = []
        reason = FinishReason.LENGTH
        stream = self._llm.generate(
            tokens,
            top_k=sampling.top_k,
            top_p=sampling.top_p,
            min_p=sampling.min_p,
            temp=sampling.temperature,
            repeat_penalty=sampling.repeat_penalty,
            presence_penalty=sampling.presence_penalty,
            frequency_penalty=sampling.frequency_penalty,
            logits_processor=logits_processor,
            grammar=grammar,
        )
        try:
            while produced < max_tokens:
                if cancel.is_set():
                    reason = FinishReason.CANCELLED
                    break
                try:
                    token = next(stream)
                except StopIteration:
                    reason = FinishReason.STOP
                    break
                except RuntimeError as exc:
                    if self._abort.is_set() or cancel.is_set():
                        reason = FinishReason.CANCELLED
                        break
                    raise GenerationError(f"llama.cpp failed while generating: {exc}") from exc
                if first_token_at is None:
                    first_token_at = time.perf_counter()
                if token in end_tokens:
                    reason = FinishReason.STOP
                    break
                produced += 1
                piece = decoder.decode(bytes(self._llm.detokenize([token])))
                pending_text += piece
                pending_tokens.append(token)
                if stops:
                    cut = _find_stop(pending_text, stops)
                    if cut is not None:
                        pending_text = pending_text[:cut]
                        if pending_text:
                            yield Delta(pending_text, tuple(pending_tokens), len(pending_tokens))
                        pending_text, pending_tokens = "", []
                        reason = FinishReason.STOP
                        break
                    if len(pending_text) <= holdback and _could_start_stop(pending_text, stops):
                        continue
                    safe = len(pending_text) - _stop_prefix_len(pending_text, stops)
                    if safe <= 0:
                        continue
                    yield Delta(pending_text[:safe], tuple(pending_tokens), len(pending_tokens))
                    pending_text, pending_tokens = pending_text[safe:], []
                elif pending_text:
                    yield Delta(pending_text, tuple(pending_tokens), len(pending_tokens))
                    pending_text, pending_tokens = "", []
                else:
                    continue  # an incomplete UTF-8 sequence: its token goes out with the next piece
        finally:
            watcher_done.set()
            watcher.join()  # it must not set the abort flag after it is cleared for the next call
            stream.close()
            self._abort.clear()
        tail = pending_text + decoder.decode(b"", final=True)
        if tail or pending_tokens:
            yield Delta(tail, tuple(pending_tokens), len(pending_tokens))
        ended = time.perf_counter()
        prompt_seconds = (first_token_at or ended) - started
        finish = Finish(
            reason=reason,
            prompt_tokens=len(tokens),
            prompt_tokens_evaluated=evaluated if first_token_at is not None or reason is not FinishReason.CANCELLED
            else 0,
            completion_tokens=produced,
            prompt_seconds=prompt_seconds,
            generation_seconds=ended - (first_token_at or ended),
        )
        if grammar is None:  # grammar sampling is slower: such calls would skew the speed model
            self.calls.append(finish)
        yield finish

    def close(self) -> None:
        llm = getattr(self, "_llm", None)
        if llm is not None:
            llm.close()
            self._llm = None

    def __enter__(self) -> LlamaBackend:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _find_stop(text: str, stops: Sequence[str]) -> int | None:
    positions = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(positions) if positions else None


def _stop_prefix_len(text: str, stops: Sequence[str]) -> int:
    """Length of the longest tail of text that could be the start of a stop string."""
    best = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:n]):
                best = max(best, n)
                break
    return best


def _could_start_stop(text: str, stops: Sequence[str]) -> bool:
    return any(stop.startswith(text) for stop in stops)

