"""Word counts and the length score, exactly as LongBench-Write computes them."""

from __future__ import annotations

from ..lazyre import lazy_compile

_CJK = lazy_compile(r"[\u4e00-\u9fff]")
_WORD = lazy_compile(r"\b[a-zA-Z]+\b")


def count_words(text: str, start: int = 0, end: int | None = None) -> int:
    """CJK characters plus English letter-words; digits and punctuation don't count.

    ``start`` and ``end`` count a part of the text as it counts within the whole: a word's left edge is read
    from the character before ``start`` ("AI" set between two hanzi is no word, since \\b sees no edge there);
    the part must not end inside a run of letters or digits, whose edge is only known from what follows.
    """
    end = len(text) if end is None else end
    return len(_CJK.findall(text, start, end)) + len(_WORD.findall(text, start, end))


def length_score(required: int, produced: int) -> float:
    """100 at the target; falls off by a third per 100% over, by half per 100% under."""
    if required <= 0:
        return 0.0
    if produced <= 0:
        return 0.0
    if produced > required:
        return 100.0 * max(0.0, 1.0 - (produced / required - 1.0) / 3.0)
    return 100.0 * max(0.0, 1.0 - (required / produced - 1.0) / 2.0)
