"""Read the requested length from a writing instruction, as writers state it in their own words."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_WORDS = 1000
WORDS_PER_PAGE = 250  # a standard double-spaced manuscript page
WORDS_PER_PARAGRAPH = 120
MIN_WORDS = 10
MAX_WORDS = 100_000


@dataclass(frozen=True)
class TargetGuess:
    words: int
    found: bool  # False when the instruction names no length and the default was used
    phrase: str  # the words the length was read from, or why the default applies
    problem: str = ""  # a length the instruction asks for that no document can have (0, 999999999 words)

    def describe(self) -> str:
        if self.found:
            return f"{self.words:,} words (from \"{self.phrase}\")"
        return f"{self.words:,} words ({self.phrase})"


_EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "a": 1, "an": 1,
}
_EN_SCALES = {"hundred": 100, "thousand": 1000}
_EN_NUMBER_WORD = "|".join(sorted([*_EN_UNITS, *_EN_SCALES], key=len, reverse=True))
_EN_NUMBER = rf"(?:(?:{_EN_NUMBER_WORD})(?:[\s-]+(?:and[\s-]+)?(?:{_EN_NUMBER_WORD}))*)"

_NUM = r"(\d{1,3}(?:[,\s]\d{3})+|\d+(?:\.\d+)?)\s*(k|K|thousand)?"
_UNIT_EN = r"(words?|pages?|paragraphs?)"
_RANGE_EN = re.compile(
    rf"{_NUM}\s*(?:-|–|—|to|and)\s*{_NUM}[\s-]*{_UNIT_EN}\b", re.IGNORECASE
)
_SINGLE_EN = re.compile(rf"{_NUM}[\s-]*{_UNIT_EN}\b", re.IGNORECASE)
_WORDY_EN = re.compile(rf"\b({_EN_NUMBER})[\s-]+{_UNIT_EN}\b", re.IGNORECASE)

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}
_ZH_SMALL = {"十": 10, "百": 100, "千": 1000}
_ZH_NUM = r"([0-9][0-9,，]*(?:\.[0-9]+)?\s*[万千]?|[零〇一二两三四五六七八九十百千万]+)"
_ZH_RANGE = re.compile(rf"{_ZH_NUM}\s*(?:-|–|—|~|到|至)\s*{_ZH_NUM}\s*(?:个)?(字|页)")
_ZH_SINGLE = re.compile(rf"{_ZH_NUM}\s*(?:个)?(字|页)")


def _zh_number(text: str) -> float | None:
    text = text.replace(",", "").replace("，", "").strip()
    if not text:
        return None
    if text[0].isdigit():
        mult = 1
        if text.endswith("万"):
            mult, text = 10_000, text[:-1]
        elif text.endswith("千"):
            mult, text = 1000, text[:-1]
        try:
            return float(text) * mult
        except ValueError:
            return None
    total, section, digit = 0, 0, 0
    for ch in text:
        if ch in _ZH_DIGITS:
            digit = _ZH_DIGITS[ch]
        elif ch in _ZH_SMALL:
            section += (digit or 1) * _ZH_SMALL[ch]
            digit = 0
        elif ch == "万":
            total += (section + digit) * 10_000
            section, digit = 0, 0
        else:
            return None
    return float(total + section + digit)


def _en_digits(number: str, scale: str | None) -> float:
    value = float(re.sub(r"[,\s]", "", number))
    if scale:
        value *= 1000
    return value


def _en_words(text: str) -> float | None:
    total, current = 0, 0
    for part in re.split(r"[\s-]+", text.lower()):
        if part == "and" or not part:
            continue
        if part in _EN_UNITS:
            current += _EN_UNITS[part]
        elif part == "hundred":
            current = (current or 1) * 100
        elif part == "thousand":
            total += (current or 1) * 1000
            current = 0
        else:
            return None
    value = total + current
    return float(value) if value else None


def _to_words(value: float, unit: str) -> int:
    unit = unit.lower()
    if unit.startswith("page") or unit == "页":
        value *= WORDS_PER_PAGE
    elif unit.startswith("paragraph"):
        value *= WORDS_PER_PARAGRAPH
    return int(round(value))


def target_from_instruction(instruction: str, default: int = DEFAULT_WORDS) -> TargetGuess:
    """The requested length in words (CJK characters count as words), or the default."""
    candidates: list[tuple[int, int, str]] = []  # (position, words, phrase)
    for match in _RANGE_EN.finditer(instruction):
        low = _en_digits(match.group(1), match.group(2))
        high = _en_digits(match.group(3), match.group(4) or match.group(2))
        candidates.append((match.start(), _to_words((low + high) / 2, match.group(5)), match.group(0)))
    for match in _ZH_RANGE.finditer(instruction):
        zh_low, zh_high = _zh_number(match.group(1)), _zh_number(match.group(2))
        if zh_low and zh_high:
            candidates.append((match.start(), _to_words((zh_low + zh_high) / 2, match.group(3)), match.group(0)))
    if not candidates:
        for match in _SINGLE_EN.finditer(instruction):
            value = _en_digits(match.group(1), match.group(2))
            candidates.append((match.start(), _to_words(value, match.group(3)), match.group(0)))
        for match in _WORDY_EN.finditer(instruction):
            spelled = _en_words(match.group(1))
            if spelled:
                candidates.append((match.start(), _to_words(spelled, match.group(2)), match.group(0)))
        for match in _ZH_SINGLE.finditer(instruction):
            zh_value = _zh_number(match.group(1))
            if zh_value:
                candidates.append((match.start(), _to_words(zh_value, match.group(2)), match.group(0)))
    in_range = [c for c in candidates if MIN_WORDS <= c[1] <= MAX_WORDS]
    if candidates and not in_range:
        # A length is asked for, but not one a document can have: say so rather than quietly use the default.
        _, asked, phrase = min(candidates, key=lambda c: c[0])
        words = MIN_WORDS if asked < MIN_WORDS else MAX_WORDS
        problem = (
            f'The instruction asks for {asked:,} words ("{phrase.strip()}"), but a document must have '
            f"{MIN_WORDS:,} to {MAX_WORDS:,} words."
        )
        return TargetGuess(words, True, phrase.strip(), problem)
    candidates = in_range
    if not candidates:
        return TargetGuess(default, False, "the instruction names no length; the default applies")
    # Prefer a phrase that states a word count over pages/paragraphs, then the first one.
    candidates.sort(key=lambda c: (not re.search(r"word|字", c[2], re.IGNORECASE), c[0]))
    _, words, phrase = candidates[0]
    return TargetGuess(words, True, phrase.strip())
