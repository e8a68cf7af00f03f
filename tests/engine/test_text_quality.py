"""Checks that keep the text worth keeping: plan titles, echoed instructions, drift, the n-gram control."""

from __future__ import annotations

import pytest

from longwriter_desktop.engine.backend import Sampling
from longwriter_desktop.engine.events import PlanningProgress, PlanReady
from longwriter_desktop.engine.plan import (
    Plan,
    Section,
    generate_plan,
    kind_outline,
    numbers_beside_length,
    plan_grammar,
    plan_problems,
    repair,
    text_kind,
    title_problem,
    whole_phrase,
)
from longwriter_desktop.engine.repetition import NgramBan, TextChecks, is_echo, overused_words, script_of
from longwriter_desktop.engine.writer import document_title, extract_summary
from longwriter_desktop.testing.scripted import ScriptedBackend

# -- plan titles ---------------------------------------------------------------------------------------

BROKEN_TITLES = [
    "Money is the keyA",
    "Building your own business A 1 B 3 B 2 1",
    "The Bumblebee's Communication: Bees' Song 14",
    "Short story about a cartographer who maps a city that",
    "Write about 400 words on the garden",
    "A Community Health Initiative That Will Change the World by Dr Maria",
    "",
    # Seen on the built-in model (a grammar-bound plan with its word-level repeat control):
    "Public Libraries: A New Era of Digital Libraries ire ire",
    "Digital Library Has Improved Digital Library",
    "Public Libraries: Public Libraries: Technology",
    "Bicycles: The World in rome",
]


@pytest.mark.parametrize("title", BROKEN_TITLES)
def test_broken_titles_are_caught(title: str) -> None:
    assert title_problem(title, "Write a 3000-word guide to bicycle touring.", 2, 8) is not None


@pytest.mark.parametrize("title", [
    "The first bike tour", "Packing light", "Roads, maps & weather", "What 3000 miles teach", "I learn to fall",
    "Step by Step", "Day by Day in the Hills", "Bora Bora on Two Wheels", "The Rise and Fall of the Penny-Farthing",
    "Riding in the rain", "Face to Face With the Road", "Packing for bicycle touring",
])
def test_good_titles_pass(title: str) -> None:
    assert title_problem(title, "Write a 3000-word guide to bicycle touring.", 2, 8) is None


def test_introduction_only_first_and_conclusion_only_last() -> None:
    assert title_problem("Introduction", "x", 0, 5) is None
    assert title_problem("Introduction", "x", 3, 5) is not None
    assert title_problem("Conclusion", "x", 4, 5) is None
    assert title_problem("Conclusion", "x", 1, 5) is not None


def test_repeated_titles_and_main_points_are_problems() -> None:
    plan = Plan([
        Section("Packing light", "Choose a small tent, a stove and a light sleeping bag.", 300),
        Section("Packing light", "What to leave at home when space is short.", 300),
        Section("Road safety", "Choose a small tent, a stove and a light sleeping bag.", 300),
    ])
    problems = plan_problems(plan, "Write a guide to bicycle touring.")
    assert set(problems) == {1, 2}


def test_sections_in_another_language_are_problems_of_a_models_plan() -> None:
    # Seen on the built-in model: an English manual's second plan ran off into German ("Das ist nein, der").
    plan = Plan([
        Section("Your first shift", "What a new volunteer does on the first day at the food bank.", 300),
        Section("Das ist nein, der", "Das wird ein, entscheidet ein, ein entschiedet, der.", 300),
        Section("Sorting donations", "How food is checked, sorted and shelved.", 300),
        Section("Safety", "Lifting, hygiene and cold storage.", 300),
    ])
    instruction = "Write a training manual for new volunteers at a community food bank."
    assert plan_problems(plan, instruction, subject=True) == {1: "not in the instruction's language"}
    assert plan_problems(plan, instruction) == {}  # the writer's own outlines and a user's plan are not judged so
    # A title with no word of any language in it ("Food", a name) is no problem in any instruction's language.
    french = Plan([Section("Le vélo en ville", "Pourquoi le vélo change la ville.", 300),
                   Section("Lyon", "Les pistes cyclables de Lyon et leurs usagers.", 300)])
    assert plan_problems(french, "Écris un article de 600 mots sur le vélo en ville.", subject=True) == {}
    # An English title over a Chinese main point, in a Chinese plan (seen on the built-in model).
    chinese = Plan([Section("茶的起源", "介绍中国茶的起源和早期历史。", 300),
                    Section("The True Story of China & the World", "茶叶如何从中国传到世界各地。", 300),
                    Section("今天的茶", "现代中国人怎样喝茶。", 300)])
    instruction = "写一篇900字的文章，介绍中国茶文化的历史与现状。"
    assert plan_problems(chinese, instruction, subject=True) == {1: "not in the instruction's language"}


def test_a_plan_beyond_repair_becomes_an_outline_of_its_kind() -> None:
    instruction = "Write an 8000-word mystery novella set on a night train."
    broken = Plan([Section(f"Money is the keyA {i}", "x", 100) for i in range(10)])
    plan, notes = repair(broken, instruction, 8000, 10)
    assert text_kind(instruction) == "story"
    assert "Introduction" not in [s.title for s in plan.sections]
    assert plan_problems(plan, instruction) == {}
    assert plan.total_words == 8000 and len(plan.sections) == 10
    assert any("story" in note for note in notes)


def test_a_few_bad_titles_are_replaced_and_the_rest_kept() -> None:
    instruction = "Write a 2000-word guide to bicycle touring."
    plan = Plan([
        Section("Choosing a bicycle", "Frames, gears and tyres that suit long rides.", 400),
        Section("Packing lightA", "What to carry and how to pack panniers evenly.", 400),
        Section("Planning the route", "Maps, daily distances and places to sleep.", 400),
        Section("Riding in the rain", "Clothing and braking when the roads are wet.", 400),
        Section("Food on the road", "Eating well from village shops and a small stove.", 400),
    ])
    fixed, notes = repair(plan, instruction, 2000, 5)
    titles = [s.title for s in fixed.sections]
    assert titles[0] == "Choosing a bicycle" and titles[2] == "Planning the route"
    assert titles[1] != "Packing lightA" and plan_problems(fixed, instruction) == {}
    assert any("replaced" in note for note in notes)


@pytest.mark.parametrize(("instruction", "kind"), [
    ("Write a 1500-word short story about a lighthouse keeper.", "story"),
    ("Write an 800-word news report about a library.", "report"),
    ("Write a 6000-word training manual for volunteers.", "guide"),
    ("Write an essay arguing for night trains.", "essay"),
    ("Write a 400-word blog post about houseplants.", "article"),
    ("写一篇1500字的新闻报道，讲述一个山村小学第一次接入互联网。", "report"),
    ("Write a 20000-word history of the printing press and its effects on Europe, in chapters.", "history"),
    ("Write a short biography of Ada Lovelace.", "history"),
    ("写一部三万字的中国茶叶简史。", "history"),
    ("写一篇2000字的文章，介绍中国茶文化的历史与现状。", "article"),  # an article that covers history too
    ("Write an essay on the history of jazz.", "essay"),
])
def test_kind_of_text(instruction: str, kind: str) -> None:
    assert text_kind(instruction) == kind
    for count in (2, 5, 12, 27):
        outline = kind_outline(instruction, 300 * count, count)
        assert len(outline.sections) == count
        assert plan_problems(outline, instruction) == {}


@pytest.mark.parametrize(("instruction", "title"), [
    ("Write a short story about a cartographer who maps a city that does not exist yet.",
     "Short story about a cartographer who maps a city"),
    ("Write a 10000-word novella about two rival bakers in 1920s Vienna.",
     "Novella about two rival bakers in 1920s Vienna"),
    ("Write a 20000-word history of the printing press and its effects on Europe, in chapters.",
     "History of the printing press and its effects on Europe"),
    ("写一篇2000字的文章，介绍中国茶文化的历史与现状。", "中国茶文化的历史与现状"),
])
def test_document_title_is_a_whole_phrase(instruction: str, title: str) -> None:
    assert document_title(instruction) == title


def test_whole_phrase_never_ends_on_an_open_word() -> None:
    assert whole_phrase("The long road to the sea and the", 12) == "The long road to the sea"
    assert len(whole_phrase(" ".join(["word"] * 30), 12).split()) <= 12


# -- echoed instructions and drift ---------------------------------------------------------------------

ECHOES = [
    "You are asked to write a 380-word section that is not only the title but also the first part.",
    "This section provides tips for new riders.",
    "Write only the section you're asked for, as flowing prose.",
    "Write section 3 of 7, about the first tour. About 460 words.",
    "## The first bike tour",
    "In this article, we will explore the history of tea.",
    "本部分将介绍茶的历史。",
    "I made a few changes to the text to improve the clarity and grammar.",
    "I added a comma after the word to separate the two clauses.",
    # Commentary on the text just written (seen after a 150-word product description).
    "In this product description, I've aimed to convey the essence of the reusable glass water bottles.",
    "I've tried to convey the idea of sustainability, using words that convey a positive message.",
    "I've also tried to use a clear and concise language, avoiding jargon.",
]


@pytest.mark.parametrize("sentence", ECHOES)
def test_echoed_instructions_are_recognised(sentence: str) -> None:
    assert is_echo(sentence)


@pytest.mark.parametrize("sentence", [
    "The keeper climbed the stairs as the storm rolled in.",
    "Volunteers sort the donations into the fiction section of the shelves.",
    "Her main worry was the rent.",
    "老人每天早上都要泡一壶茶。",
    "I've tried to reach her all week, and the line is always busy.",
    "In this town, we have kept the old lighthouse burning for a century.",
    "We've tried to convey our thanks to the volunteers with a small party.",
])
def test_prose_is_not_an_echo(sentence: str) -> None:
    assert not is_echo(sentence)


def test_checks_cut_an_echo_at_its_sentence_start() -> None:
    checks = TextChecks("Write a story about a lighthouse keeper.", "The keeper: letters arrive.")
    text = "The keeper read the letter twice. This section describes the lighthouse. And then"
    found = checks.feed(text)
    assert found == (text.index("This section"), "echo")


def test_checks_cut_a_line_that_copies_the_plan() -> None:
    checks = TextChecks("Write a report on libraries.", "Opening day", other_titles=["The impact of technology"])
    text = "The doors opened at nine.\n1. The Impact of Technology: computers arrived.\nMore"
    assert checks.feed(text) == (text.index("1. The Impact"), "echo")


def test_checks_cut_another_language() -> None:
    checks = TextChecks("写一篇1500字的新闻报道，讲述一个山村小学第一次接入互联网。", "学校 网络")
    text = "山村小学今天第一次接入了互联网。The New Frontier Of Science is a journey into the unknown. 孩子们"
    found = checks.feed(text)
    assert found is not None and found[1] == "drift" and found[0] == text.index("The New")
    assert script_of("Hello there") == "latin" and script_of("你好") == "cjk"


def test_japanese_in_a_chinese_document_is_drift_and_a_japanese_one_keeps_it() -> None:
    # Kana and hanzi are one script to the script check; kana in a Chinese text is the model writing Japanese.
    on = "中国茶文化历史悠久，茶叶的种类很多。"
    japanese = "お茶の文化はとても古いです。"
    text = on + japanese + "更多"
    assert TextChecks("写一篇关于中国茶文化的文章。", "茶的历史").feed(text) == (len(on), "drift")
    assert TextChecks("日本の茶道について随筆を書いてください。", "茶道の歴史").feed(text) is None
    # A name in katakana among hanzi is not Japanese.
    assert TextChecks("写一篇关于中国茶文化的文章。", "茶的历史").feed(on + "茶商ヤマ来到杭州。" + "更多") is None


def test_checks_cut_text_that_leaves_the_subject() -> None:
    checks = TextChecks("Write a guide to bicycle touring.", "Packing the bicycle panniers.", drift_words=40)
    on = "Pack the panniers so the bicycle stays balanced. "
    off = ("The stock market rose sharply as investors bought shares of banks. Traders in London sold gold "
           "early. Bond yields fell for a third week. Analysts expect interest rates to stay where they are. "
           "Oil prices slipped after the report. Currency markets were calm. ")
    text = on + off + "More"
    found = checks.feed(text)
    assert found == (len(on), "drift")


def test_chinese_text_gets_as_much_reading_before_it_counts_as_drift() -> None:
    # The window counts characters for Chinese: twice the count, about the same reading as in English.
    checks = TextChecks("写一篇关于中国茶文化的文章。", "茶的历史", drift_words=40)
    on = "中国茶文化历史悠久。"
    off = "今天天气很好，我们一起去公园散步，看见很多孩子在玩耍。" * 2  # 52 characters, no word of the subject
    assert checks.feed(on + off + "更多") is None
    found = checks.feed(on + off * 2 + "更多")
    assert found == (len(on), "drift")


def test_what_the_document_keeps_returning_to_is_on_its_subject() -> None:
    # A story's people and places are not in its instruction: a scene about them is no drift once the
    # earlier text (or this section's sentences on the subject) keep naming them.
    instruction = "Write a short story about a lighthouse keeper who receives letters from the future."
    scene = ("Mara laughed at the harbour wall. She said the boats from Tarn were late again. Mara counted "
             "them twice. Nobody in Tarn trusted the weather that spring. Mara shrugged and went back to her "
             "nets. The boats from Tarn came in at dusk, one by one. ")
    text = "The keeper found a letter on the stairs. " + scene + "More"
    alone = TextChecks(instruction, "The first letter", drift_words=40)
    found = alone.feed(text)
    assert found is not None and found[1] == "drift"
    earlier = "Mara walked up from the harbour with bread. Mara had known the keeper for years. Boats from Tarn."
    told = TextChecks(instruction, "The first letter", drift_words=40, history=earlier)
    assert told.feed(text) is None
    # Within the section: a name that comes back in two sentences on the subject joins it.
    growing = TextChecks(instruction, "The first letter", drift_words=40)
    met = "Mara brought the keeper a letter. The keeper gave Mara the letter back. "
    assert growing.feed(met + scene + "More") is None
    # Matter that never touches the document stays drift, history or not.
    off = ("The stock market rose sharply as investors bought shares of banks. Traders in London sold gold "
           "early. Bond yields fell for a third week. Analysts expect interest rates to stay where they are. ")
    found = told.feed(text[:-4] + off + "More")
    assert found is not None and found[1] == "drift"
    assert text.index("Mara shrugged") < found[0] <= len(text) - 4  # after the last sentence on the subject


def test_task_words_are_an_echo_only_where_the_instruction_does_not_use_them() -> None:
    sentence = "The plan is to open the doors at nine, and the sports section will fill the back pages."
    for instruction in ("Write a 600-word report on city trams.", "Write a story about two rival bakers."):
        checks = TextChecks(instruction, "Opening day", drift_words=400)
        assert checks.feed("The library opened. " + sentence + " More") == (len("The library opened. "), "echo")
    # A guide to a newspaper's sports section, or to making a business plan, is about those words.
    for instruction in ("Write a guide to running a newspaper's sports section and the plan behind it.",):
        checks = TextChecks(instruction, "Opening day", drift_words=400)
        assert checks.feed("The library opened. " + sentence + " More") is None


def test_the_instruction_given_back_as_a_sentence_is_an_echo() -> None:
    checks = TextChecks("Write a short story about a lighthouse keeper who receives letters.", "The first letter",
                        drift_words=400)
    text = "The lamp turned. Write a short story about the keeper and his letters. More"
    assert checks.feed(text) == (text.index("Write"), "echo")
    guide = TextChecks("Write a guide to keeping a journal.", "Starting out", drift_words=400)
    assert guide.feed("Buy a notebook. Write down three things each night. More") is None
    chinese = TextChecks("写一篇文章，介绍中国茶文化的历史与现状。", "茶的历史", drift_words=400)
    text = "茶有很长的历史。写一篇介绍中国茶文化历史的文章。更多"
    assert chinese.feed(text) == (text.index("写"), "echo")


def test_a_run_on_chain_of_clauses_is_a_loop_before_it_ends() -> None:
    story = "The baker rose at four. "
    chain = ("The plan, and the team, and I, and the people, and the world, and the universe, and the sky, and "
             "the stars, and the sun, and the moon, and the earth, and the planets, and the trees, and the birds, and "
             "the animals, and the plants, but I'd lost my friends, and my friends, and I'd lost them, and I'd lost")
    checks = TextChecks("Write a novella about two rival bakers.", "The bakery", drift_words=400)
    assert checks.feed(story + chain[:60]) is None  # a few clauses are a figure of speech
    assert checks.feed(story + chain) == (len(story), "repetition")
    # The same chain in Spanish.
    cadena = "El plan, " + ", ".join(f"y el {n}" for n in (
        "equipo", "pueblo", "mundo", "cielo", "sol", "mar", "viento", "campo", "río", "puente", "horno", "pan",
        "trigo", "molino", "camino", "bosque"))
    checks = TextChecks("Escribe una novela sobre dos panaderos rivales.", "La panadería", drift_words=400)
    assert checks.feed("El panadero se levantó a las cuatro. " + cadena) == (37, "repetition")


@pytest.mark.parametrize("sentence", [
    # Long sentences with many commas that are not loops: a list, a licence, a storyteller's polysyndeton.
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and "
    "associated documentation files, to deal in the Software without restriction, including without limitation "
    "the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, "
    "and to permit persons to whom the Software is furnished to do so, subject to the following conditions",
    "She packed bread, cheese, apples, a knife, two candles, matches, a blanket, the map, her father's compass, "
    "a tin cup, and the letter, and then she sat by the door, and waited, and listened to the rain on the roof "
    "of the bakery, counting the minutes until dawn",
    "In the cart were a sack of flour, a crate of eggs, a tub of butter, a jar of honey, a bag of almonds, a "
    "box of raisins, a tin of cocoa, a slab of marzipan, a bottle of rum, a basket of plums and a loaf of rye",
])
def test_long_sentences_with_many_clauses_are_not_a_run_on(sentence: str) -> None:
    checks = TextChecks("Write a novella about two rival bakers.", "The bakery", drift_words=400)
    assert checks.feed("The baker rose at four. " + sentence) is None


def _first_cut(checks: TextChecks, text: str) -> tuple[int, str] | None:
    return checks.feed(text + "\nMore")


def test_a_run_of_bare_fragments_one_to_a_line_is_a_loop() -> None:
    # Seen on the built-in model: a story turned into 1,400 words of "LIGHTLIGHTS", "LEMON", "LIMON", ...
    story = "The keeper climbed the stairs of the lighthouse and read the letter again.\n\n"
    junk = "LIGHTLIGHTS\n\nLEMON\n\nLIGHTLIGHTS\n\nLIMON\n\nLESSON\n\nLIGHTLIGHTS\n\nLICE"
    checks = TextChecks("Write a short story about a lighthouse keeper.", "The letter")
    assert _first_cut(checks, story + junk) == (len(story), "repetition")
    # ... and, once that was cut, lines like "Lays, began," between headlines in capitals.
    junk = ("LASERESHOP: A NEW LEADER OF THE ENGINEERS' FUTURE,\n\nLays, began,\n\nLights began,\n\n"
            "Lays, began.\n\nLets light that lightening.\n\nLASERESHOP: A GRAVE OF LIGHTNING\n\nLays, begun,")
    checks = TextChecks("Write a short story about a lighthouse keeper.", "The letter")
    assert _first_cut(checks, story + junk) == (len(story), "repetition")


def test_sentences_that_all_open_alike_are_a_loop_after_the_first_two() -> None:
    text = ("Bees are pollinators. Bees are social insects. Bees are small but strong. "
            "Bees are important for farms. Bees are worth saving.")
    checks = TextChecks("Write a guide to keeping bees.", "Understanding bees")
    assert _first_cut(checks, text) == (text.index("Bees are small"), "repetition")


def test_chinese_fragments_and_sentences_that_open_alike_are_a_loop() -> None:
    # Seen on the built-in model's tea essay: lines of a few hanzi with no sentence end, and short sentences that
    # all open with the same two characters; no n-gram check sees them, since every line changes a character.
    essay = "中国茶文化历史悠久，茶叶的种类很多。\n\n"
    lines = "茶猪有茶猪\n\n茶猪混缩茶猪\n\n茶猪是茶猪\n\n猪猪是茶璧猪\n\n猪猪可以翻翻\n\n茶猪逐漏茶猪"
    checks = TextChecks("写一篇2000字的文章，介绍中国茶文化的历史与现状。", "历史渊源")
    assert _first_cut(checks, essay + lines) == (len(essay), "repetition")
    alike = "你的猪猪一般茶猪茶猪。你的猪猫一般猪猪矮猪猪火猫猪。你的猪茪一般黑猱猵猪福猪。你的猪鳐一茶一茶猐猰。"
    checks = TextChecks("写一篇2000字的文章，介绍中国茶文化的历史与现状。", "引言")
    assert _first_cut(checks, essay + alike) == (len(essay) + alike.index("你的猪茪"), "repetition")


def test_chinese_prose_with_lists_dialogue_and_a_parallel_is_not_cut() -> None:
    text = ("宋代人喜欢点茶和斗茶。\n\n茶的种类很多：\n- 绿茶\n- 红茶\n- 乌龙茶\n- 白茶\n- 黄茶\n- 黑茶\n\n"
            "他说：“这茶真香。”她笑了。他又问：“哪里产的？”她答：“杭州。”\n\n"
            "我们要保护茶园。我们要培养茶人。我们要传承茶艺。\n\n今天，中国茶走向了世界。")
    checks = TextChecks("写一篇2000字的文章，介绍中国茶文化的历史与现状。", "茶的历史", drift_words=400)
    assert _first_cut(checks, text) is None


@pytest.mark.parametrize("text", [
    # Prose with a short line or two, a heading, a list whose items open alike: none of them is a loop.
    "Night fell.\n\nThe wind rose over the bay, and the keeper lit the lamp.\n\nThen silence.\n\n"
    "Morning\n\nThe letter was gone when he woke.",
    "You will need:\n- a hive\n- a veil\n- a smoker\n- gloves\n- a hive tool\n- frames\n\nStart in spring.",
    "- Check the frames for eggs.\n- Check the frames for honey.\n- Check the frames for pests.\n"
    "- Check the frames for mould.\n\nThen close the hive.",
    "He waited. He listened. The sea answered with the same grey roar it always had. He waited again.",
    "\u201cWho is there?\u201d\n\u201cMe.\u201d\n\u201cWho?\u201d\n\u201cOpen the door.\u201d\n\u201cNo.\u201d\n"
    "He stood in the rain until the keeper let him in.",
    "Dear Keeper,\n\nThe storm will come on Friday. Keep the lamp lit.\n\nYours,\nMara\n\n"
    "He folded the letter and climbed the stairs.",
])
def test_prose_with_short_lines_and_lists_is_not_cut(text: str) -> None:
    checks = TextChecks("Write a short story about a lighthouse keeper who keeps bees.", "The hive and the lamp",
                        drift_words=400)
    assert _first_cut(checks, text) is None


def test_a_poem_may_have_short_lines() -> None:
    poem = "Salt wind\nGrey stone\nOne lamp\nTurning\nTurning\nHome"
    checks = TextChecks("Write a 300-word poem about a lighthouse.", "The lamp", drift_words=400)
    assert _first_cut(checks, poem) is None


# -- the n-gram control --------------------------------------------------------------------------------


def test_ngram_ban_names_the_words_that_would_repeat_a_4gram() -> None:
    ban = NgramBan(4)
    ban.add_document("The A is the twentieth part of the A.")
    ban.start()
    words, at_boundary = ban.banned("Now the A is")
    assert words == {"the"} and not at_boundary
    assert ban.banned("Now the A is ")[0] == {"the"}
    assert ban.banned("Now the B is")[0] == frozenset()


def test_ngram_ban_sees_the_growing_section_and_forgets_cut_text() -> None:
    ban = NgramBan(4)
    ban.start()
    text = "one two three four five. one two three"
    assert ban.banned(text)[0] == {"four"}
    ban.truncate(len("one two three four"))
    ban.start("one two")
    assert ban.banned("one two three")[0] == {"four"}  # n-grams of cut text stay known: no harm in avoiding


def test_ngram_ban_follows_a_word_split_into_a_short_first_token() -> None:
    # "... stairs W" then "ork": the rest of the banned word is banned too, or the split gets round the ban.
    ban = NgramBan(3)
    ban.start()
    text = "How bicycles work. How bicycles"
    assert ban.banned(text)[0] == {"work"}
    assert "ork" in ban.banned(text + " W")[0]
    assert ban.banned(text + " Wh")[0] == frozenset()  # "wh..." is no start of "work": nothing to ban


def test_plans_are_sampled_without_token_penalties_and_kept_apart_by_words() -> None:
    # Repeat and presence penalties push down the space-led word tokens of a plan's shared words, and a small
    # model then glued words together ("in orderstomakeit"); a plan's titles and points are instead kept apart
    # by the word-level ban on its own 3-word sequences, and the progress of its lines is reported.
    points = ("Pick a strong bread flour for a tall loaf.", "Knead the dough until it is smooth and springy.",
              "Bake the loaf in a hot oven until it sounds hollow.")
    titles = ("Choosing the flour", "Kneading by hand", "Baking the loaf")
    lines = "".join(f"Section {i} - Title: {t} - Main point: {p} - Words: 300\n"
                    for i, (t, p) in enumerate(zip(titles, points), start=1))
    backend = ScriptedBackend([lines])
    events = list(generate_plan(backend, "Write a 900-word guide to baking bread.", 900, sampling=Sampling(seed=1),
                                count=3))
    (call,) = backend.calls
    sampling = call.request.sampling
    assert sampling.repeat_penalty == 1.0 and sampling.presence_penalty == 0.0
    assert call.request.avoid is not None and call.request.avoid_penalty > 0
    progress = [e.sections_done for e in events if isinstance(e, PlanningProgress)]
    assert progress == [1, 2, 3]
    assert isinstance(events[-1], PlanReady) and [s.title for s in events[-1].plan.sections] == list(titles)

    # A model that starts copying its own lines meets the ban word by word; the fixed words are never banned.
    more = ("Section 4 - Title: Storing the flour - Main point: Pick a strong tin and keep it dry. - Words: 300\n"
            "Section 5 - Title: Shaping the loaf - Main point: Knead the dough once more, then fold it. - Words: 300\n"
            "Section 6 - Title: Cooling the bread - Main point: Leave the loaf in a hot oven no longer than it needs."
            " - Words: 300\n")
    backend = ScriptedBackend([lines + more])
    list(generate_plan(backend, "Write a 1800-word guide to baking bread.", 1800, sampling=Sampling(seed=1),
                       count=6))
    (call,) = backend.calls
    banned = set().union(*call.avoided)
    assert {"strong", "dough", "oven"} <= banned
    assert not banned & {"section", "title", "main", "point", "words"}


def test_the_plan_grammar_takes_hyphenated_words_and_no_full_width_symbols() -> None:
    grammar = plan_grammar(2)
    assert '("-" letter lower{0,11})?' in grammar
    letters = next(line for line in grammar.splitlines() if line.startswith("letter ::="))
    assert "\\uff1f" not in letters and "\\uff5a" in letters  # no ？, but ｚ
    assert "uff10-\\uff5a" not in letters


@pytest.mark.parametrize(("instruction", "digits"), [
    ("Write a 6000-word training manual for new volunteers at a community food bank.", False),
    ("写一篇2000字的文章，介绍中国茶文化的历史与现状。", False),
    ("Escribe un cuento de 900 palabras sobre un faro en invierno.", False),
    ("Write a 10000-word novella about two rival bakers in 1920s Vienna.", True),
    ("Write a 5-step guide to baking bread in 1,500 words.", True),
])
def test_titles_get_digits_only_where_the_instruction_has_a_number_beside_its_length(
        instruction: str, digits: bool) -> None:
    # The built-in model dated every title of a food bank manual ("A Community, 2030") and the whole plan failed.
    assert numbers_beside_length(instruction) is digits
    plan = ("Section 1 - Title: Getting started - Main point: The first day. - Words: 300\n"
            "Section 2 - Title: Sorting food - Main point: Where donations go. - Words: 300\n")
    backend = ScriptedBackend(lambda call: plan)
    list(generate_plan(backend, instruction, 600, sampling=Sampling(seed=1), count=2))
    grammar = backend.calls[0].request.grammar or ""
    title_rules = [line for line in grammar.splitlines() if line.startswith(("tfirst ::=", "tword ::="))]
    assert len(title_rules) == 2 and any("digit" in rule for rule in title_rules) is digits
    assert "digit" in next(line for line in grammar.splitlines() if line.startswith("pword ::="))


def test_overused_words_for_a_static_bias() -> None:
    text = " ".join(f"the keeper climbed the {w} stairs of the keeper climbed the stairs" for w in
                    ("first", "second", "third", "fourth"))
    words = overused_words(text)
    assert "stairs" in words and "the" not in words


def test_extracted_summary_is_short_and_from_the_text() -> None:
    text = ("The town opened its library on Monday. Children queued outside. The mayor thanked the volunteers "
            "who built the shelves. Rain fell in the afternoon.")
    summary = extract_summary(text, "The mayor and the volunteers", 30)
    assert summary.startswith("The town opened its library on Monday.")
    assert "volunteers" in summary and len(summary.split()) <= 31


def test_an_echo_is_cut_while_its_sentence_is_still_being_written() -> None:
    # "In this product description, I've ..." already speaks of the task: no need to wait for its full stop.
    checks = TextChecks("Write a 150-word product description for a reusable glass water bottle.",
                        "Reusable glass water bottle")
    kept = "A glass bottle keeps water cold and tastes of nothing.\n\n"
    assert checks.feed(kept) is None
    assert checks.feed(kept + "In this product description, I") is None  # "I" may be the start of "In..."
    assert checks.feed(kept + "In this product description, I've aimed to") == (len(kept), "echo")
    # A word still being written is not read: "this section" may yet be "this sectional sofa".
    other = TextChecks("Write a story about a furniture shop.", "Furniture shop")
    story = "The shop was quiet. She sat on this section"
    assert other.feed(story) is None
    assert other.feed(story + "al sofa and waited.") is None
