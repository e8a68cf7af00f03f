"""The interface every inference backend implements (local llama.cpp, an OpenAI-compatible server).

A backend streams :class:`Delta` objects for a prompt and ends with a :class:`Finish`. Prompts are either
token lists (backends that tokenize locally, so the KV cache is reused exactly) or text (servers).
Cancelling is cooperative: the caller sets a ``threading.Event``; the backend checks it per token and,
where it can, during prompt evaluation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol, runtime_checkable

from .prompts import PromptFormat


class FinishReason(str, Enum):
    STOP = "stop"  # end-of-text token or a stop string
    LENGTH = "length"  # max_tokens reached or the context is full
    CANCELLED = "cancelled"  # the cancel event was set


@dataclass(frozen=True)
class Sampling:
    """Sampling settings (the LongWriter authors' defaults)."""

    temperature: float = 0.5
    top_p: float = 0.8
    top_k: int = 50
    min_p: float = 0.0
    repeat_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    # DRY ("don't repeat yourself") penalises extending any sequence already in the context: the cure for
    # small models that copy earlier sections. 0 turns it off.
    dry_multiplier: float = 0.8
    dry_base: float = 1.75
    dry_allowed_length: int = 3
    seed: int | None = None


class StopSignal:
    """Stops one generation: set by the caller, and also set whenever the parent (the user's cancel) is."""

    def __init__(self, parent: threading.Event | None = None) -> None:
        self._own = threading.Event()
        self._parent = parent

    def set(self) -> None:
        self._own.set()

    def is_set(self) -> bool:
        return self._own.is_set() or (self._parent is not None and self._parent.is_set())

    def wait(self, timeout: float) -> bool:
        if self._parent is None:
            return self._own.wait(timeout)
        deadline = time.monotonic() + timeout
        while not self.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._own.wait(min(0.02, remaining))
        return True


CancelToken = threading.Event | StopSignal


@dataclass
class GenerationRequest:
    prompt: Sequence[int] | str
    max_tokens: int
    sampling: Sampling = field(default_factory=Sampling)
    stop: Sequence[str] = ()
    # Called before each token is sampled; while it returns False the end-of-generation tokens are banned.
    allow_end: Callable[[], bool] | None = None
    grammar: str | None = None  # GBNF text
    cancel: CancelToken | None = None
    # A no-repeat-n-gram control: called before each token is sampled, it gives the words that would repeat an
    # n-gram of the document if written next, and whether the next token starts a word without a space.
    # Backends that sample locally push down the tokens that start these words by ``avoid_penalty``.
    avoid: Callable[[], tuple[frozenset[str], bool]] | None = None
    avoid_penalty: float = 0.0
    # A milder push against words that would repeat a shorter n-gram (3 words), so that a phrase such as
    # "A New Era" does not become the template of every line; same form as ``avoid``.
    avoid_soft: Callable[[], frozenset[str]] | None = None
    avoid_soft_penalty: float = 0.0
    # Prose, not markup: list numbers and bullets at a line's start, and bold or heading marks, are pushed down.
    prose: bool = False
    # The same control for servers, which take one static bias per request: words the document over-uses.
    avoid_words: Sequence[str] = ()


@dataclass(frozen=True)
class Delta:
    """Newly generated text and the token ids that produced it (empty for servers that don't say)."""

    text: str
    tokens: tuple[int, ...] = ()
    n_tokens: int = 1


@dataclass(frozen=True)
class Finish:
    reason: FinishReason
    prompt_tokens: int  # tokens in the prompt
    prompt_tokens_evaluated: int  # of those, how many were actually computed (the rest came from cache)
    completion_tokens: int
    prompt_seconds: float
    generation_seconds: float

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.generation_seconds if self.generation_seconds > 0 else 0.0


@dataclass(frozen=True)
class LoadProgress:
    fraction: float


@dataclass(frozen=True)
class BackendInfo:
    name: str  # "llama.cpp" or "openai"
    model: str  # model id or server model name
    n_ctx: int
    device: str  # "CPU", "CUDA0 (32/32 layers)", "server http://..."
    gpu_layers: int = 0


@runtime_checkable
class Backend(Protocol):
    info: BackendInfo
    prompt_format: PromptFormat

    @property
    def tokenizes(self) -> bool:
        """True when prompts may be token lists (and deltas carry token ids)."""
        ...

    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        """Tokens for text, never with a BOS; servers that cannot may estimate with count_tokens."""
        ...

    def bos_tokens(self) -> list[int]:
        """The tokens that start every prompt (BOS where the model wants one)."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def generate(self, request: GenerationRequest) -> Iterator[Delta | Finish]:
        """Stream deltas, then exactly one Finish. Closing the iterator early is allowed."""
        ...

    def close(self) -> None: ...
