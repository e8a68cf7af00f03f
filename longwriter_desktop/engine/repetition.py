"""Detect loops while text streams in, and measure how much of a document repeats itself.

Small models fall into loops: a sentence written again, or a phrase going round. The guard sees each
new word once (constant work per token) and reports where the repeated span starts, so the writer can
cut it and carry on with another seed and a mild penalty.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from ..lazyre import lazy_compile
from .counting import has_cjk
from .language import KANA_CLASS, detect_language

_WORD = lazy_compile(r"[\u4e00-\u9fff]|[^\W\d_]+(?:['’][^\W\d_]+)*|\d+", re.UNICODE)
_SENTENCE_END = lazy_compile(r"[.!?。！？]")

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


# -- a document-wide no-repeat-n-gram control ----------------------------------------------------------

NO_REPEAT_NGRAM = 4  # the repeated-4-gram share is what the stats report
_TAIL_CHARS = 160


class NgramBan:
    """The words that would repeat a word n-gram of the document if written next.

    Fed the document's text (earlier sections once, the section being written as it grows), it answers,
    for the text so far, which next words would complete an n-gram already written. A backend turns these
    words into a logits penalty on the tokens that start them (a no-repeat-n-gram processor at the word
    level, beside DRY), so a template that changes one word is steered away from while it forms.
    """

    def __init__(self, n: int = NO_REPEAT_NGRAM) -> None:
        self.n = n
        self._next: dict[tuple[str, ...], set[str]] = {}
        self._next_short: dict[tuple[str, ...], set[str]] = {}  # (n-1)-grams, for a milder push
        self._words: list[str] = []  # the growing text's words (the last one may be incomplete)
        self._offsets: list[int] = []
        self._scanned = 0
        self._base: list[str] = []  # the last words of the document before the growing text

    def add_document(self, text: str) -> None:
        """Earlier text of the document (finished sections): its n-grams are banned from here on."""
        words = [w for w, _ in words_with_offsets(text)]
        for gram in _windows(words, self.n):
            self._next.setdefault(gram[:-1], set()).add(gram[-1])
        for gram in _windows(words, self.n - 1):
            self._next_short.setdefault(gram[:-1], set()).add(gram[-1])
        self._base = (self._base + words)[-(self.n - 1):]

    def start(self, text: str = "") -> None:
        """A new growing text (a section), optionally with text already there."""
        self._words, self._offsets, self._scanned = [], [], 0
        self.update(text)

    def truncate(self, length: int) -> None:
        """The growing text was cut back to ``length`` characters."""
        keep = 0
        while keep < len(self._offsets) and self._offsets[keep] + len(self._words[keep]) <= length:
            keep += 1
        del self._words[keep:]
        del self._offsets[keep:]
        self._scanned = self._offsets[-1] + len(self._words[-1]) if self._words else 0

    def update(self, text: str) -> None:
        """Take in the growing text's new whole words (and record the n-grams they complete)."""
        for word, offset in words_with_offsets(text, self._scanned):
            end = offset + len(word)
            if end >= len(text) and text[-1:].isalnum():
                break  # still growing
            self._words.append(word)
            self._offsets.append(offset)
            self._scanned = end
            context = (self._base + self._words)[-self.n:]
            if len(context) == self.n:
                self._next.setdefault(tuple(context[:-1]), set()).add(context[-1])
            if len(context) >= self.n - 1:
                self._next_short.setdefault(tuple(context[-(self.n - 1):-1]), set()).add(context[-1])

    def banned(self, text: str) -> tuple[frozenset[str], bool]:
        """(words not to write next, whether the next token starts a word on its own without a space)."""
        prefix, at_boundary = self._prefix(text)
        key = tuple(prefix[-(self.n - 1):])
        banned = set(self._next.get(key, ())) if len(key) == self.n - 1 else set()
        if not at_boundary and prefix and len(prefix) >= self.n:
            # In the middle of a word ("... bicycles W"): the rest of a banned word ("ork" of "work") is banned
            # too, or a model splits the word into a short first token and the rest and writes it anyway.
            partial = prefix[-1]
            banned.update(word[len(partial):] for word in self._next.get(tuple(prefix[-self.n:-1]), ())
                          if len(word) > len(partial) + 1 and word.startswith(partial))
        return frozenset(banned), at_boundary

    def discouraged(self, text: str) -> frozenset[str]:
        """Words that would repeat an (n-1)-gram: pushed down mildly (banned() holds the n-gram ban)."""
        prefix, _ = self._prefix(text)
        key = tuple(prefix[-(self.n - 2):])
        if len(key) < self.n - 2:
            return frozenset()
        return frozenset(self._next_short.get(key, ()))

    def _prefix(self, text: str) -> tuple[list[str], bool]:
        self.update(text)
        if not text:
            prefix = self._base
            at_boundary = True
        else:
            at_boundary = not text[-1].isalnum()
            if at_boundary:
                prefix = self._base + self._words
            else:
                # The last word is complete if the next token starts with a space.
                tail = text[max(0, len(text) - 40):]
                match = re.search(r"[^\W\d_]+(?:['’][^\W\d_]+)*$|\d+$", tail)
                last = match.group(0).lower() if match else ""
                prefix = self._base + self._words + ([last] if last else [])
        return prefix, at_boundary


def overused_words(text: str, limit: int = 24, n: int = NO_REPEAT_NGRAM) -> list[str]:
    """The words that most often complete a repeated n-gram: what a static logit bias should push down."""
    words = [w for w, _ in words_with_offsets(text)]
    seen: set[tuple[str, ...]] = set()
    counts: dict[str, int] = {}
    for gram in _windows(words, n):
        if gram in seen:
            counts[gram[-1]] = counts.get(gram[-1], 0) + 1
        seen.add(gram)
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    # Function words are left alone: pushing "the" down everywhere would hurt more than the repeats do.
    return [w for w, c in ranked if c >= 2 and len(w) > 3 and w not in _COMMON][:limit]


# -- sentences that talk about the task instead of doing it ---------------------------------------------

_ECHO_EN = lazy_compile(
    r"\byou (?:are|were) (?:asked|writing|required|going to write)\b"
    r"|\b(?:i|we) (?:will|shall|am going to|are going to|'ll|’ll) (?:now )?(?:write|continue|describe|discuss|cover)\b"
    r"|\b(?:this|next|previous|following|current|preceding) sections?\b|\bin the (?:first|last|next|previous) section\b"
    r"|\bsections? (?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)\b"
    r"|\b(?:in|of) this (?:article|essay|report|guide|post|chapter|text|piece|document),? (?:we|i|you) "
    r"(?:will|'ll|’ll)\b"
    r"|\bthis (?:chapter|paragraph|part|article|essay|text|piece|document) (?:will|provides|explores|discusses|covers|"
    r"describes|focuses|examines|outlines|introduces|is about|aims)\b"
    r"|\b\d[\d,]*[- ]?words?\b|\bword (?:count|limit|target)\b|\bwords? long\b"
    r"|\b(?:writing|the|my|our|your) plan (?:says|lists|calls|asks|given)\b|\bwriting plan\b|\baccording to the plan\b"
    r"|\bmain point\s*:|\bflowing prose\b|\bwrite only\b|\bthe section you\b"
    r"|\b(?:my|the given|the above) (?:task|instructions?|prompt)\b|\b(?:the|your) (?:writing )?prompt\b"
    r"|\bas an ai\b|\blanguage model\b|\bhere (?:is|are) (?:the|a|an|my|your) (?:section|text|essay|story|draft|"
    r"continuation|article|report|guide|post|rewrite)\b"
    r"|^(?:sure|certainly|of course|okay|ok)\b[,!.]|^(?:go on with|begin with|continue with)\b"
    r"|\b(?:in|with|through) (?:this|my) (?:[a-z-]+ )?(?:description|article|essay|report|guide|post|story|text|"
    r"piece|document|response|draft),? (?:i|we)(?:'ve|’ve| have) "
    r"|\b(?:i|we)(?:'ve|’ve| have) (?:also )?(?:aimed|tried|attempted|sought) to (?:convey|capture|highlight|"
    r"emphasi[sz]e) (?:the (?:idea|essence|message|importance|benefits?|key)|a (?:sense|message))\b"
    r"|\b(?:i|we)(?:'ve|’ve| have) (?:also )?(?:aimed|tried) to use (?:a |an )?(?:clear|simple|concise|engaging|"
    r"friendly|formal|informal)\b"
    r"|\b(?:i|we) (?:have )?(?:made|added|changed|removed|rewrote|revised|edited|corrected|replaced|kept)\b.{0,80}"
    r"\b(?:the text|sentences?|grammar|clarity|punctuation|commas?|hyphen|colon|semicolon|version|wording)\b",
    re.IGNORECASE,
)
_ECHO_ZH = lazy_compile(r"本部分|本节|这一部分|这部分|本章将|字数|写作计划|第[0-9一二三四五六七八九十]+部分|你被要求|"
                      r"要点[:：]|"
                      r"以下是|下面是.{0,6}(部分|内容)")
_HEADING_LINE = lazy_compile(r"^\s*(?:#{1,6}\s|\*\*[^*\n]{1,80}\*\*\s*$|(?:section|part|chapter|paragraph)\s+\d+\b|"
                           r"(?:title|main point|word count|words)\s*[:：])", re.IGNORECASE)


def is_echo(sentence: str) -> bool:
    """A sentence (or heading line) that speaks of sections, word counts, plans or the task itself."""
    text = sentence.strip()
    if not text:
        return False
    return bool(_ECHO_EN.search(text) or _ECHO_ZH.search(text) or _HEADING_LINE.match(text))


# -- drift: another language, or away from the subject --------------------------------------------------

_LATIN_WORD = lazy_compile(r"[A-Za-z]{2,}")
_KANA = lazy_compile(f"[{KANA_CLASS}]")
KANA_IN_CHINESE = 3  # kana in one sentence of a Chinese document that make it Japanese (a name may hold one)


def script_of(text: str) -> str:
    """The main script of a text's letters: "latin", "cjk", "cyrillic", ... ("" when it has no letters)."""
    import unicodedata

    counts: dict[str, int] = {}
    for ch in text:
        if not ch.isalpha():
            continue
        try:
            name = unicodedata.name(ch).split()[0]
        except ValueError:
            continue
        script = "cjk" if name in ("CJK", "HIRAGANA", "KATAKANA") else name.lower()
        counts[script] = counts.get(script, 0) + (2 if script == "cjk" else 1)
    return max(counts, key=lambda k: counts[k]) if counts else ""


def _stems(text: str) -> set[str]:
    chars = re.findall(r"[\u4e00-\u9fff]", text)
    grams = {a + b for a, b in zip(chars, chars[1:])}
    words = {w[:5] for w in re.findall(r"[^\W\d_]+", text.lower()) if len(w) > 3 and w not in _COMMON}
    return grams | words


def recurring_stems(text: str, times: int = 2) -> set[str]:
    """Stems of the words a text keeps using (at least ``times`` times; common words left out): the names
    and things an accepted text is about. Chinese and Japanese are left out: their character pairs recur in
    any text, on the subject or not."""
    counts = Counter(w[:5] for w in re.findall(r"[^\W\d_]+", text.lower())
                     if len(w) > 3 and w not in _COMMON and not has_cjk(w))
    return {stem for stem, n in counts.items() if n >= times}


_COMMON = {
    "that", "this", "with", "from", "have", "will", "they", "their", "there", "about", "which", "would", "what",
    "when", "were", "your", "them", "then", "than", "been", "into", "more", "some", "also", "like", "just", "over",
    "such", "very", "most", "many", "much", "each", "only", "other", "these", "those", "make", "made", "write",
    "words", "word", "section", "could", "should", "while", "where", "after", "before", "because", "being",
}


class TextChecks:
    """Sentence-level checks on a growing section: echoed instructions, another language, lost subject.

    Fed the section's text as it grows; :meth:`feed` returns (offset, kind) of the first finished sentence to
    cut, where kind is "echo" or "drift".
    """

    def __init__(self, instruction: str, subject_text: str, *, drift_words: int = 160,
                 other_titles: list[str] | None = None, history: str = "") -> None:
        self.script = script_of(instruction) or "latin"
        # Kana and hanzi are both "cjk" to the script check, but kana in a Chinese document is Japanese.
        self._chinese = detect_language(instruction) == "zh"
        # A line that names another section of the plan is the plan copied into the text.
        self._titles = {" ".join(re.findall(r"[^\W\d_]+", t.lower())) for t in other_titles or () if t.strip()}
        # The subject is the instruction and the section's plan, and what the document has kept returning to
        # (a story's people and places are rarely named in its instruction: without them a scene of dialogue
        # read as drift and hundreds of good words were cut).
        self.keys = _stems(instruction + "\n" + subject_text) | recurring_stems(history)
        # The drift window counts words, and a Chinese or Japanese character counts one: such text would lose
        # its subject in half the reading an English text has (measured: six cuts in one 2,000-character essay,
        # 1.76 tokens generated per token kept). A word of these languages is about two characters.
        self.drift_words = drift_words * (CJK_CHARACTERS_PER_WORD if self.script == "cjk" else 1)
        self._checked = 0  # characters of text whose sentences were checked
        self._floor = 0  # text before this is kept as it is
        self._since_key = 0  # words written since a sentence that touched the subject
        self._seen: Counter[str] = Counter()  # stems of this section's sentences on the subject
        self._last_key_end = 0
        self._echo_read_to = -1  # the end of the unfinished sentence's words last read for an echo
        # The shape of prose: a run of bare word fragments, one to a line ("LEMON", "LIMON", "LIGHTLIGHTS"),
        # or sentences that all open alike ("Bees are small. Bees are sweet. Bees are rare.") is a loop that
        # changes a word each time, which the n-gram checks never see. Poems and lyrics are left alone.
        self.prose = not _VERSE.search(instruction)
        self._lines: list[tuple[int, bool]] = []  # the last lines in a row: (start, a bare fragment?)
        self._openings: list[tuple[tuple[str, ...], int]] = []  # consecutive sentences with the same opening
        # The words of the writing task ("section", "the plan", "outline", "main point") in a text whose
        # instruction never uses them are the section request leaking into the prose: "This report is structured
        # into 6 sections", "The plan, and the team, and I". Where the instruction has the word, it is the subject.
        self._task_words = [pattern for pattern in _TASK_WORDS if not pattern.search(instruction)]
        self._instruction_stems = _stems(instruction)

    def protect(self, length: int) -> None:
        """Text up to ``length`` is kept as it is (a resumed or extended section): never checked, never cut."""
        self._floor = length
        self._checked = max(self._checked, length)
        self._last_key_end = max(self._last_key_end, length)
        self._since_key = 0

    def truncate(self, length: int) -> None:
        length = max(length, self._floor)
        self._echo_read_to = -1
        self._checked = min(self._checked, length)
        self._lines = [(at, bare) for at, bare in self._lines if at < length]
        self._openings = [(opening, at) for opening, at in self._openings if at < length]
        self._last_key_end = min(self._last_key_end, length)
        if length in (self._last_key_end, 0):
            self._since_key = 0

    def feed(self, text: str) -> tuple[int, str] | None:
        while True:
            end = _next_sentence_end(text, self._checked)
            if end is None:
                return self._echo_under_way(text) or self._run_on(text)
            start = self._checked
            sentence = text[start:end]
            self._checked = end
            lead = len(sentence) - len(sentence.lstrip())
            at = start + lead
            if is_echo(sentence) or self._names_a_section(sentence) or self._restates_the_task(sentence) or \
                    any(pattern.search(sentence) for pattern in self._task_words):
                return at, "echo"
            script = script_of(sentence)
            letters = sum(1 for ch in sentence if ch.isalpha())
            if script and script != self.script and letters >= 12:
                return at, "drift"
            if self._chinese and len(_KANA.findall(sentence)) >= KANA_IN_CHINESE:
                return at, "drift"
            whole_line = (at == 0 or text[at - 1] == "\n") and (sentence.endswith("\n") or text[end] == "\n")
            if self.prose and (loop := self._shape(sentence, at, whole_line)) is not None:
                return loop, "repetition"
            if self.keys:
                stems = _stems(sentence)
                if stems & self.keys:
                    self._since_key = 0
                    self._last_key_end = end
                    # Words that come back in sentences on the subject join it (a person met in this section).
                    self._seen.update(stem for stem in stems - self.keys if not has_cjk(stem))
                    self.keys |= {stem for stem in stems if self._seen[stem] >= 2}
                else:
                    self._since_key += _count(sentence)
                    if self._since_key >= self.drift_words:
                        self._since_key = 0
                        return self._last_key_end + (len(text[self._last_key_end:]) -
                                                     len(text[self._last_key_end:].lstrip())), "drift"


    def _shape(self, sentence: str, at: int, whole_line: bool) -> int | None:
        """Where a run of fragments or of alike sentence openings starts, once it is long enough to be a loop."""
        body = sentence.strip()
        words = [w for w, _ in words_with_offsets(body)]
        if not words:
            return None
        if whole_line:
            # Lines in a row; one line of a few more words among them does not break the run.
            self._lines = [*self._lines, (at, _is_fragment(body, words))][-FRAGMENT_WINDOW:]
            bare = [start for start, fragment in self._lines if fragment]
            if len(bare) >= FRAGMENT_RUN:
                return bare[0]
        else:
            self._lines = []
        opening = tuple(words[:OPENING_WORDS])
        # Short sentences only: the template a small model falls into is a few words long; longer sentences that
        # open alike are a figure of speech (and a list may run alike). A hanzi is one of ``words``: Chinese short
        # sentences that open alike ("你的猪猫一般猪猪矮猪猪火猫猪。" and eight more) are the same template.
        longest = OPENING_MAX_CHARACTERS if has_cjk(body) else OPENING_MAX_WORDS
        if not OPENING_WORDS < len(words) <= longest or _LIST_MARK.match(body):
            self._openings = []
            return None
        if not self._openings or self._openings[-1][0] != opening:
            self._openings = []
        self._openings.append((opening, at))
        if len(self._openings) >= OPENING_RUN:
            return self._openings[OPENING_KEEP][1]  # the first few stay: a figure of speech, not yet a loop
        return None

    def _echo_under_way(self, text: str) -> tuple[int, str] | None:
        """A sentence still being written that already speaks of the task ("In this product description, I've
        aimed to ...") is cut before the rest of it is written: its whole words only (a word being written may
        yet become another), and only while the sentence is short (a long one is checked when it ends)."""
        tail = text[self._checked:]
        if len(tail) > ECHO_EARLY_CHARACTERS or not tail.strip():
            return None
        if not has_cjk(tail):
            tail = tail[: max(tail.rfind(" "), tail.rfind("\n"), 0)]
        if self._checked + len(tail) == self._echo_read_to:  # no word finished since the last look
            return None
        self._echo_read_to = self._checked + len(tail)
        if not tail.strip() or not is_echo(tail):
            return None
        return self._checked + len(tail) - len(tail.lstrip()), "echo"

    def _run_on(self, text: str) -> tuple[int, str] | None:
        """A sentence still being written that has become a chain of short clauses each opened by "and" or "but"
        ("The plan, and the team, and I, and the people, and the world, ..."): a loop that changes a word in every
        clause, which no n-gram check sees and which runs for hundreds of words before its full stop."""
        tail = text[self._checked:]
        if not self.prose or len(tail) < RUN_ON_MIN_CHARACTERS or has_cjk(tail):
            return None
        clauses = [c.split(None, 1) for c in _CLAUSE_BREAK.split(tail[-RUN_ON_WINDOW_CHARACTERS:])]
        clauses = [c for c in clauses if c][:-1]  # the last one may still be a word being written
        if len(clauses) < RUN_ON_CLAUSES:
            return None
        opened = sum(1 for c in clauses[-RUN_ON_CLAUSES:] if c[0].lower() in _CONJUNCTIONS)
        if opened < RUN_ON_CLAUSES * RUN_ON_SHARE or len(_ANY_WORD.findall(tail)) < RUN_ON_WORDS:
            return None
        return self._checked + len(tail) - len(tail.lstrip()), "repetition"

    def _restates_the_task(self, sentence: str) -> bool:
        """The instruction given back as a sentence of the text: "Write a short story about a lighthouse keeper."
        (an imperative "write" with the instruction's own words; "Write down your goals" in a guide stays)."""
        return bool(_WRITE_OPENING.match(sentence)) and \
            len(_stems(sentence) & self._instruction_stems) >= RESTATED_STEMS

    def _names_a_section(self, sentence: str) -> bool:
        if not self._titles:
            return False
        head = re.split(r"[:：.\n]", re.sub(r"^\s*(?:\d+[.)]|[-*•])\s*", "", sentence), maxsplit=1)[0]
        words = " ".join(re.findall(r"[^\W\d_]+", head.lower()))
        return bool(words) and words in self._titles


CJK_CHARACTERS_PER_WORD = 2
_TASK_WORDS = [lazy_compile(p, re.IGNORECASE) for p in (
    r"\bsections?\b", r"\bthe plan\b", r"\b(?:the|this|my|our) outline\b", r"\bmain points?\b",
    # The same word in the languages the section requests are written in most often.
    r"\bsecci[oó]n(?:es)?\b|\bse[cç](?:[aã]o|[oõ]es)\b|\bsezion[ei]\b|\bAbschnitte?s?\b|\bраздел[а-я]*",
    r"章节|本章节")]
_WRITE_OPENING = lazy_compile(
    r"\s*(?:[-*•>]\s*)?(?:write|escrib[ae]|écri[sv]|schreib|scriv[ie]|escrev[ae]|напиши|写|請寫|请写)", re.IGNORECASE)
RESTATED_STEMS = 2  # words of the instruction in a sentence that opens with "write" that make it the task again
RUN_ON_WORDS = 40  # a sentence this long, not yet ended, whose last clauses mostly open with a conjunction
RUN_ON_CLAUSES = 10
RUN_ON_SHARE = 0.7
RUN_ON_MIN_CHARACTERS = 160
ECHO_EARLY_CHARACTERS = 400  # an unfinished sentence up to this long is checked for echoes as it grows
RUN_ON_WINDOW_CHARACTERS = 800
_CLAUSE_BREAK = lazy_compile(r"[,;:]")
_ANY_WORD = lazy_compile(r"[^\W\d_]+")
_CONJUNCTIONS = {
    "and", "but", "or", "nor", "so", "then", "yet",  # and the same in the languages written with spaces most often
    "y", "e", "o", "ni", "pero", "mas", "ou", "et", "mais", "puis", "und", "aber", "oder", "dann", "ma", "poi",
    "en", "maar", "ale", "lub", "и", "но", "а", "или", "ve", "ama", "veya",
}
FRAGMENT_RUN = 5  # bare fragments, one to a line, among FRAGMENT_WINDOW lines in a row, that make a loop
FRAGMENT_WINDOW = 6
FRAGMENT_WORDS = 3
_CJK_LINE_ENDS = "。！？；…」』”）》?!"
OPENING_WORDS = 2
OPENING_RUN = 4  # short sentences in a row opening with the same two words
OPENING_MAX_WORDS = 5
OPENING_MAX_CHARACTERS = 16  # the same for Chinese and Japanese, counted in characters
OPENING_KEEP = 2
_VERSE = lazy_compile(r"\b(?:poems?|poetry|verses?|lyrics|songs?|haikus?|sonnets?|limericks?|ballads?)\b|诗|歌词",
                      re.IGNORECASE)
_LIST_MARK = lazy_compile(r"^(?:[-*•#>|]|\d+[.)]|[A-Za-z][.)]\s)")


def _is_fragment(line: str, words: list[str]) -> bool:
    """A bare fragment on a line of its own: a few words ("LEMON", "Lays, began,") or a line in capitals
    ("LASERESHOP: A NEW LEADER OF THE ENGINEERS' FUTURE"); a list item, a heading, a question, an exclamation
    or a line of dialogue is none."""
    if _LIST_MARK.match(line):
        return False
    if has_cjk(line):
        # A line of a few characters with no sentence end ("猪猪易猪猪"); ``words`` holds a hanzi each.
        return line[-1] not in _CJK_LINE_ENDS and len(words) <= FRAGMENT_WORDS * CJK_CHARACTERS_PER_WORD + 2
    if line[-1] in "?!\"'”’)»":
        return False
    letters = [ch for ch in line if ch.isalpha()]
    shouting = len(words) > FRAGMENT_WORDS and len(letters) >= 12 and \
        sum(ch.isupper() for ch in letters) >= 0.8 * len(letters)
    return len(words) <= FRAGMENT_WORDS or shouting


def _count(text: str) -> int:
    return len(re.findall(r"[\u4e00-\u9fff]", text)) + len(_LATIN_WORD.findall(text)) + \
        len(re.findall(r"[^\W\d_A-Za-z\u4e00-\u9fff]{2,}", text))


_SENT_END = lazy_compile(r"[。！？]+[”’」』）)]*|[.!?]+[\"'”’)\]]*(?=\s|$)|\n")


def _next_sentence_end(text: str, start: int) -> int | None:
    """Where the first sentence (or line) that starts at ``start`` ends, if it has ended and more followed."""
    for match in _SENT_END.finditer(text, start):
        end = match.end()
        if end >= len(text):
            return None  # the mark is the last thing written: the sentence may still go on ("3.5", "...")
        piece = text[start:end].strip()
        if piece and not re.fullmatch(r"(?:\d+|[A-Za-z])[.)]", piece):  # "1." opens a list item, ends nothing
            return end
        if not piece:
            start = end
    return None
