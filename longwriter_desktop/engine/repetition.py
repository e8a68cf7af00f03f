"""Detect loops while text streams in, and measure how much of a document repeats itself.

Small models fall into loops: a sentence written again, or a phrase going round. The guard sees each
new word once (constant work per token) and reports where the repeated span starts, so the writer can
cut it and carry on with another seed and a mild penalty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"[\u4e00-\u9fff]|[^\W\d_]+(?:['’][^\W\d_]+)*|\d+", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?。！？]")

NGRAM = 12  # a repeated run of this many words is a loop, not a turn of phrase
SENTENCE_MIN_WORDS = 6


def words_with_offsets(text: str, start: int = 0) -> Iterable[tuple[str, int]]:
    for match in _WORD.finditer(text, start):
        yield match.group(0).lower(), match.start()


class RepetitionGuard:
    """Feed it the growing text of a section; it says where a loop starts, if one appears."""

    def __init__(self, context: str = "", ngram: int = NGRAM) -> None:
        self.ngram = ngram
        # n-gram -> index of the word after its first occurrence (-1 for the context before this text)
        self._seen: dict[tuple[str, ...], int] = {}
        self._sentences: set[tuple[str, ...]] = set()
        self._seen.update((gram, -1) for gram in _windows([w for w, _ in words_with_offsets(context)], ngram))
        self._sentences.update(s for s in _split_sentences(context) if len(s) >= SENTENCE_MIN_WORDS)
        self._words: list[str] = []
        self._offsets: list[int] = []
        self._sentence_starts: list[int] = [0]  # word indices where sentences begin
        self._scanned = 0  # characters of the text already split into words

    def truncate(self, length: int) -> None:
        """The text was cut back to ``length`` characters: forget the words past it."""
        keep = 0
        while keep < len(self._offsets) and self._offsets[keep] + len(self._words[keep]) <= length:
            keep += 1
        del self._words[keep:]
        del self._offsets[keep:]
        self._sentence_starts = [i for i in self._sentence_starts if i <= keep] or [0]
        self._scanned = self._offsets[-1] + len(self._words[-1]) if self._words else 0

    def feed(self, text: str) -> int | None:
        """Check the text so far (only its new part is scanned); the offset where a loop starts, or None."""
        new = list(words_with_offsets(text, self._scanned))
        if new and (text[-1].isalnum() or text[-1] in "'’"):
            new = new[:-1]  # the last word may still be growing
        loop_at: int | None = None
        for word, offset in new:
            self._words.append(word)
            self._offsets.append(offset)
            self._scanned = offset + len(word)
            end = _SENTENCE_END.search(text, self._scanned)
            # A sentence ends where an end mark comes before the next word.
            next_word = _WORD.search(text, self._scanned)
            ended = end is not None and (next_word is None or end.start() < next_word.start())
            found = self._check_ngram()
            if ended:
                found = self._check_sentence() if found is None else found
            if loop_at is None and found is not None:
                loop_at = found
        return loop_at

    def _check_ngram(self) -> int | None:
        if len(self._words) < self.ngram:
            return None
        gram = tuple(self._words[-self.ngram:])
        earlier_end = self._seen.get(gram)
        if earlier_end is not None:
            first = len(self._words) - self.ngram
            start = max(i for i in self._sentence_starts if i <= first)
            # Cut whole sentences, unless that would throw away a long stretch of good text before the loop
            # or reach back into the first copy of the repeated words.
            return self._offsets[start if first - start <= 30 and start >= earlier_end else first]
        self._seen[gram] = len(self._words)
        return None

    def _check_sentence(self) -> int | None:
        start = self._sentence_starts[-1]
        sentence = tuple(self._words[start:])
        self._sentence_starts.append(len(self._words))
        if len(sentence) < SENTENCE_MIN_WORDS:
            return None
        if sentence in self._sentences:
            return self._offsets[start]
        self._sentences.add(sentence)
        return None


def _windows(words: list[str], size: int) -> Iterable[tuple[str, ...]]:
    for i in range(len(words) - size + 1):
        yield tuple(words[i:i + size])


def _split_sentences(text: str) -> Iterable[tuple[str, ...]]:
    for part in re.split(r"[.!?。！？]+", text):
        words = tuple(w for w, _ in words_with_offsets(part))
        if words:
            yield words


def repeated_ngram_share(text: str, n: int = 4) -> float:
    """The share of n-grams (default 4) that repeat an earlier one: 0 for fresh text, near 1 for a loop."""
    words = [w for w, _ in words_with_offsets(text)]
    if len(words) < n:
        return 0.0
    grams = list(_windows(words, n))
    return 1.0 - len(set(grams)) / len(grams)
