"""The codex in the writer's prompts, checked on a scripted backend that records every prompt.

A 6-section story whose codex has an always-entry (with a change from section 5), a when-mentioned entry
named only in section 4's main point, an entry never shown, and an entry nobody mentions: each section's
own turn holds exactly the entries and changes it should, and the earlier turns stay as they were, so the
KV cache keeps the whole document before the new turn.
"""

from __future__ import annotations

import pytest

from longwriter_desktop.engine import events as ev
from longwriter_desktop.engine.backend import Sampling
from longwriter_desktop.engine.codex import Change, Codex, Entry
from longwriter_desktop.engine.plan import Plan, Section
from longwriter_desktop.engine.writer import ResumeState, WriteRequest, write_document
from longwriter_desktop.testing.scripted import ENABLE_ENV, ScriptedBackend, ScriptedCall


@pytest.fixture(autouse=True)
def _scripted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENABLE_ENV, "1")


MARA = Entry("Mara Voss", "character", ("Mara", "the captain"), "Grey-eyed captain of the Heron.",
             notes="SECRET-NOTE: she is the narrator's mother.", mode="always",
             changes=(Change(5, "Has a scar on her left hand."),))
TOWN = Entry("Brightwater", "place", ("Bright Water",), "A harbour town with a broken lighthouse.",
             changes=(Change(2, "Its lighthouse burns again."),))
CREW = Entry("Tobias Wren", "character", ("Toby",), "The cabin boy, twelve years old.")
RULE = Entry("No magic", "style", (), "Nothing supernatural happens.", mode="never")
CODEX = [MARA, TOWN, CREW, RULE]

PLAN = Plan([
    Section("Departure", "The ship leaves port at dawn.", 40),
    Section("Open sea", "A calm week of sailing.", 40),
    Section("The storm", "A storm tears the mainsail.", 40),
    Section("Landfall", "They shelter at Brightwater while the sail is mended.", 40),
    Section("The wound", "An accident on deck during repairs.", 40),
    Section("Home", "The voyage ends.", 40),
])
INSTRUCTION = "Write a short sea story in six parts."


def _word(k: int) -> str:
    letters = ""
    for _ in range(3):
        k, r = divmod(k, 26)
        letters += "bcdfghjklmnpqrstvwxz"[r % 20] + "aeiou"[r % 5]
    return letters


def _reply(n: int, first: str = "") -> str:
    """About 48 words in sentences of eight, none repeated (the writer stops at the first sentence end past
    the 40-word target); ``first`` opens the text."""
    sentences = [" ".join(_word(n * 1000 + s * 10 + i) for i in range(8)).capitalize() + "."
                 for s in range(6)]
    return (first + " " if first else "") + " ".join(sentences)


def _section_of(call: ScriptedCall) -> int:
    """The section a call writes (1-based): its heading opens the answer the model continues."""
    answer = call.prompt_text.rsplit("<|im_start|>assistant\n", 1)[-1]
    return next(k for k, s in enumerate(PLAN.sections, 1) if answer.startswith(s.title))


def _current_turn(prompt: str) -> str:
    """The last user turn of a ChatML prompt: the one the section is written from."""
    return prompt.rsplit("<|im_start|>user\n", 1)[1].split("<|im_end|>", 1)[0]


def _block(turn: str) -> list[str]:
    if not turn.startswith("Story bible for this section"):
        return []
    return turn.split("\n\n", 1)[0].splitlines()[1:]


MARA_LINE = "- Mara Voss (character; also called Mara, the captain): Grey-eyed captain of the Heron."
MARA_SCAR = "  From section 5 on: Has a scar on her left hand."
TOWN_LINES = ["- Brightwater (place; also called Bright Water): A harbour town with a broken lighthouse.",
              "  From section 2 on: Its lighthouse burns again."]
EXPECTED = {
    1: [MARA_LINE],
    2: [MARA_LINE],
    3: [MARA_LINE],
    4: [MARA_LINE, *TOWN_LINES],
    5: [MARA_LINE, MARA_SCAR],
    6: [MARA_LINE, MARA_SCAR],
}


def _run(backend: ScriptedBackend, codex: Codex, resume: ResumeState | None = None) -> list[ev.Event]:
    request = WriteRequest(INSTRUCTION, None, "plan", plan=PLAN, sampling=Sampling(seed=3), codex=codex)
    events = list(write_document(backend, request, resume=resume))
    assert any(isinstance(e, ev.Done) for e in events), [e for e in events if isinstance(e, ev.Warning)]
    return events


def test_six_sections_see_exactly_their_entries_and_changes() -> None:
    backend = ScriptedBackend(lambda call: _reply(_section_of(call)))
    events = _run(backend, Codex(list(CODEX)))
    assert [_section_of(c) for c in backend.calls] == [1, 2, 3, 4, 5, 6], "one call per section"
    for call in backend.calls:
        k = _section_of(call)
        turn = _current_turn(call.prompt_text)
        assert _block(turn) == EXPECTED[k], k
        lead = "Begin with" if k == 1 else "Go on with"
        assert turn.endswith(f"{INSTRUCTION}\n\n{lead} \"{PLAN.sections[k - 1].title}\": "
                             f"{PLAN.sections[k - 1].main_point}")
        # Never shown: private notes, never-entries, entries nobody mentions.
        for absent in ("SECRET-NOTE", "No magic", "supernatural", "Tobias", "cabin boy"):
            assert absent not in call.prompt_text, (k, absent)
        # The system part (instruction and plan) carries no codex: it stays one cached prefix.
        system = call.prompt_text.split("<|im_start|>user\n", 1)[0]
        assert "Story bible" not in system and "Grey-eyed" not in system
    # Each prompt is the previous prompt, its reply and a new turn: earlier turns never change, so only
    # the new turn (with its codex block) is evaluated.
    for before, after in zip(backend.calls, backend.calls[1:]):
        assert after.prompt_text.startswith(before.prompt_text)
        # What follows is the reply as kept (the writer may trim a reply back to its last sentence end when
        # the section ran past its target), then the next turn.
        kept = after.prompt_text[len(before.prompt_text):].split("<|im_end|>", 1)[0]
        assert kept and before.reply.startswith(kept)
    views = [e for e in events if isinstance(e, ev.CodexInView)]
    assert [(v.index, v.names) for v in views] == [
        (0, ("Mara Voss",)), (1, ("Mara Voss",)), (2, ("Mara Voss",)), (3, ("Mara Voss", "Brightwater")),
        (4, ("Mara Voss",)), (5, ("Mara Voss",))]
    assert all(0 < v.tokens <= v.budget == 600 and not v.left_out for v in views)


def test_a_mention_in_the_text_so_far_brings_an_entry_in() -> None:
    def reply(call: ScriptedCall) -> str:
        n = _section_of(call)
        return _reply(n, "Toby climbed the rigging." if n == 2 else "")

    backend = ScriptedBackend(reply)
    _run(backend, Codex(list(CODEX)))
    blocks = {_section_of(c): _block(_current_turn(c.prompt_text)) for c in backend.calls}
    toby = "- Tobias Wren (character; also called Toby): The cabin boy, twelve years old."
    assert toby not in blocks[2]
    assert toby in blocks[3]  # the end of section 2 names him
    assert toby in blocks[4]  # still within the last part of the text
    assert all(toby not in blocks[k] for k in (1, 2))


def test_the_budget_keeps_always_entries_first_and_reports_what_it_left_out() -> None:
    backend = ScriptedBackend(lambda call: _reply(_section_of(call)))
    events = _run(backend, Codex(list(CODEX), budget=40))
    view4 = next(e for e in events if isinstance(e, ev.CodexInView) and e.index == 3)
    assert view4.names == ("Mara Voss",) and view4.left_out == ("Brightwater",)
    assert view4.tokens <= 40
    call4 = next(c for c in backend.calls if _section_of(c) == 4)
    assert _block(_current_turn(call4.prompt_text)) == [MARA_LINE]


def test_consistency_pass_warns_with_the_sentence() -> None:
    def reply(call: ScriptedCall) -> str:
        n = _section_of(call)
        return _reply(n, {3: "Then Marra shouted at the crew.", 5: "Mara Wren laughed at that."}.get(n, ""))

    backend = ScriptedBackend(reply)
    events = _run(backend, Codex(list(CODEX), consistency=True))
    warnings = [e for e in events if isinstance(e, ev.ConsistencyWarning)]
    assert [(w.index, w.sentence, w.entry) for w in warnings] == [
        (2, "Then Marra shouted at the crew.", "Mara Voss"),
        (4, "Mara Wren laughed at that.", "Mara Voss"),
    ]
    assert "'Marra' looks like a misspelling of 'Mara'" in warnings[0].message
    assert "mixes up Mara Voss and Tobias Wren" in warnings[1].message
    # Without the pass, no warnings.
    backend = ScriptedBackend(reply)
    assert not [e for e in _run(backend, Codex(list(CODEX))) if isinstance(e, ev.ConsistencyWarning)]


def test_a_resumed_run_rebuilds_the_same_turns() -> None:
    backend = ScriptedBackend(lambda call: _reply(_section_of(call)))
    finished = [e.text for e in _run(backend, Codex(list(CODEX))) if isinstance(e, ev.SectionFinished)]
    full = backend.calls[-1].prompt_text
    texts = finished[:5] + [""]  # what the store holds: each section as it finished (40 of the 48 words)
    resume = ResumeState(PLAN.copy(), texts, [True] * 5 + [False])
    again = ScriptedBackend(lambda call: _reply(_section_of(call)))
    _run(again, Codex(list(CODEX)), resume)
    assert {_section_of(c) for c in again.calls} == {6}  # only the unfinished section is written
    assert _block(_current_turn(again.calls[0].prompt_text)) == EXPECTED[6]
    assert again.calls[0].prompt_text.count("Story bible for this section") == \
        full.count("Story bible for this section") == 6


def test_a_server_backend_gets_the_same_blocks_as_text() -> None:
    backend = ScriptedBackend(lambda call: _reply(_section_of(call)), tokenizes=False)
    _run(backend, Codex(list(CODEX)))
    assert {_section_of(c): _block(_current_turn(c.prompt_text)) for c in backend.calls} == EXPECTED
    for before, after in zip(backend.calls, backend.calls[1:]):
        assert after.prompt_text.startswith(before.prompt_text)
        # What follows is the reply as kept (the writer may trim a reply back to its last sentence end when
        # the section ran past its target), then the next turn.
        kept = after.prompt_text[len(before.prompt_text):].split("<|im_end|>", 1)[0]
        assert kept and before.reply.startswith(kept)


def test_one_pass_mode_puts_the_block_before_the_instruction() -> None:
    backend = ScriptedBackend([_reply(1)])
    request = WriteRequest("Write a 40-word scene at Brightwater.", 40, "direct", sampling=Sampling(seed=1),
                           codex=Codex(list(CODEX)))
    events = list(write_document(backend, request))
    assert any(isinstance(e, ev.Done) for e in events)
    turn = _current_turn(backend.calls[0].prompt_text)
    assert _block(turn) == [MARA_LINE, TOWN_LINES[0]]  # no change of section 2 in a one-section text
    assert turn.endswith("\n\nWrite a 40-word scene at Brightwater.")


def test_a_large_budget_on_a_small_context_is_used_as_given_and_said_once() -> None:
    backend = ScriptedBackend(lambda call: _reply(_section_of(call)), n_ctx=2048)
    events = _run(backend, Codex(list(CODEX), budget=600))
    notes = [e.message for e in events if isinstance(e, ev.Warning) and e.kind == "codex"]
    assert notes == ["The codex budget (600 tokens a section) is over a quarter of the model's context (2048 "
                     "tokens); lower it if older sections drop out of view too soon."]
    assert {e.budget for e in events if isinstance(e, ev.CodexInView)} == {600}
