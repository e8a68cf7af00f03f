"""The story bible (codex): entries the model is shown when they matter, and how a section's view is chosen.

An entry has a kind, a name, aliases, a description the model sees, private notes it never sees, a context
mode (always, when mentioned, never) and changes that hold from a given section on. For each section the
entries in view are: every "always" entry, then every "when mentioned" entry whose name or alias appears in
the section's title or main point, the run's instruction, or the last part of the text written before the
section. They are fitted into a token budget: always-entries first, then by how recently they were
mentioned (the section's own title and main point count as most recent, the instruction as least).

Matching is whole-word, case- and accent-insensitive; in scripts written without spaces between words
(Chinese, Japanese, Thai, ...) a name matches anywhere, since there is no word boundary to test. Token
counts for the budget are a deterministic estimate, so the window's outline shows exactly the entries the
writer will put in a prompt, whatever backend runs it.

Everything here is plain data and functions: the writer, the project store, the CLI and the window use it.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..lazyre import lazy_compile

KINDS = ("character", "place", "object", "term", "fact", "style")
KIND_LABELS = {"character": "Character", "place": "Place", "object": "Object", "term": "Term", "fact": "Fact",
               "style": "Style rule"}
KIND_LABELS_ZH = {"character": "人物", "place": "地点", "object": "物品", "term": "术语", "fact": "事实",
                  "style": "文风"}
MODES = ("always", "mentioned", "never")
MODE_LABELS = {"always": "Always", "mentioned": "When mentioned", "never": "Never"}
DEFAULT_BUDGET = 600  # estimated tokens per section's codex block
TAIL_CHARS = 1500  # "the last part of the text so far": about 250 English words


def parse_kind(value: str) -> str:
    """A kind from what a person types ("Style rule", "places", "CHARACTER")."""
    key = re.sub(r"[\s_-]+", " ", value.strip().casefold())
    key = {"style rule": "style", "rule": "style", "people": "character", "person": "character"}.get(key, key)
    if key.endswith("s") and key[:-1] in KINDS:
        key = key[:-1]
    if key not in KINDS:
        raise InputError(f"Unknown kind '{value}': use one of character, place, object, term, fact, style.")
    return key


def parse_mode(value: str) -> str:
    """A context mode from what a person types ("when mentioned", "always", "never")."""
    key = re.sub(r"[\s_-]+", " ", value.strip().casefold())
    key = {"when mentioned": "mentioned", "mention": "mentioned", "auto": "mentioned"}.get(key, key)
    if key not in MODES:
        raise InputError(f"Unknown context mode '{value}': use always, mentioned or never.")
    return key


@dataclass(frozen=True)
class Change:
    """Something that holds from a given section on (1-based): "from section 7: has a scar"."""

    from_section: int
    text: str


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str = "character"
    aliases: tuple[str, ...] = ()
    description: str = ""  # what the model sees
    notes: str = ""  # private: never in a prompt
    mode: str = "mentioned"
    changes: tuple[Change, ...] = ()
    id: int | None = None  # the row id once stored

    @property
    def names(self) -> tuple[str, ...]:
        """The name and the aliases, without blanks or repeats."""
        seen: list[str] = []
        for raw in (self.name, *self.aliases):
            name = " ".join(raw.split())
            if name and _fold(name)[0] not in {_fold(s)[0] for s in seen}:
                seen.append(name)
        return tuple(seen)

    def changes_at(self, section: int) -> list[Change]:
        """The changes that hold in a section (1-based), oldest first."""
        return sorted((c for c in self.changes if c.from_section <= section), key=lambda c: c.from_section)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "aliases": list(self.aliases), "description": self.description,
            "notes": self.notes, "mode": self.mode,
            "changes": [{"from_section": c.from_section, "text": c.text} for c in self.changes],
        }


def make_entry(data: dict[str, Any], where: str = "") -> Entry:
    """An entry from a JSON-like dict, validated (InputError with a plain sentence otherwise)."""
    at = f" ({where})" if where else ""
    if not isinstance(data, dict):
        raise InputError(f"A codex entry must be an object with a name{at}.")
    name = " ".join(str(data.get("name") or "").split())
    if not name:
        raise InputError(f"A codex entry needs a name{at}.")
    aliases = data.get("aliases") or ()
    if isinstance(aliases, str):
        aliases = re.split(r"[,;]", aliases)
    changes: list[Change] = []
    for raw in data.get("changes") or ():
        if not isinstance(raw, dict):
            raise InputError(f"A change of '{name}' must say from_section and text{at}.")
        try:
            section = int(raw.get("from_section") or raw.get("section") or 0)
        except (TypeError, ValueError):
            section = 0
        if section < 1:
            raise InputError(f"A change of '{name}' needs a section number of 1 or more{at}.")
        text = str(raw.get("text") or "").strip()
        if text:
            changes.append(Change(section, text))
    return Entry(
        name=name,
        kind=parse_kind(str(data.get("kind") or "character")),
        aliases=tuple(a for a in (" ".join(str(x).split()) for x in aliases) if a),
        description=str(data.get("description") or "").strip(),
        notes=str(data.get("notes") or "").strip(),
        mode=parse_mode(str(data.get("mode") or data.get("context") or "mentioned")),
        changes=tuple(sorted(changes, key=lambda c: c.from_section)),
    )


# -- matching ------------------------------------------------------------------------------------------

# Scripts written without spaces between words: a name there has no word boundary to test.
_NO_SPACES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1100, 0x11FF),  # Hangul jamo (Korean particles attach to names)
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x9FFF),  # CJK radicals, kana, CJK ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width katakana
    (0x20000, 0x3FFFF),  # CJK extensions
)


def _no_spaces(ch: str) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _NO_SPACES)


def _fold(text: str) -> tuple[str, list[int]]:
    """Text folded for matching (case, accents, width, quote marks), with each folded character's source index.

    Accents are dropped only from letters of the Latin, Greek and Cyrillic scripts: in kana or Devanagari a
    combining mark changes the letter itself.
    """
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch in "’‘ʼ`":
            piece = "'"
        elif ord(ch) < 0x80:
            piece = ch.lower()
        else:
            decomposed = unicodedata.normalize("NFKD", ch)
            base = decomposed[:1]
            if base and (ord(base) < 0x0530 or 0x1E00 <= ord(base) <= 0x1FFF):
                piece = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
            else:
                piece = unicodedata.normalize("NFKC", ch).casefold()
        for c in piece:
            out.append(c)
            index.append(i)
    return "".join(out), index


def name_key(name: str) -> str:
    """A name folded for comparing (case, accents and spacing ignored)."""
    return _fold(" ".join(name.split()))[0]


_PATTERNS: dict[str, re.Pattern[str] | None] = {}


def _pattern(name: str) -> re.Pattern[str] | None:
    pattern = _PATTERNS.get(name)
    if pattern is None and name not in _PATTERNS:
        folded = _fold(" ".join(name.split()))[0]
        if not folded.strip():
            _PATTERNS[name] = None
            return None
        body = r"\s+".join(re.escape(part) for part in folded.split(" "))
        # A boundary only where the name's own end is a letter of a script that separates words.
        left = "" if _no_spaces(folded[0]) or not (folded[0].isalnum() or folded[0] == "_") else r"(?<!\w)"
        right = "" if _no_spaces(folded[-1]) or not (folded[-1].isalnum() or folded[-1] == "_") else r"(?!\w)"
        pattern = re.compile(left + body + right)
        _PATTERNS[name] = pattern
    return pattern


class FoldedText:
    """A text folded once, searched for many names; matches come back as spans of the original text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.folded, self._index = _fold(text)

    def spans(self, name: str) -> list[tuple[int, int]]:
        pattern = _pattern(name)
        if pattern is None:
            return []
        found = []
        for m in pattern.finditer(self.folded):
            start = self._index[m.start()]
            end = self._index[m.end() - 1] + 1
            found.append((start, end))
        return found


def mentions(entry: Entry, text: str | FoldedText) -> list[tuple[int, int]]:
    """Spans of ``text`` where the entry's name or an alias is mentioned, in order, without overlaps."""
    folded = text if isinstance(text, FoldedText) else FoldedText(text)
    spans: list[tuple[int, int]] = []
    for name in sorted(entry.names, key=len, reverse=True):  # "Mara Voss" before "Mara"
        for span in folded.spans(name):
            if not any(s < span[1] and span[0] < e for s, e in spans):
                spans.append(span)
    return sorted(spans)


@dataclass(frozen=True)
class Mention:
    entry: Entry
    start: int
    end: int


def all_mentions(entries: Iterable[Entry], text: str) -> list[Mention]:
    """Every mention of every entry in a text, in order (a longer name wins where two overlap)."""
    folded = FoldedText(text)
    found: list[Mention] = []
    candidates = [(name, entry) for entry in entries for name in entry.names]
    taken: list[tuple[int, int]] = []
    for name, entry in sorted(candidates, key=lambda c: len(c[0]), reverse=True):
        for start, end in folded.spans(name):
            if not any(s < end and start < e for s, e in taken):
                taken.append((start, end))
                found.append(Mention(entry, start, end))
    return sorted(found, key=lambda m: m.start)


def where_mentioned(entries: Sequence[Entry], texts: Sequence[str]) -> list[list[tuple[int, int]]]:
    """For each entry, the sections (1-based) whose text mentions it, with how many times."""
    found: list[list[tuple[int, int]]] = [[] for _ in entries]
    for number, text in enumerate(texts, 1):
        counts: dict[int, int] = {}
        positions = {id(e): i for i, e in enumerate(entries)}
        for mention in all_mentions(entries, text):
            i = positions[id(mention.entry)]
            counts[i] = counts.get(i, 0) + 1
        for i, count in counts.items():
            found[i].append((number, count))
    return found


# -- a section's view ----------------------------------------------------------------------------------


def estimate_tokens(text: str) -> int:
    """A deterministic token estimate (about 4 characters a token; one per CJK character)."""
    wide = sum(1 for ch in text if _no_spaces(ch))
    return math.ceil((len(text) - wide) / 4) + wide


@dataclass(frozen=True)
class InView:
    entry: Entry
    reason: str  # "always", "main point", "title", "instruction", "text so far"
    changes: tuple[Change, ...]
    text: str  # the entry as the prompt shows it
    tokens: int


@dataclass(frozen=True)
class SectionView:
    """What one section's prompt shows of the codex, and what the budget left out."""

    section: int  # 1-based
    entries: tuple[InView, ...]
    left_out: tuple[Entry, ...]
    tokens: int
    budget: int

    @property
    def names(self) -> list[str]:
        return [v.entry.name for v in self.entries]

    def summary(self) -> str:
        """One line: which entries, and how much of the budget they use."""
        if not self.entries and not self.left_out:
            return "no codex entries"
        names = ", ".join(self.names) or "none"
        line = f"{names} ({self.tokens} of {self.budget} tokens)"
        if self.left_out:
            line += "; over budget: " + ", ".join(e.name for e in self.left_out)
        return line


def entry_text(entry: Entry, section: int, cjk: bool = False) -> str:
    """The entry as a prompt line: name, kind, aliases, description and the changes that hold."""
    if cjk:
        head = f"- {entry.name}（{KIND_LABELS_ZH[entry.kind]}"
        head += f"；又称：{'、'.join(entry.aliases)}）" if entry.aliases else "）"
        lines = [f"{head}：{entry.description}" if entry.description else head]
        lines += [f"  自第{c.from_section}部分起：{c.text}" for c in entry.changes_at(section)]
    else:
        head = f"- {entry.name} ({KIND_LABELS[entry.kind].lower()}"
        head += f"; also called {', '.join(entry.aliases)})" if entry.aliases else ")"
        lines = [f"{head}: {entry.description}" if entry.description else head]
        lines += [f"  From section {c.from_section} on: {c.text}" for c in entry.changes_at(section)]
    return "\n".join(lines)


def section_view(
    entries: Sequence[Entry],
    section: int,
    *,
    title: str = "",
    main_point: str = "",
    instruction: str = "",
    text_before: str = "",
    budget: int = DEFAULT_BUDGET,
    cjk: bool = False,
) -> SectionView:
    """The entries a section (1-based) sees: always-entries, then mentioned ones by recency, within budget."""
    tail = FoldedText(text_before[-TAIL_CHARS:])
    point, heading, task = FoldedText(main_point), FoldedText(title), FoldedText(instruction)
    ranked: list[tuple[tuple[int, int], Entry, str]] = []
    for order, entry in enumerate(entries):
        if entry.mode == "never":
            continue
        if entry.mode == "always":
            ranked.append(((0, order), entry, "always"))
            continue
        # Smaller is more recent: the section's own heading and point, then the text (by distance from its
        # end), then the instruction.
        if mentions(entry, point):
            ranked.append(((1, 0), entry, "main point"))
        elif mentions(entry, heading):
            ranked.append(((1, 1), entry, "title"))
        elif spans := mentions(entry, tail):
            ranked.append(((2, len(tail.text) - spans[-1][1]), entry, "text so far"))
        elif mentions(entry, task):
            ranked.append(((3, order), entry, "instruction"))
    ranked.sort(key=lambda r: r[0])
    shown: list[InView] = []
    left_out: list[Entry] = []
    used = 0
    for _, entry, reason in ranked:
        text = entry_text(entry, section, cjk)
        cost = estimate_tokens(text) + 1
        if used + cost > budget:
            left_out.append(entry)
            continue
        used += cost
        shown.append(InView(entry, reason, tuple(entry.changes_at(section)), text, cost))
    return SectionView(section, tuple(shown), tuple(left_out), used, budget)


def render_block(view: SectionView, cjk: bool = False) -> str:
    """The codex block of a section's prompt ("" when nothing is in view)."""
    if not view.entries:
        return ""
    head = "本部分的设定（务必保持一致）：" if cjk else "Story bible for this section (keep to these facts):"
    return head + "\n" + "\n".join(v.text for v in view.entries)


def plan_views(
    entries: Sequence[Entry],
    sections: Sequence[Any],
    texts: Sequence[str],
    instruction: str,
    *,
    budget: int = DEFAULT_BUDGET,
    cjk: bool = False,
) -> list[SectionView]:
    """Every section's view, given the plan's sections (title, main_point) and the texts written so far."""
    views = []
    for i, section in enumerate(sections):
        before = "\n\n".join(t for t in texts[:i] if t)
        views.append(section_view(entries, i + 1, title=section.title, main_point=section.main_point,
                                  instruction=instruction, text_before=before, budget=budget, cjk=cjk))
    return views


# -- the consistency pass ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """A problem in a section's text: what is wrong, the sentence it is in, and the entry concerned."""

    section: int  # 1-based
    message: str
    sentence: str
    entry: str


_SENTENCE = lazy_compile(r"[^.!?。！？…\n]+(?:[.!?。！？…]+[\"'”’)\]]*|$)")
_WORD = lazy_compile(r"[^\W\d_][\w'’-]*")


def _sentence_at(text: str, pos: int) -> str:
    for m in _SENTENCE.finditer(text):
        if m.start() <= pos < m.end():
            return m.group(0).strip()
    return text[max(0, pos - 60): pos + 60].strip()


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (limit + 1) once it is past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def check_section(text: str, section: int, in_view: Sequence[Entry], codex: Sequence[Entry]) -> list[Issue]:
    """Names spelled as in the codex, and no two entries' names mixed up, in one section's text.

    Two checks: (1) a capitalised word one or two letters away from a name word of an entry in view (but not
    itself a word of any entry's names) is a misspelling; (2) a two-word name whose first word belongs to one
    entry and last word to another ("Mara Kessler" where the codex has Mara Voss and Jon Kessler) mixes two
    entries up.
    """
    issues: list[Issue] = []
    name_words: dict[str, Entry] = {}  # folded word -> entry (of every entry: any of them may be confused)
    for entry in codex:
        for name in entry.names:
            for word in _WORD.findall(name):
                name_words.setdefault(_fold(word)[0], entry)
    view_words: dict[str, tuple[str, Entry]] = {}
    for entry in in_view:
        for name in entry.names:
            for word in _WORD.findall(name):
                if len(word) >= 4 and word[:1].isupper():
                    view_words.setdefault(_fold(word)[0], (word, entry))
    reported: set[tuple[str, str]] = set()
    words = list(_WORD.finditer(text))
    # A word the text also uses in lower case is an ordinary word ("Hero" at a sentence start), not a name.
    ordinary = {_fold(m.group(0))[0] for m in words if m.group(0)[:1].islower()}
    for n, m in enumerate(words):
        word = m.group(0)
        if not word[:1].isupper() or _no_spaces(word[0]):
            continue
        folded = _fold(word)[0].rstrip("'’")
        if folded.endswith("'s"):
            folded = folded[:-2]
        if folded not in name_words:
            if folded in ordinary:
                continue
            for key, (spelled, entry) in view_words.items():
                limit = 1 if len(key) < 7 else 2
                if 0 < _edit_distance(folded, key, limit) <= limit and folded[:1] == key[:1]:
                    if (word, spelled) not in reported:
                        reported.add((word, spelled))
                        issues.append(Issue(section, f"'{word}' looks like a misspelling of '{spelled}' "
                                            f"({entry.name}).", _sentence_at(text, m.start()), entry.name))
                    break
            continue
        # A first word of one entry's name followed at once by the last word of another's.
        if n + 1 < len(words):
            nxt = words[n + 1]
            if text[m.end():nxt.start()].strip() or not nxt.group(0)[:1].isupper():
                continue
            first, second = name_words.get(folded), name_words.get(_fold(nxt.group(0))[0])
            if first is None or second is None or first is second:
                continue
            full = f"{word} {nxt.group(0)}"
            if any(_fold(full)[0] == _fold(name)[0] for e in codex for name in e.names):
                continue
            two_word = len(first.name.split()) > 1 or len(second.name.split()) > 1
            if two_word and (full, "") not in reported:
                reported.add((full, ""))
                issues.append(Issue(section, f"'{full}' mixes up {first.name} and {second.name}.",
                                    _sentence_at(text, m.start()), first.name))
    return issues


# -- codex files (Markdown or JSON), for `--codex FILE` and the CLI ----------------------------------------

_FIELD = lazy_compile(r"^\s*(?:[-*]\s*)?(kind|aliases|also called|mode|context|notes|private notes)\s*:\s*(.*)$",
                    re.IGNORECASE)
_CHANGE = lazy_compile(r"^\s*(?:[-*]\s*)?from section\s+(\d+)(?:\s+on)?\s*:\s*(.+)$", re.IGNORECASE)


def parse_markdown(text: str) -> list[Entry]:
    """Entries from Markdown: a heading per entry, `key: value` lines, other lines are the description."""
    entries: list[Entry] = []
    current: dict[str, Any] | None = None
    description: list[str] = []
    line_no = 0

    def close() -> None:
        if current is not None:
            current["description"] = "\n".join(description).strip()
            entries.append(make_entry(current, f"line {current['_line']}"))

    for line_no, line in enumerate(text.splitlines(), 1):
        heading = re.match(r"^\s*#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            close()
            current = {"name": heading.group(1), "_line": line_no, "changes": []}
            description = []
            continue
        if current is None:
            if line.strip():
                raise InputError(f"The codex file must start each entry with a heading ('## Name'); line "
                                 f"{line_no} comes before any heading.")
            continue
        field_match = _FIELD.match(line)
        change_match = _CHANGE.match(line)
        if change_match:
            current["changes"].append({"from_section": int(change_match.group(1)),
                                       "text": change_match.group(2).strip()})
        elif field_match:
            key, value = field_match.group(1).lower(), field_match.group(2).strip()
            if key in ("aliases", "also called"):
                current["aliases"] = re.split(r"[,;]", value)
            elif key in ("mode", "context"):
                current["mode"] = value
            elif key in ("notes", "private notes"):
                current["notes"] = (current.get("notes", "") + "\n" + value).strip()
            else:
                current["kind"] = value
        else:
            description.append(line)
    close()
    return entries


def parse_codex(text: str) -> list[Entry]:
    """Entries from a codex file's text: JSON (a list, or {"entries": [...]}) or Markdown."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"The codex file is not valid JSON (line {exc.lineno}: {exc.msg}).") from None
        items = data.get("entries") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise InputError('A JSON codex must be a list of entries or {"entries": [...]}.')
        return [make_entry(item, f"entry {n}") for n, item in enumerate(items, 1)]
    return parse_markdown(text)


def load_codex(path: str | Path) -> list[Entry]:
    """Entries from a codex file (.json or Markdown)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"There is no codex file {path}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Could not read the codex file {path} ({getattr(exc, 'strerror', None) or exc}).") \
            from None
    entries = parse_codex(text)
    names = [_fold(e.name)[0] for e in entries]
    twice = sorted({e.name for e, n in zip(entries, names) if names.count(n) > 1})
    if twice:
        raise InputError(f"The codex file has more than one entry named {', '.join(twice)}.")
    return entries


def to_markdown(entries: Iterable[Entry], private: bool = True) -> str:
    """Entries as the Markdown that parse_markdown reads back (private notes only when asked)."""
    blocks = []
    for e in entries:
        lines = [f"## {e.name}", f"kind: {e.kind}", f"mode: {e.mode}"]
        if e.aliases:
            lines.append("aliases: " + ", ".join(e.aliases))
        if private and e.notes:
            lines += [f"notes: {line}" for line in e.notes.splitlines() if line.strip()]
        lines += [f"from section {c.from_section}: {c.text}" for c in e.changes]
        if e.description:
            lines.append(e.description)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def to_json(entries: Iterable[Entry]) -> str:
    return json.dumps({"entries": [e.to_dict() for e in entries]}, ensure_ascii=False, indent=2) + "\n"


def with_id(entry: Entry, entry_id: int) -> Entry:
    return replace(entry, id=entry_id)


@dataclass
class Codex:
    """The entries of one run and its budget (what WriteRequest carries)."""

    entries: list[Entry] = field(default_factory=list)
    budget: int = DEFAULT_BUDGET
    consistency: bool = False  # check each finished section against the entries in view


class SectionCodex:
    """The writer's side of the codex: each section's view (computed once), its prompt block, its check."""

    def __init__(self, codex: Codex, instruction: str, cjk: bool, n_ctx: int) -> None:
        self.codex = codex
        self.instruction = instruction
        self.cjk = cjk
        # The budget is used as given, so the window's outline shows exactly what the prompts hold; a budget
        # that crowds out the document is said once.
        self.budget = codex.budget
        self._notice = (f"The codex budget ({codex.budget} tokens a section) is over a quarter of the model's "
                        f"context ({n_ctx} tokens); lower it if older sections drop out of view too soon."
                        if codex.budget > n_ctx // 4 else "")
        self._views: dict[int, SectionView] = {}

    def notice(self) -> str:
        """A warning to give once (empty when there is none)."""
        notice, self._notice = self._notice, ""
        return notice

    def view(self, index: int, sections: Sequence[Any], texts: Sequence[str]) -> SectionView:
        """Section ``index``'s (0-based) view, fixed the first time it is asked for (the prompt reuses it)."""
        view = self._views.get(index)
        if view is None:
            section = sections[index]
            before = "\n\n".join(t for t in texts[:index] if t)
            view = section_view(self.codex.entries, index + 1, title=section.title, main_point=section.main_point,
                                instruction=self.instruction, text_before=before, budget=self.budget,
                                cjk=self.cjk)
            self._views[index] = view
        return view

    def block(self, index: int, sections: Sequence[Any], texts: Sequence[str]) -> str:
        return render_block(self.view(index, sections, texts), self.cjk)

    def check(self, index: int, sections: Sequence[Any], texts: Sequence[str]) -> list[Issue]:
        """The consistency pass for a finished section (empty unless the run asked for it)."""
        if not self.codex.consistency:
            return []
        in_view = [v.entry for v in self.view(index, sections, texts).entries]
        return check_section(texts[index], index + 1, in_view, self.codex.entries)
