"""AgentWrite: plan, then write the sections one by one, with length control and a context budget.

The prompt of every section call is the previous one plus what was generated plus a short new user turn,
so llama.cpp evaluates only the new tokens (ENGINE_NOTES.md). When the document no longer fits the
context, the oldest sections are dropped in one large step (the plan stays: it is their summary), so the
tokens re-read stay a small fraction of the document. Each section's length is steered: end-of-text is
banned until the section reaches its minimum, writing stops at a paragraph or sentence end past the target,
and a loop is cut and written again with another seed and a mild penalty.

What the model sees of the document (prompt chunks and turns, compaction, the view restored on resume) is
:mod:`.context`'s :class:`~.context.ContextBook`, which :class:`DocumentWriter` builds on.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import InputError
from .backend import Backend, Finish, FinishReason, GenerationRequest, Sampling, StopSignal
from .codex import Codex, SectionCodex
from .context import ContextBook, _Chunk, _Turn
from .counting import PARAGRAPH_END, SENTENCE_END, SENTENCE_ENDS, LengthCounter, LengthRule, has_cjk
from .estimate import COMPACT_ROOM, backend_view_reach, run_timer
from .events import (
    Cancelled,
    CodexInView,
    ConsistencyWarning,
    Done,
    Event,
    PlanReady,
    Progress,
    SectionFinished,
    SectionStarted,
    TextDelta,
    TextRetracted,
    Warning,
)
from .language import detect_language, write_in
from .plan import Plan, PlanResult, Section, document_phrase, generate_plan, rescale, text_kind, whole_phrase
from .prompts import Family, zero_system
from .repetition import NgramBan, RepetitionGuard, TextChecks, overused_words, repeated_ngram_share
from .target import target_from_instruction
from .words import count_words as longbench_words
from .words import length_score

log = logging.getLogger(__name__)

DIRECT_MAX_WORDS = 10_000  # what LongWriter-trained models write in one pass
SECTION_MIN = 0.92  # end-of-text is banned below this share of a section's target
STOP_AT_PARAGRAPH = 0.97
STOP_AT_SENTENCE = 1.0
HARD_STOP = 1.08
FINAL_MIN = 0.96  # the last section: end-of-text banned below this, any sentence end from 97% on, a hard stop
FINAL_HARD_STOP = 1.05  # at 105%, trimmed back to a sentence end only where that keeps the minimum
MAX_REPETITION_CUTS = 4
# The last section has nobody to hand its shortfall to: it tries longer (through a server without DRY, two
# of five 600-word reports ended 27% and 42% short when their last section gave up after five cuts).
MAX_REPETITION_CUTS_FINAL = 9
RETRY_TEMPERATURE_STEP = 0.08  # each loop cut writes on a little hotter, up to RETRY_TEMPERATURE_MAX
RETRY_TEMPERATURE_MAX = 0.9
LAST_SENTENCE_CHARACTERS = 600  # the section's last sentence, checked when the section ends
# The last section's last sentence, where it runs past the hard stop and the sentence end before it lies below
# the minimum, is written again from that end (another seed) this many times: a 150-word description could
# land only 140 or 158 words long, and otherwise ended on an unfinished sentence.
FINAL_REWRITES = 3
MAX_CHECK_CUTS = 8  # echoed or drifting sentences cut in one section before it is left as it is
MAX_CALLS_PER_SECTION = 16
# A section that keeps being cut (loops, drift) ends once it has generated this many times the tokens of its
# target: its shortfall goes on to the sections after it, and the wait stays bounded (a 6,000-word history on
# the built-in model once spent nine calls and many minutes on 28 kept words of its last section).
SECTION_TOKEN_BUDGET = 3.0
NO_WORDS_TOKENS = 48  # this many tokens in a row that add no word are cut as a loop
NO_REPEAT_PENALTY = 12.0  # logits taken off the tokens that would repeat a 4-gram of the document
SOFT_REPEAT_PENALTY = 1.5  # and a milder push against repeating a 3-gram
SUMMARY_WORDS = 45
PROGRESS_INTERVAL = 0.25
MAX_TOKENS_PER_UNIT = 8.0  # an English-trained tokenizer spends up to ~6 tokens on a Russian or Korean word



@dataclass
class WriteRequest:
    instruction: str
    target_words: int | None = None
    mode: str = "auto"  # auto, direct or plan
    notes: str = ""
    plan: Plan | None = None
    sampling: Sampling = field(default_factory=Sampling)
    title: str | None = None
    codex: Codex | None = None  # the story bible: entries shown per section, optional consistency pass


@dataclass
class ResumeState:
    """Where an interrupted run stopped: the plan, each section's text so far, and which are finished."""

    plan: Plan
    texts: list[str]
    finished: list[bool]
    mode: str = "plan"
    # Sections to write more of: index -> words to add after the text they have ("write more"). Their
    # length control counts only the new words; every other unfinished section is written to its target.
    extend: dict[int, int] = field(default_factory=dict)


def resolve_mode(mode: str, backend: Backend, target_words: int) -> str:
    """`auto` is direct mode for LongWriter-trained models within their one-pass length, else plan mode."""
    if mode in ("direct", "plan"):
        return mode
    if mode != "auto":
        raise InputError(f"Unknown mode '{mode}': use auto, direct or plan.")
    trained = bool(getattr(backend, "longwriter_trained", False))
    return "direct" if trained and target_words <= DIRECT_MAX_WORDS else "plan"


def document_title(instruction: str) -> str:
    """A working title from the instruction, a whole phrase (the user can rename the project)."""
    text = re.sub(r"\s+", " ", instruction).strip()
    if has_cjk(text):
        body = re.sub(r"^(请)?(帮我)?(写|撰写|创作|起草)(一篇|一份|一个|一部|篇)?", "", text)
        length = r"^(不少于|至少|约|大约)?[\d,，]+\s*字(左右)?的?|^[一二三四五六七八九十百千万两]+字(左右)?的?"
        body = re.sub(length, "", body)
        parts = [p.strip() for p in re.split(r"[，,。；;！!？?]", body) if p.strip()]
        if not parts:
            return "未命名"
        title = parts[0]
        if len(parts) > 1 and len(title) <= 4:  # "文章，介绍…": the genre alone says little
            title = re.sub(r"^(介绍|讲述|描写|关于|探讨|分析|说明|讲)", "", parts[1]) or title
        return title[:30]
    phrase = document_phrase(text)
    phrase = re.sub(r",?\s+in (?:\w+ )?(?:chapters|parts|sections)$", "", phrase)
    title = whole_phrase(phrase.rstrip(".!?"), 12)
    return (title[:1].upper() + title[1:]) if title else "Untitled"


def render_document(title: str | None, plan: Plan, texts: list[str]) -> str:
    """The document as Markdown: `# title`, then `## section` headings and their text."""
    parts = [f"# {title}"] if title else []
    for section, text in zip(plan.sections, texts):
        body = text.strip()
        if section.title and len(plan.sections) > 1:
            parts.append(f"## {section.title}")
        if body:
            parts.append(body)
    return "\n\n".join(parts) + "\n"


class DocumentWriter(ContextBook):
    """Runs one writing job on one backend; iterate :meth:`run` for its events."""

    def __init__(
        self,
        backend: Backend,
        request: WriteRequest,
        cancel: threading.Event | None = None,
        resume: ResumeState | None = None,
    ) -> None:
        self.backend = backend
        self.request = request
        self.cancel = cancel or threading.Event()
        self.resume = resume
        self.fmt = backend.prompt_format
        # LlamaBackend applies DRY (Sampling.dry_multiplier); most servers cannot (OpenAIBackend.applies_dry).
        self._applies_dry = bool(getattr(backend, "applies_dry", True))
        self.n_ctx = backend.info.n_ctx
        # A local model's view of the document may end before its context does (where deeper is much slower).
        self.view_reach = backend_view_reach(backend)
        self.view = self.n_ctx  # set once the head is built (context.py)
        guess = target_from_instruction(request.instruction)
        # Every count of this document (length control, progress, stats) is in its readers' unit.
        self.rule = LengthRule(guess.unit, detect_language(request.instruction))
        self.target_words = request.target_words or guess.aim
        self.target_source = "given" if request.target_words else ("instruction" if guess.found else "default")
        self.target_phrase = guess.describe()
        self.target_read = guess.words if guess.found else None
        if self.target_words <= 0:
            raise InputError("The target length must be a positive number of words.")
        self.mode = resume.mode if resume else resolve_mode(request.mode, backend, self.target_words)
        self.title = request.title or document_title(request.instruction)
        base_seed = request.sampling.seed
        self._seed = base_seed if base_seed is not None else random.randrange(1 << 30)
        self._calls = 0
        self.plan = Plan([])
        self.texts: list[str] = []
        self.finished: list[bool] = []
        self.turns: list[_Turn] = []
        self.dropped_sections: list[int] = []
        self._head: list[_Chunk] = []
        self._chunk_cache: dict[str, _Chunk] = {}
        # Figures for the stats.
        self.prompt_tokens_evaluated = 0
        self.prompt_tokens_total = 0  # what re-reading every prompt in full would evaluate
        self.plan_prompt_tokens = 0
        self.completion_tokens = 0
        self.generation_seconds = 0.0
        self.repetition_cuts = 0
        self.repetition_retries = 0
        self.echo_cuts = 0
        self.drift_cuts = 0
        self.cut_tokens = 0
        self.summaries: dict[int, str] = {}
        self._request_tokens: dict[int, int] = {}  # each section's request turn, as last built
        self.handed_on: list[int] = []
        self.ngram_ban = NgramBan()
        self.context_drops = 0
        self.tokens_per_word = self._initial_tokens_per_word()
        self.started = time.perf_counter()
        self._last_progress = 0.0
        self.finish_reason = "stop"
        self.warnings: list[str] = []
        self.section_retries: list[int] = []
        self.thinking: list[str] = []
        self._call_started = 0.0
        self._call_tokens = 0
        self._section_tokens = 0  # tokens of finished section calls (the rate's numerator)
        codex = request.codex
        self._codex = SectionCodex(codex, request.instruction, has_cjk(request.instruction), self.n_ctx) \
            if codex is not None and codex.entries else None
        # The time left comes from this machine's speed model for the model (engine/estimate.py).
        self.timer = run_timer(backend)
        self.plan_seconds = 0.0  # the model's planning (a grammar-bound call the speed model leaves out)

    # -- tokens and prompt pieces ----------------------------------------------------------------------

    def _initial_tokens_per_word(self) -> float:
        sample = self.request.instruction
        words = self.rule.count(sample)
        if words < 3:
            return 2.0 if has_cjk(sample) else 1.4
        ratio = self.backend.count_tokens(sample) / words
        return min(MAX_TOKENS_PER_UNIT, max(1.2, ratio))

    def _plain(self) -> bool:
        return self.fmt.family is Family.PLAIN

    def _system_text(self, compact: bool) -> str | None:
        if self.mode == "direct":
            return zero_system(self.request.instruction) if self.fmt.family is Family.LONGWRITER_ZERO else None
        if self._plain():
            return self.title  # a base model continues a document: its title, then section by section
        zh = has_cjk(self.request.instruction)
        lines = []
        for i, s in enumerate(self.plan.sections, 1):
            lines.append(f"{i}. {s.title}" if compact else f"{i}. {s.title}: {s.main_point}")
        notes = self.request.notes.strip()
        # Small models copy a numbered outline into the text as a list; models trained to write long (LongWriter)
        # use it to pace themselves. Each section's own request carries its main point either way.
        outline = self.fmt.longwriter_trained or bool(getattr(self.backend, "longwriter_trained", False))
        if zh:
            text = (f"写作任务：{self.request.instruction.strip()}" + (f"\n\n写作要求：\n{notes}" if notes else "")
                    + (f"\n\n《{self.title}》的提纲：\n" + "\n".join(lines) if outline else ""))
        else:
            text = (f"Task: {self.request.instruction.strip()}" + (f"\n\nWriting notes:\n{notes}" if notes else "")
                    + (f"\n\nOutline of \"{self.title}\":\n" + "\n".join(lines) if outline else ""))
        if self.rule.language not in ("en", "zh"):
            text += "\n\n" + write_in(self.rule.language)
        if self.fmt.family is Family.LONGWRITER_ZERO:
            text = zero_system(self.request.instruction) + "\n" + text
        return text

    def _user_text(self, index: int, note: str = "") -> str:
        """The request for one section: the instruction and the section's own main point come last, nearest
        to where the model writes, and nothing in it speaks of sections or word counts (small models echo it)."""
        # The codex block opens the section's own user turn: everything before it (the head with the plan, the
        # earlier sections) stays a cached prefix, and the block's tokens are evaluated once, with the turn.
        # In the system part, any section whose entries differ would re-evaluate the whole document.
        codex = self._codex.block(index, self.plan.sections, self.texts) if self._codex else ""
        codex = f"{codex}\n\n" if codex else ""
        if self.mode == "direct":
            notes = f"\n\nWriting notes:\n{self.request.notes.strip()}" if self.request.notes.strip() else ""
            return f"{codex}{self.request.instruction.strip()}{notes}"
        section = self.plan.sections[index]
        if self._plain():
            return section.title
        prefix = f"{codex}{note}\n\n" if note else codex
        instruction = self.request.instruction.strip()
        if section.main_point.strip() == instruction:
            return f"{prefix}{instruction}"  # one section: the instruction says it all
        first = index == 0
        if has_cjk(instruction) and self.rule.language == "zh":  # Japanese has kanji too, but not these words
            lead = "先写" if first else "接着写"
            return f"{prefix}{instruction}\n\n{lead}“{section.title}”：{section.main_point}"
        lead = "Begin with" if first else "Go on with"
        language = f" {write_in(self.rule.language)}" if self.rule.language != "en" else ""
        return f"{prefix}{instruction}\n\n{lead} \"{section.title}\": {section.main_point}{language}"

    def _lead_text(self, index: int) -> str:
        """The section's heading, written for the model as the start of its answer."""
        if self.mode == "direct" or self._plain():
            return ""
        return f"{self.plan.sections[index].title}\n\n"

    def _summary(self, index: int) -> str:
        """A short summary of a written section, taken from its own sentences (the main point where too short)."""
        summary = extract_summary(self.texts[index], self.plan.sections[index].main_point, SUMMARY_WORDS)
        self.summaries[index] = summary
        return summary

    def _warn(self, message: str, kind: str) -> None:
        self.warnings.append(message)
        self._pending_events.append(Warning(message, kind))

    # -- running ---------------------------------------------------------------------------------------

    def run(self) -> Iterator[Event]:
        self._pending_events: list[Event] = []
        plan_result = PlanResult(Plan([]))
        if self.resume is not None:
            self.plan = self.resume.plan.copy()
            if not self.request.target_words:
                self.target_words = self.plan.total_words  # the plan's targets were set to the length asked for
            self.texts = list(self.resume.texts) + [""] * (len(self.plan.sections) - len(self.resume.texts))
            self.finished = list(self.resume.finished) + [False] * (len(self.plan.sections) - len(self.resume.finished))
        else:
            if self.mode == "direct":
                self.plan = Plan([Section(self.title, self.request.instruction.strip(), self.target_words)])
                yield PlanReady(self.plan, generated=False)  # one section: the project records it all the same
            elif self.request.plan is not None:
                # The user's plan is kept as written, unless a different total was asked for.
                if self.request.target_words:
                    self.plan = rescale(self.request.plan, self.target_words)
                else:
                    self.plan = self.request.plan.copy()
                    self.target_words = self.plan.total_words
                    self.target_source = "plan"
                yield PlanReady(self.plan, generated=False)
            else:
                planning_started = time.perf_counter()
                yield from generate_plan(self.backend, self.request.instruction, self.target_words,
                                         notes=self.request.notes, sampling=self.request.sampling,
                                         cancel=self.cancel, result=plan_result, title=self.title,
                                         rule=self.rule)
                if self.cancel.is_set():
                    yield Cancelled(0)
                    return
                self.plan_seconds = time.perf_counter() - planning_started
                self.plan = plan_result.plan
                self.plan_prompt_tokens = plan_result.prompt_tokens_evaluated
                self.prompt_tokens_evaluated += plan_result.prompt_tokens_evaluated
                self.prompt_tokens_total += plan_result.prompt_tokens_evaluated
                self.completion_tokens += plan_result.completion_tokens
            self.texts = [""] * len(self.plan.sections)
            self.finished = [False] * len(self.plan.sections)
        self.section_retries = [0] * len(self.plan.sections)
        self._planned = [s.target_words for s in self.plan.sections]
        self._build_head()
        self.head_tokens = sum(c.n_tokens for c in self._head)
        if self.resume is not None:
            self._restore_turns()
            yield from self._drain()
        for index, section in enumerate(self.plan.sections):
            if self.finished[index]:
                continue
            yield from self._write_section(index, section)
            if self.cancel.is_set():
                self.finish_reason = "cancelled"
                yield Cancelled(self.total_words())
                return
        text = render_document(self.title, self.plan, self.texts)
        stats = self.stats(text)
        if self.timer is not None and self.resume is None:
            try:
                self.timer.finished(words=stats["words"], plan_s=self.plan_seconds)
            except (OSError, ValueError, ArithmeticError) as exc:  # the estimate must never fail a run
                log.warning("could not learn from this run's speed: %s", exc)
        yield Done(text, stats)

    def _drain(self) -> Iterator[Event]:
        while self._pending_events:
            yield self._pending_events.pop(0)

    def total_words(self) -> int:
        return sum(self.rule.count(t) for t in self.texts)

    def _hand_on(self, index: int) -> None:
        """Move the document's shortfall or surplus so far onto the sections not yet written.

        Finished and locked sections keep their targets; the rest share what the document still needs (the
        headings count as the document's words too) in proportion to their own targets, so the document lands
        on its length even when a section stops short or runs over.
        """
        open_ = [i for i in range(index, len(self.plan.sections))
                 if not self.finished[i] and not self.plan.sections[i].locked]
        if not open_ or self.mode == "direct":
            return
        written = sum(self.rule.count(t) for i, t in enumerate(self.texts) if i not in open_)
        # The headings count toward a length asked for as a whole; a user's plan sets its sections' own lengths.
        headings = 0 if self.target_source == "plan" else self.rule.count(render_document(
            self.title, Plan([replace(s) for s in self.plan.sections]), [""] * len(self.plan.sections)))
        locked_open = sum(s.target_words for i, s in enumerate(self.plan.sections)
                          if i >= index and not self.finished[i] and s.locked)
        need = self.target_words - headings - written - locked_open
        planned = sum(self.plan.sections[i].target_words for i in open_)
        if planned <= 0 or need == planned:
            return
        # A surplus shrinks the sections to come, never below half their planned length (a section of ten
        # words is no section); a shortfall grows them.
        floor = [max(10, self._planned[i] // 2) if i < len(self._planned) else 10 for i in open_]
        need = max(sum(floor), need)
        scale = need / planned
        share = [max(f, round(self.plan.sections[i].target_words * scale)) for i, f in zip(open_, floor)]
        share[-1] = max(floor[-1], share[-1] + need - sum(share))
        for i, words in zip(open_, share):
            self.plan.sections[i].target_words = words
        if index not in self.handed_on and open_[0] == index and abs(scale - 1) > 0.01:
            self.handed_on.append(index)

    def _write_section(self, index: int, section: Section) -> Iterator[Event]:
        resumed = self.texts[index]
        extend = self.resume.extend.get(index) if self.resume is not None else None
        # Writing more of a finished text: the length rules apply to the new words only.
        base = self.rule.count(resumed) if extend else 0
        if not extend:
            self._hand_on(index)
        target = max(1, extend if extend else section.target_words)
        turn = _Turn(index, "", [self._text_chunk(resumed)] if resumed else [])
        lead = self._lead_text(index)
        if lead:
            turn.lead = self._chunk(lead)
        # A new turn: the previous one is closed (its end-of-turn text follows the reply).
        for previous in self.turns:
            previous.closed = True
        self.turns.append(turn)
        yield SectionStarted(index, section.title, base + target, self.rule.count(resumed))
        if self._codex is not None:
            view = self._codex.view(index, self.plan.sections, self.texts)
            yield CodexInView(index, tuple(view.names), view.tokens, view.budget,
                              tuple(e.name for e in view.left_out))
            if notice := self._codex.notice():
                self._warn(notice, "codex")
                yield from self._drain()
        counter = self.rule.counter()
        words = counter.set(resumed) - base
        guard = RepetitionGuard(context=self._recent_text(index))
        others = [s.title for i, s in enumerate(self.plan.sections) if i != index]
        # The whole plan is the document's subject: a section that reaches into the next one's matter is not lost.
        plan_text = "\n".join(f"{s.title}\n{s.main_point}" for s in self.plan.sections)
        checks = TextChecks(self.request.instruction, f"{self.title}\n{plan_text}\n{self.request.notes}",
                            other_titles=others,
                            drift_words=260 if text_kind(self.request.instruction) == "story" else 180,
                            history=f"{self._recent_text(index)}\n{resumed}")  # what it keeps returning to
        ban = self.ngram_ban
        ban.start(resumed)
        if resumed:
            guard.feed(resumed)
            checks.protect(len(resumed))
        sampling = self.request.sampling
        # The last section to write has nobody to hand its shortfall or surplus on to: it keeps closer to its target.
        final = not any(not self.finished[i] and not self.plan.sections[i].locked
                        for i in range(index + 1, len(self.plan.sections)))
        minimum = math.ceil(target * (FINAL_MIN if final else SECTION_MIN))
        hard_stop = FINAL_HARD_STOP if final else HARD_STOP
        thinking = _ThinkingFilter() if self.fmt.thinking else None
        calls = 0
        retries = 0
        check_cuts = 0
        rewrites = 0
        overshoot: str | None = None  # the text as it ran past the hard stop, before its last sentence was rewritten
        rewrite_at = 0  # where that last sentence started
        stopped_for_length = False
        budget = max(400, math.ceil(target * self.tokens_per_word * SECTION_TOKEN_BUDGET))
        spent = 0
        while not stopped_for_length and calls < MAX_CALLS_PER_SECTION:
            if spent >= budget:
                self._warn(f"Section {index + 1} took too many tries (its text kept being cut); it ends here.",
                           "repetition")
                yield from self._drain()
                break
            if self.cancel.is_set():
                return
            calls += 1
            need = math.ceil(max(0, target * hard_stop - words) * self.tokens_per_word) + 48
            prompt, size = self._prompt()
            room = self.view - size - 4
            # A section that will not fit in what is left of the view drops old sections before it starts (the
            # one before it keeps its last paragraphs in view), not part-way through its own text.
            if room < (need if calls == 1 and not turn.reply else min(need, 256)):
                self._compact(min(need, max(256, int(self.view * COMPACT_ROOM))))
                yield from self._drain()
                prompt, size = self._prompt()
                room = self.view - size - 4
            max_tokens = max(16, min(room, need, budget - spent + 48))
            stop = StopSignal(self.cancel)
            current_words = [words]

            def allow_end(minimum: int = minimum, current_words: list[int] = current_words) -> bool:
                return current_words[0] >= minimum

            def avoid(index: int = index) -> tuple[frozenset[str], bool]:
                return ban.banned(self.texts[index])

            request = GenerationRequest(
                prompt=prompt,
                max_tokens=max_tokens,
                sampling=replace(sampling, seed=self._next_seed()),
                stop=self.fmt.stops,
                allow_end=allow_end,
                cancel=stop,
                avoid=avoid if NO_REPEAT_PENALTY > 0 else None,
                avoid_penalty=NO_REPEAT_PENALTY,
                avoid_soft=(lambda index=index: ban.discouraged(self.texts[index])),  # type: ignore[misc]
                avoid_soft_penalty=SOFT_REPEAT_PENALTY,
                prose=self.mode == "plan",
                avoid_words=() if self.backend.tokenizes else tuple(overused_words(
                    "\n\n".join(self.texts[max(0, index - 4):index + 1]))),
            )
            finish: Finish | None = None
            loop_at: int | None = None
            cut_kind = "repetition"
            self._call_started = 0.0
            call_tokens = 0
            grown_at = (words, 0, len(self.texts[index]))  # (words, call tokens, characters) when words last grew
            for item in self.backend.generate(request):
                if isinstance(item, Finish):
                    finish = item
                    continue
                if not self._call_started:
                    self._call_started = time.perf_counter()  # the rate counts from the first token
                call_tokens += item.n_tokens
                self._call_tokens = call_tokens
                text_piece = item.text
                if thinking is not None:
                    text_piece, thought = thinking.feed(item.text)
                    if thought:
                        self.thinking.append(thought)
                turn.reply.append(_Chunk(item.text, list(item.tokens), item.n_tokens))
                self.completion_tokens += item.n_tokens
                if not text_piece or stop.is_set():
                    if text_piece:
                        self.texts[index] += text_piece
                        yield TextDelta(index, text_piece)
                    continue
                self.texts[index] += text_piece
                words = counter.set(self.texts[index]) - base
                current_words[0] = words
                loop_at = guard.feed(self.texts[index])
                if loop_at is None:
                    found = checks.feed(self.texts[index])
                    if found is not None:
                        loop_at, cut_kind = found
                if words > grown_at[0]:
                    grown_at = (words, call_tokens, len(self.texts[index]))
                elif loop_at is None and call_tokens - grown_at[1] > NO_WORDS_TOKENS:
                    # Tokens that add no words (digits, marks, blank lines: a small model with a coarse KV cache
                    # once spent 4,000 tokens on 131 words this way) are cut like a loop.
                    loop_at, cut_kind = grown_at[2], "repetition"
                if loop_at is not None:
                    stop.set()
                    yield TextDelta(index, text_piece)
                    continue
                yield TextDelta(index, text_piece)
                text = self.texts[index]
                if _long_enough(words, target, text, final):
                    stopped_for_length = True
                    stop.set()
                now = time.perf_counter()
                if now - self._last_progress >= PROGRESS_INTERVAL:
                    self._last_progress = now
                    yield self._progress(index, base + words, base + target,
                                         size + sum(c.n_tokens for c in turn.reply))
            self._call_started = 0.0
            self._call_tokens = 0
            spent += call_tokens
            if finish is not None:
                self._account(finish)
            log.debug("section %d call %d: %s, %d words of %d, max_tokens %d, prompt %d, %s at %s", index + 1,
                      calls, finish.reason.value if finish else "closed", words, target, max_tokens, size,
                      cut_kind, loop_at)
            if self.cancel.is_set():
                return
            if loop_at is not None and overshoot is not None:
                if rewrites < FINAL_REWRITES:  # the rewritten sentence looped or strayed: write it once more
                    rewrites += 1
                    yield from self._cut(index, turn, guard, counter, min(rewrite_at, len(self.texts[index])),
                                         checks=checks, kind="length")
                    words = counter.set(self.texts[index]) - base
                    continue
                # No try ended well: the text as it first ran past the length is better than a loop.
                yield from self._restore(index, turn, guard, counter, checks=checks, text=overshoot)
                words = counter.set(self.texts[index]) - base
                break
            if loop_at is not None:
                yield from self._cut(index, turn, guard, counter, loop_at, checks=checks, kind=cut_kind)
                words = counter.set(self.texts[index]) - base
                if cut_kind != "repetition":
                    check_cuts += 1
                    if cut_kind == "echo":
                        self.echo_cuts += 1
                    else:
                        self.drift_cuts += 1
                    if check_cuts > MAX_CHECK_CUTS:
                        self._warn(f"Section {index + 1} kept drifting from the task; it ends early.", "repetition")
                        yield from self._drain()
                        break
                    sampling = replace(sampling, temperature=min(1.0, max(sampling.temperature, 0.6)))
                    continue
                retries += 1
                self.repetition_cuts += 1
                if retries == 1:
                    self.repetition_retries += 1
                if retries > (MAX_REPETITION_CUTS_FINAL if final else MAX_REPETITION_CUTS):
                    self._warn(f"Section {index + 1} kept repeating itself; it ends early.", "repetition")
                    yield from self._drain()
                    break
                # Write on from the cut with another seed, a mild penalty and a little more temperature (each
                # stronger on each further cut: at the same temperature another seed falls into the same loop).
                sampling = replace(
                    sampling, repeat_penalty=max(sampling.repeat_penalty, min(1.3, 1.05 + 0.05 * retries)),
                    presence_penalty=max(sampling.presence_penalty, min(0.6, 0.1 * retries)),
                    temperature=max(sampling.temperature, min(
                        RETRY_TEMPERATURE_MAX, self.request.sampling.temperature + RETRY_TEMPERATURE_STEP * retries)))
                if not self._applies_dry:
                    # Without DRY a small model copies the earlier sections it sees, and another seed copies
                    # them again: take them out of its view (the plan still lists them), as DRY would.
                    yield from self._hide_earlier_sections(turn)
                continue
            if stopped_for_length:
                if words >= hard_limit(target, final):
                    if final and rewrites < FINAL_REWRITES and \
                            (at := self._rewrite_point(index, base + minimum, len(resumed))) is not None:
                        rewrites += 1
                        overshoot, rewrite_at = overshoot or self.texts[index], at
                        yield from self._cut(index, turn, guard, counter, at, checks=checks, kind="length")
                        words = counter.set(self.texts[index]) - base
                        stopped_for_length = False
                        continue
                    # Only the words this run wrote are trimmed, and a final section keeps its minimum of them.
                    yield from self._trim_to_sentence(index, turn, counter, guard,
                                                      keep_words=base + minimum if final else 0,
                                                      start=len(resumed) if extend else 0)
                    words = counter.set(self.texts[index]) - base
                break
            if finish is not None and finish.reason is FinishReason.STOP and words >= minimum:
                break
            if finish is not None and finish.reason is FinishReason.STOP and not self.backend.tokenizes:
                # A server cannot ban end-of-text: ask it to go on in the same turn.
                self._append_continuation(turn, index)
        # A sentence is checked once the next one starts, so the section's last one never was: an echo there
        # ("... highlighted in a special section on the website.") is taken out, its few words handed on.
        last = checks.feed(self.texts[index] + "\n\n")
        if last is not None and last[1] == "echo" and len(self.texts[index]) - last[0] <= LAST_SENTENCE_CHARACTERS:
            self.echo_cuts += 1
            yield from self._cut(index, turn, guard, counter, last[0], checks=checks, kind="echo",
                                 then="the section ends before it")
            words = counter.set(self.texts[index]) - base
        self.section_retries[index] = retries
        if words < target * 0.85:
            self._warn(f"Section {index + 1} ended at {words} of {target} words; the rest is handed on to the "
                       "sections after it.", "length")
        yield from self._drain()
        self.finished[index] = True
        turn.closed = True
        self.ngram_ban.add_document("\n\n" + self.texts[index])
        summary = self._summary(index)
        self._update_tokens_per_word()
        yield SectionFinished(index, section.title, base + words, base + target, self.texts[index], retries,
                              summary=summary)
        for issue in self._codex.check(index, self.plan.sections, self.texts) if self._codex else ():
            message = f"Section {index + 1}: {issue.message} In: \"{issue.sentence}\""
            self.warnings.append(message)
            yield ConsistencyWarning(message, "consistency", index, issue.sentence, issue.entry)
        yield self._progress(index, base + words, base + target, self._prompt()[1])

    def _append_continuation(self, turn: _Turn, index: int) -> None:
        # Paragraph break keeps the text flowing; the model reads it as "go on".
        piece = self._text_chunk("\n\n")
        turn.reply.append(piece)
        self.texts[index] += "\n\n"

    def _recent_text(self, index: int) -> str:
        return "\n\n".join(self.texts[max(0, index - 3):index])

    def _cut(self, index: int, turn: _Turn, guard: RepetitionGuard, counter: LengthCounter, at: int, *,
             checks: TextChecks | None = None, kind: str = "repetition",
             then: str = "writing on with another seed") -> Iterator[Event]:
        text = self.texts[index]
        keep = len(text) - self._take_back(index, turn, guard, counter, len(text) - at, checks=checks)
        if kind == "length":  # the length control at work, nothing the writer needs to hear about
            log.debug("section %d: the last sentence ran past the length; written again", index + 1)
        else:
            what = {"repetition": "a loop", "echo": "a sentence about the task", "drift": "text off the subject"}[kind]
            self._warn(f"Section {index + 1}: {what} was cut ({len(text) - keep} characters); {then}.", "repetition")
        yield TextRetracted(index, len(text) - keep, kind)
        yield from self._drain()

    def _restore(self, index: int, turn: _Turn, guard: RepetitionGuard, counter: LengthCounter, *,
                 checks: TextChecks, text: str) -> Iterator[Event]:
        """Put the section's text back to ``text`` (which shares a start with it): what differs is taken back,
        whole tokens at a time, and the rest of ``text`` is written in again."""
        current = self.texts[index]
        common = len(os.path.commonprefix([current, text]))
        if len(current) > common:
            taken = self._take_back(index, turn, guard, counter, len(current) - common, checks=checks)
            yield TextRetracted(index, taken, "length")
        piece = text[len(self.texts[index]):]
        if piece:
            turn.reply.append(self._text_chunk(piece))
            self.texts[index] += piece
            guard.feed(self.texts[index])
            yield TextDelta(index, piece)
        counter.set(self.texts[index])

    def _take_back(self, index: int, turn: _Turn, guard: RepetitionGuard, counter: LengthCounter, chars: int, *,
                   checks: TextChecks | None = None) -> int:
        """Take the section's last ``chars`` characters back, whole tokens at a time (counted as cut), from the
        text and from every check that read it; returns the characters taken (``chars`` or a little more)."""
        text = self.texts[index]
        before = sum(c.n_tokens for c in turn.reply)
        removed = self._retract_reply(turn, chars)
        self.cut_tokens += max(0, before - sum(c.n_tokens for c in turn.reply))
        keep = len(text) - removed
        self.texts[index] = text[:keep]
        guard.truncate(keep)
        self.ngram_ban.truncate(keep)
        if checks is not None:
            checks.truncate(keep)
        counter.set(self.texts[index])
        return removed

    def _rewrite_point(self, index: int, keep_words: int, protected: int) -> int | None:
        """Where the last sentence of a final section that ran past its hard stop starts, when trimming it would
        leave the section short of ``keep_words``: writing it again from there may end inside the range. None
        where trimming is fine, or the sentence began in text the run must keep."""
        text = self.texts[index]
        ends = [m.end() for m in SENTENCE_ENDS.finditer(text, protected)]
        if not ends or self.rule.count(text[: ends[-1]]) >= keep_words:
            return None
        return ends[-1]

    def _trim_to_sentence(self, index: int, turn: _Turn, counter: LengthCounter, guard: RepetitionGuard, *,
                          keep_words: int = 0, start: int = 0) -> Iterator[Event]:
        """Take the text after its last sentence end back, where that end lies in the last fifth of the text
        written from ``start`` and leaves at least ``keep_words`` in the whole section."""
        text = self.texts[index]
        ends = [m.end() for m in SENTENCE_ENDS.finditer(text, start)]
        if not ends or ends[-1] - start < (len(text) - start) * 0.8:
            return
        if keep_words and self.rule.count(text[: ends[-1]]) < keep_words:
            return  # the unfinished sentence stays: cutting it would leave the text short of its minimum
        cut = len(text) - ends[-1]
        if cut <= 0:
            return
        before = sum(c.n_tokens for c in turn.reply)
        removed = self._retract_reply(turn, cut)
        if removed > cut:  # a token ran across the sentence end: put its first part back
            turn.reply.append(self._text_chunk(text[len(text) - removed:len(text) - cut]))
            removed = cut
        self.cut_tokens += max(0, before - sum(c.n_tokens for c in turn.reply))
        self.texts[index] = text[: len(text) - removed]
        guard.truncate(len(self.texts[index]))
        self.ngram_ban.truncate(len(self.texts[index]))
        counter.set(self.texts[index])
        yield TextRetracted(index, removed, "length")

    def _next_seed(self) -> int:
        self._calls += 1
        return (self._seed + self._calls * 7919) & 0x7FFFFFFF

    def _account(self, finish: Finish) -> None:
        self._section_tokens += finish.completion_tokens
        self.prompt_tokens_evaluated += finish.prompt_tokens_evaluated
        self.prompt_tokens_total += finish.prompt_tokens
        self.generation_seconds += finish.generation_seconds

    def _update_tokens_per_word(self) -> None:
        words = self.total_words()
        generated = sum(c.n_tokens for t in self.turns for c in t.reply)
        if words >= 100 and generated:
            reply_words = sum(self.rule.count("".join(c.text for c in t.reply)) for t in self.turns)
            if reply_words >= 100:
                self.tokens_per_word = min(MAX_TOKENS_PER_UNIT, max(1.0, generated / reply_words))

    def _progress(self, index: int, section_words: int, section_target: int, context_used: int) -> Progress:
        elapsed = time.perf_counter() - self.started
        words = self.total_words()
        live = time.perf_counter() - self._call_started if self._call_started else 0.0
        seconds = self.generation_seconds + live
        tokens = self._section_tokens + self._call_tokens
        rate = tokens / seconds if seconds > 0.5 and tokens >= 20 else 0.0
        remaining_words = max(0, self.target_words - words)
        eta = self.timer.time_left(words_left=remaining_words, position=context_used) if self.timer else None
        if eta is None:
            eta = remaining_words * self.tokens_per_word / rate if rate > 0 else None
        return Progress(words, self.target_words, index, section_words, section_target, rate, elapsed, eta,
                        min(context_used, self.view), self.view, self.rule.unit.value)

    def stats(self, text: str) -> dict[str, Any]:
        words = self.rule.count(text)
        body = "\n\n".join(t for t in self.texts if t.strip())
        kept = self.backend.count_tokens(body) if body.strip() else 0
        elapsed = time.perf_counter() - self.started
        document_tokens = sum(c.n_tokens for t in self.turns for c in t.reply)
        return {
            "words": words,
            "target_words": self.target_words,
            "target_source": self.target_source,
            "target_phrase": self.target_phrase,
            "target_read": self.target_read,  # the length the instruction names, before any margin
            "unit": self.rule.unit.value,  # every count here is in this unit, as readers of the language count
            "language": self.rule.language,
            "longbench_words": longbench_words(text),  # LongBench-Write's own count, for its length score
            "length_score": round(length_score(self.target_words, words), 1),
            "mode": self.mode,
            "model": self.backend.info.model,
            "backend": self.backend.info.name,
            "device": self.backend.info.device,
            "n_ctx": self.n_ctx,
            "view_tokens": self.view,  # the context the writer fills before dropping old sections from view
            "prompt_tokens_evaluated": self.prompt_tokens_evaluated,
            "prompt_tokens_without_cache": self.prompt_tokens_total,
            "plan_prompt_tokens": self.plan_prompt_tokens,
            "writing_head_tokens": getattr(self, "head_tokens", 0),
            "completion_tokens": self.completion_tokens,
            "document_tokens_in_context": document_tokens,
            "document_tokens": self._section_tokens,
            # The issue's bound: 1.2 x (plan prompt + writing head + document) while the document fits the
            # context, 2 x once old sections had to be dropped.
            "prompt_tokens_bound": round((1.2 if self.context_drops == 0 else 2.0) * (
                self.plan_prompt_tokens + getattr(self, "head_tokens", 0) + self._section_tokens
                + sum(self._request_tokens.values()))),
            "section_request_tokens": sum(self._request_tokens.values()),
            "tokens_per_second": round(self._section_tokens / self.generation_seconds, 2)
            if self.generation_seconds else 0.0,
            "elapsed_s": round(elapsed, 2),
            "finish_reason": self.finish_reason,
            "context_drops": self.context_drops,
            "repetition_cuts": self.repetition_cuts,
            "repetition_retries": self.repetition_retries,
            "repeated_4gram_share": round(repeated_ngram_share(text), 4),
            "echo_cuts": self.echo_cuts,
            "drift_cuts": self.drift_cuts,
            "cut_tokens": self.cut_tokens,
            # Waste: tokens the model generated while writing per token of the document's text (cut loops,
            # echoes, drift and trimmed tails make the difference); the plan's tokens are counted in the second.
            "generated_tokens_per_kept": round(self._section_tokens / kept, 3) if kept else 0.0,
            "generated_tokens_per_kept_with_plan": round(self.completion_tokens / kept, 3) if kept else 0.0,
            "kept_tokens": kept,
            "sections_retargeted": [i + 1 for i in self.handed_on],
            "warnings": list(self.warnings),
            "sections": [
                {"title": s.title, "target_words": s.target_words, "words": self.rule.count(t),
                 "retries": r, "summary": self.summaries.get(i, "")}
                for i, (s, t, r) in enumerate(zip(self.plan.sections, self.texts, self.section_retries))
            ],
        }


def extract_summary(text: str, main_point: str, max_words: int = SUMMARY_WORDS) -> str:
    """A short summary of a section from its own sentences: its opening and the one closest to its main point."""
    sentences = [m.group(0).strip() for m in re.finditer(r"[^.!?。！？\n]+[.!?。！？]?", text) if m.group(0).strip()]
    sentences = [x for x in sentences if longbench_words(x) >= 4]
    if not sentences:
        return main_point.strip()
    keys = {w[:5] for w in re.findall(r"[^\W\d_]+", main_point.lower()) if len(w) > 3}
    chars = set(re.findall(r"[\u4e00-\u9fff]", main_point))

    def score(sentence: str) -> int:
        own = {w[:5] for w in re.findall(r"[^\W\d_]+", sentence.lower()) if len(w) > 3}
        return len(own & keys) + len(set(re.findall(r"[\u4e00-\u9fff]", sentence)) & chars)

    picked = [0]
    best = max(range(1, len(sentences)), key=lambda i: score(sentences[i]), default=None)
    if best is not None:
        picked.append(best)
    summary = " ".join(sentences[i] for i in picked)
    if has_cjk(summary):
        return summary[: max_words * 2]
    words = summary.split()
    if len(words) > max_words:
        summary = " ".join(words[:max_words]).rstrip(",;:") + "…"
    return summary


def hard_limit(target: int, final: bool = False) -> int:
    """The words where a section is stopped whatever it is writing: 108% of its target, 105% for the last one,
    rounded down (a 142-word last section stops at 149 words, not 150: with its 8-word heading the document is
    then 157 of 150 words, inside 5%)."""
    return max(1, math.floor(target * (FINAL_HARD_STOP if final else HARD_STOP)))


def _long_enough(words: int, target: int, text: str, final: bool = False) -> bool:
    """Stop here: at a paragraph end near the target, at a sentence end past it, or at the hard limit."""
    return (
        words >= hard_limit(target, final)
        or (words >= target * (STOP_AT_PARAGRAPH if final else STOP_AT_SENTENCE)
            and SENTENCE_END.search(text) is not None)
        or (words >= target * STOP_AT_PARAGRAPH and PARAGRAPH_END.search(text) is not None)
    )


class _ThinkingFilter:
    """LongWriter-Zero thinks in <think>...</think> before its <answer>: keep the thinking apart."""

    def __init__(self) -> None:
        self.buffer = ""
        self.in_answer = False

    def feed(self, text: str) -> tuple[str, str]:
        """Returns (document text, thinking text) for a new piece."""
        if self.in_answer:
            return text.replace("</answer>", ""), ""
        self.buffer += text
        marker = self.buffer.find("<answer>")
        if marker < 0:
            if len(self.buffer) > 20 and "<" not in self.buffer[-10:]:
                thought, self.buffer = self.buffer, ""
                return "", thought
            return "", ""
        self.in_answer = True
        thought, answer = self.buffer[:marker], self.buffer[marker + len("<answer>"):]
        self.buffer = ""
        return answer.lstrip("\n"), thought


def write_document(
    backend: Backend,
    request: WriteRequest,
    cancel: threading.Event | None = None,
    resume: ResumeState | None = None,
) -> Iterator[Event]:
    """Plan (or take the user's plan) and write the document; a generator of events ending in Done."""
    return DocumentWriter(backend, request, cancel, resume).run()
