"""The llama.cpp backend against the real built-in model."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from longwriter_desktop.engine.backend import Delta, Finish, FinishReason, GenerationRequest, Sampling
from longwriter_desktop.engine.llama_backend import LlamaBackend, LoadSettings, choose_n_ctx, parse_gpu_layers
from longwriter_desktop.engine.words import count_words
from longwriter_desktop.errors import InputError, ModelError


def _run(backend: LlamaBackend, request: GenerationRequest) -> tuple[str, list[int], Finish]:
    text, tokens, finish = "", [], None
    for item in backend.generate(request):
        if isinstance(item, Delta):
            text += item.text
            tokens.extend(item.tokens)
        else:
            finish = item
    assert finish is not None
    return text, tokens, finish


def _prompt(backend: LlamaBackend, user: str) -> list[int]:
    return backend.bos_tokens() + backend.tokenize(backend.prompt_format.render(user))


def test_streams_about_200_words_and_counts_them(backend: LlamaBackend) -> None:
    prompt = _prompt(backend, "Write a 200-word welcome email for a book club.")
    deltas = []
    finish = None
    for item in backend.generate(GenerationRequest(prompt, 320, Sampling(seed=4))):
        if isinstance(item, Delta):
            deltas.append(item)
        else:
            finish = item
    assert finish is not None and len(deltas) > 50  # streamed, not returned at once
    text = "".join(d.text for d in deltas)
    assert sum(d.n_tokens for d in deltas) == finish.completion_tokens == sum(len(d.tokens) for d in deltas)
    assert finish.completion_tokens <= 320
    assert count_words(text) >= 100
    assert finish.prompt_tokens == len(prompt)
    assert finish.reason in (FinishReason.STOP, FinishReason.LENGTH)
    assert finish.tokens_per_second > 0
    # The token ids reproduce the text.
    assert backend.detokenize([t for d in deltas for t in d.tokens]) == text


def test_next_prompt_reuses_the_kv_cache(backend: LlamaBackend) -> None:
    prompt = _prompt(backend, "Describe a lighthouse in three sentences.")
    _, generated, first = _run(backend, GenerationRequest(prompt, 60, Sampling(seed=1)))
    assert 0 < first.prompt_tokens_evaluated <= len(prompt)
    follow = prompt + generated + backend.tokenize(backend.prompt_format.end_of_turn) + backend.tokenize(
        backend.prompt_format.user_turn("Now describe its keeper."))
    _, _, second = _run(backend, GenerationRequest(follow, 20, Sampling(seed=1)))
    assert second.prompt_tokens == len(follow)
    assert second.prompt_tokens_evaluated <= len(follow) - len(prompt) - len(generated) + 2


def test_end_of_text_is_banned_until_allowed(backend: LlamaBackend) -> None:
    prompt = _prompt(backend, "What is the capital of France? Answer in one word.")
    greedy = Sampling(seed=2, temperature=0, dry_multiplier=0)
    _, _, free = _run(backend, GenerationRequest(prompt, 200, greedy))
    assert free.reason is FinishReason.STOP and free.completion_tokens < 60
    produced = [0]

    def allow_end() -> bool:
        return produced[0] >= 120

    count = 0
    finish = None
    for item in backend.generate(GenerationRequest(prompt, 400, greedy, allow_end=allow_end)):
        if isinstance(item, Delta):
            count += item.n_tokens
            produced[0] = count
        else:
            finish = item
    assert finish is not None and finish.completion_tokens >= 120


def test_stop_strings_end_generation_and_are_not_emitted(backend: LlamaBackend) -> None:
    prompt = _prompt(backend, "Count from 1 to 30, separated by commas.")
    text, _, finish = _run(backend, GenerationRequest(prompt, 200, Sampling(temperature=0), stop=["12"]))
    assert finish.reason is FinishReason.STOP
    assert "12" not in text and "11" in text


def test_cancel_from_another_thread_returns_within_a_second(backend: LlamaBackend) -> None:
    cancel = threading.Event()
    prompt = _prompt(backend, "Write a long story about a dragon.")
    received = []
    finish = None
    set_at = 0.0
    for item in backend.generate(GenerationRequest(prompt, 4000, Sampling(seed=3), cancel=cancel)):
        if isinstance(item, Delta):
            received.append(item.text)
            if len(received) == 30:
                set_at = time.monotonic()
                threading.Thread(target=cancel.set).start()
        else:
            finish = item
    assert finish is not None and finish.reason is FinishReason.CANCELLED
    assert time.monotonic() - set_at < 1.0
    assert 30 <= len(received) < 200  # the partial text is kept, and it stopped promptly
    assert finish.completion_tokens == sum(1 for _ in received) or finish.completion_tokens >= 30


def test_cancel_during_a_long_prompt_evaluation(builtin_gguf: Path) -> None:
    # A small batch makes the 7,000-token prompt evaluation take many decode calls: the abort callback
    # must stop it between them.
    with LlamaBackend(builtin_gguf, LoadSettings(n_ctx=8192)) as fresh:
        filler = " ".join(f"word{i}" for i in range(3000))
        prompt = _prompt(fresh, f"Summarise: {filler}")[:7000]
        assert len(prompt) > 6000
        cancel = threading.Event()
        timer = threading.Timer(0.3, cancel.set)
        started = time.monotonic()
        timer.start()
        items = list(fresh.generate(GenerationRequest(prompt, 50, cancel=cancel)))
        elapsed = time.monotonic() - started
        finish = items[-1]
        assert isinstance(finish, Finish) and finish.reason is FinishReason.CANCELLED
        assert finish.completion_tokens == 0
        assert elapsed < 0.3 + 1.0
        # The model stays usable afterwards.
        text, _, after = _run(fresh, GenerationRequest(_prompt(fresh, "Say hi."), 10))
        assert after.completion_tokens > 0


def test_prompt_larger_than_the_context_is_refused(backend: LlamaBackend) -> None:
    with pytest.raises(Exception, match="context holds"):
        list(backend.generate(GenerationRequest([1] * (backend.n_ctx + 1), 10)))


def test_missing_file_gives_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        LlamaBackend(tmp_path / "nothing.gguf")


def test_non_gguf_file_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.gguf"
    path.write_text("This is not a model at all, just some text that is long enough.\n" * 10)
    with pytest.raises(ModelError, match="not a GGUF model"):
        LlamaBackend(path)


def test_truncated_gguf_gives_a_clear_error(tmp_path: Path, builtin_gguf: Path) -> None:
    path = tmp_path / "cut.gguf"
    with builtin_gguf.open("rb") as source, path.open("wb") as target:
        target.write(source.read(builtin_gguf.stat().st_size // 2))
    with pytest.raises(ModelError, match="truncated"):
        LlamaBackend(path)


def test_header_only_gguf_is_truncated(tmp_path: Path, builtin_gguf: Path) -> None:
    path = tmp_path / "header.gguf"
    with builtin_gguf.open("rb") as source, path.open("wb") as target:
        target.write(source.read(3_000_000))
    with pytest.raises(ModelError, match="truncated|past the end"):
        LlamaBackend(path)


def test_context_size_rules() -> None:
    assert choose_n_ctx(None, 131072) == 8192
    assert choose_n_ctx(5000, 131072) == 4864  # a multiple of 256
    assert choose_n_ctx(50_000, 8192) == 8192  # capped by the trained context
    assert choose_n_ctx(100, 8192) == 512
    with pytest.raises(InputError):
        choose_n_ctx(0, 8192)
    assert parse_gpu_layers("auto") == "auto"
    assert parse_gpu_layers("-1") == "all"
    assert parse_gpu_layers("12") == 12
    with pytest.raises(InputError):
        parse_gpu_layers("lots")


def test_llama_log_goes_to_the_app_logger(builtin_gguf: Path, caplog: pytest.LogCaptureFixture,
                                          tmp_path: Path) -> None:
    copy = tmp_path / "model.gguf"
    shutil.copy(builtin_gguf, copy)
    with caplog.at_level("DEBUG", logger="longwriter_desktop"):
        fractions: list[float] = []
        with LlamaBackend(copy, LoadSettings(n_ctx=512), progress=lambda f: fractions.append(f) or True):
            pass
    assert any(r.name == "longwriter_desktop.llama_cpp" for r in caplog.records)
    assert fractions and fractions[-1] == pytest.approx(1.0)


def test_a_model_that_wont_fit_needs_force(builtin_gguf: Path, tmp_path: Path) -> None:
    from longwriter_desktop.app.backends import load_local
    from longwriter_desktop.library.fit import Machine

    copy = tmp_path / "big-model.gguf"
    shutil.copy(builtin_gguf, copy)
    tiny = Machine(ram_total=64_000_000, ram_available=32_000_000)
    with pytest.raises(ModelError, match="--force"):
        load_local(str(copy), LoadSettings(n_ctx=2048), machine=tiny)
    with load_local(str(copy), LoadSettings(n_ctx=2048), machine=tiny, force=True) as loaded:
        assert loaded.n_ctx == 2048
    roomy = Machine(ram_total=16_000_000_000, ram_available=12_000_000_000)
    with load_local(str(copy), LoadSettings(n_ctx=2048), machine=roomy) as loaded:
        assert loaded.info.model == "big-model"
