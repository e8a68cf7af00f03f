"""The story bible's matching, budget, changes, prompt block, consistency pass and file formats (pure Python)."""

from __future__ import annotations

from pathlib import Path

import pytest

from longwriter_desktop.engine.codex import (
    Change,
    Entry,
    all_mentions,
    check_section,
    entry_text,
    load_codex,
    mentions,
    parse_codex,
    render_block,
    section_view,
    to_json,
    to_markdown,
)
from longwriter_desktop.errors import InputError

MARA = Entry("Mara Voss", "character", ("the captain", "Mara"), "Grey-eyed captain of the Heron.",
             notes="She is the narrator's mother (secret).", mode="always",
             changes=(Change(5, "Has a scar on her left hand."),))
JON = Entry("Jon Kessler", "character", ("Jon",), "The ship's cook, sixty years old.")
HERON = Entry("Heron", "object", (), "A three-masted schooner.", mode="mentioned")
RULE = Entry("Tense", "style", (), "Past tense, third person.", mode="never")


def _texts(text: str, entry: Entry) -> list[str]:
    return [text[s:e] for s, e in mentions(entry, text)]


def test_whole_word_case_and_accent_insensitive() -> None:
    zoe = Entry("Zoë Ångström", aliases=("Zoë",))
    assert _texts("zoe angstrom came in. Then ZOË left.", zoe) == ["zoe angstrom", "ZOË"]
    assert _texts("Zoetrope and Zoes are other words.", zoe) == []
    # A name across a line break still matches; the span is in the original text.
    assert _texts("She met Zoë\nÅngström there.", zoe) == ["Zoë\nÅngström"]
    # Curly and straight apostrophes are one.
    oneil = Entry("Mrs O'Neil")
    assert _texts("Mrs O’Neil said so.", oneil) == ["Mrs O’Neil"]


def test_scripts_without_word_boundaries_and_other_alphabets() -> None:
    li = Entry("李明", aliases=("小明",))
    assert _texts("那天李明走进了屋子，小明笑了。", li) == ["李明", "小明"]
    tokyo = Entry("東京タワー")
    assert _texts("私は東京タワーに行った。", tokyo) == ["東京タワー"]
    # Kana voicing marks are part of the letter: ガ is not カ.
    assert _texts("カラス", Entry("ガラス")) == []
    seoul = Entry("민수")
    assert _texts("민수가 왔다.", seoul) == ["민수"]  # a particle attaches to the name
    olga = Entry("Ольга")
    assert _texts("ОЛЬГА пришла, Ольгами нет.", olga) == ["ОЛЬГА"]
    athens = Entry("Αθήνα")
    assert _texts("στην ΑΘΗΝΑ", athens) == ["ΑΘΗΝΑ"]


def test_a_longer_name_wins_over_an_alias_inside_it() -> None:
    text = "Mara Voss and Jon Kessler spoke; later Mara and Jon ate."
    found = [(m.entry.name, text[m.start:m.end]) for m in all_mentions([MARA, JON], text)]
    assert found == [("Mara Voss", "Mara Voss"), ("Jon Kessler", "Jon Kessler"), ("Mara Voss", "Mara"),
                     ("Jon Kessler", "Jon")]


def test_view_always_first_then_recency_and_never_left_out() -> None:
    view = section_view([HERON, JON, MARA, RULE], 2, title="At sea", main_point="Jon cooks a storm supper.",
                        instruction="A story about the Heron.", text_before="They boarded.")
    assert view.names == ["Mara Voss", "Jon Kessler", "Heron"]
    assert [v.reason for v in view.entries] == ["always", "main point", "instruction"]
    # Text closer to the end of the text so far is more recent.
    view = section_view([HERON, JON], 3, text_before="The Heron sailed. " + "Waves. " * 10 + "Jon slept.")
    assert view.names == ["Jon Kessler", "Heron"]
    assert [v.reason for v in view.entries] == ["text so far", "text so far"]
    # Only the last part of the text counts.
    view = section_view([JON], 3, text_before="Jon slept. " + "Waves rolled on. " * 200)
    assert view.names == []


def test_budget_keeps_always_first_and_says_what_it_left_out() -> None:
    long = Entry("Harbour", "place", (), "A long description. " * 30)
    view = section_view([long, MARA], 1, main_point="They reach the Harbour.", budget=60)
    assert view.names == ["Mara Voss"]
    assert [e.name for e in view.left_out] == ["Harbour"]
    assert view.tokens <= 60 and view.budget == 60
    assert "over budget: Harbour" in view.summary()


def test_changes_hold_from_their_section_on_and_notes_never_show() -> None:
    for section in (1, 4):
        text = entry_text(MARA, section)
        assert "scar" not in text
    for section in (5, 6):
        assert "From section 5 on: Has a scar on her left hand." in entry_text(MARA, section)
    block = render_block(section_view([MARA], 6))
    assert block.startswith("Story bible for this section")
    assert "secret" not in block and "mother" not in block
    assert "also called the captain, Mara" in block


def test_consistency_pass_finds_misspellings_and_mixed_names() -> None:
    text = ("Mara Voss climbed the mast. Then Marra waved at the crew. Mara Kessler laughed. "
            "Hero of the day, Jon said. The hero slept.")
    issues = check_section(text, 3, [MARA, JON], [MARA, JON, HERON])
    messages = [i.message for i in issues]
    assert "'Marra' looks like a misspelling of 'Mara' (Mara Voss)." in messages
    assert "'Mara Kessler' mixes up Mara Voss and Jon Kessler." in messages
    assert len(issues) == 2  # "Hero" is an ordinary word here (the text has "hero" too)
    by_message = {i.message: i.sentence for i in issues}
    assert by_message["'Marra' looks like a misspelling of 'Mara' (Mara Voss)."] == "Then Marra waved at the crew."
    assert all(i.section == 3 for i in issues)
    assert check_section("Mara Voss and Jon Kessler met Jon.", 1, [MARA, JON], [MARA, JON]) == []


def test_markdown_and_json_files_round_trip(tmp_path: Path) -> None:
    md = tmp_path / "codex.md"
    md.write_text(
        "# Mara Voss\nkind: character\naliases: the captain, Mara\nmode: always\n"
        "notes: She is the narrator's mother (secret).\nfrom section 5: Has a scar on her left hand.\n"
        "Grey-eyed captain of the Heron.\n\n"
        "## Tense\nKind: Style rule\nMode: never\nPast tense, third person.\n",
        encoding="utf-8")
    entries = load_codex(md)
    assert entries[0] == MARA
    assert entries[1] == RULE
    assert parse_codex(to_markdown(entries)) == entries
    js = tmp_path / "codex.json"
    js.write_text(to_json(entries), encoding="utf-8")
    assert load_codex(js) == entries
    assert "secret" not in to_markdown(entries, private=False)


@pytest.mark.parametrize("text, words", [
    ("Text before any heading\n## A\n", "before any heading"),
    ("## A\nkind: dragon\n", "Unknown kind 'dragon'"),
    ("## A\nmode: sometimes\n", "Unknown context mode"),
    ('{"entries": [{"kind": "place"}]}', "needs a name"),
    ('{"entries": [{"name": "A", "changes": [{"from_section": 0, "text": "x"}]}]}', "section number"),
    ("{not json", "not valid JSON"),
    ("## A\n\n## a\n", "more than one entry named"),
])
def test_bad_codex_files_say_what_to_fix(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "codex.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=words):
        load_codex(path)


def test_a_chinese_story_gets_its_block_in_chinese() -> None:
    li = Entry("李明", "character", ("小明",), "渔夫的儿子，十二岁。", changes=(Change(3, "左手受了伤。"),))
    inn = Entry("海燕客栈", "place", (), "港口边的旧客栈。")
    view = section_view([li, inn], 3, title="风暴", main_point="风暴中小明跑回家。", instruction="写一个海边的故事。",
                        cjk=True)
    assert view.names == ["李明"] and view.entries[0].reason == "main point"
    assert render_block(view, cjk=True) == (
        "本部分的设定（务必保持一致）：\n- 李明（人物；又称：小明）：渔夫的儿子，十二岁。\n  自第3部分起：左手受了伤。")
