"""The writer's side of takes and "write more", on the scripted backend (control flow, not a model's words)."""

from __future__ import annotations

from longwriter_desktop.engine import events as ev
from longwriter_desktop.engine.backend import Sampling
from longwriter_desktop.engine.counting import LengthRule
from longwriter_desktop.engine.plan import Plan, Section
from longwriter_desktop.engine.writer import ResumeState, WriteRequest, write_document
from longwriter_desktop.testing.scripted import ScriptedBackend, ScriptedCall

count_words = LengthRule().count  # as the app counts an English document (the length score's words)


def prose(words: int, letters: str = "bcdfghklmn", sentence: int = 10) -> str:
    """Text of distinct made-up words in sentences of ``sentence`` words (no loop for the repetition guard to
    cut; a sentence longer than the text has no end)."""
    vocabulary = [a + v + b + "o" for a in letters for v in "aeiu" for b in letters]
    out = []
    for i in range(words):
        word = vocabulary[i % len(vocabulary)]
        out.append(word.capitalize() if i % sentence == 0 else word + ("." if i % sentence == sentence - 1 else ""))
    return " ".join(out)


def long_reply(_call: ScriptedCall) -> str:
    return prose(390, "prstvwz")


def test_more_words_count_only_the_new_words() -> None:
    base = prose(300)
    plan = Plan([Section("Mill", "The mill.", 300 + 100)])
    resume = ResumeState(plan, [base + "\n\n"], [False], mode="plan", extend={0: 100})
    backend = ScriptedBackend(long_reply)
    events = list(write_document(backend, WriteRequest("Write about a mill.", 400, sampling=Sampling(seed=1)),
                                 resume=resume))
    finished = [e for e in events if isinstance(e, ev.SectionFinished)]
    assert len(finished) == 1
    added = count_words(finished[0].text) - count_words(base)
    assert 92 <= added <= 108, added  # the length rules hold for the new words alone
    assert finished[0].text.startswith(base)
    started = next(e for e in events if isinstance(e, ev.SectionStarted))
    assert started.resumed_words == 300 and started.target_words == 400
    assert finished[0].words == count_words(finished[0].text) and finished[0].target_words == 400


def _more(base: str, more: int, reply: str) -> int:
    """Write ``more`` words after ``base`` on a model that answers ``reply``; the words added, as the app counts."""
    plan = Plan([Section("Mill", "The mill.", count_words(base) + more)])
    resume = ResumeState(plan, [base + "\n\n"], [False], mode="plan", extend={0: more})
    events = list(write_document(ScriptedBackend(lambda _call: reply),
                                 WriteRequest("Write about a mill.", count_words(base) + more,
                                              sampling=Sampling(seed=1)), resume=resume))
    finished = [e for e in events if isinstance(e, ev.SectionFinished)]
    assert len(finished) == 1 and finished[0].text.startswith(base)
    return count_words(finished[0].text) - count_words(base)


def test_more_words_past_the_limit_keep_their_minimum_when_trimmed() -> None:
    # Sentences of 40 words: going back to the last sentence end would leave 80 of the 100 words asked for.
    added = _more(prose(300), 100, prose(300, "prstvwz", sentence=40))
    assert 96 <= added <= 105, added


def test_more_words_without_a_sentence_end_are_not_trimmed_into_the_earlier_text() -> None:
    # The new text has no sentence end at all; the last one is the end of the 1,000 words before it.
    added = _more(prose(1000), 100, prose(300, "prstvwz", sentence=1000))
    assert 96 <= added <= 105, added


def test_a_section_written_again_sees_only_the_sections_before_it() -> None:
    plan = Plan([Section(t, f"About the {t.lower()}.", 60) for t in ("Dawn", "Noon", "Dusk")])
    texts = ["Dawn text about the first light.", "", "Dusk text about the lamps."]
    resume = ResumeState(plan, texts, [True, False, True], mode="plan")
    backend = ScriptedBackend(long_reply)
    events = list(write_document(backend, WriteRequest("Write about a day.", 180, sampling=Sampling(seed=2)),
                                 resume=resume))
    started = [e.index for e in events if isinstance(e, ev.SectionStarted)]
    assert started == [1], "only the section to write is written"
    prompt = backend.calls[0].prompt_text
    assert "Dawn text about the first light." in prompt
    assert "Dusk text about the lamps." not in prompt, "a later section is not shown as if it came first"
    done = next(e for e in events if isinstance(e, ev.Done))
    assert "Dusk text about the lamps." in done.text
