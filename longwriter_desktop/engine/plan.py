"""The plan: sections with a title, a main point and a word target; parsing, repair and generation.

A model's plan is never trusted as it is (MODELS.md): a tiny model repeats titles and gives 15-word
targets. Targets are rescaled to the requested length, duplicate or empty titles are retried once with a
penalty and then replaced, and a model that cannot plan at all gets a generic outline the user can edit.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from .backend import Backend, Delta, Finish, FinishReason, GenerationRequest, Sampling
from .counting import LengthRule, has_cjk
from .events import Event, PlanningStarted, PlanReady, Warning
from .language import detect_language, write_in
from .target import MAX_WORDS

MIN_SECTION_WORDS = 60
MAX_SECTIONS = 60


@dataclass
class Section:
    title: str
    main_point: str
    target_words: int
    locked: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    sections: list[Section] = field(default_factory=list)

    @property
    def total_words(self) -> int:
        return sum(s.target_words for s in self.sections)

    def to_json(self) -> str:
        return json.dumps({"sections": [s.to_dict() for s in self.sections]}, ensure_ascii=False, indent=2)

    def copy(self) -> Plan:
        return Plan([replace(s) for s in self.sections])

    def to_text(self) -> str:
        """The paper's text form: one line per section."""
        return "\n".join(
            f"Paragraph {i} - Main Point: {s.title}: {s.main_point} - Word Count: {s.target_words} words"
            for i, s in enumerate(self.sections, 1)
        )


def section_count_for(target_words: int) -> int:
    """About 300 words a section for short work, growing to about 750 for 20,000 words."""
    if target_words <= 450:
        return 1
    size = 300 if target_words <= 1500 else min(1000, 350 + target_words * 0.02)
    return max(2, min(MAX_SECTIONS, round(target_words / size)))


# -- parsing user plans -----------------------------------------------------------------------------

_SECTION_LINE = re.compile(
    r"^\s*(?:section|paragraph|part|chapter)?\s*\d*\s*[-:.)]*\s*title\s*[:：]\s*(?P<title>.+?)\s*[-–—]\s*"
    r"main\s*point\s*[:：]\s*(?P<point>.+?)\s*[-–—]\s*(?:words|word\s*count)\s*[:：]\s*(?P<words>\d[\d,]*)"
    r"\s*(?:words?)?\s*$",
    re.IGNORECASE,
)
# The paper's text form in any language: "Paragraph 1 - Main Point: ... - Word Count: 400 words",
# "Абзац 1 - Основная мысль: ... - Количество слов: 400 слов", "第1段 - 要点：... - 字数：400字".
_TEXT_LINE = re.compile(
    r"^\s*(?:[^\W\d_][^\d:：\-–—]{0,30}?)?\s*第?\s*(\d+)?\s*[^\W\d_]{0,4}\s*[-–—:.)）]*\s*"
    r"(?P<label>[^\W\d_][^:：\d]{0,40}?)\s*[:：]\s*(?P<point>.+?)\s*[-–—]\s*"
    r"(?P<count_label>[^\W\d_][^:：\d\-–—]{0,40}?)\s*[:：]\s*"
    r"(?P<words>\d{1,3}(?:[\s\u00a0\u202f.,']\d{3})+|\d+)\s*(?:[^\W\d_]+\.?)?\s*$",
    re.IGNORECASE,
)


def _int_words(value: Any, where: str) -> int:
    try:
        words = int(re.sub(r"[\s\u00a0\u202f.,']", "", str(value)))
    except ValueError:
        raise InputError(f"{where}: the word count '{value}' is not a number.") from None
    if words <= 0:
        raise InputError(f"{where}: the word count must be positive.")
    if words > MAX_WORDS:
        raise InputError(f"{where}: the word count {words:,} is more than a whole document may have "
                         f"({MAX_WORDS:,} words). Give a smaller number.")
    return words


def parse_plan_json(data: Any) -> Plan:
    """A plan from JSON data: {"sections": [...]} or a bare list of sections."""
    items = data.get("sections") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise InputError("The plan must be a list of sections, or an object with a 'sections' list.")
    sections = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise InputError(f"Section {i} of the plan is not an object with title, main point and words.")
        title = str(item.get("title") or "").strip()
        point = str(item.get("main_point") or item.get("point") or item.get("summary") or "").strip()
        words = item.get("target_words", item.get("words", item.get("word_count")))
        if words is None:
            raise InputError(f"Section {i} of the plan has no word count ('words').")
        if not title and not point:
            raise InputError(f"Section {i} of the plan has neither a title nor a main point.")
        sections.append(Section(title or _title_from_point(point), point or title, _int_words(words, f"Section {i}"),
                                bool(item.get("locked", False))))
    return Plan(sections)


def parse_plan_text(text: str) -> Plan:
    """The paper's form: `Paragraph 1 - Main Point: ... - Word Count: 400 words`, one per line."""
    sections = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        titled = _SECTION_LINE.match(line)
        if titled:
            sections.append(Section(titled.group("title").strip(), titled.group("point").strip(),
                                    _int_words(titled.group("words"), f"Line {number}")))
            continue
        match = _TEXT_LINE.match(line)
        if not match:
            raise InputError(
                f"Line {number} of the plan is not in the form "
                "'Paragraph N - Main Point: ... - Word Count: N words' "
                "(or 'Section N - Title: ... - Main point: ... - Words: N')."
            )
        point = match.group("point").strip()
        title, _, rest = re.sub(r"\s*：\s*", ": ", re.sub(r"[\s\u00a0\u202f]+:", ":", point, count=1),
                                count=1).partition(": ")
        if not rest or len(title) > 80:
            title, rest = _title_from_point(point), point
        sections.append(Section(title.strip(), rest.strip(), _int_words(match.group("words"), f"Line {number}")))
    if not sections:
        raise InputError("The plan is empty.")
    return Plan(sections)


def parse_plan(text: str) -> Plan:
    """A user plan as JSON or in the paper's text form."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(f"The plan is not valid JSON: {exc.msg} (line {exc.lineno}).") from None
        except RecursionError:
            raise InputError("The plan's JSON is nested far too deeply to be a plan. A plan is a list of "
                             "sections, each with a title, a main point and words.") from None
        return parse_plan_json(data)
    return parse_plan_text(stripped)


def load_plan(path: str | Path) -> Plan:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"Plan file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read the plan file {path}: {exc}") from None
    return parse_plan(text)


def _title_from_point(point: str) -> str:
    words = point.split()
    title = " ".join(words[:6]).rstrip(".,;:")
    return title if len(words) <= 6 else title + "…"


# -- repair ----------------------------------------------------------------------------------------


def _norm_title(title: str) -> str:
    # Titles that share their first five words count as the same (tiny models vary only the tail).
    return " ".join(re.sub(r"[\W\d_]+", " ", title.lower()).split()[:5])


def duplicate_titles(plan: Plan) -> list[int]:
    """Indices of sections whose title is empty or repeats an earlier one (ignoring case and digits)."""
    seen: set[str] = set()
    bad = []
    for i, section in enumerate(plan.sections):
        key = _norm_title(section.title)
        if not key or key in seen:
            bad.append(i)
        seen.add(key)
    return bad


def rescale(plan: Plan, target_words: int) -> Plan:
    """Scale targets to sum to the requested length, keeping the plan's proportions within reason."""
    sections = [replace(s) for s in plan.sections]
    if not sections:
        return Plan([])
    locked = sum(s.target_words for s in sections if s.locked)
    free = [s for s in sections if not s.locked]
    remaining = max(0, target_words - locked)
    if free:
        mean = sum(s.target_words for s in free) / len(free) or 1.0
        # A model's proportions are kept only within 0.5x-2x of the mean: 15-word sections are noise.
        weights = [min(2.0, max(0.5, s.target_words / mean)) for s in free]
        total = sum(weights)
        raw = [remaining * w / total for w in weights]
        rounded = [max(MIN_SECTION_WORDS, int(round(r / 10.0)) * 10) for r in raw]
        if remaining >= MIN_SECTION_WORDS * len(free):
            diff = remaining - sum(rounded)
            largest_first = sorted(range(len(rounded)), key=lambda i: -rounded[i])
            if diff > 0:
                rounded[largest_first[0]] += diff
            # An excess (the minimum lifted small sections) comes off the largest sections, none below the minimum;
            # there is room, since remaining >= the minimum for every section.
            for i in largest_first:
                if diff >= 0:
                    break
                take = min(-diff, rounded[i] - MIN_SECTION_WORDS)
                rounded[i] -= take
                diff += take
        for section, words in zip(free, rounded):
            section.target_words = max(1, words)
    return Plan(sections)


GENERIC_EN = ("Introduction", "Background", "The main question", "Key ideas", "A closer look", "Examples",
              "Challenges", "Different views", "What it means in practice", "Looking ahead", "Conclusion")
GENERIC_ZH = ("引言", "背景", "核心问题", "主要观点", "深入分析", "实例", "挑战", "不同观点", "实践意义",
              "展望", "结语")


_AGAIN_EN = ("More on ", "Further notes on ", "Another look at ", "Deeper into ", "Returning to ", "Last word on ",
             "Final thoughts on ")
_AGAIN_ZH = ("再谈", "续论", "重看", "深入", "回到", "补充", "总结")


def generic_outline(instruction: str, target_words: int, count: int) -> Plan:
    """A neutral outline the user can edit, for models that cannot plan."""
    names = GENERIC_ZH if detect_language(instruction) == "zh" else GENERIC_EN
    sections = []
    for i in range(count):
        if i == 0:
            title = names[0]
        elif i == count - 1 and count > 1:
            title = names[-1]
        else:
            middle = names[1:-1]
            title = middle[(i - 1) % len(middle)]
            round_ = (i - 1) // len(middle)
            if round_:
                # Not "(2)": titles that differ only in numbers count as the same one.
                lead = _AGAIN_ZH if names is GENERIC_ZH else _AGAIN_EN
                title = f"{lead[(round_ - 1) % len(lead)]}{title if names is GENERIC_ZH else title.lower()}"
        point = f"{title}：{instruction.strip()}" if names is GENERIC_ZH else f"{title}: {instruction.strip()}"
        sections.append(Section(title, point, 1))
    return rescale(Plan(sections), target_words)


def repair(plan: Plan, instruction: str, target_words: int, count: int) -> tuple[Plan, list[str]]:
    """Fix what a model's plan gets wrong; returns the plan and notes on what was changed."""
    notes: list[str] = []
    sections = [s for s in plan.sections if s.title.strip() or s.main_point.strip()]
    if len(sections) != count:
        notes.append(f"the model gave {len(sections)} sections; {count} were asked for")
    fixed = Plan(sections[:count]) if sections else Plan([])
    bad = duplicate_titles(fixed)
    if not fixed.sections or len(bad) > len(fixed.sections) // 2:
        notes.append("the model's plan repeated itself; a generic outline was used instead: edit it freely")
        return generic_outline(instruction, target_words, count), notes
    generic = [s.title for s in generic_outline(instruction, target_words, count + len(bad)).sections]
    used = {_norm_title(s.title) for s in fixed.sections}

    def fresh_title() -> str:
        for title in generic:
            if _norm_title(title) not in used:
                used.add(_norm_title(title))
                return title
        raise AssertionError("the generic outline has more titles than sections")

    for i in bad:
        fixed.sections[i].title = fresh_title()
    if bad:
        notes.append(f"{len(bad)} repeated or empty titles were replaced")
    mean = max(1, round(sum(s.target_words for s in fixed.sections) / max(1, len(fixed.sections))))
    while len(fixed.sections) < count:
        title = fresh_title()
        fixed.sections.append(Section(title, f"{title}: {instruction.strip()}", mean))
    before = [s.target_words for s in fixed.sections]
    fixed = rescale(fixed, target_words)
    if before != [s.target_words for s in fixed.sections]:
        notes.append(f"word targets were rescaled to add up to {target_words:,}")
    return fixed, notes


# -- generation ------------------------------------------------------------------------------------


# Letters of every script our languages use, for GBNF character classes (llama.cpp's grammar takes code
# point ranges, not Unicode categories): Latin with accents, Greek and Cyrillic, Armenian, Hebrew and
# Arabic, the Indic scripts, Thai, Lao and Burmese, Georgian and Hangul jamo, Khmer, Vietnamese and
# polytonic Greek, kana, CJK, Hangul syllables, full-width letters. Few, wide ranges: llama.cpp checks a
# character against the ranges one by one, for every candidate token at every step.
_GBNF_LETTERS = (
    "\\u00c0-\\u024f\\u0370-\\u052f\\u0531-\\u06ff\\u0750-\\u077f\\u0900-\\u109f\\u10a0-\\u11ff\\u1780-\\u17ff"
    "\\u1e00-\\u1fff\\u3005-\\u3007\\u3040-\\u30ff\\u3400-\\u9fff\\uac00-\\ud7af\\uf900-\\ufaff\\uff10-\\uff5a"
)
# Punctuation inside a title or a main point: typographic apostrophes and quotes (’ ‘ ‚ “ ” „ « »), ¿ ¡,
# no-break spaces (French "Titre : sous-titre"), Arabic ، ؛, CJK 、「」『』 and full-width ，：；（）.
_GBNF_TITLE_PUNCT = ("\\u2018-\\u201e\\u00ab\\u00bb\\u00bf\\u00a1\\u00a0\\u202f\\u060c\\u3001\\u300c-\\u300f"
                     "\\uff0c\\uff1a")
_GBNF_POINT_PUNCT = _GBNF_TITLE_PUNCT + "\\u061b\\uff1b\\uff08\\uff09"
# A main point ends its one sentence with . ! ? 。！？ ؟ or ।.
_GBNF_POINT_END = ".!?\\u3002\\uff01\\uff1f\\u061f\\u0964"


def plan_grammar(count: int) -> str:
    """GBNF for exactly ``count`` plan lines: every model, however small, yields a parseable plan.

    The line form reads like prose, which small models follow far better than JSON.
    """
    lines = ["root ::= " + " ".join(f"s{i}" for i in range(1, count + 1))]
    lines += [
        f's{i} ::= "Section {i} - Title: " title " - Main point: " point " - Words: " num "\\n"'
        for i in range(1, count + 1)
    ]
    lines += [
        f"title ::= [A-Z{_GBNF_LETTERS}] tchar{{2,44}}",
        f"tchar ::= [a-zA-Z0-9 ,'&:{_GBNF_LETTERS}{_GBNF_TITLE_PUNCT}]",
        f"point ::= [A-Z{_GBNF_LETTERS}] pchar{{10,180}} [{_GBNF_POINT_END}]",
        f"pchar ::= [a-zA-Z0-9 ,;'(){_GBNF_LETTERS}{_GBNF_POINT_PUNCT}]",
        "num ::= [1-9] [0-9]{1,3}",
    ]
    return "\n".join(lines)


def plan_instruction(instruction: str, target_words: int, count: int, notes: str = "",
                     rule: LengthRule | None = None) -> str:
    rule = rule or LengthRule(language=detect_language(instruction))
    form = "Section N - Title: ... - Main point: ... - Words: N"
    if rule.language == "zh":
        text = (
            f"请为下面的写作任务制定写作计划：{instruction}\n\n全文约{target_words}字，分成{count}个部分，每行一个部分，"
            f"格式为：{form}。标题简短；主要内容用一句话说明；各部分互不重复，覆盖任务的不同方面。任务：{instruction}"
        )
    else:
        text = (
            f"Make a writing plan for this task: {instruction}\n\nThe text is about {target_words} {rule.label()} "
            f"in {count} sections. Give each section a short title, its main point in one sentence, and its "
            f"length in {rule.label()}, one section per line, in this form: {form}\nEach section covers a "
            f"different aspect of the task, in the order the text should run; no two are alike. The task again: "
            f"{instruction}"
        )
        if rule.language != "en":
            text += f"\nWrite the titles and main points in the task's language. {write_in(rule.language)}"
    if notes.strip():
        text += f"\n\nWriting notes:\n{notes.strip()}"
    return text


def parse_generated_plan(text: str) -> Plan:
    """Parse a model's plan (line form or JSON), tolerating junk and a truncated tail."""
    sections = []
    for line in text.splitlines():
        match = _SECTION_LINE.match(line.strip())
        if match:
            words = int(match.group("words").replace(",", "")) or 1
            sections.append(Section(match.group("title").strip(" ,:"), match.group("point").strip(), words))
    if sections:
        return Plan(sections)
    start = text.find("{")
    candidate = text[start:] if start >= 0 else text
    try:
        return parse_plan_json(json.loads(candidate))
    except (json.JSONDecodeError, InputError):
        pass
    # Repair pass: take every complete section object that can be found.
    sections = []
    for match in re.finditer(r"\{[^{}]*\}", candidate):
        try:
            item = json.loads(match.group(0))
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict) and ("title" in item or "main_point" in item):
            raw = item.get("words", item.get("target_words", 300))
            try:
                words = max(1, int(str(raw).replace(",", "")))
            except ValueError:
                words = 300
            sections.append(Section(str(item.get("title", "")).strip(), str(item.get("main_point", "")).strip(),
                                    words))
    if sections:
        return Plan(sections)
    try:
        return parse_plan_text(text)
    except InputError:
        return Plan([])


@dataclass
class PlanResult:
    plan: Plan
    prompt_tokens_evaluated: int = 0
    completion_tokens: int = 0
    notes: list[str] = field(default_factory=list)


def generate_plan(
    backend: Backend,
    instruction: str,
    target_words: int,
    *,
    notes: str = "",
    sampling: Sampling | None = None,
    cancel: threading.Event | None = None,
    result: PlanResult | None = None,
    count: int | None = None,
    title: str = "",
    rule: LengthRule | None = None,
) -> Iterator[Event]:
    """Ask the model for a plan (grammar-constrained where the backend allows); ends with PlanReady."""
    count = count or section_count_for(target_words)
    result = result if result is not None else PlanResult(Plan([]))
    yield PlanningStarted(target_words, count)
    if count == 1:
        result.plan = Plan([Section(title or _title_from_point(instruction), instruction.strip(), target_words)])
        yield PlanReady(result.plan, generated=False)
        return
    sampling = sampling or Sampling()
    fmt = backend.prompt_format
    rule = rule or LengthRule(language=detect_language(instruction))
    prompt_text = fmt.render(plan_instruction(instruction, target_words, count, notes, rule))
    supports_grammar = getattr(backend, "supports_grammar", backend.tokenizes)
    grammar = plan_grammar(count) if supports_grammar else None
    prompt: Sequence[int] | str = (
        backend.bos_tokens() + backend.tokenize(prompt_text) if backend.tokenizes else prompt_text
    )
    # Scripts other than Latin take several tokens a word in most tokenizers.
    latin = rule.language in ("en", "fr", "de", "es", "it", "pt", "pl", "nl", "tr")
    max_tokens = count * (90 if latin and not has_cjk(instruction) else 220) + 32
    best: Plan | None = None
    for attempt in range(2):
        attempt_sampling = replace(
            sampling,
            seed=None if sampling.seed is None else sampling.seed + attempt * 7919,
            repeat_penalty=1.15 if attempt == 0 else 1.3,
            presence_penalty=0.3 if attempt == 0 else 0.6,
            temperature=max(sampling.temperature, 0.7),
        )
        text = ""
        finish: Finish | None = None
        for item in backend.generate(
            GenerationRequest(prompt, max_tokens, attempt_sampling, stop=fmt.stops, grammar=grammar, cancel=cancel)
        ):
            if isinstance(item, Delta):
                text += item.text
            else:
                finish = item
        if finish is not None:
            result.prompt_tokens_evaluated += finish.prompt_tokens_evaluated
            result.completion_tokens += finish.completion_tokens
            if finish.reason is FinishReason.CANCELLED:
                return
        plan = parse_generated_plan(text)
        if best is None or len(duplicate_titles(plan)) < len(duplicate_titles(best)) or not best.sections:
            best = plan
        if plan.sections and not duplicate_titles(plan) and len(plan.sections) == count:
            break
        if attempt == 0:
            yield Warning("The plan repeated itself; asking the model once more with a penalty.", kind="plan")
    fixed, repair_notes = repair(best or Plan([]), instruction, target_words, count)
    result.plan = fixed
    result.notes = repair_notes
    for note in repair_notes:
        yield Warning(f"Plan: {note}.", kind="plan")
    yield PlanReady(fixed, generated=True, notes=tuple(repair_notes))


