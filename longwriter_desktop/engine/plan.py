"""The plan: sections with a title, a main point and a word target; parsing, repair and generation.

A model's plan is never trusted as it is (MODELS.md): a tiny model repeats titles and gives 15-word
targets. Targets are rescaled to the requested length, duplicate or empty titles are retried once with a
penalty and then replaced, and a model that cannot plan at all gets a generic outline the user can edit.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..lazyre import lazy_compile
from .backend import Backend, Delta, Finish, FinishReason, GenerationRequest, Sampling, StopSignal
from .counting import LengthRule, has_cjk
from .events import Event, PlanningProgress, PlanningStarted, PlanReady, Warning
from .language import detect_language, language_evidence, write_in
from .repetition import NgramBan
from .target import MAX_WORDS, without_length

MIN_SECTION_WORDS = 60
MAX_SECTIONS = 60


@dataclass
class Section:
    title: str
    main_point: str
    target_words: int
    locked: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    sections: list[Section] = field(default_factory=list)

    @property
    def total_words(self) -> int:
        return sum(s.target_words for s in self.sections)

    def to_json(self) -> str:
        return json.dumps({"sections": [s.to_dict() for s in self.sections]}, ensure_ascii=False, indent=2)

    def copy(self) -> Plan:
        return Plan([replace(s) for s in self.sections])

    def to_text(self) -> str:
        """The paper's text form: one line per section."""
        return "\n".join(
            f"Paragraph {i} - Main Point: {s.title}: {s.main_point} - Word Count: {s.target_words} words"
            for i, s in enumerate(self.sections, 1)
        )


def section_count_for(target_words: int) -> int:
    """About 300 words a section for short work, growing to about 750 for 20,000 words."""
    if target_words <= 450:
        return 1
    size = 300 if target_words <= 1500 else min(1000, 350 + target_words * 0.02)
    return max(2, min(MAX_SECTIONS, round(target_words / size)))


# -- parsing user plans -----------------------------------------------------------------------------

_SECTION_LINE = lazy_compile(
    r"^\s*(?:section|paragraph|part|chapter)?\s*\d*\s*[-:.)]*\s*title\s*[:：]\s*(?P<title>.+?)\s*[-–—]\s*"
    r"main\s*point\s*[:：]\s*(?P<point>.+?)\s*[-–—]\s*(?:words|word\s*count)\s*[:：]\s*(?P<words>\d[\d,]*)"
    r"\s*(?:words?)?\s*$",
    re.IGNORECASE,
)
# The paper's text form in any language: "Paragraph 1 - Main Point: ... - Word Count: 400 words",
# "Абзац 1 - Основная мысль: ... - Количество слов: 400 слов", "第1段 - 要点：... - 字数：400字".
_TEXT_LINE = lazy_compile(
    r"^\s*(?:[^\W\d_][^\d:：\-–—]{0,30}?)?\s*第?\s*(\d+)?\s*[^\W\d_]{0,4}\s*[-–—:.)）]*\s*"
    r"(?P<label>[^\W\d_][^:：\d]{0,40}?)\s*[:：]\s*(?P<point>.+?)\s*[-–—]\s*"
    r"(?P<count_label>[^\W\d_][^:：\d\-–—]{0,40}?)\s*[:：]\s*"
    r"(?P<words>\d{1,3}(?:[\s\u00a0\u202f.,']\d{3})+|\d+)\s*(?:[^\W\d_]+\.?)?\s*$",
    re.IGNORECASE,
)


def _int_words(value: Any, where: str) -> int:
    try:
        words = int(re.sub(r"[\s\u00a0\u202f.,']", "", str(value)))
    except ValueError:
        raise InputError(f"{where}: the word count '{value}' is not a number.") from None
    if words <= 0:
        raise InputError(f"{where}: the word count must be positive.")
    if words > MAX_WORDS:
        raise InputError(f"{where}: the word count {words:,} is more than a whole document may have "
                         f"({MAX_WORDS:,} words). Give a smaller number.")
    return words


def parse_plan_json(data: Any) -> Plan:
    """A plan from JSON data: {"sections": [...]} or a bare list of sections."""
    items = data.get("sections") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise InputError("The plan must be a list of sections, or an object with a 'sections' list.")
    sections = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise InputError(f"Section {i} of the plan is not an object with title, main point and words.")
        title = str(item.get("title") or "").strip()
        point = str(item.get("main_point") or item.get("point") or item.get("summary") or "").strip()
        words = item.get("target_words", item.get("words", item.get("word_count")))
        if words is None:
            raise InputError(f"Section {i} of the plan has no word count ('words').")
        if not title and not point:
            raise InputError(f"Section {i} of the plan has neither a title nor a main point.")
        sections.append(Section(title or _title_from_point(point), point or title, _int_words(words, f"Section {i}"),
                                bool(item.get("locked", False))))
    return Plan(sections)


def parse_plan_text(text: str) -> Plan:
    """The paper's form: `Paragraph 1 - Main Point: ... - Word Count: 400 words`, one per line."""
    sections = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        titled = _SECTION_LINE.match(line)
        if titled:
            sections.append(Section(titled.group("title").strip(), titled.group("point").strip(),
                                    _int_words(titled.group("words"), f"Line {number}")))
            continue
        match = _TEXT_LINE.match(line)
        if not match:
            raise InputError(
                f"Line {number} of the plan is not in the form "
                "'Paragraph N - Main Point: ... - Word Count: N words' "
                "(or 'Section N - Title: ... - Main point: ... - Words: N')."
            )
        point = match.group("point").strip()
        title, _, rest = re.sub(r"\s*：\s*", ": ", re.sub(r"[\s\u00a0\u202f]+:", ":", point, count=1),
                                count=1).partition(": ")
        if not rest or len(title) > 80:
            title, rest = _title_from_point(point), point
        sections.append(Section(title.strip(), rest.strip(), _int_words(match.group("words"), f"Line {number}")))
    if not sections:
        raise InputError("The plan is empty.")
    return Plan(sections)


def parse_plan(text: str) -> Plan:
    """A user plan as JSON or in the paper's text form."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(f"The plan is not valid JSON: {exc.msg} (line {exc.lineno}).") from None
        except RecursionError:
            raise InputError("The plan's JSON is nested far too deeply to be a plan. A plan is a list of "
                             "sections, each with a title, a main point and words.") from None
        return parse_plan_json(data)
    return parse_plan_text(stripped)


def load_plan(path: str | Path) -> Plan:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"Plan file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read the plan file {path}: {exc}") from None
    return parse_plan(text)


def _title_from_point(point: str) -> str:
    words = point.split()
    title = " ".join(words[:6]).rstrip(".,;:")
    return title if len(words) <= 6 else title + "…"


# -- repair ----------------------------------------------------------------------------------------


def _norm_title(title: str) -> str:
    # Titles that share their first five words count as the same (tiny models vary only the tail).
    return " ".join(re.sub(r"[\W\d_]+", " ", title.lower()).split()[:5])


def rescale(plan: Plan, target_words: int) -> Plan:
    """Scale targets to sum to the requested length, keeping the plan's proportions within reason."""
    sections = [replace(s) for s in plan.sections]
    if not sections:
        return Plan([])
    locked = sum(s.target_words for s in sections if s.locked)
    free = [s for s in sections if not s.locked]
    remaining = max(0, target_words - locked)
    if free:
        mean = sum(s.target_words for s in free) / len(free) or 1.0
        # A model's proportions are kept only within 0.5x-2x of the mean: 15-word sections are noise.
        weights = [min(2.0, max(0.5, s.target_words / mean)) for s in free]
        total = sum(weights)
        raw = [remaining * w / total for w in weights]
        rounded = [max(MIN_SECTION_WORDS, int(round(r / 10.0)) * 10) for r in raw]
        if remaining >= MIN_SECTION_WORDS * len(free):
            diff = remaining - sum(rounded)
            largest_first = sorted(range(len(rounded)), key=lambda i: -rounded[i])
            if diff > 0:
                rounded[largest_first[0]] += diff
            # An excess (the minimum lifted small sections) comes off the largest sections, none below the minimum;
            # there is room, since remaining >= the minimum for every section.
            for i in largest_first:
                if diff >= 0:
                    break
                take = min(-diff, rounded[i] - MIN_SECTION_WORDS)
                rounded[i] -= take
                diff += take
        for section, words in zip(free, rounded):
            section.target_words = max(1, words)
    return Plan(sections)


GENERIC_EN = ("Introduction", "Background", "The main question", "Key ideas", "A closer look", "Examples",
              "Challenges", "Different views", "What it means in practice", "Looking ahead", "Conclusion")
GENERIC_ZH = ("引言", "背景", "核心问题", "主要观点", "深入分析", "实例", "挑战", "不同观点", "实践意义",
              "展望", "结语")


_AGAIN_EN = ("More on ", "Further notes on ", "Another look at ", "Deeper into ", "Returning to ", "Last word on ",
             "Final thoughts on ")
_AGAIN_ZH = ("再谈", "续论", "重看", "深入", "回到", "补充", "总结")

# Outlines by the kind of text, for models that cannot plan: (title, main point) pairs, the first and the last
# kept in place, the middle ones taken in order. "{s}" is the subject read from the instruction.
KIND_PATTERNS: tuple[tuple[str, str], ...] = (
    ("story", r"\b(?:story|stories|novella|novel|novelette|tale|fable|fairy|fiction|narrative|saga)\b"
              r"|小说|故事|童话|寓言"),
    ("guide", r"\b(?:guide|manual|handbook|how[- ]to|tutorial|instructions|checklist|playbook)\b|指南|手册|教程|攻略"),
    ("report", r"\b(?:report|news|briefing|case study|analysis|review)\b|报道|报告|新闻|调查"),
    ("essay", r"\b(?:essay|opinion|argument|argue|op-ed|editorial|speech)\b|议论文|散文|评论|演讲"),
    # A history, a chronicle or a life: told in the order things happened.
    ("history", r"\b(?:history|histories|chronicle|biography|memoir)\b|通史|简史|发展史|编年史|传记"),
)

KIND_OUTLINES_EN: dict[str, tuple[tuple[str, str], ...]] = {
    "story": (
        ("A quiet beginning", "Open the story of {s}: the main character, the place and an ordinary day."),
        ("The first sign", "Something small and strange breaks the routine and catches the main character's eye."),
        ("An unexpected visitor", "A new character arrives and brings news that changes the situation."),
        ("Old habits", "The main character tries to carry on as before, and it does not work."),
        ("The decision", "The main character chooses to act and sets out to learn more."),
        ("Trouble on the way", "Obstacles and a rival make the first attempt fail."),
        ("A secret comes out", "A hidden truth about the past is revealed and raises the stakes."),
        ("Friends and doubts", "The main character leans on a friend and doubts the chosen path."),
        ("The turning point", "A discovery turns the story in a new direction."),
        ("What it costs", "The choice costs something dear, and the main character feels it."),
        ("The darkest hour", "Everything seems lost; the main character faces the worst moment."),
        ("A new plan", "With what was learned, the main character finds another way forward."),
        ("The confrontation", "The main conflict comes to a head in a tense scene."),
        ("What remains", "The immediate aftermath: what was won, what was lost."),
        ("Loose threads", "The other characters' stories are settled one by one."),
        ("The way home", "The main character returns, changed by what happened."),
        ("A rumour spreads", "Talk in the neighbourhood makes the situation harder."),
        ("An old friend", "Someone from the main character's past returns with help or a warning."),
        ("A night of doubts", "Alone at night, the main character weighs what is at stake."),
        ("First success", "A small victory brings hope and new attention."),
        ("The rival moves", "The opponent answers with a clever and painful move."),
        ("Things fall apart", "Plans collapse and friends disagree."),
        ("A long journey", "The main character travels to find an answer."),
        ("Strangers at the door", "Unknown people arrive with their own plans."),
        ("The storm", "Bad weather or bad luck traps everyone in one place."),
        ("What the past hides", "An old story explains why things are as they are."),
        ("A promise kept", "The main character keeps a promise at a cost."),
        ("Ending", "Close the story with a final image that answers its opening."),
    ),
    "guide": (
        ("Why it matters", "What {s} is about, who this guide is for and what the reader will gain."),
        ("The basics", "The key terms and ideas a beginner needs before starting."),
        ("What you need", "The tools, materials, people and time to plan for."),
        ("Planning ahead", "How to prepare: goals, a schedule and a realistic budget."),
        ("Getting started", "The first steps, one by one, with practical advice."),
        ("Day-to-day practice", "The routine tasks and how to do them well."),
        ("Working with others", "How to share the work, communicate and keep people involved."),
        ("Common mistakes", "The errors beginners make most often and how to avoid them."),
        ("Solving problems", "What to do when things go wrong, with concrete fixes."),
        ("Safety and care", "Rules and habits that keep people and things safe."),
        ("Tips from experience", "Advice that saves time, money and effort."),
        ("Measuring progress", "How to tell whether things are working and what to adjust."),
        ("Going further", "Next steps once the basics are in place."),
        ("Useful resources", "Where to find help, information and support."),
        ("Setting goals", "How to decide what success looks like and write it down."),
        ("Costs and budget", "What things cost and how to keep spending under control."),
        ("Choosing a place", "How to find and set up the right place for the work."),
        ("Rules and permissions", "The rules, permits and agreements to check before going on."),
        ("Training and skills", "The skills to learn and how to practise them."),
        ("Keeping records", "What to write down, and why good records save trouble."),
        ("Handling busy days", "How to cope when there is more work than hands."),
        ("Looking after yourself", "Rest, health and avoiding burnout."),
        ("Season by season", "How the work changes through the year."),
        ("Growing over time", "How to expand carefully once things run well."),
        ("Stories from the field", "Short real-life examples of what worked and what did not."),
        ("Questions beginners ask", "Clear answers to the questions that come up most."),
        ("Final checklist", "A short summary of the most important points to remember."),
    ),
    "report": (
        ("Overview", "The main facts about {s} in brief: what happened, where and why it matters."),
        ("Background", "The history and the situation that led up to it."),
        ("The key facts", "Figures, dates and details that describe the situation."),
        ("The people involved", "Who is affected and what they say."),
        ("Costs", "What it costs, in money, time and effort."),
        ("Benefits", "What is gained, and for whom."),
        ("Risks and open questions", "What could go wrong and what is still unknown."),
        ("Reactions", "How the community, experts and officials responded."),
        ("Comparisons", "How similar cases elsewhere turned out."),
        ("Analysis", "What the facts mean when they are taken together."),
        ("Recommendations", "What should be done next, and by whom."),
        ("Outlook", "What to expect in the months and years ahead."),
        ("How the facts were gathered", "Where the information comes from and how reliable it is."),
        ("Timeline", "The main events in the order they happened."),
        ("Local impact", "What changes for the people and places closest to it."),
        ("Wider effects", "What it means for the region and beyond."),
        ("Voices from the ground", "What ordinary people involved say about it."),
        ("Money matters", "Budgets, funding and who pays."),
        ("Lessons learned", "What worked, what did not, and why."),
        ("Next steps", "The decisions and dates that come next."),
        ("Summary", "The main findings in a few clear sentences."),
    ),
    "essay": (
        ("Opening", "Introduce {s} and state the main claim of the essay."),
        ("Context", "The background a reader needs to follow the argument."),
        ("The first argument", "The strongest reason for the claim, with an example."),
        ("The second argument", "A further reason, from a different angle."),
        ("Evidence", "Facts, cases and research that support the argument."),
        ("The other side", "The best objections, stated fairly."),
        ("Answering objections", "Why the objections do not overturn the claim."),
        ("Wider meaning", "What the argument means beyond the immediate question."),
        ("A personal view", "A personal experience that shows what is at stake."),
        ("History of the question", "How people thought about it in the past."),
        ("A common mistake", "A popular belief about it that does not hold up."),
        ("An example from life", "A concrete case that makes the argument vivid."),
        ("What experts say", "What researchers and practitioners have found."),
        ("Why it matters now", "Why the question is urgent today."),
        ("Closing thoughts", "Sum up the argument and end with a memorable thought."),
    ),
    "history": (
        ("Before it began", "The world before {s}: the needs, tools and ideas it grew out of."),
        ("The first steps", "The earliest attempts and the people who made them."),
        ("A breakthrough", "The invention, event or decision that set things moving."),
        ("Pioneers and patrons", "The leading figures, what drove them and who paid for their work."),
        ("Spreading out", "How it spread from its first home to other places."),
        ("Early resistance", "Who opposed it at first, and why."),
        ("Money and trade", "How it was paid for, and who profited from it."),
        ("Ideas on the move", "How it carried ideas, beliefs and news further than before."),
        ("Rulers and rivals", "How those in power tried to use or control it."),
        ("Changes in daily life", "What changed for ordinary people, at work and at home."),
        ("A golden age", "The period when it flourished most."),
        ("New techniques", "How its methods and tools improved over time."),
        ("Across borders", "How it took different shapes in different countries."),
        ("Turning points", "The moments that changed its course."),
        ("Unplanned effects", "Consequences no one intended or foresaw."),
        ("Art and learning", "Its mark on art, science and education."),
        ("Decline and renewal", "Setbacks, and how it came back in a new form."),
        ("The modern era", "What became of it in recent times."),
        ("What historians say", "How its story has been told, and argued over."),
        ("Myths and evidence", "Popular stories about it, and what the sources show."),
        ("Its legacy", "What it left behind, and why it still matters."),
        ("Looking back", "Sum up the long story of {s} and what it teaches."),
    ),
    "article": (
        ("Introduction", "Introduce {s} and why a reader should care."),
        ("Where it began", "The origins and early history of the subject."),
        ("How it works", "The main mechanism or idea, explained simply."),
        ("Key ideas", "The most important concepts, each with an example."),
        ("A closer look", "One part of the subject examined in detail."),
        ("Real examples", "Cases and stories that show the subject at work."),
        ("Changes over time", "How the subject developed and what changed it."),
        ("Challenges", "Problems, limits and open questions."),
        ("Different views", "How people disagree about it, and why."),
        ("In everyday life", "What the subject means for ordinary people."),
        ("Looking ahead", "Where things are heading next."),
        ("Famous names", "The people who shaped the subject and what they did."),
        ("Turning points", "The moments that changed the course of things."),
        ("Numbers and facts", "Figures that show the scale of the subject."),
        ("Around the world", "How it looks in different countries and cultures."),
        ("Myths and mistakes", "Common misunderstandings and the truth behind them."),
        ("What science says", "What research explains about how it works."),
        ("Money and work", "The jobs, trade and costs connected with it."),
        ("Art and culture", "How it appears in art, stories and customs."),
        ("Rules and laws", "How rules and governments have dealt with it."),
        ("Lessons learned", "What the past teaches about it."),
        ("Questions people ask", "Clear answers to common questions."),
        ("A day in the life", "What it looks like up close, on an ordinary day."),
        ("Tools and methods", "The tools and methods that make it work."),
        ("Wider effects", "Its effects on society, the economy and daily life."),
        ("Surprising details", "Little-known facts that change how the subject looks."),
        ("Winners and losers", "Who gained from it and who paid the price."),
        ("Borrowed ideas", "What it took from other fields, and what it gave back."),
        ("Conclusion", "Bring the main points together and close the article."),
    ),
}

KIND_OUTLINES_ZH: dict[str, tuple[tuple[str, str], ...]] = {
    "story": (
        ("平静的开端", "介绍{s}的主人公、地点和平常的一天。"), ("异样的迹象", "一件奇怪的小事打破了日常。"),
        ("意外的来客", "新人物出现，带来改变局面的消息。"), ("做出决定", "主人公决定行动，开始寻找答案。"),
        ("一路波折", "障碍和对手让第一次尝试失败。"), ("隐藏的秘密", "过去的真相被揭开，局势更加紧张。"),
        ("转折", "一个发现让故事走向新的方向。"), ("最黑暗的时刻", "一切似乎都失去了，主人公面对最艰难的时刻。"),
        ("新的办法", "主人公找到另一条出路。"), ("正面交锋", "主要冲突在紧张的场面中爆发。"),
        ("尘埃落定", "冲突之后，得到了什么，失去了什么。"), ("结局", "以呼应开头的画面结束故事。"),
    ),
    "guide": (
        ("为什么重要", "说明{s}是什么、适合谁，以及读者能得到什么。"), ("基础知识", "入门前需要了解的概念。"),
        ("准备工作", "需要准备的工具、材料、人员和时间。"), ("第一步", "逐步说明最初的做法。"),
        ("日常实践", "日常任务以及如何做好。"), ("常见错误", "初学者常犯的错误以及如何避免。"),
        ("解决问题", "出现问题时的具体办法。"), ("经验之谈", "节省时间和精力的建议。"),
        ("进一步提高", "打好基础之后的下一步。"), ("要点回顾", "总结最重要的几点。"),
    ),
    "report": (
        ("概况", "简述{s}的主要事实：发生了什么、在哪里、为什么重要。"), ("背景", "事情的来龙去脉。"),
        ("主要事实", "描述情况的数字、日期和细节。"), ("相关人物", "受影响的人以及他们的说法。"),
        ("各方反应", "社区、专家和官方的反应。"), ("分析", "这些事实合在一起意味着什么。"),
        ("展望", "未来的发展和值得关注的问题。"), ("结语", "用几句话总结主要发现。"),
    ),
    "essay": (
        ("开篇", "引出{s}并提出全文的中心观点。"), ("背景", "理解论点所需的背景。"),
        ("第一个论据", "支持观点的最有力理由，并举例。"), ("第二个论据", "从另一个角度提出理由。"),
        ("不同意见", "公平地陈述反对意见。"), ("回应", "为什么反对意见不能推翻观点。"),
        ("结语", "总结论点，以有力的思考结尾。"),
    ),
    "history": (
        ("源起之前", "{s}出现之前的时代：需求、工具和思想。"), ("最初的尝试", "最早的尝试和开创者。"),
        ("关键突破", "让一切开始的发明、事件或决定。"), ("代表人物", "主要人物以及推动他们的力量。"),
        ("传播开来", "它如何从发源地传到各地。"), ("早期的阻力", "最初谁反对它，为什么。"),
        ("鼎盛时期", "它最繁荣的阶段。"), ("技术的进步", "方法和工具如何不断改进。"),
        ("社会的变化", "它给普通人的生活带来了什么变化。"), ("转折点", "改变其走向的关键时刻。"),
        ("衰落与复兴", "挫折，以及它如何以新的形式重生。"), ("近现代", "它在近现代的命运。"),
        ("历史的遗产", "它留下了什么，为什么至今仍然重要。"), ("回顾", "总结{s}的漫长历程及其启示。"),
    ),
    "article": (
        ("引言", "介绍{s}以及它为什么值得关注。"), ("历史渊源", "这一主题的起源和早期历史。"),
        ("发展演变", "它是如何发展变化的。"), ("核心内容", "最重要的概念，并举例说明。"),
        ("深入分析", "详细考察其中的一个方面。"), ("实例", "展示这一主题的具体事例。"),
        ("面临的挑战", "问题、局限和尚未解决的疑问。"), ("日常生活中", "它对普通人意味着什么。"),
        ("现状与展望", "当前的情况和未来的方向。"), ("结语", "归纳要点，结束全文。"),
    ),
}


def text_kind(instruction: str) -> str:
    """The kind of text an instruction asks for: story, guide, report, essay, history or article."""
    for kind, pattern in KIND_PATTERNS:
        if re.search(pattern, instruction, re.IGNORECASE):
            return kind
    return "article"


def subject_of(instruction: str) -> str:
    """The instruction's subject as a short phrase ("a lighthouse keeper who receives letters")."""
    text = re.sub(r"\s+", " ", instruction).strip()
    if has_cjk(text):
        body = re.sub(r"^(请)?(写|撰写|创作)(一篇|一份|一个|一部)?", "", text)
        parts = [p for p in re.split(r"[，,。；;：:]", body) if p]
        parts = [re.sub(r"^\d+\s*字(左右)?的?|^[一二三四五六七八九十百千万两]+字的?", "", p) for p in parts]
        parts = [re.sub(r"^(介绍|讲述|描写|关于|探讨|分析|说明|讲)", "", p) for p in parts if p]
        best = max(parts[1:] or parts, key=len) if parts else ""
        return best[:24] or "这个主题"
    match = re.search(r"\b(?:about|on|of|to|explaining|describing|for)\s+(.+)", text, re.IGNORECASE)
    phrase = match.group(1) if match else document_phrase(text)
    phrase = re.split(r"[.;:!?]|,\s*(?:in|with|for|from)\b", phrase)[0]
    return whole_phrase(phrase.strip(), 9) or "the subject"


_OPEN_END = {
    "a", "an", "the", "and", "or", "but", "nor", "of", "to", "in", "on", "at", "for", "with", "by", "from", "as",
    "that", "which", "who", "whom", "whose", "where", "when", "while", "is", "are", "was", "were", "be", "its",
    "their", "his", "her", "our", "your", "my", "into", "about", "than", "so", "if", "because", "this", "these",
    "those", "very", "not", "no", "over", "under", "between", "through", "during", "after", "before", "how", "what",
    "why", "can", "will", "would", "should", "must", "do", "does", "it", "we", "they", "he", "she", "you", "i",
}
_CLAUSE_START = {"who", "that", "which", "where", "when", "while", "whose", "because", "so", "with", "for", "in",
                 "on", "at", "from", "and", "by", "during", "after", "before", "as"}


def whole_phrase(text: str, max_words: int = 12) -> str:
    """Shorten text to at most ``max_words`` words, ending on a word that can end a phrase."""
    words = text.split()
    if len(words) > max_words:
        cut = max_words
        # Prefer to stop before a clause or prepositional phrase that would not fit.
        for i in range(max_words, 2, -1):
            if words[i].lower().strip(",;:") in _CLAUSE_START:
                cut = i
                break
        words = words[:cut]
    while len(words) > 1 and words[-1].lower().strip(",;:—-") in _OPEN_END:
        words.pop()
    return " ".join(words).strip(" ,;:—-")


def document_phrase(instruction: str) -> str:
    """The instruction without its verb and length: "a 1500-word short story about X" -> "short story about X"."""
    text = re.sub(r"\s+", " ", instruction).strip()
    text = re.sub(r"^(please\s+)?(can you\s+)?(write|draft|compose|create|produce|give me)\s+(me\s+)?", "", text,
                  flags=re.IGNORECASE)
    text = re.sub(r"^(an?\s+|the\s+)", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^(about|around|approximately|roughly|some|at least|no less than)\s+", "", text,
                  flags=re.IGNORECASE)
    text = re.sub(r"^[\d,.]+\s*(k\s*)?[\s-]*(words?|pages?)\b[\s-]*(long\s+)?(of\s+)?", "", text,
                  flags=re.IGNORECASE)
    text = re.sub(r"^(an?\s+|the\s+)", "", text, flags=re.IGNORECASE)
    return re.split(r"(?<=[a-z0-9])\.(\s|$)", text)[0].strip()


# Where a long outline borrows its further sections from, nearest kind first (a history never borrows a
# story's "An unexpected visitor").
_BORROW_FROM = {
    "story": ("essay", "article"),
    "history": ("article", "report", "essay"),
    "article": ("history", "report", "essay", "guide"),
    "report": ("article", "essay", "guide", "history"),
    "essay": ("article", "report", "history"),
    "guide": ("article", "report", "essay"),
}


def kind_outline(instruction: str, target_words: int, count: int) -> Plan:
    """An outline suited to the kind of text asked for (story, report, guide, essay, article)."""
    zh = detect_language(instruction) == "zh"  # a Japanese instruction gets the English outline, not Chinese
    kind = text_kind(instruction)
    items = (KIND_OUTLINES_ZH if zh else KIND_OUTLINES_EN)[kind]
    subject = subject_of(instruction)
    picked: list[tuple[str, str]]
    if count <= 1:
        picked = [items[0]]
    elif count <= len(items):
        # The first and the last stay; the middle is spread over what the outline offers.
        middle = items[1:-1]
        inner = count - 2
        picked = [items[0]]
        picked += [middle[round(i * (len(middle) - 1) / max(1, inner - 1))] if inner > 1 else middle[0]
                   for i in range(inner)] if inner > 0 else []
        picked.append(items[-1])
        # Spreading may pick one item twice when count is close to the length: fall back to plain order.
        if len({t for t, _ in picked}) < count:
            picked = [items[0], *middle[:inner], items[-1]]
    else:
        # More sections than this kind's outline has: borrow the other kinds' middle sections first.
        pool = KIND_OUTLINES_ZH if zh else KIND_OUTLINES_EN
        borrowed: list[tuple[str, str]] = list(items[1:-1])
        for other in _BORROW_FROM[kind]:
            kept = [items[0], *borrowed, items[-1]]
            borrowed += [item for item in pool[other][1:-1]
                         if not any(t == item[0] or _similar(t, item[0], 0.75) for t, _ in kept)
                         and not _INTRO.search(item[0]) and not _OUTRO.search(item[0])]
        lead = _AGAIN_ZH if zh else _AGAIN_EN
        rounds = []
        extra = count - 2
        for i in range(extra):
            title, point = borrowed[i % len(borrowed)]
            round_ = i // len(borrowed)
            if round_:
                title = f"{lead[(round_ - 1) % len(lead)]}{title if zh else title[0].lower() + title[1:]}"
            rounds.append((title, point))
        picked = [items[0], *rounds, items[-1]]
    sections = [Section(title, point.replace("{s}", subject), 1) for title, point in picked[:count]]
    return rescale(Plan(sections), target_words)


def generic_outline(instruction: str, target_words: int, count: int) -> Plan:
    """A neutral outline the user can edit, for models that cannot plan: suited to the kind of text."""
    return kind_outline(instruction, target_words, count)


# -- checks ----------------------------------------------------------------------------------------

_STRAY_LETTER = lazy_compile(r"(?<![\w'’])(?![aAI](?![\w'’]))[^\W\d_](?![\w'’])")
_MID_CAPITAL = lazy_compile(r"[a-z][A-Z]")
_TASK_WORDS = lazy_compile(r"\b(?:words?|section|paragraph|title|main point|write|writing plan)\b|字数|部分|段落",
                         re.IGNORECASE)
_INTRO = lazy_compile(r"^(?:introduction|intro|overview|引言|前言|导言|简介)\b", re.IGNORECASE)
_OUTRO = lazy_compile(r"^(?:conclusion|conclusions|summary|final thoughts|closing thoughts|epilogue|结语|结论|总结)\b",
                    re.IGNORECASE)


def _content_words(text: str) -> set[str]:
    if has_cjk(text):
        chars = re.findall(r"[\u4e00-\u9fff]", text)
        return {a + b for a, b in zip(chars, chars[1:])}
    return {w[:6] for w in re.findall(r"[^\W\d_]+", text.lower()) if len(w) > 3 and w not in _OPEN_END}


def _stems_for_quality(text: str) -> set[str]:
    """Content-word stems (CJK character pairs) of a text, for judging whether a document stays on subject."""
    return _content_words(text)


def _similar(a: str, b: str, threshold: float) -> bool:
    wa, wb = _content_words(a), _content_words(b)
    if not wa or not wb:
        return False
    shared = len(wa & wb)
    return wa == wb or (shared >= 2 and shared / min(len(wa), len(wb)) >= threshold)


_TITLE_WORD = lazy_compile(r"[^\W\d_][\w'’-]*")


def _same_title(a: str, b: str) -> bool:
    """Two titles a reader would take for one ("Early trams" and "Early Trams 2", or most words shared)."""
    return _norm_title(a) == _norm_title(b) or _similar(a, b, 0.75)


def _numbers(point: str, instruction: str) -> tuple[int, int]:
    """(numbers the instruction does not have, words) in a main point: "2012, 000- 200, 000" is no point."""
    tokens = re.findall(r"\w+", point)
    return sum(1 for t in tokens if t.isdigit() and t not in instruction), len(tokens)


def _repeats_itself(title: str) -> str | None:
    """A title that says a word twice in a row ("Digital Libraries ire ire") or a two-word phrase twice
    ("Public Libraries: Public Libraries: Technology")."""
    words = _TITLE_WORD.findall(title)
    for a, b in zip(words, words[1:]):
        if a.lower() == b.lower() and not (a[:1].isupper() and b[:1].isupper()):  # "Bora Bora" is a name
            return "a repeated word"
    lower = [w.lower() for w in words]
    pairs = [(a, b) for a, b in zip(lower, lower[1:]) if not (a in _OPEN_END and b in _OPEN_END)]
    return "repeats itself" if len(pairs) != len(set(pairs)) else None


def _stray_last_word(title: str, instruction: str) -> bool:
    """A title in title case whose last word alone is in lower case and not a small word ("... Digital
    Libraries ire", "The World in rome"): a token the model was pushed into, not a word it meant."""
    words = _TITLE_WORD.findall(title)
    if len(words) < 3:
        return False
    last = words[-1]
    if not last[:1].islower() or last.lower() in _OPEN_END or any(c.isupper() for c in last):  # "iOS"
        return False
    if last.lower() in {w.lower() for w in _TITLE_WORD.findall(instruction)}:
        return False
    capitals = [w for w in words[:-1] if w[:1].isupper()]
    return len(capitals) >= 2 and all(w[:1].isupper() for w in words[:-1] if w.lower() not in _OPEN_END)


def title_problem(title: str, instruction: str, index: int, count: int) -> str | None:
    """Why a section title is not one a writer would keep, or None."""
    text = title.strip()
    if not text:
        return "empty"
    words = text.split()
    if len(words) > 12 or (not has_cjk(text) and len(text) > 90) or (has_cjk(text) and len(text) > 24):
        return "too long"
    if not has_cjk(text):
        if _STRAY_LETTER.search(text):
            return "a stray letter"
        if _MID_CAPITAL.search(text) or any(len(w) > 15 for w in re.findall(r"[^\W\d_]+", text)):
            return "a broken word"
        if words[-1].lower().strip(",;:-") in _OPEN_END and len(words) > 1:
            return "stops mid-phrase"
        repeated = _repeats_itself(text)
        if repeated:
            return repeated
        if _stray_last_word(text, instruction):
            return "a stray word at its end"
    digits = re.findall(r"\d+", text)
    if any(d not in instruction for d in digits):
        return "a number the instruction does not have"
    if _TASK_WORDS.search(text):
        return "talks about the task"
    if re.search(r"\bby (?:dr\.? |mr\.? |mrs\.? |ms\.? )?[A-Z][a-z]+$", text, re.IGNORECASE) and \
            re.search(r"[A-Z][a-z]+$", text) and not re.search(r"\b(\w+) by \1$", text, re.IGNORECASE):  # Step by Step
        return "a byline"
    if _INTRO.search(text) and index != 0:
        return "an introduction placed mid-way"
    if _OUTRO.search(text) and index != count - 1:
        return "a conclusion placed mid-way"
    return None


def plan_problems(plan: Plan, instruction: str, *, subject: bool = False, count: int | None = None
                  ) -> dict[int, str]:
    """Sections whose title fails the checks, or whose title or main point repeats an earlier one; with
    ``subject`` (a model's plan), also sections that share no word with the instruction. ``count``: the
    sections the whole plan will have, where ``plan`` holds the first lines only."""
    problems: dict[int, str] = {}
    count = len(plan.sections) if count is None else count
    topic = _content_words(instruction)  # every main point may name the subject: compare what else they say
    points = [" ".join(w for w in section.main_point.split() if not (_content_words(w) & topic))
              for section in plan.sections]
    # A plan none of whose sections shares a word with the instruction is about something else. (Single
    # sections may well not: a guide's "Riding in the rain" is on its subject without saying "bicycle".)
    off_subject = subject and bool(topic) and len(plan.sections) > 1 and not any(
        _content_words(f"{s.title} {s.main_point}") & topic for s in plan.sections)
    language = detect_language(instruction) if subject else ""
    for i, section in enumerate(plan.sections):
        problem = title_problem(section.title, instruction, i, count)
        if problem is None and language:
            # A small model's second plan once ran off into German gibberish for an English manual.
            # The title alone too: a Chinese main point hid "The True Story of China & the World You Only Know".
            shown = {language_evidence(section.title), language_evidence(f"{section.title}. {section.main_point}")}
            if shown - {"", language}:
                problem = "not in the instruction's language"
        if problem is None:
            for j in range(i):
                other = plan.sections[j]
                if _same_title(other.title, section.title):
                    problem = "repeats an earlier title"
                    break
                if _similar(points[j], points[i], 0.7):
                    problem = "its main point repeats an earlier one"
                    break
        if problem is None and len(section.main_point.split()) < 3 and not has_cjk(section.main_point):
            problem = "no real main point"
        if problem is None:
            numbers, words = _numbers(section.main_point, instruction)
            if numbers >= 2 and numbers > words / 4:  # "2012, 000- 200, 000 in the country."
                problem = "numbers for a main point"
        if problem is None and off_subject:
            problem = "off the subject"
        if problem is not None:
            problems[i] = problem
    return problems


def duplicate_titles(plan: Plan) -> list[int]:
    """Indices of sections whose title is empty or repeats an earlier one (ignoring case and digits)."""
    seen: set[str] = set()
    bad = []
    for i, section in enumerate(plan.sections):
        key = _norm_title(section.title)
        if not key or key in seen:
            bad.append(i)
        seen.add(key)
    return bad


def repair(plan: Plan, instruction: str, target_words: int, count: int) -> tuple[Plan, list[str]]:
    """Fix what a model's plan gets wrong; returns the plan and notes on what was changed."""
    notes: list[str] = []
    sections = [replace(s) for s in plan.sections if s.title.strip() or s.main_point.strip()]
    if len(sections) != count:
        notes.append(f"the model gave {len(sections)} sections; {count} were asked for")
    fixed = Plan(sections[:count]) if sections else Plan([])
    problems = plan_problems(fixed, instruction, subject=True)
    if not fixed.sections or len(problems) > len(fixed.sections) // 3:
        kind = text_kind(instruction)
        article = "an" if kind[:1] in "aeiou" else "a"
        notes.append(f"the model's plan did not hold together; an outline for {article} {kind} was used instead: "
                     "edit it freely")
        return kind_outline(instruction, target_words, count), notes
    outline = kind_outline(instruction, target_words, count + len(problems) + count).sections
    used = {_norm_title(s.title) for i, s in enumerate(fixed.sections) if i not in problems}

    def fresh(index: int) -> Section:
        # The outline's section at about the same place in the text, else the next unused one.
        order = sorted(range(len(outline)), key=lambda k: abs(k / max(1, len(outline) - 1)
                                                                - index / max(1, count - 1)))
        for k in order:
            candidate = outline[k]
            if _norm_title(candidate.title) not in used and title_problem(
                    candidate.title, instruction, index, count) is None:
                used.add(_norm_title(candidate.title))
                return candidate
        raise AssertionError("the outline has more titles than sections")

    for i, problem in sorted(problems.items()):
        section = fixed.sections[i]
        # A good main point under a bad title keeps its point; the title is taken from it where it reads well.
        from_point = whole_phrase(section.main_point.rstrip(".。"), 6)
        if problem != "its main point repeats an earlier one" and from_point and not title_problem(
                from_point, instruction, i, count) and _norm_title(from_point) not in used and \
                len(section.main_point.split()) >= 4 and not any(
                    _similar(section.main_point, other.main_point, 0.7)
                    for j, other in enumerate(fixed.sections) if j != i and j not in problems):
            section.title = from_point[:1].upper() + from_point[1:]
            used.add(_norm_title(section.title))
            continue
        replacement = fresh(i)
        section.title, section.main_point = replacement.title, replacement.main_point
    if problems:
        notes.append(f"{len(problems)} section titles were replaced ("
                     + "; ".join(sorted(set(problems.values()))) + ")")
    mean = max(1, round(sum(s.target_words for s in fixed.sections) / max(1, len(fixed.sections))))
    while len(fixed.sections) < count:
        replacement = fresh(len(fixed.sections))
        fixed.sections.append(Section(replacement.title, replacement.main_point, mean))
    before = [s.target_words for s in fixed.sections]
    fixed = rescale(fixed, target_words)
    if before != [s.target_words for s in fixed.sections]:
        notes.append(f"word targets were rescaled to add up to {target_words:,}")
    return fixed, notes


# -- generation ------------------------------------------------------------------------------------


# Letters of every script our languages use, for GBNF character classes (llama.cpp's grammar takes code
# point ranges, not Unicode categories): Latin with accents, Greek and Cyrillic, Armenian, Hebrew and
# Arabic, the Indic scripts, Thai, Lao and Burmese, Georgian and Hangul jamo, Khmer, Vietnamese and
# polytonic Greek, kana, CJK, Hangul syllables, full-width letters. Few, wide ranges: llama.cpp checks a
# character against the ranges one by one, for every candidate token at every step.
_GBNF_LETTERS = (
    "\\u00c0-\\u024f\\u0370-\\u052f\\u0531-\\u06ff\\u0750-\\u077f\\u0900-\\u109f\\u10a0-\\u11ff\\u1780-\\u17ff"
    "\\u1e00-\\u1fff\\u3005-\\u3007\\u3040-\\u30ff\\u3400-\\u9fff\\uac00-\\ud7af\\uf900-\\ufaff"
    # full-width digits and Latin letters, not the full-width ？＾；＠ between them
    "\\uff10-\\uff19\\uff21-\\uff3a\\uff41-\\uff5a"
)
# Punctuation inside a title or a main point: typographic apostrophes and quotes (’ ‘ ‚ “ ” „ « »), ¿ ¡,
# no-break spaces (French "Titre : sous-titre"), Arabic ، ؛, CJK 、「」『』 and full-width ，：；（）.
_GBNF_TITLE_PUNCT = ("\\u2018-\\u201e\\u00ab\\u00bb\\u00bf\\u00a1\\u00a0\\u202f\\u060c\\u3001\\u300c-\\u300f"
                     "\\uff0c\\uff1a")
_GBNF_POINT_PUNCT = _GBNF_TITLE_PUNCT + "\\u061b\\uff1b\\uff08\\uff09"
# A main point ends its one sentence with . ! ? 。！？ ؟ or ।.
_GBNF_POINT_END = ".!?\\u3002\\uff01\\uff1f\\u061f\\u0964"


def plan_grammar(count: int, *, title_digits: bool = True, first: int = 1) -> str:
    """GBNF for exactly ``count`` plan lines: every model, however small, yields a parseable plan.

    The line form reads like prose, which small models follow far better than JSON. A title is made of
    whole words (a capital only at a word's start, numbers as words of their own, two words joined by a
    hyphen) and ends where the model
    ends it, after at most 10 words: no title is cut mid-word at a character count. Without
    ``title_digits`` a title has no digits (an instruction with no number but its length: the built-in
    model otherwise dates its titles, "A Community, 2030", and the whole plan fails its checks). ``first``: the
    number of the first line to write (the lines before it are in the prompt already).
    """
    lines = ["root ::= " + " ".join(f"s{i}" for i in range(first, count + 1))]
    lines += [
        f's{i} ::= "Section {i} - Title: " title " - Main point: " point " - Words: " num "\\n"'
        for i in range(first, count + 1)
    ]
    lines += [
        'title ::= tfirst (tsep tword){0,9}',
        # A hyphen joins two words ("four-day"): without it a model glues them ("fourdayworkshi").
        'tfirst ::= upper lower{0,13} ("-" letter lower{0,11})? | upper{2,5} | cjk{1,16}',
        'tword ::= letter lower{0,13} ("-" letter lower{0,11})? | upper{2,5} | ' + (
            'digit{1,4} | ' if title_digits else '') + 'cjk{1,16}',
        'tsep ::= " " | ", " | ": " | " & "',
        'point ::= pword (psep pword){1,29} [' + _GBNF_POINT_END + ']',
        'pword ::= (letter | digit) (lower | digit | "\'" | "-"){0,19} | upper{2,5} | cjk{1,30}',
        'psep ::= " " | ", " | "; " | [' + _GBNF_POINT_PUNCT + '] " "?',
        # Any letter of any script (the instruction's language decides); a capital only at a word's start.
        f"upper ::= [A-Z{_GBNF_LETTERS}]",
        f"lower ::= [a-z{_GBNF_LETTERS}]",
        f"letter ::= [A-Za-z{_GBNF_LETTERS}]",
        "digit ::= [0-9]",
        "cjk ::= [\\u4e00-\\u9fff\\u3040-\\u30ff]",
        "num ::= [1-9] [0-9]{1,3}",
    ]
    return "\n".join(lines)


def numbers_beside_length(instruction: str) -> bool:
    """Whether an instruction has a number other than its length ("1920s Vienna", "a 5-step plan"): only then
    may a title carry digits (the title checks refuse any number the instruction does not have)."""
    return bool(re.search(r"\d", without_length(instruction)))


def plan_instruction(instruction: str, target_words: int, count: int, notes: str = "",
                     rule: LengthRule | None = None) -> str:
    rule = rule or LengthRule(language=detect_language(instruction))
    form = "Section N - Title: ... - Main point: ... - Words: N"
    if rule.language == "zh":
        text = (
            f"请为下面的写作任务制定写作计划：{instruction}\n\n全文约{target_words}字，分成{count}个部分，每行一个部分，"
            f"格式为：{form}。标题简短；主要内容用一句话说明；各部分互不重复，覆盖任务的不同方面。任务：{instruction}"
        )
    else:
        text = (
            f"Make a writing plan for this task: {instruction}\n\nThe text is about {target_words} {rule.label()} "
            f"in {count} sections. Give each section a short title of two to six words, its main point in one "
            f"sentence, and its length in {rule.label()}, one section per line, in this form: {form}\nEach section "
            f"covers a different aspect of the task, in the order the text should run; no two are alike. The task "
            f"again: {instruction}"
        )
        if rule.language != "en":
            text += f"\nWrite the titles and main points in the task's language. {write_in(rule.language)}"
    if notes.strip():
        text += f"\n\nWriting notes:\n{notes.strip()}"
    return text


def parse_plan_line(line: str) -> Section | None:
    """One line of a plan in the line form, or None when the line is not one."""
    match = _SECTION_LINE.match(line.strip())
    if not match:
        return None
    words = int(match.group("words").replace(",", "")) or 1
    return Section(match.group("title").strip(" ,:"), match.group("point").strip(), words)


def parse_generated_plan(text: str) -> Plan:
    """Parse a model's plan (line form or JSON), tolerating junk and a truncated tail."""
    sections = [section for section in map(parse_plan_line, text.splitlines()) if section is not None]
    if sections:
        return Plan(sections)
    start = text.find("{")
    candidate = text[start:] if start >= 0 else text
    try:
        return parse_plan_json(json.loads(candidate))
    except (json.JSONDecodeError, InputError):
        pass
    # Repair pass: take every complete section object that can be found.
    sections = []
    for match in re.finditer(r"\{[^{}]*\}", candidate):
        try:
            item = json.loads(match.group(0))
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict) and ("title" in item or "main_point" in item):
            raw = item.get("words", item.get("target_words", 300))
            try:
                words = max(1, int(str(raw).replace(",", "")))
            except ValueError:
                words = 300
            sections.append(Section(str(item.get("title", "")).strip(), str(item.get("main_point", "")).strip(),
                                    words))
    if sections:
        return Plan(sections)
    try:
        return parse_plan_text(text)
    except InputError:
        return Plan([])


@dataclass
class PlanResult:
    plan: Plan
    prompt_tokens_evaluated: int = 0
    completion_tokens: int = 0
    notes: list[str] = field(default_factory=list)


# Token penalties (repeat, presence) are off for plans: the lines share their fixed words, and pushing down every
# token seen lately pushes down the space-led word tokens most of all, so a small model glued words together
# ("in orderstomakeit", "thatntookhuman"). Titles and points are kept apart at the word level instead: a word
# that would repeat a 3-word sequence of the plan's own titles and points is pushed down (PLAN_REPEAT_PENALTY).
# A line that fails the checks is taken back and sampled again from where it started, with a fresh seed and a
# warmer temperature each time (LINE_TEMPERATURES: its tries in all); the lines before it stay. Asking for the
# whole plan again threw away the good lines with the bad: on short documents the plan was a third of the tokens.
LINE_TEMPERATURES = (0.7, 0.85, 1.0)
PLAN_NGRAM = 3
PLAN_REPEAT_PENALTY = 4.0
# The free parts of the grammar's lines: a title or a main point runs to " -" (neither can hold one).
_PLAN_FREE = lazy_compile(r"(?:Title|point): ([^\n]*?)(?= -|$)", re.MULTILINE)


class _PlanRepeats:
    """The words of the plan's titles and main points that would repeat a 3-word sequence of the plan."""

    def __init__(self) -> None:
        self.ban = NgramBan(PLAN_NGRAM)
        self.text = ""

    def free_text(self) -> str:
        """The titles and points written so far, each a sentence of its own (no sequence runs from one into the
        next); it only grows as the plan does (a field ends at its " -"), as the n-gram ban needs."""
        return " . ".join(m.group(1) for m in _PLAN_FREE.finditer(self.text))

    def banned(self) -> tuple[frozenset[str], bool]:
        return self.ban.banned(self.free_text())


_PARTIAL_LINE = lazy_compile(r"\s*section\s*\d*\s*-\s*title:\s*(?P<title>.*?)\s+-\s+main point:\s*(?P<point>.*)$",
                             re.IGNORECASE | re.DOTALL)


@dataclass
class _PlanLines:
    """The lines of a plan as the model writes them, and what a failing line may still cost."""

    count: int
    instruction: str
    kept: list[Section] = field(default_factory=list)
    text: str = ""  # the kept lines as the model wrote them (the next pass reads on from them)
    tries: int = 0  # of the line being written
    retries: int = 0  # of the whole plan: about one line in three may be sampled again (fails)
    failed: int = 0  # lines kept after their last try failed too (the repair gives them new titles)
    excused: bool = False  # the line being written failed its last try and is kept as it is
    gave_up: bool = False
    _title: tuple[str, str | None] = ("", None)  # the finished title of the line being written, and its problem

    def temperature(self) -> float:
        return LINE_TEMPERATURES[min(self.tries, len(LINE_TEMPERATURES) - 1)]

    def keep(self, section: Section, line: str) -> None:
        self.kept.append(section)
        self.text += line.rstrip("\n") + "\n"
        self.tries = 0
        self.excused = False
        self._title = ("", None)

    def fails(self) -> bool:
        """The line being written failed its checks: True when this pass stops (the line is sampled again, or
        the model cannot plan this text and the repair or the outline takes over now, not after more of its
        lines: the built-in model's plans failed for most dev prompts, and their tokens were a third of a short
        document's); False when the line is kept as it is, for the repair to mend."""
        if self.excused:
            return False
        # A third of the lines and one more; a short plan's one retry (its tokens weigh most in a short text).
        budget = self.count // 3 + 1 if self.count > 3 else 1
        if self.tries < len(LINE_TEMPERATURES) - 1 and self.retries < budget:
            self.tries += 1
            self.retries += 1
            return True
        self.failed += 1
        self.gave_up = self.retries >= budget or self.failed > self.count // 3
        self.excused = not self.gave_up
        return self.gave_up

    def early_problem(self, partial: str) -> str | None:
        """What fails in a line still being written: its title once it is finished, a main point of numbers."""
        match = _PARTIAL_LINE.match(partial)
        if not match:
            return None
        title = match.group("title").strip(" ,:")
        if self._title[0] != title:  # judged once, not again for every token of its main point
            problem = title_problem(title, self.instruction, len(self.kept), self.count)
            if problem is None and any(_same_title(s.title, title) for s in self.kept):
                problem = "repeats an earlier title"
            self._title = (title, problem)
        numbers, _words = _numbers(match.group("point"), self.instruction)
        return self._title[1] or ("numbers for a main point" if numbers >= 3 else None)


def generate_plan(
    backend: Backend,
    instruction: str,
    target_words: int,
    *,
    notes: str = "",
    sampling: Sampling | None = None,
    cancel: threading.Event | None = None,
    result: PlanResult | None = None,
    count: int | None = None,
    title: str = "",
    rule: LengthRule | None = None,
) -> Iterator[Event]:
    """Ask the model for a plan (grammar-constrained where the backend allows); ends with PlanReady."""
    count = count or section_count_for(target_words)
    result = result if result is not None else PlanResult(Plan([]))
    yield PlanningStarted(target_words, count)
    if count == 1:
        result.plan = Plan([Section(title or _title_from_point(instruction), instruction.strip(), target_words)])
        yield PlanReady(result.plan, generated=False)
        return
    sampling = sampling or Sampling()
    fmt = backend.prompt_format
    rule = rule or LengthRule(language=detect_language(instruction))
    prompt_text = fmt.render(plan_instruction(instruction, target_words, count, notes, rule))
    supports_grammar = getattr(backend, "supports_grammar", backend.tokenizes)
    digits = numbers_beside_length(instruction)
    head: Sequence[int] = backend.bos_tokens() + backend.tokenize(prompt_text) if backend.tokenizes else []
    # Scripts other than Latin take several tokens a word in most tokenizers.
    latin = rule.language in ("en", "fr", "de", "es", "it", "pt", "pl", "nl", "tr")
    per_line = 120 if latin and not has_cjk(instruction) else 220
    lines = _PlanLines(count, instruction)
    passes = 0
    while len(lines.kept) < count and not lines.gave_up and passes < count * len(LINE_TEMPERATURES):
        if cancel is not None and cancel.is_set():
            return
        attempt_sampling = replace(
            sampling, seed=None if sampling.seed is None else sampling.seed + passes * 7919,
            repeat_penalty=1.0, presence_penalty=0.0, temperature=max(sampling.temperature, lines.temperature()))
        grammar = plan_grammar(count, title_digits=digits, first=len(lines.kept) + 1) if supports_grammar else None
        read_on = backend.tokenize(lines.text, special=False) if lines.text and backend.tokenizes else []
        prompt: Sequence[int] | str = [*head, *read_on] if backend.tokenizes else prompt_text + lines.text
        passes += 1
        text = ""
        whole = ""  # this pass's reply
        finish: Finish | None = None
        repeats = _PlanRepeats()
        stop = StopSignal(cancel)
        request = GenerationRequest(prompt, (count - len(lines.kept)) * per_line + 32, attempt_sampling,
                                    stop=fmt.stops, grammar=grammar, cancel=stop, avoid=repeats.banned,
                                    avoid_penalty=PLAN_REPEAT_PENALTY)
        for item in backend.generate(request):
            if not isinstance(item, Delta):
                finish = item
                continue
            if stop.is_set():
                continue
            text += item.text
            whole += item.text
            repeats.text = lines.text + text
            while "\n" in text and len(lines.kept) < count:
                line, text = text.split("\n", 1)
                section = parse_plan_line(line)
                if section is None:
                    continue  # not a plan line (a model without the grammar): read past it
                problem = plan_problems(Plan([*lines.kept, section]), instruction, subject=True,
                                        count=count).get(len(lines.kept))
                if problem is not None and lines.fails():
                    stop.set()
                    break
                lines.keep(section, line)
                yield PlanningProgress(len(lines.kept), count)
            if not stop.is_set() and text and not lines.excused and lines.early_problem(text) and lines.fails():
                stop.set()  # the line's title (or its numbers) already fail: no need to wait for its end
        if finish is not None:
            result.prompt_tokens_evaluated += finish.prompt_tokens_evaluated
            result.completion_tokens += finish.completion_tokens
            if finish.reason is FinishReason.CANCELLED and cancel is not None and cancel.is_set():
                return
        if lines.gave_up or stop.is_set():
            continue  # given up (the loop ends), or the failing line is sampled again
        if len(lines.kept) < count and text.strip():  # a last line the model did not end with a line break
            section = parse_plan_line(text)
            if section is not None:
                lines.keep(section, text)
        if not lines.kept:
            lines.kept = list(parse_generated_plan(whole).sections)  # the whole plan in another form (JSON)
        break
    fixed, repair_notes = repair(Plan(lines.kept), instruction, target_words, count)
    result.plan = fixed
    result.notes = repair_notes
    for note in repair_notes:
        yield Warning(f"Plan: {note}.", kind="plan")
    yield PlanReady(fixed, generated=True, notes=tuple(repair_notes))


