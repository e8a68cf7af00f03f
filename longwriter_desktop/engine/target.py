"""Read the requested length from a writing instruction, as writers state it in their own language.

Covered: English, Chinese, Japanese, Korean, Russian, Ukrainian, French, German, Spanish, Italian,
Portuguese, Polish, Dutch and Turkish: their words for words, characters, pages and paragraphs; "at least",
"about" and "no more than" before the number or after the unit (以上, 左右, 이상, 정도 ...); ranges
("1500–2000", "от 1500 до 2000", "entre 1500 et 2000"); "2k", "1,5 тыс.", "2 mil", "2千"; and each locale's
thousands separators ("1,500", "1.500", "1 500" with a space, a no-break space or a narrow no-break space).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..lazyre import lazy_compile
from .counting import Unit, default_unit
from .language import detect_language

DEFAULT_WORDS = 1000
WORDS_PER_PAGE = 250  # a standard double-spaced manuscript page
CHARACTERS_PER_PAGE = {"ja": 400, "zh": 500}  # a Japanese manuscript sheet (原稿用紙) holds 400
WORDS_PER_PARAGRAPH = 120
CHARACTERS_PER_PARAGRAPH = 250
MIN_WORDS = 10
MAX_WORDS = 100_000
AT_LEAST_MARGIN = 1.05  # "at least N": aim a little past N, so sentence-end stops land above it
AT_MOST_MARGIN = 0.93  # "no more than N": aim under N, so a section's overshoot stays within it


@dataclass(frozen=True)
class TargetGuess:
    words: int  # the length read (the middle of a range), in ``unit``
    found: bool  # False when the instruction names no length and the default was used
    phrase: str  # the words the length was read from, or why the default applies
    unit: Unit = Unit.WORDS
    bound: str = "about"  # "about", "at least", "at most" or "range"
    low: int = 0
    high: int = 0
    # Set when the instruction names a length no document can have ("a 0-word story"): one plain sentence.
    problem: str = ""

    @property
    def aim(self) -> int:
        """What to write toward: the length itself, a little more for "at least", less for "at most"."""
        if self.bound == "at least":
            return int(round(self.words * AT_LEAST_MARGIN))
        if self.bound == "at most":
            return int(round(self.words * AT_MOST_MARGIN))
        return self.words

    def describe(self) -> str:
        if not self.found:
            return f"{self.words:,} {self.unit.value} ({self.phrase})"
        if self.bound == "range":
            amount = f"{self.low:,}-{self.high:,} {self.unit.value}"
        elif self.bound in ("at least", "at most"):
            amount = f"{self.bound} {self.words:,} {self.unit.value}"
        else:
            amount = f"{self.words:,} {self.unit.value}"
        return f'{amount} (from "{self.phrase}")'


# -- the vocabulary ------------------------------------------------------------------------------------

_UNITS: dict[str, tuple[str, ...]] = {
    "words": (
        r"words?", r"слов(?:ами|о|а)?", r"слів", r"mots?", r"w[öo]rte(?:rn|r|n)?", r"wort", r"palabras?",
        r"parole", r"parola", r"palavras?", r"słów", r"słowa", r"słowo", r"wyrazów", r"woorden", r"woord",
        r"kelime\w*", r"sözcük\w*", r"단어", r"어절", r"낱말", r"単語", r"語", r"ワード", r"个?词",
    ),
    "characters": (
        r"characters?", r"chars?", r"знак(?:ов|ами|а)?", r"символ(?:ов|ами|а)?", r"знак(?:ів|и)",
        r"символ(?:ів|и)", r"caractères?", r"signes?", r"zeichen", r"caracteres?", r"caratteri", r"carattere",
        r"znaków", r"znaki", r"tekens", r"karakters", r"karakter\w*", r"文字", r"个?字", r"글자", r"자",
    ),
    "pages": (
        r"pages?", r"страниц\w*", r"сторін\w*", r"сторінк\w*", r"seiten?", r"páginas?", r"pagine", r"pagina's",
        r"pagina", r"stron\w*", r"sayfa\w*", r"页", r"ページ", r"頁", r"枚", r"페이지", r"쪽",
    ),
    "paragraphs": (
        r"paragraphs?", r"абзац\w*", r"paragraphes?", r"absätze\w*", r"absatz", r"párrafos?", r"paragrafi",
        r"paragrafo", r"parágrafos?", r"akapit\w*", r"alinea'?s", r"paragraf\w*", r"段落", r"段", r"문단",
        r"단락",
    ),
}

_AT_LEAST_BEFORE = (
    "at least", "no fewer than", "no less than", "not less than", "not fewer than", "a minimum of", "minimum of",
    "minimum", "min.", "не менее", "не меньше", "как минимум", "минимум", "хотя бы", "по меньшей мере",
    "не менше", "не менш як", "щонайменше", "мінімум", "принаймні", "au moins", "au minimum", "minimum de",
    "mindestens", "wenigstens", "minimal", "al menos", "como mínimo", "por lo menos", "mínimo de", "mínimo",
    "almeno", "come minimo", "minimo", "pelo menos", "no mínimo", "co najmniej", "przynajmniej",
    "nie mniej niż", "minstens", "ten minste", "tenminste", "minimaal", "en az", "asgari", "不少于", "至少",
    "不低于", "最少", "少なくとも", "最低", "최소", "적어도",
)
_AT_MOST_BEFORE = (
    "at most", "no more than", "not more than", "up to", "a maximum of", "maximum of", "maximum", "max.", "max",
    "under", "fewer than", "less than", "not exceeding", "не более", "не больше", "максимум", "до",
    "не більше", "не більш ніж", "не більш як", "au plus", "au maximum", "pas plus de", "moins de",
    "jusqu'à", "jusqu’à", "höchstens", "maximal", "nicht mehr als", "bis zu", "weniger als", "como máximo",
    "máximo de", "no más de", "menos de", "hasta", "al massimo", "non più di", "massimo", "meno di", "fino a",
    "no máximo", "não mais de", "não mais que", "até", "maksymalnie", "najwyżej", "nie więcej niż", "maks.",
    "do", "maximaal", "hoogstens", "niet meer dan", "ten hoogste", "tot", "minder dan", "en fazla", "en çok",
    "azami", "不超过", "最多", "不多于", "不得超过", "最大", "多くとも", "최대",
)
_ABOUT_BEFORE = (
    "about", "around", "approximately", "approx.", "roughly", "some", "circa", "ca.", "~", "около",
    "примерно", "приблизительно", "порядка", "где-то", "близько", "приблизно", "орієнтовно", "environ",
    "à peu près", "approximativement", "autour de", "quelque", "etwa", "ungefähr", "rund", "zirka", "unas",
    "unos", "aproximadamente", "alrededor de", "cerca de", "en torno a", "intorno alle", "intorno a",
    "all'incirca", "approssimativamente", "umas", "uns", "por volta de", "około", "ok.", "mniej więcej",
    "blisko", "ongeveer", "rond de", "zo'n", "yaklaşık", "aşağı yukarı", "约", "大约", "大概", "約", "およそ",
    "大体", "약", "대략",
)
_AT_LEAST_AFTER = (
    "or more", "at least", "minimum", "и более", "или более", "и больше", "і більше", "або більше", "ou plus",
    "au moins", "oder mehr", "mindestens", "o más", "como mínimo", "o più", "almeno", "ou mais", "no mínimo",
    "lub więcej", "i więcej", "of meer", "minimaal", "ve üzeri", "veya daha fazla", "以上", "이상",
)
_AT_MOST_AFTER = (
    "or less", "or fewer", "at most", "maximum", "max", "или меньше", "максимум", "ou moins", "au maximum",
    "oder weniger", "höchstens", "maximal", "o menos", "como máximo", "o meno", "al massimo", "ou menos",
    "no máximo", "lub mniej", "maksymalnie", "of minder", "maximaal", "geçmeyen", "geçmeyecek", "aşmayan",
    "以内", "以下", "不超过", "이내", "이하", "を超えない",
)
_ABOUT_AFTER = (
    "or so", "roughly", "approximately", "около", "примерно", "environ", "circa", "etwa", "ungefähr",
    "aproximadamente", "cerca", "około", "ongeveer", "civarında", "kadar", "左右", "上下", "程度", "前後",
    "くらい", "ぐらい", "ほど", "정도", "내외", "가량", "안팎", "남짓",
)

_LETTER = r"[^\W\d_]"


def _alternation(phrases: tuple[str, ...], before: bool) -> str:
    parts = []
    for phrase in sorted(phrases, key=len, reverse=True):
        body = re.escape(phrase).replace(r"\ ", r"[\s\u00a0]+")
        if re.match(r"[a-zA-Z\u00c0-\u024f\u0400-\u04ff]", phrase):
            body = rf"(?<!{_LETTER}){body}"
        if re.search(r"[a-zA-Z\u00c0-\u024f\u0400-\u04ff]$", phrase):
            body = rf"{body}(?!{_LETTER})"
        parts.append(body)
    return "(?:" + "|".join(parts) + ")"


_SMALL_FILLER = r"(?:(?:of|de|d'|в|на|di|van|a|an|em|von|в\s+объ[её]ме|объ[её]мом(?:\s+в)?|obszerny|długości)\s+)?"
_QUALIFIERS_BEFORE = [
    (bound, lazy_compile(_alternation(phrases, True) + r"[\s\u00a0]*" + _SMALL_FILLER + r"$", re.IGNORECASE))
    for bound, phrases in (("at least", _AT_LEAST_BEFORE), ("at most", _AT_MOST_BEFORE),
                           ("about", _ABOUT_BEFORE))
]
_QUALIFIERS_AFTER = [
    (bound, lazy_compile(r"^[\s\u00a0,]*(?:의\s*)?" + _alternation(phrases, False), re.IGNORECASE))
    for bound, phrases in (("at least", _AT_LEAST_AFTER), ("at most", _AT_MOST_AFTER), ("about", _ABOUT_AFTER))
]

_WORD_END = rf"(?!{_LETTER})"
_SCALE = (rf"(?:k{_WORD_END}|K{_WORD_END}|тыс\.|тыс{_WORD_END}|тысяч\w*|тисяч\w*|thousand{_WORD_END}|mille{_WORD_END}|"
          rf"mila{_WORD_END}|mil{_WORD_END}|tsd\.|tausend{_WORD_END}|tys\.|tysięcy|tysiące|tysiąc|bin{_WORD_END}|"
          rf"duizend{_WORD_END}|千|万|천|만)")
_SEP = "[ \u00a0\u202f\u2009.,'’]"


def _number(name: str) -> str:
    return (rf"(?P<{name}>\d{{1,3}}(?:{_SEP}\d{{3}})+(?!\d)|\d+(?:[.,]\d+)?)"
            rf"(?:[\s\u00a0\u202f]*(?P<{name}_scale>{_SCALE}))?")


_UNIT = "(?P<unit>" + "|".join(f"(?P<{kind}>{'|'.join(forms)})" for kind, forms in _UNITS.items()) + ")"
# Units in Latin or Cyrillic letters end at a word's end; 字, 자 and 単語 may run on ("800字の", "1000자의").
_UNIT_END = rf"(?:(?<![a-zA-Z\u00c0-\u024f\u0400-\u04ff'])|(?!{_LETTER}))"
_FILLER = r"[\s\u00a0\u202f]*[-‐‑]?[\s\u00a0\u202f]*(?:个|個|개의?\s*)?"
_CONNECT = (r"[\s\u00a0\u202f]*(?:[-‐‑–—~〜～]|到|至|から|에서|부터)[\s\u00a0\u202f]*|"
            r"[\s\u00a0]+(?:to|and|or|bis|und|à|a|e|y|et|do|tot|en|ile|ou|oder|до|и|і|та|або)[\s\u00a0]+")

_RANGE = lazy_compile(rf"{_number('a')}(?:{_FILLER}(?P<unit_a>{'|'.join(f for fs in _UNITS.values() for f in fs)}))?"
                    rf"(?:{_CONNECT}){_number('b')}{_FILLER}{_UNIT}{_UNIT_END}", re.IGNORECASE)
_SINGLE = lazy_compile(rf"{_number('a')}{_FILLER}{_UNIT}{_UNIT_END}", re.IGNORECASE)
# A unit named before its number: "word count: 1500", "字数：3000", "글자 수 2000".
_LABELLED = lazy_compile(
    r"(?:(?P<words>word\s*count|number\s+of\s+words|количество\s+слов|nombre\s+de\s+mots|wortanzahl|"
    r"número\s+de\s+palabras|liczba\s+słów|단어\s*수)|(?P<characters>字数|文字数|글자\s*수|character\s*count))"
    rf"\s*[:：]?\s*{_number('a')}", re.IGNORECASE)

# English numbers in words ("two thousand words") and Chinese numerals ("三千字").
_EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "a": 1, "an": 1,
}
_EN_SCALES = {"hundred": 100, "thousand": 1000}
_EN_NUMBER_WORD = "|".join(sorted([*_EN_UNITS, *_EN_SCALES], key=len, reverse=True))
_EN_NUMBER = rf"(?:(?:{_EN_NUMBER_WORD})(?:[\s-]+(?:and[\s-]+)?(?:{_EN_NUMBER_WORD}))*)"
_WORDY_EN = lazy_compile(rf"\b({_EN_NUMBER})[\s-]+(words?|pages?|paragraphs?)\b", re.IGNORECASE)

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}
_ZH_SMALL = {"十": 10, "百": 100, "千": 1000}
_ZH_NUMERAL = lazy_compile(r"([零〇一二两三四五六七八九十百千万]+)\s*(?:个)?(字|页)")


def _zh_number(text: str) -> float | None:
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


_SCALES = {"k": 1000, "千": 1000, "천": 1000, "万": 10_000, "만": 10_000}


def _value(number: str, scale: str | None) -> float:
    """A number as written in any of the locales: "1,500", "1.500", "1 500", "1,5" (with a scale), "2.5"."""
    grouped = re.fullmatch(rf"\d{{1,3}}(?:{_SEP}\d{{3}})+", number)
    if grouped and len({ch for ch in number if not ch.isdigit()}) == 1:
        value = float(re.sub(r"\D", "", number))
    else:
        value = float(number.replace(",", ".")) if re.fullmatch(r"\d+[.,]\d+", number) else float(
            re.sub(r"\D", "", number))
    if scale:
        value *= _SCALES.get(scale.lower(), 1000)
    return value


# -- reading ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    kind: str  # words, characters, pages, paragraphs
    low: float
    high: float
    bound: str


def _kind(match: re.Match[str]) -> str:
    return next(kind for kind in _UNITS if match.group(kind))


def _bound_around(text: str, start: int, end: int, unit_text: str) -> str:
    after = text[end:end + 24]
    if re.match(r"[\s\u00a0]*kadar", after) and re.search(r"(?:y?[ea])$", unit_text):
        return "at most"  # Turkish "1000 kelimeye kadar": up to
    for bound, pattern in _QUALIFIERS_AFTER:
        if pattern.search(after):
            return bound
    before = text[max(0, start - 40):start]
    for bound, pattern in _QUALIFIERS_BEFORE:
        if pattern.search(before):
            return bound
    return "about"


def _candidates(text: str) -> list[_Candidate]:
    found: list[_Candidate] = []
    taken: list[tuple[int, int]] = []
    for match in _RANGE.finditer(text):
        low = _value(match.group("a"), match.group("a_scale"))
        high = _value(match.group("b"), match.group("b_scale"))
        if match.group("a_scale") is None and match.group("b_scale") and low < 1000 <= high / low:
            low *= _SCALES.get(match.group("b_scale").lower(), 1000)  # "1.5-2k words"
        if low > high:
            low, high = high, low
        found.append(_Candidate(match.start(), match.end(), _kind(match), low, high, "range"))
        taken.append(match.span())
    for match in _SINGLE.finditer(text):
        if any(s <= match.start() < e for s, e in taken):
            continue
        value = _value(match.group("a"), match.group("a_scale"))
        bound = _bound_around(text, match.start(), match.end(), match.group("unit"))
        found.append(_Candidate(match.start(), match.end(), _kind(match), value, value, bound))
    for match in _LABELLED.finditer(text):
        value = _value(match.group("a"), match.group("a_scale"))
        kind = "words" if match.group("words") else "characters"
        found.append(_Candidate(match.start(), match.end(), kind, value, value, "about"))
    for match in _WORDY_EN.finditer(text):
        spelled = _en_words(match.group(1))
        if spelled:
            unit = match.group(2).lower()
            kind = "pages" if unit.startswith("page") else "paragraphs" if unit.startswith("para") else "words"
            bound = _bound_around(text, match.start(), match.end(), unit)
            found.append(_Candidate(match.start(), match.end(), kind, spelled, spelled, bound))
    for match in _ZH_NUMERAL.finditer(text):
        zh_value = _zh_number(match.group(1))
        if zh_value:
            kind = "characters" if match.group(2) == "字" else "pages"
            bound = _bound_around(text, match.start(), match.end(), match.group(2))
            found.append(_Candidate(match.start(), match.end(), kind, zh_value, zh_value, bound))
    return found


def without_length(instruction: str) -> str:
    """The instruction with every phrase that states a length ("a 1500-word", "2000字", "3 pages") taken out."""
    spans = sorted((c.start, c.end) for c in _candidates(instruction))
    out, at = [], 0
    for start, end in spans:
        if start >= at:
            out.append(instruction[at:start])
            at = end
    return " ".join([*out, instruction[at:]])


def _in_unit(value: float, kind: str, language: str) -> tuple[float, Unit]:
    counted_in_characters = default_unit(language) is Unit.CHARACTERS
    if kind == "words":
        return value, Unit.WORDS
    if kind == "characters":
        return value, Unit.CHARACTERS
    if kind == "pages":
        if counted_in_characters:
            return value * CHARACTERS_PER_PAGE.get(language, 500), Unit.CHARACTERS
        return value * WORDS_PER_PAGE, Unit.WORDS
    if counted_in_characters:
        return value * CHARACTERS_PER_PARAGRAPH, Unit.CHARACTERS
    return value * WORDS_PER_PARAGRAPH, Unit.WORDS


def target_from_instruction(instruction: str, default: int = DEFAULT_WORDS) -> TargetGuess:
    """The requested length and its unit (words, or characters for 字/文字/자/знаков), or the default."""
    language = detect_language(instruction)
    best: tuple[tuple[bool, int], TargetGuess] | None = None
    problem = ""
    for c in _candidates(instruction):
        low, unit = _in_unit(c.low, c.kind, language)
        high, _ = _in_unit(c.high, c.kind, language)
        middle = int(round((low + high) / 2))
        if not MIN_WORDS <= middle <= MAX_WORDS:
            if not problem:
                asked = instruction[c.start:c.end].strip()
                problem = (f'The instruction asks for {middle:,} {unit.value} ("{asked}"), '
                           f"but a document can be {MIN_WORDS:,} to {MAX_WORDS:,} {unit.value} long.")
            continue
        phrase = instruction[c.start:c.end].strip()
        for bound, pattern in _QUALIFIERS_BEFORE if c.bound != "range" else ():
            found_before = pattern.search(instruction[max(0, c.start - 40):c.start])
            if bound == c.bound and found_before:
                phrase = instruction[max(0, c.start - 40) + found_before.start():c.end].strip()
                break
        guess = TargetGuess(middle, True, phrase, unit, c.bound, int(round(low)), int(round(high)))
        # A count of words or characters beats pages or paragraphs; then the first one stated.
        key = (c.kind in ("pages", "paragraphs"), c.start)
        if best is None or key < best[0]:
            best = (key, guess)
    if best is not None:
        return best[1]
    unit = default_unit(language)
    return TargetGuess(default, False, "the instruction names no length; the default applies", unit, problem=problem)
