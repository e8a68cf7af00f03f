"""Plans in the instruction's language: the paper's text form in other languages, the prompts, and a plan
grammar whose Unicode ranges llama.cpp compiles and enforces (checked with the real built-in model)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from longwriter_desktop.engine.counting import LengthRule, Unit
from longwriter_desktop.engine.llama_backend import LlamaBackend, LoadSettings
from longwriter_desktop.engine.plan import (
    generic_outline,
    parse_generated_plan,
    parse_plan,
    plan_grammar,
    plan_instruction,
)

TEXT_PLANS = {
    "en": "Paragraph 1 - Main Point: Morning: the town wakes - Word Count: 400 words\n"
          "Paragraph 2 - Main Point: Evening: the lamps are lit - Word Count: 1,500 words",
    "ru": "Абзац 1 - Основная мысль: Утро: город просыпается - Количество слов: 400 слов\n"
          "Абзац 2 - Основная мысль: Вечер: зажигаются фонари - Количество слов: 1 500 слов",
    "uk": "Абзац 1 - Головна думка: Ранок: місто прокидається - Кількість слів: 400 слів\n"
          "Абзац 2 - Головна думка: Вечір: запалюються ліхтарі - Кількість слів: 1500 слів",
    "fr": "Paragraphe 1 - Idée principale : Matin : la ville s'éveille - Nombre de mots : 400 mots\n"
          "Paragraphe 2 - Idée principale : Soir : on allume les réverbères - Nombre de mots : 1\u202f500 mots",
    "de": "Absatz 1 – Hauptpunkt: Morgen: die Stadt erwacht – Wortanzahl: 400 Wörter\n"
          "Absatz 2 – Hauptpunkt: Abend: die Laternen gehen an – Wortanzahl: 1.500 Wörter",
    "es": "Párrafo 1 - Idea principal: Mañana: la ciudad despierta - Número de palabras: 400 palabras\n"
          "Párrafo 2 - Idea principal: Noche: se encienden las farolas - Número de palabras: 1.500 palabras",
    "it": "Paragrafo 1 - Punto principale: Mattina: la città si sveglia - Numero di parole: 400 parole\n"
          "Paragrafo 2 - Punto principale: Sera: si accendono i lampioni - Numero di parole: 1.500 parole",
    "pt": "Parágrafo 1 - Ponto principal: Manhã: a cidade acorda - Número de palavras: 400 palavras\n"
          "Parágrafo 2 - Ponto principal: Noite: acendem-se os candeeiros - Número de palavras: 1.500 palavras",
    "pl": "Akapit 1 - Główna myśl: Rano: miasto się budzi - Liczba słów: 400 słów\n"
          "Akapit 2 - Główna myśl: Wieczór: zapalają się latarnie - Liczba słów: 1500 słów",
    "nl": "Alinea 1 - Hoofdpunt: Ochtend: de stad ontwaakt - Aantal woorden: 400 woorden\n"
          "Alinea 2 - Hoofdpunt: Avond: de lantaarns gaan aan - Aantal woorden: 1.500 woorden",
    "tr": "Paragraf 1 - Ana fikir: Sabah: şehir uyanıyor - Kelime sayısı: 400 kelime\n"
          "Paragraf 2 - Ana fikir: Akşam: lambalar yanıyor - Kelime sayısı: 1.500 kelime",
    "zh": "段落1 - 要点：早晨：城市醒来 - 字数：400字\n段落2 - 要点：傍晚：路灯亮起 - 字数：1500字",
    "ja": "第1段落 - 要点：朝：町が目覚める - 文字数：400字\n第2段落 - 要点：夕方：街灯がともる - 文字数：1,500字",
    "ko": "문단 1 - 요점: 아침: 도시가 깨어난다 - 단어 수: 400단어\n"
          "문단 2 - 요점: 저녁: 가로등이 켜진다 - 단어 수: 1500단어",
}


@pytest.mark.parametrize("language", sorted(TEXT_PLANS))
def test_the_papers_text_form_parses_in_every_language(language: str) -> None:
    plan = parse_plan(TEXT_PLANS[language])
    assert [s.target_words for s in plan.sections] == [400, 1500]
    assert all(s.title and s.main_point for s in plan.sections)
    first = plan.sections[0]
    assert first.title != first.main_point  # "Morning: the town wakes" splits into a title and its point


def test_prompts_ask_for_the_instructions_language_and_unit() -> None:
    text = plan_instruction("Напиши рассказ на 1200 слов о зимнем городе.", 1200, 4,
                            rule=LengthRule(Unit.WORDS, "ru"))
    assert "Russian (русский)" in text and "1200 words" in text
    ja = plan_instruction("1600字の短編小説を書いてください。", 1600, 5, rule=LengthRule(Unit.CHARACTERS, "ja"))
    assert "Japanese (日本語)" in ja and "1600 characters" in ja
    assert "请为" not in ja  # a Japanese instruction is not answered with the Chinese prompt
    assert "请为" in plan_instruction("写一篇关于茶的文章。", 2000, 6)
    assert "Write in" not in plan_instruction("Write about tea.", 800, 3)


def test_generic_outline_for_chinese_only_uses_chinese_titles() -> None:
    assert generic_outline("写一篇关于茶的文章。", 1000, 3).sections[0].title == "引言"
    assert generic_outline("お茶についての文章を書いてください。", 1000, 3).sections[0].title == "Introduction"


# -- the grammar with the real model ------------------------------------------------------------------

def _allowed_by(grammar: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Python regexes for the grammar's title and point characters (GBNF classes read as regex classes)."""
    rules = dict(line.split(" ::= ", 1) for line in grammar.splitlines())
    tchar = re.compile(rules["tchar"])
    pchar = re.compile(rules["pchar"])
    return tchar, pchar


SCRIPTS = {
    "Cyrillic": (0x0400, 0x04FF), "Greek": (0x0370, 0x03FF), "Latin accents": (0x00C0, 0x024F),
    "Hangul": (0xAC00, 0xD7AF), "kana": (0x3040, 0x30FF), "Arabic": (0x0600, 0x06FF),
}


def _script_of(ch: str) -> str | None:
    for name, (low, high) in SCRIPTS.items():
        if low <= ord(ch) <= high and unicodedata.category(ch).startswith("L"):
            return name
    return None


@pytest.fixture(scope="module")
def llm(builtin_gguf: Path) -> Iterator[Any]:
    """The built-in model's llama_cpp.Llama, loaded as the app loads it (with the app's sampler chain)."""
    with LlamaBackend(builtin_gguf, LoadSettings(n_ctx=1024)) as backend:
        yield backend._llm


def _biased_generation(llm: Any, grammar_text: str, tokens: list[int]) -> str:
    """Greedy decoding with a large bias toward the given tokens: whatever the grammar lets through of them,
    the model writes, on any CPU."""
    import llama_cpp
    import numpy as np

    ids = np.array(tokens, dtype=np.intc)

    def bias(_input_ids: Any, scores: Any) -> Any:
        scores[ids] += 30.0
        return scores

    out = llm.create_completion(
        "<|im_start|>user\nMake a plan.<|im_end|>\n<|im_start|>assistant\n", max_tokens=80, temperature=0.0,
        grammar=llama_cpp.LlamaGrammar.from_string(grammar_text, verbose=False),
        logits_processor=llama_cpp.LogitsProcessorList([bias]),
    )
    return str(out["choices"][0]["text"])


def test_the_grammar_compiles_and_lets_every_script_through(llm: Any) -> None:
    # Tokens of the built-in model's vocabulary that spell whole letters of other scripts.
    letters: dict[str, list[int]] = {}
    for token in range(llm.n_vocab()):
        piece = llm.detokenize([token]).decode("utf-8", errors="ignore").strip()
        scripts = {_script_of(ch) for ch in piece}
        if piece and len(scripts) == 1 and None not in scripts:
            letters.setdefault(scripts.pop() or "", []).append(token)
    assert {"Cyrillic", "Latin accents"} <= set(letters), sorted(letters)
    biased = [t for tokens in letters.values() for t in tokens]

    # The plan grammar's own character classes, with shorter repeats so the test decodes few tokens.
    grammar = (plan_grammar(1).replace("lower{0,13}", "lower{0,3}").replace("(psep pword){1,29}", "(psep pword){1,2}")
               .replace('"-"){0,19}', '"-"){0,3}').replace("(tsep tword){0,9}", "(tsep tword){0,2}"))
    assert grammar != plan_grammar(1)
    text = _biased_generation(llm, grammar, biased)
    plan = parse_generated_plan(text)
    assert len(plan.sections) == 1, text
    section = plan.sections[0]
    written = {_script_of(ch) for ch in section.title + section.main_point} - {None}
    assert written, text  # letters beyond ASCII made it through the grammar

    # The same bias against ASCII-only classes: the grammar, not the bias, decides what is written.
    ascii_only = re.sub(r"\\u[0-9a-f]{4}(?:-\\u[0-9a-f]{4})?", "", grammar)
    ascii_only = re.sub(r"cjk ::= .*", "cjk ::= [A-Z]", ascii_only)
    ascii_only = ascii_only.replace('| [] " "?', "").replace("[]", "[.]")
    constrained = _biased_generation(llm, ascii_only, biased)
    assert parse_generated_plan(constrained).sections, constrained
    assert all(ord(ch) < 128 for ch in constrained), constrained
