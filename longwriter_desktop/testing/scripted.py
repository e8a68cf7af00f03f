"""A backend whose text the test chooses: for testing control flow (length hand-on, loop cuts, retries,
what each prompt holds) on any machine, where a sampled model's words would differ between CPUs.

It implements the whole :class:`~longwriter_desktop.engine.backend.Backend` protocol with a reversible
tokenizer (one token per word with its leading space, so a token list always turns back into the exact
text), streams its replies token by token, and honours ``max_tokens``, stop strings, the cancel token and
the context size like a real backend. Every call is recorded with its prompt as text.

It refuses to be created unless ``LONGWRITER_SCRIPTED_BACKEND=1`` is set (tests set it in conftest):
the app never runs on it by accident.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.backend import BackendInfo, Delta, Finish, FinishReason, GenerationRequest
from ..engine.prompts import Family, PromptFormat, format_for

ENABLE_ENV = "LONGWRITER_SCRIPTED_BACKEND"

# A word with the white space before it, or white space at the end of the text: every character belongs to
# exactly one piece, so joining the pieces gives the text back. Chinese and Japanese, written without
# spaces, go two characters a piece and their punctuation one (about what a real tokenizer gives), so a reply
# streams as text does.
_CJK_PUNCT = "\u3001-\u303f\uff01-\uff0f\uff1a-\uff20"
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
_PIECE = re.compile(f"\\s*[{_CJK_PUNCT}]|\\s*[{_CJK}]{{1,2}}|\\s*[^\\s{_CJK}{_CJK_PUNCT}]+|\\s+")
# Special markers of the prompt formats stay one token each, as in a real tokenizer.
_SPECIAL = re.compile(r"(<\|[^|<>]{1,40}\|>|\[/?INST\]|<</?SYS>>|\[gMASK\]|<sop>|</?think>|</?answer>)")


@dataclass
class ScriptedCall:
    """One generate() call as the backend saw it."""

    request: GenerationRequest
    prompt_text: str
    reply: str = ""  # what was streamed before the call ended
    finish: FinishReason | None = None
    end_allowed: bool | None = None  # allow_end() when the script's reply ran out (None: no allow_end given)
    # What the request's no-repeat-n-gram control named before each streamed piece (empty without one).
    avoided: list[frozenset[str]] = field(default_factory=list)

    @property
    def is_plan(self) -> bool:
        """True for a grammar-constrained call (how the planner asks for a plan where it can)."""
        return self.request.grammar is not None


Reply = str | Callable[[ScriptedCall], str]


def split_pieces(text: str) -> list[str]:
    """The scripted tokenizer's pieces of ``text``; joined, they give the text back."""
    pieces: list[str] = []
    for part in _SPECIAL.split(text):
        if not part:
            continue
        if _SPECIAL.fullmatch(part):
            pieces.append(part)
        else:
            pieces.extend(_PIECE.findall(part))
    return pieces


def _require_enabled() -> None:
    if os.environ.get(ENABLE_ENV) != "1":
        raise RuntimeError(
            f"The scripted backend is a test double: set {ENABLE_ENV}=1 to use it (tests do; the app never does)."
        )


class ScriptedBackend:
    """Answers each generate() call with the next scripted reply.

    ``replies`` is a list (used in order; running out is an error, so a test sees an unexpected call) or a
    function of the :class:`ScriptedCall` (which can read ``prompt_text`` and ``request``) returning the text.
    """

    def __init__(
        self,
        replies: Sequence[Reply] | Callable[[ScriptedCall], str],
        *,
        n_ctx: int = 8192,
        tokenizes: bool = True,
        family: Family = Family.CHATML,
        prompt_format: PromptFormat | None = None,
        applies_dry: bool = True,
        supports_grammar: bool | None = None,
        longwriter_trained: bool = False,
        seconds_per_token: float = 0.0,
        name: str = "scripted",
        model: str = "scripted-model",
    ) -> None:
        _require_enabled()
        self._replies: list[Reply] | None = None if callable(replies) else list(replies)
        self._reply_fn = replies if callable(replies) else None
        self._tokenizes = tokenizes
        self.prompt_format = prompt_format or format_for(family)
        self.applies_dry = applies_dry
        self.supports_grammar = tokenizes if supports_grammar is None else supports_grammar
        self.longwriter_trained = longwriter_trained
        self.seconds_per_token = seconds_per_token
        self.info = BackendInfo(name=name, model=model, n_ctx=n_ctx, device="CPU")
        self.calls: list[ScriptedCall] = []
        self._vocab: dict[str, int] = {}
        self._pieces: list[str] = []
        self.closed = False

    # -- tokenizer -------------------------------------------------------------------------------------
    @property
    def tokenizes(self) -> bool:
        return self._tokenizes

    def _id(self, piece: str) -> int:
        token = self._vocab.get(piece)
        if token is None:
            token = len(self._pieces) + 1  # 0 is the BOS below
            self._vocab[piece] = token
            self._pieces.append(piece)
        return token

    def _split(self, text: str) -> list[str]:
        return split_pieces(text)

    def tokenize(self, text: str, *, special: bool = True) -> list[int]:
        return [self._id(piece) for piece in self._split(text)]

    def detokenize(self, tokens: Sequence[int]) -> str:
        return "".join(self._pieces[t - 1] for t in tokens if t > 0)

    def bos_tokens(self) -> list[int]:
        return [0] if self.prompt_format.add_bos else []

    def count_tokens(self, text: str) -> int:
        return len(self._split(text))

    # -- generation ------------------------------------------------------------------------------------
    def _next_reply(self, call: ScriptedCall) -> str:
        if self._reply_fn is not None:
            return self._reply_fn(call)
        assert self._replies is not None
        if not self._replies:
            raise RuntimeError(f"The script ran out of replies at call {len(self.calls)}: {call.prompt_text[-200:]!r}")
        reply = self._replies.pop(0)
        return reply(call) if callable(reply) else reply

    def generate(self, request: GenerationRequest) -> Iterator[Delta | Finish]:
        if isinstance(request.prompt, str):
            prompt_text = request.prompt
            n_prompt = self.count_tokens(prompt_text)
        else:
            prompt_text = self.detokenize(request.prompt)
            n_prompt = len(request.prompt)
        if n_prompt >= self.info.n_ctx:
            raise ValueError(f"Requested tokens ({n_prompt}) exceed context window of {self.info.n_ctx}")
        call = ScriptedCall(request=request, prompt_text=prompt_text)
        self.calls.append(call)
        reply = self._next_reply(call)
        for stop in request.stop:
            if stop and stop in reply:
                reply = reply[: reply.index(stop)]
        started = time.perf_counter()
        room = min(request.max_tokens, self.info.n_ctx - n_prompt)
        emitted = 0
        reason = FinishReason.STOP
        for piece in self._split(reply):
            if request.cancel is not None and request.cancel.is_set():
                reason = FinishReason.CANCELLED
                break
            if emitted >= room:
                reason = FinishReason.LENGTH
                break
            if self.seconds_per_token:
                time.sleep(self.seconds_per_token)
            if request.avoid is not None:
                call.avoided.append(request.avoid()[0])
            emitted += 1
            call.reply += piece
            yield Delta(piece, (self._id(piece),) if self._tokenizes else (), 1)
        if reason is FinishReason.STOP and request.allow_end is not None:
            call.end_allowed = bool(request.allow_end())
        call.finish = reason
        elapsed = time.perf_counter() - started
        yield Finish(reason, n_prompt, n_prompt, emitted, 0.0, max(elapsed, 1e-6))

    def close(self) -> None:
        self.closed = True


@dataclass
class ScriptFile:
    """A script kept in a JSON file, for a scripted backend in another process (a CLI or window test):
    ``{"replies": ["...", ...], "cycle": false, "n_ctx": 8192, "seconds_per_token": 0.0}``."""

    replies: list[str]
    cycle: bool = False
    n_ctx: int = 8192
    seconds_per_token: float = 0.0

    @classmethod
    def load(cls, path: str | Path) -> ScriptFile:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            replies=[str(r) for r in data["replies"]],
            cycle=bool(data.get("cycle", False)),
            n_ctx=int(data.get("n_ctx", 8192)),
            seconds_per_token=float(data.get("seconds_per_token", 0.0)),
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(
            json.dumps({"replies": self.replies, "cycle": self.cycle, "n_ctx": self.n_ctx,
                        "seconds_per_token": self.seconds_per_token}, ensure_ascii=False),
            encoding="utf-8",
        )

    def backend(self) -> ScriptedBackend:
        replies = self.replies
        if not self.cycle:
            return ScriptedBackend(list(replies), n_ctx=self.n_ctx, seconds_per_token=self.seconds_per_token)
        counter = iter(range(1 << 62))
        return ScriptedBackend(lambda call: replies[next(counter) % len(replies)], n_ctx=self.n_ctx,
                               seconds_per_token=self.seconds_per_token)
