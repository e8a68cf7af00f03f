"""The model's view of the document being written: what each section's prompt holds and what fits.

The prompt of a section call is a list of chunks: the head (BOS, the system part with the instruction and
the plan), then one turn per section in view (its user turn, the reply so far, the end of the turn). Chunks
are appended, never rebuilt, so llama.cpp evaluates only the new tokens (ENGINE_NOTES.md). When the context
fills, :meth:`ContextBook._compact` drops the oldest sections in one large step (the plan still sums them
up); on resume, :meth:`ContextBook._restore_turns` rebuilds the view from the latest finished sections that
fit. :class:`~longwriter_desktop.engine.writer.DocumentWriter` writes the sections on top of this.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import GenerationError, InputError
from .backend import Backend
from .codex import SectionCodex
from .counting import LengthRule
from .estimate import COMPACT_KEEP, writing_view
from .events import Event
from .plan import Plan
from .prompts import PromptFormat

log = logging.getLogger(__name__)


@dataclass
class _Chunk:
    text: str
    tokens: list[int]
    n_tokens: int


@dataclass
class _Turn:
    index: int
    user_text: str
    reply: list[_Chunk] = field(default_factory=list)  # what the model sees of this section's text
    closed: bool = False
    # Text the model sees before the section's own (its heading, so a small model continues a document);
    # never part of the section's text, never retracted.
    lead: _Chunk | None = None


class ContextBook:
    """Chunks, turns, compaction and restore: the part of the writer that decides what the model sees.

    A mixin of :class:`~longwriter_desktop.engine.writer.DocumentWriter`, which holds the state below and
    supplies the prompt texts (``_system_text``, ``_user_text``) and the warnings (``_warn``, ``_drain``).
    """

    backend: Backend
    request: Any
    rule: LengthRule
    fmt: PromptFormat
    n_ctx: int
    view: int  # the tokens of context the writer fills before it drops old sections (<= n_ctx; estimate.py)
    view_reach: int | None
    mode: str
    plan: Plan
    texts: list[str]
    finished: list[bool]
    turns: list[_Turn]
    dropped_sections: list[int]
    head_tokens: int
    context_drops: int
    _head: list[_Chunk]
    _codex: SectionCodex | None
    _chunk_cache: dict[str, _Chunk]

    def _system_text(self, compact: bool) -> str | None:
        raise NotImplementedError

    def _user_text(self, index: int, note: str = "") -> str:
        raise NotImplementedError

    def _warn(self, message: str, kind: str) -> None:
        raise NotImplementedError

    def _drain(self) -> Iterator[Event]:
        raise NotImplementedError

    def _chunk(self, text: str) -> _Chunk:
        cached = self._chunk_cache.get(text)
        if cached is None:
            if self.backend.tokenizes:
                tokens = self.backend.tokenize(text, special=True)
                cached = _Chunk(text, tokens, len(tokens))
            else:
                cached = _Chunk(text, [], self.backend.count_tokens(text))
            self._chunk_cache[text] = cached
        return cached

    def _text_chunk(self, text: str) -> _Chunk:
        """Model-written text put back into a prompt (resume): tokenized without special tokens."""
        if self.backend.tokenizes:
            tokens = self.backend.tokenize(text, special=False)
            return _Chunk(text, tokens, len(tokens))
        return _Chunk(text, [], self.backend.count_tokens(text))

    def _build_head(self) -> None:
        bos = self.backend.bos_tokens() if self.backend.tokenizes else []
        system = self._system_text(compact=False)
        head_text = self.fmt.start(system)
        head = self._chunk(head_text) if head_text else _Chunk("", [], 0)
        limit = int(self.n_ctx * 0.45)
        if head.n_tokens > limit and self.mode == "plan":
            head = self._chunk(self.fmt.start(self._system_text(compact=True)))
            self._warn("The plan is long for this model's context: the model sees section titles only.",
                       "context")
        if head.n_tokens > int(self.n_ctx * 0.6):
            raise InputError(
                f"The instruction and plan take {head.n_tokens} tokens, too many for a context of "
                f"{self.n_ctx}. Shorten them, use fewer sections, or choose a larger context size."
            )
        self._head = [_Chunk("", bos, len(bos)), head] if bos else [head]
        # The codex block in the section's request is fixed room too, beside the head.
        fixed = sum(c.n_tokens for c in self._head) + (self._codex.budget if self._codex is not None else 0)
        self.view = writing_view(self.n_ctx, fixed, self.view_reach)

    def _turn_chunks(self, turn: _Turn, first_kept: bool) -> list[_Chunk]:
        note = ""
        if first_kept and self.dropped_sections:
            note = self._omitted_note()
        chunks = [self._chunk(self.fmt.user_turn(self._user_text(turn.index, note)))]
        if turn.lead is not None:
            chunks.append(turn.lead)
        # Each section's own request (instruction, main point, heading) is read once: it belongs to the floor.
        self._request_tokens[turn.index] = sum(c.n_tokens for c in chunks)
        chunks.extend(turn.reply)
        if turn.closed:
            chunks.append(self._chunk(self.fmt.end_of_turn) if self.fmt.end_of_turn else _Chunk("", [], 0))
        return chunks

    def _omitted_note(self) -> str:
        """What the model keeps of sections that left its view: a short summary of each (writer._summary)."""
        zh = self.rule.language == "zh"
        lines = []
        for i in self.dropped_sections:
            summary = self.summaries.get(i) or self._summary(i)
            title = self.plan.sections[i].title
            lines.append(f"{title}：{summary}" if zh else f"{title}: {summary}")
        if self.fmt.family.value == "plain":
            return ""  # a base model's document has no place for notes
        head = "前文提要：" if zh else "Earlier in the text:"
        return head + "\n" + "\n".join(lines)

    def _prompt_chunks(self) -> list[_Chunk]:
        chunks = list(self._head)
        for n, turn in enumerate(self.turns):
            chunks.extend(self._turn_chunks(turn, n == 0))
        return chunks

    def _prompt(self) -> tuple[list[int] | str, int]:
        chunks = self._prompt_chunks()
        size = sum(c.n_tokens for c in chunks)
        if self.backend.tokenizes:
            tokens: list[int] = []
            for c in chunks:
                tokens.extend(c.tokens)
            return tokens, size
        return "".join(c.text for c in chunks), size

    def _compact(self, room_needed: int) -> None:
        """Drop old sections in one large step (or the start of a very long section) to make room."""
        head = sum(c.n_tokens for c in self._head)
        current = self.turns[-1]
        window = self.view - head - room_needed
        keep_budget = max(0, int(window * COMPACT_KEEP))
        dropped: list[int] = []
        while len(self.turns) > 1:
            kept = sum(sum(c.n_tokens for c in self._turn_chunks(t, False)) for t in self.turns)
            if kept <= keep_budget:
                break
            if len(self.turns) == 2 and not current.reply and self._keep_tail(self.turns[0], kept - keep_budget):
                break  # the section just before the new one stays in view by its last paragraphs
            dropped.append(self.turns.pop(0).index)
        used = sum(c.n_tokens for c in self._prompt_chunks())
        if used + room_needed > self.view and current.reply:
            # The section being written is itself too long: keep only its latest part in view.
            budget = max(0, int(window * 0.5))
            while current.reply and sum(c.n_tokens for c in current.reply) > budget:
                current.reply.pop(0)
            self._warn(f"Section {current.index + 1} is longer than the model's context holds; the model now sees "
                       "only its latest part.", "context")
        if dropped:
            self.dropped_sections = sorted(set(self.dropped_sections) | set(dropped))
            self.context_drops += 1
            names = ", ".join(str(i + 1) for i in dropped)
            full = f"Context full ({self.n_ctx} tokens)" if self.view >= self.n_ctx else \
                f"The model's view is full ({self.view} of {self.n_ctx} tokens: deeper, this model writes slower)"
            self._warn(f"{full}: sections {names} are left out of the model's view from here on (the plan and "
                       "a summary of each still stand for them).", "context")
        used = sum(c.n_tokens for c in self._prompt_chunks())
        if used + min(room_needed, 64) > self.n_ctx:
            raise GenerationError(
                f"The context of {self.n_ctx} tokens is too small to go on writing. Choose a larger context size."
            )

    def _keep_tail(self, turn: _Turn, excess: int) -> bool:
        """Take ``excess`` tokens or more off the front of a finished section's text in view, up to a paragraph
        start, keeping at least its last paragraph; False (nothing taken) where no paragraph end allows it."""
        reply = turn.reply
        taken = 0
        cut = 0
        for n in range(1, len(reply)):
            taken += reply[n - 1].n_tokens
            if taken >= excess and (reply[n - 1].text.endswith("\n") or reply[n].text.startswith("\n")):
                cut = n  # the kept text starts at a paragraph (or the line break before it)
                break
        if not cut:
            return False
        del reply[:cut]
        return True

    def _restore_turns(self) -> None:
        """Rebuild the model's view of a resumed document: the latest sections that fit."""
        budget = int((self.view - self.head_tokens) * 0.5)
        turns: list[_Turn] = []
        used = 0
        # Only what comes before the first section to write: a regenerated section in the middle must not
        # read the sections after it as if they came first.
        first_open = next((i for i, done in enumerate(self.finished) if not done), len(self.finished))
        for index in range(first_open - 1, -1, -1):
            if not self.finished[index] or not self.texts[index].strip():
                continue
            turn = _Turn(index, "", [self._text_chunk(self.texts[index])] if self.texts[index] else [], closed=True)
            size = sum(c.n_tokens for c in turn.reply) + 40
            if used + size > budget:
                break
            turns.insert(0, turn)
            used += size
        kept = {t.index for t in turns}
        self.dropped_sections = [i for i in range(first_open) if self.finished[i] and self.texts[i].strip()
                                 and i not in kept]
        self.turns = turns

    def _hide_earlier_sections(self, current: _Turn) -> Iterator[Event]:
        """Take every earlier section out of the model's view, without a note (small models copy notes)."""
        hidden = [t.index for t in self.turns if t is not current]
        if not hidden:
            return
        self.turns = [current]
        names = f"section {hidden[0] + 1} is" if len(hidden) == 1 else \
            f"sections {', '.join(str(i + 1) for i in hidden)} are"
        self._warn(f"Section {current.index + 1} repeated itself; as this backend has no DRY sampler, {names} "
                   "left out of the model's view from here on (the plan still lists them).", "repetition")
        yield from self._drain()

    def _retract_reply(self, turn: _Turn, chars: int) -> int:
        """Remove at least ``chars`` characters from the end of the reply, whole tokens at a time."""
        removed = 0
        while turn.reply and removed < chars:
            last = turn.reply[-1]
            needed = chars - removed
            if len(last.tokens) > 1 and needed < len(last.text):
                # A long chunk (text put back on resume): keep its start, re-tokenized.
                turn.reply[-1] = self._text_chunk(last.text[: len(last.text) - needed])
                return removed + needed
            removed += len(turn.reply.pop().text)
        return removed
