"""Counting text as its readers count it, for length control, progress, the stats and the window.

Scripts written with spaces (Latin with any accents, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Korean)
are counted in words: a word is a run of text between spaces (and dashes or slashes set without spaces)
that holds at least one letter or digit, as a word processor counts. Chinese and Japanese are counted in
characters: every kanji, kana, hanzi (and Hangul letter) is one, and so is every run of other letters or
digits (a Latin word, a number), as a word processor's 字数 counts; spaces, punctuation and combining marks
are not. Where a Chinese or Japanese character turns up in a text counted
in words, it counts one word, as LongBench-Write counts it.

Thai, Lao, Khmer and Burmese are written without spaces between words; without a dictionary the words are
estimated from the letters (combining vowel and tone marks left out): one word per
``NO_SPACE_LETTERS_PER_WORD`` letters, the rough length of a word in these scripts.

English and Chinese are counted as LongBench-Write counts them, the definition of length the project's
length score uses (``words.py``): a word is a run of the letters a-z with no other letter or digit beside it,
so "don't" and "well-being" are two words each, numbers written in digits are none, and in Chinese every
hanzi of U+4E00-U+9FFF is one while kana, rarer hanzi and digits are none. A word processor counts English
3-10% lower and Chinese a little higher; the score's count is the one a requested length is judged by, so
these documents' length control, progress and stats all use it (one count everywhere in the app: a Chinese
essay whose text the app read as 1,992 characters scored as 1,421). Other languages keep the reader's count
above.

The unit of a document is chosen once, from its instruction: the unit the instruction names its length in
(``1200 слов`` is words, ``2000자`` is characters), else the instruction's script (characters for Chinese
and Japanese, words for the rest). LongBench-Write's own counter (``words.py``) stays for its length score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from ..lazyre import lazy_compile
from .words import count_words

NO_SPACE_LETTERS_PER_WORD = 4.0


class Unit(str, Enum):
    WORDS = "words"
    CHARACTERS = "characters"

    def label(self, amount: int | None = None) -> str:
        """"words"/"characters", or "1 word"/"1 character" style agreement when given an amount."""
        if amount == 1:
            return "word" if self is Unit.WORDS else "character"
        return self.value


# Han ideographs (with extension A, compatibility forms and the supplementary planes), kana with the
# prolonged-sound and iteration marks, half-width katakana, and 々 〆 〇.
_CJK_CLASS = ("\u3005-\u3007\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
              "\uff66-\uff9f\U00020000-\U0003134f")
# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer.
_NO_SPACE_CLASS = "\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff"
# Dashes, ellipsis and slashes join words without spaces ("word—word") but still part them.
_JOINERS = "\u2013\u2014\u2015\u2026/"
_SEPARATORS = f"\\s{_JOINERS}{_CJK_CLASS}{_NO_SPACE_CLASS}"

_TOKEN = lazy_compile(f"[^{_SEPARATORS}]+")
_ALNUM = lazy_compile(r"[^\W_]")  # a letter or a digit (Python's \w leaves out combining marks)
_CJK = lazy_compile(f"[{_CJK_CLASS}]")
_NO_SPACE_LETTER = lazy_compile(f"(?=[{_NO_SPACE_CLASS}])[^\\W_]")
_SEPARATOR = lazy_compile(f"[{_SEPARATORS}]")
# Counted in characters, a character of these scripts counts one and a run of other letters or digits (a Latin
# word, a number) counts one, as a word processor's 字数 counts: "2020年" is two, not five.
_HANGUL_CLASS = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
_PER_CHARACTER = f"{_CJK_CLASS}{_HANGUL_CLASS}{_NO_SPACE_CLASS}"
_CHARACTER = lazy_compile(f"(?=[{_PER_CHARACTER}])[^\\W_]|(?:(?![{_PER_CHARACTER}])[^\\W_])+")
_OPEN_RUN = lazy_compile(f"(?:(?![{_PER_CHARACTER}])[^\\W_])+$")  # a word or number that may still grow

# Sentence ends of the languages we write: Latin and Cyrillic . ! ?, CJK 。！？, Arabic ؟ and ۔,
# Devanagari । ॥, Burmese ။, Khmer ។, Ethiopic ።; closing quotes and brackets may follow.
SENTENCE_END_MARKS = ".!?…。！？؟۔।॥။។።‼⁇⁈⁉．"
_CLOSERS = "\"'”’»›)\\]」』》〉】〕）"
SENTENCE_END = lazy_compile(f"[{re.escape(SENTENCE_END_MARKS)}][{_CLOSERS}]*\\s*$")
SENTENCE_ENDS = lazy_compile(f"[{re.escape(SENTENCE_END_MARKS)}][{_CLOSERS}]*")
PARAGRAPH_END = lazy_compile(f"[{re.escape(SENTENCE_END_MARKS)}:：][{_CLOSERS}]*[ \\t]*\\n\\s*$")


def has_cjk(text: str) -> bool:
    """True when the text holds Chinese or Japanese characters (kanji, hanzi or kana)."""
    return _CJK.search(text) is not None


def _tokens_with_letters(text: str) -> int:
    return sum(1 for m in _TOKEN.finditer(text) if _ALNUM.search(m.group(0)))


# A tally holds the parts of a count that add up over pieces of text split at separators:
# (space-separated words, Chinese and Japanese characters, Thai/Lao/Khmer/Burmese letters, letters and digits).
_Tally = tuple[int, int, int, int]
_ZERO: _Tally = (0, 0, 0, 0)


def _tally(text: str, unit: Unit, scored: bool = False, start: int = 0, end: int | None = None) -> _Tally:
    """The tally of ``text[start:end]``; pieces end at a separator or before a word that may still grow, so
    counted piece by piece (LengthCounter) they add up to the whole."""
    end = len(text) if end is None else end
    if scored:  # the score reads a word's left edge from the character before the piece
        scored_count = count_words(text, start, end)
        return (0, 0, 0, scored_count) if unit is Unit.CHARACTERS else (scored_count, 0, 0, 0)
    text = text[start:end]
    if unit is Unit.CHARACTERS:
        return (0, 0, 0, len(_CHARACTER.findall(text)))
    return (_tokens_with_letters(text), len(_CJK.findall(text)), len(_NO_SPACE_LETTER.findall(text)), 0)


def _add(a: _Tally, b: _Tally) -> _Tally:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


def _total(tally: _Tally, unit: Unit) -> int:
    if unit is Unit.CHARACTERS:
        return tally[3]
    tokens, cjk, no_space, _ = tally
    estimated = int(no_space / NO_SPACE_LETTERS_PER_WORD + 0.5) if no_space else 0
    return tokens + cjk + estimated


def count(text: str, unit: Unit = Unit.WORDS, *, scored: bool = False) -> int:
    """The length of ``text`` in ``unit``, as readers count (see the module's docstring); ``scored``: an
    English or Chinese document's length, counted as the length score counts it."""
    return _total(_tally(text, unit, scored), unit)


_CHECK = 64


class LengthCounter:
    """Counts a growing text incrementally: the part up to the last separator is counted once.

    ``set(text)`` costs the new text plus the last, unfinished word, so it is cheap enough to call per token.
    Text that changes other than by growing (a cut loop, a trimmed sentence) is counted afresh.
    """

    def __init__(self, unit: Unit = Unit.WORDS, *, scored: bool = False) -> None:
        self.unit = unit
        self.scored = scored
        self._stable_len = 0
        self._stable_end = ""  # the last characters of the stable part, to notice a text that changed
        self._stable = _ZERO
        self.value = 0

    def set(self, text: str) -> int:
        """The count of ``text``, the latest state of a text that grows at its end or is cut back."""
        start = self._stable_len
        if len(text) < start or text[max(0, start - _CHECK):start] != self._stable_end:
            start, self._stable = 0, _ZERO
        if self.unit is Unit.CHARACTERS:
            # Every character stands alone, but a Latin word or a number at the end may still grow.
            run = _OPEN_RUN.search(text, start)
            cut = run.start() if run else len(text)
        else:
            # A word may still be growing at the end: keep it out of the stable part.
            cut = start
            for m in _SEPARATOR.finditer(text, start):
                cut = m.end()
        if cut > start:
            self._stable = _add(self._stable, _tally(text, self.unit, self.scored, start, cut))
        self._stable_len = cut
        self._stable_end = text[max(0, cut - _CHECK):cut]
        tail = _tally(text, self.unit, self.scored, cut) if cut < len(text) else _ZERO
        self.value = _total(_add(self._stable, tail), self.unit)
        return self.value


@dataclass(frozen=True)
class LengthRule:
    """How one document is counted: its unit and the language its instruction is written in."""

    unit: Unit = Unit.WORDS
    language: str = "en"

    @property
    def scored(self) -> bool:
        """English words and Chinese characters are counted as the length score counts them (see the module's
        docstring)."""
        return (self.language, self.unit) in (("en", Unit.WORDS), ("zh", Unit.CHARACTERS))

    def count(self, text: str) -> int:
        return count(text, self.unit, scored=self.scored)

    def counter(self) -> LengthCounter:
        return LengthCounter(self.unit, scored=self.scored)

    def label(self, amount: int | None = None) -> str:
        return self.unit.label(amount)

    def describe(self, amount: int) -> str:
        """`1,200 words`, `1,600 characters`."""
        return f"{amount:,} {self.label(amount)}"


def rule_for(instruction: str, unit: Unit | str | None = None) -> LengthRule:
    """The counting rule of a document: the unit its instruction names, else its language's usual unit."""
    from .language import detect_language  # language.py imports this module's character classes

    language = detect_language(instruction)
    if unit is None:
        from .target import target_from_instruction

        unit = target_from_instruction(instruction).unit
    return LengthRule(Unit(unit), language)


def default_unit(language: str) -> Unit:
    """Readers of Chinese and Japanese count characters; everyone else counts words."""
    return Unit.CHARACTERS if language in ("zh", "ja") else Unit.WORDS
