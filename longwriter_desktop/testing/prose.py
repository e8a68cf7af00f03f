"""Fresh prose in many languages for scripted models: sentences that never repeat within a document.

Each language has four lists of phrases (a subject, a verb with its object, a place or time, a closing turn)
that agree with one another, so every combination is a grammatical sentence. A document walks through the
combinations in a shuffled order without repeating one, so the writer's loop guard (which cuts repeated
sentences and 12-word runs) sees ordinary text, as from a model that writes well.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..engine.counting import Unit, count
from ..engine.repetition import NGRAM, words_with_offsets
from ..engine.target import target_from_instruction
from .scripted import ScriptedCall


@dataclass(frozen=True)
class Phrases:
    subjects: tuple[str, ...]
    verbs: tuple[str, ...]
    places: tuple[str, ...]
    closings: tuple[str, ...]
    spaced: bool = True  # False for Chinese and Japanese: no spaces between the parts
    end: str = "."
    comma: str = ","  # put before a closing turn
    verb_last: bool = False  # Korean, Japanese, Turkish, Hindi: the place comes before the verb


def _p(subjects: str, verbs: str, places: str, closings: str, **kw: object) -> Phrases:
    parts = [tuple(x.strip() for x in s.split("|")) for s in (subjects, verbs, places, closings)]
    return Phrases(*parts, **kw)  # type: ignore[arg-type]


LANGUAGES: dict[str, Phrases] = {
    "en": _p("The old town|A narrow street|The quiet evening|Every passer-by|The winter wind|Our neighbour|"
             "A young painter|The street lamp",
             "keeps the memory of the past|greets the first snow|listens to the trams|leads to the frozen river|"
             "lights the empty square|remembers the poets|waits for the spring|draws shadows on the walls",
             "at dawn|in the frosty silence|after a long night|under a grey sky|among the old houses|"
             "every morning|at the end of December|near the station",
             "and the guests are surprised|as it did years ago|without any hurry|as if in a dream|"
             "while the city sleeps|and nobody argues|as custom demands|almost unnoticed"),
    "ru": _p("Старый город|Узкая улица|Тихий вечер|Каждый прохожий|Зимний ветер|Наш сосед|Молодой художник|"
             "Уличный фонарь",
             "хранит память о прошлом|встречает первый снег|слушает звон трамваев|ведёт к замёрзшей реке|"
             "освещает пустую площадь|помнит шаги поэтов|ждёт возвращения весны|рисует тени на стенах",
             "на рассвете|в морозной тишине|после долгой ночи|под серым небом|среди старых домов|каждое утро|"
             "в конце декабря|возле вокзала",
             "и это удивляет гостей|как много лет назад|не торопясь|словно во сне|пока город спит|"
             "и никто не спорит|как велит обычай|почти незаметно"),
    "uk": _p("Старе місто|Вузька вулиця|Тихий вечір|Кожен перехожий|Зимовий вітер|Наш сусід|Молодий художник|"
             "Вуличний ліхтар",
             "зберігає пам'ять про минуле|зустрічає перший сніг|слухає дзвін трамваїв|веде до замерзлої річки|"
             "освітлює порожню площу|пам'ятає кроки поетів|чекає на весну|малює тіні на стінах",
             "на світанку|у морозній тиші|після довгої ночі|під сірим небом|серед старих будинків|щоранку|"
             "наприкінці грудня|біля вокзалу",
             "і це дивує гостей|як багато років тому|не поспішаючи|наче уві сні|поки місто спить|"
             "і ніхто не сперечається|як велить звичай|майже непомітно"),
    "fr": _p("La vieille ville|Une rue étroite|Le soir tranquille|Chaque passant|Le vent d'hiver|Notre voisin|"
             "Un jeune peintre|Le réverbère",
             "garde la mémoire du passé|accueille la première neige|écoute les tramways|mène à la rivière gelée|"
             "éclaire la place déserte|se souvient des poètes|attend le printemps|dessine des ombres sur les murs",
             "à l'aube|dans le silence glacé|après une longue nuit|sous un ciel gris|parmi les vieilles maisons|"
             "chaque matin|à la fin de décembre|près de la gare",
             "et les visiteurs s'en étonnent|comme il y a bien des années|sans se presser|comme dans un rêve|"
             "pendant que la ville dort|et personne ne proteste|comme le veut la coutume|presque sans bruit"),
    "de": _p("Die alte Stadt|Eine schmale Straße|Der stille Abend|Jeder Passant|Der Winterwind|Unser Nachbar|"
             "Ein junger Maler|Die Straßenlaterne",
             "bewahrt die Erinnerung an früher|begrüßt den ersten Schnee|hört den Straßenbahnen zu|"
             "führt zum gefrorenen Fluss|erhellt den leeren Platz|erinnert sich an die Dichter|"
             "wartet auf den Frühling|malt Schatten an die Wände",
             "im Morgengrauen|in der frostigen Stille|nach einer langen Nacht|unter grauem Himmel|"
             "zwischen den alten Häusern|jeden Morgen|Ende Dezember|nahe dem Bahnhof",
             "und die Gäste staunen|wie vor vielen Jahren|ganz ohne Eile|wie im Traum|während die Stadt schläft|"
             "und niemand widerspricht|wie es der Brauch will|fast unbemerkt"),
    "es": _p("La vieja ciudad|Una calle estrecha|La tarde tranquila|Cada transeúnte|El viento de invierno|"
             "Nuestro vecino|Un joven pintor|La farola",
             "guarda la memoria del pasado|recibe la primera nieve|escucha los tranvías|lleva al río helado|"
             "ilumina la plaza vacía|recuerda a los poetas|espera la primavera|dibuja sombras en los muros",
             "al amanecer|en el silencio helado|tras una larga noche|bajo un cielo gris|entre las casas viejas|"
             "cada mañana|a finales de diciembre|cerca de la estación",
             "y los visitantes se asombran|como hace muchos años|sin ninguna prisa|como en un sueño|"
             "mientras la ciudad duerme|y nadie lo discute|como manda la costumbre|casi sin ruido"),
    "it": _p("La vecchia città|Una strada stretta|La sera tranquilla|Ogni passante|Il vento d'inverno|"
             "Il nostro vicino|Un giovane pittore|Il lampione",
             "custodisce la memoria del passato|accoglie la prima neve|ascolta i tram|porta al fiume gelato|"
             "illumina la piazza vuota|ricorda i poeti|aspetta la primavera|disegna ombre sui muri",
             "all'alba|nel silenzio gelido|dopo una lunga notte|sotto un cielo grigio|tra le vecchie case|"
             "ogni mattina|alla fine di dicembre|vicino alla stazione",
             "e gli ospiti si stupiscono|come tanti anni fa|senza alcuna fretta|come in un sogno|"
             "mentre la città dorme|e nessuno protesta|come vuole l'usanza|quasi senza rumore"),
    "pt": _p("A velha cidade|Uma rua estreita|A tarde tranquila|Cada transeunte|O vento de inverno|"
             "O nosso vizinho|Um jovem pintor|O candeeiro",
             "guarda a memória do passado|recebe a primeira neve|escuta os elétricos|leva ao rio gelado|"
             "ilumina a praça vazia|lembra os poetas|espera a primavera|desenha sombras nas paredes",
             "ao amanhecer|no silêncio gelado|depois de uma longa noite|sob um céu cinzento|entre as casas velhas|"
             "todas as manhãs|no fim de dezembro|perto da estação",
             "e os visitantes espantam-se|como há muitos anos|sem pressa nenhuma|como num sonho|"
             "enquanto a cidade dorme|e ninguém discute|como manda o costume|quase sem ruído"),
    "pl": _p("Stare miasto|Wąska ulica|Cichy wieczór|Każdy przechodzień|Zimowy wiatr|Nasz sąsiad|Młody malarz|"
             "Uliczna latarnia",
             "przechowuje pamięć o przeszłości|wita pierwszy śnieg|słucha tramwajów|prowadzi do zamarzniętej rzeki|"
             "oświetla pusty plac|pamięta kroki poetów|czeka na wiosnę|rysuje cienie na murach",
             "o świcie|w mroźnej ciszy|po długiej nocy|pod szarym niebem|wśród starych domów|każdego ranka|"
             "pod koniec grudnia|niedaleko dworca",
             "i goście się dziwią|jak przed wieloma laty|bez pośpiechu|jak we śnie|gdy miasto śpi|"
             "i nikt się nie spiera|jak każe zwyczaj|prawie niezauważenie"),
    "nl": _p("De oude stad|Een smalle straat|De stille avond|Elke voorbijganger|De winterwind|Onze buurman|"
             "Een jonge schilder|De straatlantaarn",
             "bewaart de herinnering aan vroeger|begroet de eerste sneeuw|luistert naar de trams|"
             "leidt naar de bevroren rivier|verlicht het lege plein|herinnert zich de dichters|"
             "wacht op de lente|tekent schaduwen op de muren",
             "bij zonsopgang|in de ijzige stilte|na een lange nacht|onder een grijze hemel|tussen de oude huizen|"
             "elke ochtend|eind december|vlak bij het station",
             "en de gasten verbazen zich|zoals vele jaren geleden|zonder enige haast|als in een droom|"
             "terwijl de stad slaapt|en niemand spreekt het tegen|zoals de gewoonte wil|bijna onopgemerkt"),
    "tr": _p("Eski şehir|Dar bir sokak|Sessiz akşam|Her yolcu|Kış rüzgârı|Komşumuz|Genç bir ressam|Sokak lambası",
             "geçmişin hatırasını saklıyor|ilk karı karşılıyor|tramvayları dinliyor|donmuş nehre uzanıyor|"
             "boş meydanı aydınlatıyor|şairleri hatırlıyor|baharı bekliyor|duvarlara gölgeler çiziyor",
             "şafak vakti|ayaz sessizliğinde|uzun bir gecenin ardından|gri bir göğün altında|eski evlerin arasında|"
             "her sabah|aralık sonunda|istasyonun yakınında",
             "ve misafirler şaşırıyor|yıllar önce olduğu gibi|hiç acele etmeden|sanki bir rüyada|"
             "şehir uyurken|ve kimse itiraz etmiyor|geleneğin istediği gibi|neredeyse fark edilmeden",
             verb_last=True),
    "ko": _p("오래된 도시는|좁은 골목은|조용한 저녁은|지나가는 사람은|겨울 바람은|우리 이웃은|젊은 화가는|"
             "거리의 가로등은",
             "지난날의 기억을 간직한다|첫눈을 맞이한다|전차 소리를 듣는다|얼어붙은 강으로 이어진다|"
             "텅 빈 광장을 비춘다|시인들의 발걸음을 기억한다|봄을 기다린다|벽에 그림자를 그린다",
             "새벽에|얼어붙은 고요 속에서|긴 밤이 지난 뒤|잿빛 하늘 아래|낡은 집들 사이에서|매일 아침|"
             "십이월 말에|역 근처에서",
             "그래서 손님들이 놀란다|오래전 그때처럼|조금도 서두르지 않는다|마치 꿈속 같다|도시가 잠든 동안에|"
             "아무도 반대하지 않는다|오랜 풍습대로|거의 눈에 띄지 않는다", verb_last=True),
    "ja": _p("古い町は|細い路地は|静かな夕暮れは|道行く人は|冬の風は|隣の人は|若い画家は|街灯は",
             "昔の記憶を守っている|初雪を迎えている|路面電車の音を聞いている|凍った川へと続いている|"
             "がらんとした広場を照らしている|詩人たちの足音を覚えている|春を待っている|壁に影を描いている",
             "夜明けに|凍える静けさの中で|長い夜のあとで|灰色の空の下で|古い家並みの間で|毎朝|十二月の終わりに|"
             "駅の近くで",
             "客人はそれに驚く|何年も前と同じだ|少しも急がない|まるで夢のようだ|町が眠っている間のことだ|"
             "誰も異を唱えない|昔からの習わしだ|ほとんど気づかれない",
             spaced=False, end="。", comma="。", verb_last=True),
    "zh": _p("古老的城市|狭窄的小巷|安静的傍晚|每个行人|冬天的风|我们的邻居|年轻的画家|街边的路灯",
             "守护着往日的记忆|迎接第一场雪|倾听电车的声音|通向结冰的河流|照亮空旷的广场|记得诗人的脚步|等待春天|"
             "在墙上描绘影子",
             "在黎明时分|在寒冷的寂静中|在漫长的夜晚之后|在灰色的天空下|在老房子之间|每天早晨|在十二月底|"
             "在车站附近",
             "客人们都感到惊讶|就像多年以前一样|一点也不着急|仿佛在梦中|趁着城市还在沉睡|没有人反对|"
             "这是古老的习俗|几乎无人察觉",
             spaced=False, end="。", comma="，", verb_last=True),
    "ar": _p("المدينة القديمة|الشارع الضيق|المساء الهادئ|كل عابر سبيل|ريح الشتاء|جارنا|الرسام الشاب|مصباح الشارع",
             "يحفظ ذكرى الماضي|يستقبل الثلج الأول|يصغي إلى الترام|يقود إلى النهر المتجمد|يضيء الساحة الخالية|"
             "يتذكر الشعراء|ينتظر الربيع|يرسم الظلال على الجدران",
             "عند الفجر|في الصمت البارد|بعد ليلة طويلة|تحت سماء رمادية|بين البيوت القديمة|كل صباح|"
             "في آخر ديسمبر|قرب المحطة",
             "فيدهش الزوار|كما كان قبل سنوات|دون أي عجلة|كأنه في حلم|بينما تنام المدينة|ولا أحد يعترض|"
             "كما تقضي العادة|دون أن يلاحظه أحد",
             end=".", comma="،"),
    "hi": _p("पुराना शहर|तंग गली|शांत शाम|हर राहगीर|सर्दी की हवा|हमारा पड़ोसी|युवा चित्रकार|सड़क का दीया",
             "अतीत की याद संजोता है|पहली बर्फ़ का स्वागत करता है|ट्रामों को सुनता है|जमी नदी तक ले जाता है|"
             "ख़ाली चौक को रोशन करता है|कवियों को याद करता है|वसंत की राह देखता है|दीवारों पर छायाएँ बनाता है",
             "भोर में|ठंडी खामोशी में|लंबी रात के बाद|धूसर आसमान के नीचे|पुराने घरों के बीच|हर सुबह|"
             "दिसंबर के अंत में|स्टेशन के पास",
             "और मेहमान हैरान होते हैं|जैसे बरसों पहले|बिना किसी जल्दी के|मानो सपने में|जब शहर सोता है|"
             "और कोई नहीं टोकता|जैसी रीति है|लगभग चुपचाप",
             end="।", verb_last=True),
}


def fresh_text(language: str, seed: int = 0) -> Iterator[str]:
    """Sentences that, written one after another, never repeat a sentence or a run of ``NGRAM`` words (what
    the writer's loop guard cuts): a combination that would is skipped."""
    seen: set[tuple[str, ...]] = set()
    tail: list[str] = []  # the last words written, for the runs that cross into the next sentence
    for sentence in sentences(language, seed):
        words = [w for w, _ in words_with_offsets(sentence)]
        run = tail + words
        grams = [tuple(run[i:i + NGRAM]) for i in range(max(0, len(run) - NGRAM + 1))]
        if tuple(words) in seen or any(g in seen for g in grams) or len(set(grams)) < len(grams):
            continue
        seen.update(grams)
        seen.add(tuple(words))
        tail = run[-(NGRAM - 1):]
        yield sentence


def sentences(language: str, seed: int = 0) -> Iterator[str]:
    """Sentences in ``language`` (a code from LANGUAGES), no two alike, in an order set by ``seed``.

    Each subject-verb-place combination is used once, with a closing turn that follows from it."""
    phrases = LANGUAGES[language]
    sizes = (len(phrases.subjects), len(phrases.verbs), len(phrases.places))
    combos = list(itertools.product(*(range(n) for n in sizes)))
    random.Random(seed).shuffle(combos)
    joiner = " " if phrases.spaced else ""
    closings = len(phrases.closings)
    for s, v, p in combos:
        c = (s + 3 * v + 5 * p) % closings
        middle = (phrases.places[p], phrases.verbs[v]) if phrases.verb_last else (phrases.verbs[v], phrases.places[p])
        body = joiner.join((phrases.subjects[s], *middle))
        yield f"{body}{phrases.comma}{joiner}{phrases.closings[c]}{phrases.end}"


def titles(language: str, count: int) -> list[str]:
    """``count`` different section titles in the language (a subject with a place or time)."""
    phrases = LANGUAGES[language]
    pairs = itertools.product(phrases.subjects, phrases.places)
    joiner = " " if phrases.spaced else ""
    return [f"{subject}{joiner}{place}" for subject, place in itertools.islice(pairs, count)]


_ASKED = re.compile(r"About ([\d,]+) (words|characters)|约([\d,]+)字")
_SECTIONS = re.compile(r"in (\d+) sections|分成(\d+)个部分")


class ProseModel:
    """A scripted model that writes one language well: the reply function for a ScriptedBackend or a
    ScriptedOpenAIServer.

    Asked for a plan, it gives the plan lines the planner asks for (titles and main points in its language).
    Asked for a section ("About 300 words."), it writes ``share`` times that length in fresh sentences, in
    paragraphs of four, and then stops, as a model ends its turn; below 1 it stops short, so the writer has
    to hand the rest on. The first instruction of the conversation sets the length of a one-pass (direct)
    document.
    """

    def __init__(self, language: str, *, seed: int = 0, share: float = 1.5) -> None:
        self.language = language
        self.share = share
        self._sentences = fresh_text(language, seed)
        self._in_paragraph = 0
        self._subject: list[str] = []
        self._turn = 0
        # Sentences of the last reply that were never streamed (the writer stopped first): said next time.
        self._pending: list[str] = []
        self._last: tuple[ScriptedCall, list[tuple[int, str]]] | None = None
        self._placed: list[tuple[int, str]] = []

    def __call__(self, call: ScriptedCall) -> str:
        if self._last is not None:
            last_call, placed = self._last
            streamed = len(last_call.reply)
            self._pending = [sentence for start, sentence in placed if start >= streamed] + self._pending
            self._last = None
        self._placed = []
        text = self._reply(call)
        self._last = (call, self._placed)
        return text

    def _reply(self, call: ScriptedCall) -> str:
        if call.is_plan or "writing plan" in call.prompt_text or "写作计划" in call.prompt_text:
            # Under the plan's grammar a model writes the lines it allows: from the first not yet in the prompt.
            first = re.match(r"root ::= s(\d+)", call.request.grammar or "")
            return self._plan(call.prompt_text, int(first.group(1)) if first else 1)
        asked = list(_ASKED.finditer(call.prompt_text))
        if asked:
            last = asked[-1]
            amount = int((last.group(1) or last.group(3)).replace(",", ""))
            unit = Unit.WORDS if last.group(2) == "words" else Unit.CHARACTERS
        else:
            # Section requests name no length: the room the writer gives the call bounds it (below), so the
            # model does not spend its sentences on text that is never streamed.
            guess = target_from_instruction(call.prompt_text)
            unit = guess.unit
            amount = guess.aim
        amount = min(amount, max(1, int(call.request.max_tokens / 1.4)))  # the writer's room for this call
        self._subject = _subject_words(call.prompt_text)
        return self.write(max(1, int(amount * self.share)), unit)

    def write(self, amount: int, unit: Unit) -> str:
        """Fresh sentences of the language until they hold ``amount`` words or characters."""
        text = ""
        while count(text, unit) < amount:
            if self._in_paragraph == 4:
                text += "\n\n"
                self._in_paragraph = 0
            elif text and LANGUAGES[self.language].spaced:
                text += " "
            if self._pending:
                sentence: str | None = self._pending.pop(0)
            else:
                sentence = next(self._sentences, None)
                if sentence is None:  # every combination is used: the model has said all it can
                    break
                sentence = self._on_subject(sentence)
            self._placed.append((len(text), sentence))
            text += sentence
            self._in_paragraph += 1
        return text

    def _on_subject(self, sentence: str) -> str:
        """Every other sentence names a word of the section's title or main point, as a model that keeps to
        its subject does (the writer cuts text that loses it)."""
        self._turn += 1
        if not self._subject or self._turn % 2:
            return sentence
        word = self._subject[(self._turn // 2) % len(self._subject)]
        end = len(sentence.rstrip(".!?。！？؟।"))
        joiner = "、" if not LANGUAGES[self.language].spaced else ", "
        return sentence[:end] + joiner + word + sentence[end:]

    def _plan(self, prompt: str, first: int = 1) -> str:
        wanted = _SECTIONS.search(prompt)
        sections = int(wanted.group(1) or wanted.group(2)) if wanted else 3
        total = _ASKED_TOTAL.search(prompt)
        amount = int((total.group(1) or total.group(2)).replace(",", "")) if total else 300 * sections
        names = titles(self.language, sections)
        # A model that keeps to its task names the task's subject in its main points, every other one.
        self._subject = _subject_words(prompt)
        lines = [
            f"Section {i} - Title: {name} - Main point: {self._on_subject(next(self._sentences))} - Words: "
            f"{amount // sections}"
            for i, name in enumerate(names, 1) if i >= first
        ]
        return "\n".join(lines) + "\n"


_BEGIN_WITH = re.compile(r'(?:Begin with|Go on with) "([^"\n]+)": ?([^\n]*)|(?:先写|接着写)“([^”\n]+)”：([^\n]*)'
                         r'|(?:this task|写作任务制定写作计划)[:：] ?()([^\n]*)')


def _subject_words(prompt: str) -> list[str]:
    """Words of the section's title and main point in its request (kanji pairs where words have no spaces)."""
    found = list(_BEGIN_WITH.finditer(prompt))
    if not found:
        return []
    text = " ".join(g for g in found[-1].groups() if g)
    words = [w for w in re.findall(r"[^\W\d_]+", text) if len(w) > 3 and not re.search(r"[\u3040-\u9fff]", w)
             and w.lower() not in ("write", "word", "words", "about")]
    pairs = re.findall(r"[\u4e00-\u9fff]{2}", text)
    return (words + pairs)[:8]


_ASKED_TOTAL = re.compile(r"about ([\d,]+) (?:words|characters) in|全文约([\d,]+)字")
