"""Which language an instruction is written in, so the plan and the prose can be asked for in it.

The script settles most languages (Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, Hangul, kana, Han);
among Latin-script languages the letters only some of them use and their most common short words decide.
"""

from __future__ import annotations

import re
from collections import Counter

from ..lazyre import lazy_compile

NAMES = {
    "en": ("English", "English"), "zh": ("Chinese", "中文"), "ja": ("Japanese", "日本語"),
    "ko": ("Korean", "한국어"), "ru": ("Russian", "русский"), "uk": ("Ukrainian", "українська"),
    "fr": ("French", "français"), "de": ("German", "Deutsch"), "es": ("Spanish", "español"),
    "it": ("Italian", "italiano"), "pt": ("Portuguese", "português"), "pl": ("Polish", "polski"),
    "nl": ("Dutch", "Nederlands"), "tr": ("Turkish", "Türkçe"), "el": ("Greek", "ελληνικά"),
    "ar": ("Arabic", "العربية"), "fa": ("Persian", "فارسی"), "he": ("Hebrew", "עברית"),
    "hi": ("Hindi", "हिन्दी"), "bn": ("Bengali", "বাংলা"), "th": ("Thai", "ไทย"), "lo": ("Lao", "ລາວ"),
    "km": ("Khmer", "ខ្មែរ"), "my": ("Burmese", "မြန်မာ"),
}

# Hiragana, katakana (with its phonetic extensions) and half-width katakana: only Japanese writes them.
KANA_CLASS = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
# (language, pattern) in order: the first script found decides, except that Latin is weighed below.
_SCRIPTS = tuple((code, lazy_compile(f"[{ranges}]")) for code, ranges in (
    ("ja", KANA_CLASS),
    ("ko", "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"),
    ("zh", "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"),
    ("th", "\u0e00-\u0e7f"), ("lo", "\u0e80-\u0eff"), ("km", "\u1780-\u17ff"), ("my", "\u1000-\u109f"),
    ("hi", "\u0900-\u097f"), ("bn", "\u0980-\u09ff"), ("he", "\u0590-\u05ff"),
    ("ar", "\u0600-\u06ff\u0750-\u077f"), ("el", "\u0370-\u03ff"), ("ru", "\u0400-\u04ff"),
))
_UKRAINIAN = lazy_compile(r"[іїєґІЇЄҐ]")
_PERSIAN = lazy_compile(r"[پچژگکی]")

_LATIN_WORDS = {
    "en": "the and of to a in is that for with about write on an essay story words it as by be at this",
    "fr": "le la les de des du un une et sur pour en est écris écrivez à au aux dans qui que ce mots",
    "de": "der die das und ein eine einen über mit schreibe schreiben sie von zu den im ist für wörter",
    "es": "el la los las de un una y sobre escribe en del con para que por al es palabras unos unas",
    "it": "il lo la gli le di un una e sulla sul scrivi per con del della che nel è parole circa",
    "pt": "o a os as de um uma e sobre escreva escreve do da com para que em no na é palavras",
    "pl": "i w na z o napisz się do że jest nie od słów ze co najmniej około tekst",
    "nl": "de het een en over schrijf van met op voor is dat in woorden ongeveer",
    "tr": "bir ve ile bu için hakkında yaz yazın olan da de kelime kelimelik en az",
}
# The verb an instruction opens with says the most: it weighs three common words.
_LATIN_VERBS = {
    "en": "write draft compose", "fr": "écris écrivez rédige rédigez",
    "de": "schreibe schreiben schreib verfasse",
    "es": "escribe escriba redacta", "it": "scrivi scriva redigi", "pt": "escreva escreve redija",
    "pl": "napisz napiszcie", "nl": "schrijf", "tr": "yaz yazın yazınız",
}
_LATIN_LETTERS = {
    "de": "ßäöü", "es": "ñ¿¡", "pt": "ãõçâêô", "pl": "łśżźćńąę", "tr": "ğşıİöüç",
    "fr": "èàùêâîôœçë", "it": "àèìòù", "nl": "ĳ",
}
_WORD = lazy_compile(r"[^\W\d_]+", re.UNICODE)


def detect_language(text: str) -> str:
    """An ISO 639-1 code for the text's language ("en" when nothing else fits)."""
    return language_evidence(text) or "en"


def language_evidence(text: str) -> str:
    """The language a text's letters and words show, or "" where they show none (a name, "Food", digits)."""
    for code, pattern in _SCRIPTS:
        if pattern.search(text):
            if code == "ru" and _UKRAINIAN.search(text):
                return "uk"
            if code == "ar" and _PERSIAN.search(text):
                return "fa"
            return code
    words = [w.lower() for w in _WORD.findall(text)]
    scores: Counter[str] = Counter()
    for code, common in _LATIN_WORDS.items():
        vocabulary = set(common.split())
        scores[code] += sum(1 for w in words if w in vocabulary)
        verbs = set(_LATIN_VERBS[code].split())
        scores[code] += 3 * sum(1 for w in words if w in verbs)
    lowered = text.lower()
    for code, letters in _LATIN_LETTERS.items():
        scores[code] += 2 * sum(lowered.count(ch) for ch in letters)
    if not scores or max(scores.values()) == 0:
        return ""
    best = max(scores.values())
    # Ties go to the first language listed (English first).
    return next(code for code in _LATIN_WORDS if scores[code] == best)


def language_name(code: str) -> str:
    """The language's English name ("Russian"), or the code itself when unknown."""
    return NAMES.get(code, (code, code))[0]


def write_in(code: str) -> str:
    """A sentence for a prompt asking for this language: `Write in French (français).`"""
    english, native = NAMES.get(code, (code, code))
    return f"Write in {english} ({native})." if native != english else f"Write in {english}."
