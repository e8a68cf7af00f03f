"""Word counts and the length score, exactly as LongBench-Write computes them."""

from __future__ import annotations

from ..lazyre import lazy_compile

_CJK = lazy_compile(r"[\u4e00-\u9fff]")
_WORD = lazy_compile(r"\b[a-zA-Z]+\b")


def count_words(text: str) -> int:
    """CJK characters plus English letter-words; digits and punctuation don't count."""
    return len(_CJK.findall(text)) + len(_WORD.findall(text))


def length_score(required: int, produced: int) -> float:
    """100 at the target; falls off by a third per 100% over, by half per 100% under."""
    if required <= 0:
        return 0.0
    if produced <= 0:
        return 0.0
    if produced > required:
        return 100.0 * max(0.0, 1.0 - (produced / required - 1.0) / 3.0)
    return 100.0 * max(0.0, 1.0 - (required / produced - 1.0) / 2.0)
