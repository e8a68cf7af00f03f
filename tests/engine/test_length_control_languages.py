"""Length control on readers' counts: a section stops at a sentence end of its language, a model that stops
short is handed on, and a model that runs on without a sentence end is cut back to the last one."""

from __future__ import annotations

import pytest

from longwriter_desktop.engine import events as ev
from longwriter_desktop.engine.backend import Sampling
from longwriter_desktop.engine.plan import Plan, Section
from longwriter_desktop.engine.writer import WriteRequest, write_document
from longwriter_desktop.testing.scripted import ScriptedBackend

# (instruction, a sentence of the language, its end mark): with its number a sentence is six words (or
# eleven characters; Chinese is counted as the length score counts it, digits none, so its sentence is eleven
# hanzi), so a section of 66 can end exactly at a sentence end.
TARGET = 66
MARKS = [
    ("Напиши рассказ на 60 слов.", "Зима пришла в наш город", "."),
    ("اكتب قصة من 60 كلمة.", "جاء الشتاء إلى مدينتنا اليوم", "؟"),
    ("६० शब्दों की कहानी लिखो। Write 60 words.", "सर्दी हमारे शहर में आई", "।"),
    ("60字の話を書いてください。", "冬が町にやって来た日", "。"),
    ("写一篇60字的短文。", "冬天来到了我们的小城市", "！"),
    ("写一篇60字的短文。", "冬天来到了我们的小城市", "？"),
    ("60단어 분량의 글을 써 주세요.", "겨울이 우리 도시에 조용히 왔다", "."),
]


def _sentences(sentence: str, mark: str, n: int, glue: str = " ", first: int = 1) -> str:
    # Numbered so that no sentence repeats another (the loop guard would cut it), the number first: short
    # sentences that all open with the same words are a template loop to the checks.
    return glue.join(f"{i} {sentence}{mark}" for i in range(first, first + n))


def _one_section(instruction: str) -> WriteRequest:
    return WriteRequest(instruction, None, "plan", plan=Plan([Section("Winter", "Winter comes.", TARGET)]),
                        sampling=Sampling(seed=1))


@pytest.mark.parametrize(("instruction", "sentence", "mark"), MARKS)
def test_a_section_stops_at_a_sentence_end_of_its_language(instruction: str, sentence: str, mark: str) -> None:
    backend = ScriptedBackend([_sentences(sentence, mark, 40)], n_ctx=8192)
    events = list(write_document(backend, _one_section(instruction)))
    finished = next(e for e in events if isinstance(e, ev.SectionFinished))
    assert finished.text.rstrip().endswith(mark)
    assert TARGET <= finished.words <= TARGET * 1.2, finished
    assert not [e for e in events if isinstance(e, ev.TextRetracted)]  # it stopped there; nothing was cut


@pytest.mark.parametrize(("instruction", "sentence", "mark"), MARKS)
def test_a_model_that_stops_short_is_handed_on(instruction: str, sentence: str, mark: str) -> None:
    replies = [_sentences(sentence, mark, 2, first=first) for first in range(1, 17, 2)]
    backend = ScriptedBackend(replies, n_ctx=8192)
    done = next(e for e in write_document(backend, _one_section(instruction)) if isinstance(e, ev.Done))
    section = done.stats["sections"][0]
    assert section["words"] >= 0.85 * TARGET, done.stats  # (a sentence of 6 or 11: the last may not fit)
    assert len(backend.calls) > 2
    assert all(call.end_allowed is False for call in backend.calls[:-1])  # end-of-text was banned until then


@pytest.mark.parametrize(("instruction", "sentence", "mark"), MARKS)
def test_a_run_on_is_cut_back_to_its_last_sentence_end(instruction: str, sentence: str, mark: str) -> None:
    # No piece ends at a sentence end (the mark is glued to the next word): writing runs to the hard stop,
    # then goes back to the last sentence end, keeping the mark.
    backend = ScriptedBackend([_sentences(sentence, mark, 40, glue="")], n_ctx=8192)
    events = list(write_document(backend, _one_section(instruction)))
    finished = next(e for e in events if isinstance(e, ev.SectionFinished))
    assert finished.text.rstrip().endswith(mark), finished.text[-30:]
    assert 0.8 * TARGET <= finished.words <= TARGET * 1.08
