"""The scripted backend behaves like a real one: exact text round trips, limits, stops, cancel, and a whole
plan-mode run of the writer on text the test chose."""

from __future__ import annotations

import threading

import pytest

from longwriter_desktop.engine.backend import Backend, Delta, Finish, FinishReason, GenerationRequest
from longwriter_desktop.engine.events import Done, PlanReady, SectionFinished
from longwriter_desktop.engine.writer import WriteRequest, write_document
from longwriter_desktop.testing.prose import ProseModel
from longwriter_desktop.testing.scripted import ENABLE_ENV, ScriptedBackend, ScriptedCall, ScriptFile


def _run(backend: ScriptedBackend, request: GenerationRequest) -> tuple[str, Finish]:
    text, finish = "", None
    for item in backend.generate(request):
        if isinstance(item, Delta):
            text += item.text
        else:
            finish = item
    assert finish is not None
    return text, finish


def test_it_is_a_backend_and_its_tokens_turn_back_into_the_exact_text() -> None:
    backend = ScriptedBackend(["x"])
    assert isinstance(backend, Backend)
    text = "<|im_start|>user\nÉcris  un article,\tde 800 mots.\n\n写一篇文章。<|im_end|>\n"
    tokens = backend.tokenize(text)
    assert backend.detokenize(tokens) == text
    assert backend.count_tokens(text) == len(tokens)
    assert backend.tokenize("<|im_start|>") == [tokens[0]]  # special markers are one token


def test_replies_stream_in_order_and_respect_max_tokens_stops_and_cancel() -> None:
    backend = ScriptedBackend(["one two three four", "alpha beta<|im_end|>gamma", "a b c d e f"])
    text, finish = _run(backend, GenerationRequest("prompt", max_tokens=2))
    assert (text, finish.reason, finish.completion_tokens) == ("one two", FinishReason.LENGTH, 2)
    text, finish = _run(backend, GenerationRequest("prompt", max_tokens=50, stop=["<|im_end|>"]))
    assert (text, finish.reason) == ("alpha beta", FinishReason.STOP)
    cancel = threading.Event()
    seen = []
    for item in backend.generate(GenerationRequest("p", max_tokens=50, cancel=cancel)):
        if isinstance(item, Delta):
            seen.append(item.text)
            cancel.set()
        else:
            assert item.reason is FinishReason.CANCELLED
    assert seen == ["a"]
    assert [c.prompt_text for c in backend.calls] == ["prompt", "prompt", "p"]
    with pytest.raises(RuntimeError, match="ran out of replies"):
        _run(backend, GenerationRequest("p", max_tokens=5))


def test_the_context_size_is_enforced_like_llama_cpp() -> None:
    backend = ScriptedBackend(["never"], n_ctx=4)
    with pytest.raises(ValueError):
        _run(backend, GenerationRequest("one two three four five", max_tokens=5))
    backend = ScriptedBackend(["a b c d e f"], n_ctx=6)
    text, finish = _run(backend, GenerationRequest("one two", max_tokens=100))
    assert (text, finish.reason) == ("a b c d", FinishReason.LENGTH)


def test_it_refuses_to_run_outside_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENABLE_ENV)
    with pytest.raises(RuntimeError, match=ENABLE_ENV):
        ScriptedBackend(["x"])


def test_the_writer_runs_a_whole_plan_on_scripted_text() -> None:
    plan = (
        "Section 1 - Title: The harbour at dawn - Main point: The keeper finds the first letter. - Words: 300\n"
        "Section 2 - Title: An answer in the fog - Main point: He writes back and waits. - Words: 300\n"
    )
    prose = ProseModel("en", seed=3, share=1.2)  # fresh English sentences that keep to each section's subject

    def reply(call: ScriptedCall) -> str:  # the plan first, then each section's text
        return plan if call.is_plan else prose(call)

    backend = ScriptedBackend(reply)
    events = list(write_document(backend, WriteRequest("Write a 600-word story.", mode="plan")))
    plan_ready = next(e for e in events if isinstance(e, PlanReady))
    assert len(plan_ready.plan.sections) == 2
    finished = [e for e in events if isinstance(e, SectionFinished)]
    assert len(finished) == 2 and all(f.text.strip() for f in finished)
    done = events[-1]
    assert isinstance(done, Done)
    assert all(f.text.strip()[:60] in done.text for f in finished)
    # The second section's prompt holds the first section's text: the document so far is in view.
    second = [c for c in backend.calls if not c.is_plan][-1]
    assert finished[0].text.strip()[:60] in second.prompt_text


def test_a_script_file_drives_a_backend_in_another_process(tmp_path) -> None:
    path = tmp_path / "script.json"
    ScriptFile(["Ein Leuchtturm steht am Meer.", "Zweiter Satz."], cycle=True).save(path)
    backend = ScriptFile.load(path).backend()
    texts = [_run(backend, GenerationRequest("p", max_tokens=20))[0] for _ in range(3)]
    assert texts == ["Ein Leuchtturm steht am Meer.", "Zweiter Satz.", "Ein Leuchtturm steht am Meer."]
