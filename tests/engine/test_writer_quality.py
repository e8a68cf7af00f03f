"""The writer's quality controls, driven by a scripted backend whose text each test chooses."""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from pathlib import Path

from longwriter_desktop.engine import estimate as est
from longwriter_desktop.engine import events as ev
from longwriter_desktop.engine.backend import FinishReason, Sampling
from longwriter_desktop.engine.gguf import read_gguf
from longwriter_desktop.engine.plan import Plan, Section, generate_plan, plan_problems
from longwriter_desktop.engine.prompts import Family
from longwriter_desktop.engine.words import count_words
from longwriter_desktop.engine.writer import WriteRequest, write_document
from longwriter_desktop.testing.scripted import ScriptedBackend, ScriptedCall

INSTRUCTION = "Write a report on city trams."
TITLES = ("Early trams", "Trams today", "The future of trams")


def _filler(seed: str, words: int) -> str:
    """Fresh prose about trams: every sentence names the subject, no 4-gram repeats, no sentence twice."""
    letters = "bcdfghjklmnpqrstvwz"
    names = ("".join(p) for p in itertools.product(letters, "aeiou", letters))
    out, count = [], 0
    while count < words:
        sentence = f"Trams {seed} {' '.join(next(names) for _ in range(5))}."
        out.append(sentence)
        count += 7
    return " ".join(out) + "\n\n"


def _section_of(call: ScriptedCall) -> int:
    """Which section a call writes: the heading that opens its answer."""
    tail = call.prompt_text.rsplit("<|im_start|>assistant\n", 1)[-1]
    for i, title in enumerate(TITLES):
        if tail.startswith(title):
            return i
    raise AssertionError(f"no section heading in {tail[:80]!r}")


def _queued(replies: dict[int, list[str]]) -> Callable[[ScriptedCall], str]:
    """A script that answers a section from its queue of replies, then with fresh prose about trams."""

    def reply(call: ScriptedCall) -> str:
        index = _section_of(call)
        queue = replies.get(index)
        return queue.pop(0) if queue else _filler(("early", "today", "future")[index], 120)

    return reply


def _run(backend: ScriptedBackend, plan: Plan, target: int | None = None, **kwargs: object) -> list[ev.Event]:
    request = WriteRequest(INSTRUCTION, target_words=target, mode="plan", plan=plan, sampling=Sampling(seed=3),
                           **kwargs)  # type: ignore[arg-type]
    return list(write_document(backend, request))


def _plan(words: int = 100) -> Plan:
    return Plan([Section(t, f"What {t.lower()} were like for riders.", words) for t in TITLES])


def test_a_shortfall_is_handed_on_to_the_sections_not_yet_written() -> None:
    loop = "Trams ran along the river every single morning. " * 3

    def reply(call: ScriptedCall) -> str:
        index = _section_of(call)
        return loop if index == 0 else _filler("glide" if index == 1 else "hum", 400)

    backend = ScriptedBackend(reply)
    events = _run(backend, _plan(), target=300)
    started = [e for e in events if isinstance(e, ev.SectionStarted)]
    finished = [e for e in events if isinstance(e, ev.SectionFinished)]
    done = events[-1]
    assert isinstance(done, ev.Done)
    assert finished[0].words < 20  # the loop was cut until the section gave up
    # What section 1 did not write went to sections 2 and 3, whose targets grew accordingly.
    assert started[1].target_words + started[2].target_words >= 300 - finished[0].words - 15
    assert started[1].target_words > 120 and started[2].target_words > 120
    assert abs(done.stats["words"] - 300) <= 15
    assert 2 in done.stats["sections_retargeted"]


def test_the_last_section_tries_longer_and_hotter_before_it_gives_up() -> None:
    # The last section has nobody to hand a shortfall to: six loops in a row are cut and it still lands.
    loop = "Trams ran along the river every single morning. " * 3
    loops = [loop] * 6

    def reply(call: ScriptedCall) -> str:
        index = _section_of(call)
        if index == 2 and loops:
            return loops.pop()
        return _filler(("early", "today", "future")[index], 400)

    backend = ScriptedBackend(reply)
    events = _run(backend, _plan(), target=300)
    done = events[-1]
    assert isinstance(done, ev.Done)
    assert done.stats["repetition_cuts"] == 6
    assert abs(done.stats["words"] - 300) <= 15
    # Each further try writes on a little hotter than the one before it, from the request's own temperature.
    last = [c.request.sampling.temperature for c in backend.calls if not c.is_plan and _section_of(c) == 2]
    assert last[0] == Sampling().temperature and last == sorted(last) and last[-1] > last[0] + 0.3


def test_a_surplus_shrinks_the_sections_after_it() -> None:
    def reply(call: ScriptedCall) -> str:
        return _filler(("alpha", "beta", "gamma")[_section_of(call)], 400)

    backend = ScriptedBackend(reply)
    plan = _plan()
    plan.sections[0].locked = True
    plan.sections[0].target_words = 200  # written long on purpose: the others share what is left
    events = _run(backend, plan, target=400)
    started = [e for e in events if isinstance(e, ev.SectionStarted)]
    done = events[-1]
    assert isinstance(done, ev.Done)
    assert started[0].target_words == 200  # a locked section keeps its target
    assert started[1].target_words < 100 and started[2].target_words < 100
    assert abs(done.stats["words"] - 400) <= 20


def test_an_echoed_instruction_is_cut_and_written_again() -> None:
    echo = "This section describes the history of trams in about 300 words. "
    replies = {0: [echo + _filler("early", 120), _filler("early", 120)]}

    reply = _queued(replies)

    backend = ScriptedBackend(reply)
    events = _run(backend, _plan())
    done = events[-1]
    assert isinstance(done, ev.Done)
    assert "This section" not in done.text and "300 words" not in done.text
    assert done.stats["echo_cuts"] == 1
    # Nothing in a section request speaks of sections or word counts.
    writing = [c for c in backend.calls if not c.is_plan]
    request_text = writing[0].prompt_text.rsplit("<|im_start|>user\n", 1)[-1]
    assert not re.search(r"\bsection\b|\bwords\b|\d", request_text, re.IGNORECASE)
    assert request_text.rstrip().endswith(TITLES[0])  # the heading is where the answer starts


def test_an_echo_as_the_last_sentence_of_a_section_is_taken_out() -> None:
    # A sentence is checked once the next one starts: the one that ends a section needs a check of its own.
    last = "The history of trams is told in the next section."
    replies = {0: [_filler("early", 88).rstrip() + " " + last]}

    reply = _queued(replies)

    events = _run(ScriptedBackend(reply), _plan())
    done = events[-1]
    assert isinstance(done, ev.Done)
    assert "next section" not in done.text and "Trams early" in done.text
    assert done.stats["echo_cuts"] == 1
    assert abs(done.stats["words"] - 300) <= 0.05 * 300  # its words went to the sections after it


def test_text_in_another_language_is_cut_as_drift() -> None:
    replies = {1: ["Trams today carry many riders to work. 有轨电车是一种很好的交通工具，我们应该多坐有轨电车。 "
                   + _filler("today", 120), _filler("today", 120)]}

    reply = _queued(replies)

    events = _run(ScriptedBackend(reply), _plan())
    done = events[-1]
    assert isinstance(done, ev.Done)
    assert "有轨电车" not in done.text
    assert done.stats["drift_cuts"] == 1


def test_a_run_of_bare_fragments_is_cut_and_written_again() -> None:
    # The built-in model once filled a story with lines like "LIGHTLIGHTS", "LEMON", "LIMON": every guard
    # passed it (no repeated 12 words, no repeated 4-gram, "LIGHT" even touched the subject).
    junk = "\n\n".join(("TRAMLINES", "LEMON", "TRAMLINES", "LIMON", "LESSON", "TRAMLINES", "LICE") * 8)
    replies = {1: ["Trams today carry many riders to work every morning.\n\n" + junk]}

    reply = _queued(replies)

    events = _run(ScriptedBackend(reply), _plan())
    done = events[-1]
    assert isinstance(done, ev.Done)
    assert "LEMON" not in done.text and "TRAMLINES" not in done.text
    assert "Trams today carry many riders" in done.text  # the sentence before the run is kept
    assert done.stats["repetition_cuts"] == 1
    # The stream stopped at the fifth fragment: only those few lines were generated and cut, not the whole run.
    retracted = [e.chars for e in events if isinstance(e, ev.TextRetracted)]
    assert len(retracted) == 1 and retracted[0] <= len("\n\n".join(junk.split("\n\n")[:6])) + 2
    assert abs(done.stats["words"] - 300) <= 0.05 * 300


def test_a_run_on_chain_of_and_clauses_is_cut_while_it_forms() -> None:
    # Seen in a 10,000-word novella on the built-in model: sentences of 100+ words that change one word per
    # clause ("and the world, and the universe, and the sky, ..."); no 4-gram repeats, no full stop for long.
    nouns = ("team", "people", "world", "universe", "sky", "stars", "sun", "moon", "earth", "planets", "trees",
             "birds", "animals", "plants", "rivers", "hills", "towns", "roads", "bells", "lamps")
    chain = "The tram, " + ", ".join(f"and the {n}" for n in nouns * 3) + ", and the end. "
    replies = {1: ["Trams today carry many riders to work every morning. " + chain + _filler("today", 120)]}

    reply = _queued(replies)

    events = _run(ScriptedBackend(reply), _plan())
    done = events[-1]
    assert isinstance(done, ev.Done)
    assert "and the universe" not in done.text and "The tram," not in done.text
    assert "Trams today carry many riders" in done.text  # the sentence before the chain is kept
    assert done.stats["repetition_cuts"] == 1
    # Cut once the chain was ten clauses long, not after its 60 clauses ran to the full stop.
    retracted = [e.chars for e in events if isinstance(e, ev.TextRetracted)]
    assert len(retracted) == 1 and retracted[0] < len(chain) / 2
    assert abs(done.stats["words"] - 300) <= 0.05 * 300


def test_the_words_of_the_writing_task_are_cut_unless_the_instruction_has_them() -> None:
    echo = "This report is structured into 6 sections, from the early lines to the plan for new ones. "
    replies = {2: [_filler("future", 60) + echo + _filler("future", 60), _filler("future", 120)]}

    reply = _queued(replies)

    events = _run(ScriptedBackend(reply), _plan())
    done = events[-1]
    assert isinstance(done, ev.Done)
    assert "structured into" not in done.text and not re.search(r"\bsections?\b", done.text)
    assert done.stats["echo_cuts"] == 1


def test_the_ngram_control_names_the_word_that_would_repeat_a_template() -> None:
    template = "The A is the first part of the A. The B is the second part of the B. "

    def reply(call: ScriptedCall) -> str:
        return template + _filler(("early", "today", "future")[_section_of(call)], 120)

    backend = ScriptedBackend(reply)
    _run(backend, _plan())
    first = next(c for c in backend.calls if not c.is_plan)
    pieces = re.findall(r"\s*\S+", first.reply)
    # The second sentence changes one word of the first; once it reads "... second part of the", writing
    # "A" would repeat the 4-gram "part of the A": the control names it while the template forms.
    at = next(i for i in range(len(pieces)) if "".join(pieces[:i]).endswith("second part of the"))
    assert first.avoided[at] == {"a"}
    assert first.avoided[0] == frozenset()
    # Later sections are steered away from what earlier sections wrote (document-wide).
    second = [c for c in backend.calls if not c.is_plan][1]
    assert any("first" in words for words in second.avoided)


def test_a_tiny_model_writes_in_a_view_shorter_than_its_context(builtin_gguf: Path) -> None:
    """The built-in model's real shape (its GGUF header): deeper in the context it decodes far slower, so the
    writer drops old sections once its view (shorter than the 8,192-token context) is full, keeps the last
    paragraphs of the section just before in view, and no call reaches past the view."""
    titles = [f"Trams of the {name}" for name in ("north", "south", "east", "west", "river", "hill", "port")]
    plan = Plan([Section(t, f"How trams serve the {t.split()[-1]}.", 600) for t in titles])

    def reply(call: ScriptedCall) -> str:
        tail = call.prompt_text.rsplit("<|im_start|>assistant\n", 1)[-1]
        index = next(i for i, t in enumerate(titles) if tail.startswith(t))
        name = titles[index].split()[-1]
        first = tail.count("Stop ")  # a call after a cut goes on from where the section stands
        return "".join(f"Stop {n} on the {name} line. " + _filler(f"{name}{n}", 90) for n in range(first, first + 8))

    def run(backend: ScriptedBackend) -> list[ev.Event]:
        return list(write_document(backend, WriteRequest("Write a report on city trams.", None, "plan", plan=plan,
                                                         sampling=Sampling(seed=3))))

    backend = ScriptedBackend(reply, n_ctx=8192)
    backend.header = read_gguf(builtin_gguf)  # type: ignore[attr-defined]
    events = run(backend)
    done = events[-1]
    assert isinstance(done, ev.Done)
    view = done.stats["view_tokens"]
    head = done.stats["writing_head_tokens"]
    assert view == est.writing_view(8192, head, est.view_reach(backend.header.file_size,  # type: ignore[attr-defined]
                                                                backend.header.kv_bytes_per_token(2.0)))
    assert head + est.VIEW_MIN_TEXT <= view < 8192
    calls = [c for c in backend.calls if not c.is_plan]
    assert all(len(c.request.prompt) + c.request.max_tokens <= view for c in calls)
    assert done.stats["context_drops"] >= 1
    assert any("view is full" in e.message for e in events if isinstance(e, ev.Warning) and e.kind == "context")
    # The last section still reads how the one before it ended, and a summary of what left the view.
    later = calls[-1].prompt_text
    assert "Earlier in the text:" in later
    assert f"Stop 6 on the {titles[-2].split()[-1]} line." in later
    assert "Stop 1 on the north line." not in later and "Trams of the north: Stop 0" in later
    # The same document where the view is the whole context (a server, or a model whose weights outweigh its
    # KV cache) keeps every section in view.
    whole = ScriptedBackend(reply, n_ctx=8192)
    done_whole = run(whole)[-1]
    assert isinstance(done_whole, ev.Done)
    assert done_whole.stats["view_tokens"] == 8192 and done_whole.stats["context_drops"] == 0
    assert done_whole.text == done.text, "the view changes what the model sees, not what this script writes"


def test_summaries_stay_in_view_when_sections_leave_the_context() -> None:
    titles = [f"Part about trams {name}" for name in ("north", "south", "east", "west", "river", "hill")]
    plan = Plan([Section(t, f"Trams in the {t.split()[-1]} of the city.", 150) for t in titles])

    def reply(call: ScriptedCall) -> str:
        tail = call.prompt_text.rsplit("<|im_start|>assistant\n", 1)[-1]
        index = next(i for i, t in enumerate(titles) if tail.startswith(t))
        return f"Trams reached the {titles[index].split()[-1]} district first. " + _filler(str(index), 200)

    backend = ScriptedBackend(reply, n_ctx=1024)
    events = _run(backend, plan)
    done = events[-1]
    assert isinstance(done, ev.Done) and done.stats["context_drops"] >= 1
    finished = [e for e in events if isinstance(e, ev.SectionFinished)]
    assert finished[0].summary.startswith("Trams reached the north district first.")
    last = [c for c in backend.calls if not c.is_plan][-1]
    assert "Earlier in the text:" in last.prompt_text
    assert "Trams reached the north district first." in last.prompt_text


def test_a_broken_plan_line_is_sampled_again_from_where_it_started() -> None:
    points = ("Horse cars gave way to electric lines.", "Low floors and priority signals speed riders up.",
              "Batteries and new routes bring lines back to suburbs.")
    good = [f"Section {i} - Title: {t} - Main point: {p} - Words: 300\n"
            for i, (t, p) in enumerate(zip(TITLES, points), 1)]
    broken = "Section 2 - Title: Money is the keyA - Main point: Money is the key to trams. - Words: 20\n"

    def reply(call: ScriptedCall) -> str:
        if call.is_plan:
            # The first pass writes a good first line, then a broken second one (and more after it).
            return good[0] + broken + good[2] if sum(c.is_plan for c in backend.calls) == 1 else good[1] + good[2]
        return _filler(("early", "today", "future")[_section_of(call)], 400)

    backend = ScriptedBackend(reply)
    request = WriteRequest("Write a 900-word report on city trams.", mode="plan", sampling=Sampling(seed=3))
    events = list(write_document(backend, request))
    plan = next(e for e in events if isinstance(e, ev.PlanReady)).plan
    first, second = [c for c in backend.calls if c.is_plan]
    assert [s.title for s in plan.sections] == list(TITLES)
    assert plan_problems(plan, request.instruction) == {}
    # The first pass stopped as soon as the broken title was finished: its main point and its third line were
    # never generated.
    assert first.finish is FinishReason.CANCELLED and first.reply.startswith(good[0] + "Section 2 - Title: Money")
    assert "Money is the key to trams" not in first.reply and "The future of trams" not in first.reply
    # The second pass read on from the kept first line, under a grammar for lines 2 and 3 only, warmer.
    assert second.prompt_text.endswith(good[0])
    assert (second.request.grammar or "").startswith("root ::= s2 s3\n")
    assert second.request.sampling.temperature > first.request.sampling.temperature
    assert second.request.sampling.seed != first.request.sampling.seed
    stats = events[-1].stats  # type: ignore[attr-defined]
    assert stats["plan_prompt_tokens"] > 0
    assert not any(isinstance(e, ev.Warning) and e.kind == "plan" and "replaced" in e.message for e in events)


def test_a_plan_line_that_keeps_failing_is_kept_for_the_repair_and_a_plan_that_keeps_failing_ends() -> None:
    names = ("Early trams", "Trams today", "The tram depot", "Night trams", "Tram drivers", "The future of trams")
    points = ("Horse cars gave way to electric lines.", "Low floors speed riders up today.",
              "Where the cars sleep and are mended.", "The last cars run after midnight.",
              "Drivers train for a year before they take a car.", "Batteries bring lines back to suburbs.")
    good = [f"Section {i} - Title: {t} - Main point: {p} - Words: 300\n" for i, (t, p) in
            enumerate(zip(names, points), 1)]
    bad = "Section 2 - Title: Money is the keyA - Main point: Low floors speed riders up today. - Words: 300\n"
    instruction = "Write an 1800-word report on city trams."

    def plan_of(script: Callable[[int], str]) -> tuple[Plan, ScriptedBackend]:
        backend = ScriptedBackend(lambda call: script(len(backend.calls)))
        events = list(generate_plan(backend, instruction, 1800, sampling=Sampling(seed=3), count=6))
        assert isinstance(events[-1], ev.PlanReady)
        return events[-1].plan, backend

    # Line 2 fails its three tries: it is kept (the repair gives it a title from its main point) and the
    # model's other lines stay.
    plan, backend = plan_of(lambda n: "".join([good[0], bad, *good[2:]]) if n == 1 else "".join([bad, *good[2:]]))
    assert len(backend.calls) == 3
    assert [s.title for s in plan.sections] == [names[0], "Low floors speed riders up today", *names[2:]]
    assert plan_problems(plan, instruction) == {}
    # A model whose lines keep failing is not asked for more of them than a third of the plan again: the
    # plan ends there and the kind's outline fills it.
    plan, backend = plan_of(lambda n: bad.replace("Section 2", "Section 1"))
    assert len(backend.calls) == 3  # line 1's three tries, then no more
    assert plan_problems(plan, instruction) == {} and len(plan.sections) == 6
    assert all(s.title != "Money is the keyA" for s in plan.sections)
    # A three-line plan (a short text, where the plan's tokens weigh most) samples one line again at most.
    backend = ScriptedBackend(lambda call: bad.replace("Section 2", "Section 1"))
    events = list(generate_plan(backend, "Write an 800-word report on city trams.", 800, sampling=Sampling(seed=3),
                                count=3))
    assert len(backend.calls) == 2 and isinstance(events[-1], ev.PlanReady)
    assert plan_problems(events[-1].plan, instruction) == {}


def test_a_base_model_continues_a_plain_document_without_chat_markup() -> None:
    def reply(call: ScriptedCall) -> str:
        seed = ("first", "second", "third", "fourth", "fifth", "sixth")[len(backend.calls) - 1]
        return _filler(seed, 150) + "## Next heading written by the model\n\nMore text."

    backend = ScriptedBackend(reply, family=Family.PLAIN)
    events = _run(backend, _plan())
    done = events[-1]
    assert isinstance(done, ev.Done)
    writing = [c for c in backend.calls if not c.is_plan]
    assert writing[0].prompt_text.startswith("# ")
    assert all("<|" not in c.prompt_text and "[INST]" not in c.prompt_text for c in writing)
    assert writing[1].prompt_text.rstrip().endswith(f"## {TITLES[1]}") or f"## {TITLES[1]}\n\n" in \
        writing[1].prompt_text
    assert "Next heading written by the model" not in done.text  # a new heading ends the section
    assert count_words(done.text) > 250


def test_cancel_while_planning_asks_for_no_second_plan() -> None:
    # The plan's own stop (a line failing its checks) and the user's cancel both end the plan's stream: only
    # the user's ends the run.
    broken = "Section 1 - Title: Early trams - Main point: Horse cars gave way to electric lines. - Words: 300\n" + \
        "".join(f"Section {i} - Title: Money is the keyA - Main point: Money is the key to trams. - Words: 20\n"
                for i in range(2, 7))
    backend = ScriptedBackend([broken])
    cancel = threading.Event()
    events = []
    for event in write_document(backend, WriteRequest("Write a 900-word report on city trams.", mode="plan",
                                                      sampling=Sampling(seed=3)), cancel):
        events.append(event)
        if isinstance(event, ev.PlanningProgress):
            cancel.set()
    assert len(backend.calls) == 1 and backend.calls[0].finish is FinishReason.CANCELLED
    assert not any(isinstance(e, (ev.PlanReady, ev.SectionStarted)) for e in events)
