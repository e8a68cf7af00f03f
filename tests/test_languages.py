"""Every language a writer uses, end to end: the length read from the instruction, written by a model that
writes that language, counted as its readers count, recorded in a real project store and exported to a
DOCX that python-docx reopens. The built-in model writes English only, so the models here are scripted
(longwriter_desktop/testing): the local path through the scripted backend, the server path through a real
local HTTP server that speaks the OpenAI API, driven by the `longwriter` command as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import docx
import pytest

from longwriter_desktop.app.service import export_project
from longwriter_desktop.engine import events as ev
from longwriter_desktop.engine.backend import Sampling
from longwriter_desktop.engine.counting import SENTENCE_END, LengthRule, Unit
from longwriter_desktop.engine.writer import DocumentWriter, WriteRequest
from longwriter_desktop.projects.recorder import ProjectRecorder
from longwriter_desktop.projects.store import ProjectStore
from longwriter_desktop.testing.prose import ProseModel
from longwriter_desktop.testing.scripted import ScriptedBackend
from longwriter_desktop.testing.scripted_server import ScriptedOpenAIServer

ROOT = Path(__file__).resolve().parents[1]
W, C = Unit.WORDS, Unit.CHARACTERS

# language: (instruction, the length it names, unit, the phrase the stats must quote)
INSTRUCTIONS = {
    "ru": ("Напиши рассказ на 1200 слов о зимнем городе.", 1200, W, "1200 слов"),
    "uk": ("Напиши есе приблизно на 900 слів про зимове місто.", 900, W, "приблизно на 900 слів"),
    "fr": ("Écris un texte d'environ 1500 mots sur la ville en hiver.", 1500, W, "environ 1500 mots"),
    "de": ("Schreibe eine Geschichte mit 1100 Wörtern über eine Stadt im Winter.", 1100, W, "1100 Wörtern"),
    "es": ("Escribe un cuento de 2.000 palabras sobre una ciudad en invierno.", 2000, W, "2.000 palabras"),
    "it": ("Scrivi un racconto di circa 1.000 parole su una città d'inverno.", 1000, W, "circa 1.000 parole"),
    "pt": ("Escreva uma crônica de 800 palavras sobre a cidade no inverno.", 800, W, "800 palavras"),
    "pl": ("Napisz opowiadanie na 1\u00a0000 słów o mieście zimą.", 1000, W, "1\u00a0000 słów"),
    "nl": ("Schrijf een verhaal van ongeveer 900 woorden over de stad in de winter.", 900, W,
           "ongeveer 900 woorden"),
    "tr": ("Kışın şehir hakkında 1000 kelimelik bir hikaye yaz.", 1000, W, "1000 kelimelik"),
    "ko": ("겨울 도시에 관한 1300단어 분량의 에세이를 써 주세요.", 1300, W, "1300단어"),
    "ja": ("冬の町についての1600字の短編小説を書いてください。", 1600, C, "1600字"),
    "zh": ("写一篇约1000字的关于冬天城市的散文。", 1000, C, "约1000字"),
    "en": ("Write a 1,000-word story about a city in winter.", 1000, W, "1,000-word"),
    "ar": ("اكتب قصة عن المدينة في الشتاء.", 1000, W, ""),  # names no length: the default, in words
}


def _run(backend: ScriptedBackend, instruction: str, store: ProjectStore) -> tuple[int, ev.Done, list[ev.Event]]:
    writer = DocumentWriter(backend, WriteRequest(instruction, mode="plan", sampling=Sampling(seed=3)))
    project = store.create_project(writer.title, instruction, target_words=writer.target_words, mode=writer.mode,
                                   model=backend.info.model, backend=backend.info.name)
    seen: list[ev.Event] = []
    with ProjectRecorder(store, project.id, model=backend.info.model, seed=3) as recorder:
        for event in writer.run():
            recorder.handle(event)
            seen.append(event)
    done = [e for e in seen if isinstance(e, ev.Done)]
    assert done, [e for e in seen if isinstance(e, (ev.Warning, ev.ErrorEvent, ev.Cancelled))]
    return project.id, done[0], seen


def _docx_body(path: Path) -> tuple[list[str], str]:
    """The headings and the body text of an exported DOCX, as python-docx reads them back."""
    document = docx.Document(str(path))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    body = "\n\n".join(p.text for p in document.paragraphs if not p.style.name.startswith(("Heading", "Title")))
    return headings, body


@pytest.mark.parametrize("language", sorted(INSTRUCTIONS))
@pytest.mark.parametrize("share", [1.5, 0.5], ids=["model-runs-long", "model-stops-short"])
def test_each_language_through_writer_recorder_and_docx(language: str, share: float, tmp_path: Path) -> None:
    instruction, length, unit, phrase = INSTRUCTIONS[language]
    backend = ScriptedBackend(ProseModel(language, seed=7, share=share), n_ctx=32768)
    with ProjectStore() as store:
        project_id, done, seen = _run(backend, instruction, store)
        stats = done.stats
        assert (stats["unit"], stats["language"], stats["target_words"]) == (unit.value, language, length)
        if phrase:
            assert stats["target_read"] == length and f'"{phrase}"' in stats["target_phrase"]
        else:
            assert stats["target_source"] == "default"
        assert abs(stats["words"] - length) <= 0.1 * length, stats
        sections = [e for e in seen if isinstance(e, ev.SectionFinished)]
        for section in sections:
            # Length control stopped at a sentence end of the language (. 。 ! ? ...), never mid-sentence.
            assert SENTENCE_END.search(section.text.rstrip()), section.text[-40:]
            assert abs(section.words - section.target_words) <= max(0.15 * section.target_words, 25), section
        if share < 1:
            # The model ended its turns early: the writer handed each shortfall on to further calls.
            assert len(backend.calls) > len(sections) + 1
        # The recorder kept what the reader sees, counted the document's way.
        rule = LengthRule(unit, language)
        saved = store.document_text(project_id)
        assert rule.count(saved) == sum(s.words for s in sections)
        out = tmp_path / f"{language}.docx"
        export_project(store, project_id, out)
    headings, body = _docx_body(out)
    assert [s.title for s in sections] == headings[1:]
    assert abs(rule.count(body) - length) <= 0.1 * length
    first_sentence = sections[0].text.strip().split("\n")[0][:30]
    assert first_sentence in body


DONE_WHEN = ["ru", "fr", "de", "es", "ja", "ko"]


@pytest.mark.parametrize("language", DONE_WHEN)
def test_done_when_through_an_openai_server_that_writes_the_language(language: str, tmp_path: Path,
                                                                    longwriter_home: Path) -> None:
    """`longwriter write` against a local OpenAI-compatible server writing the language: the document is
    within 10% of the length the instruction names, counted as its readers count, and the stats show the
    target read from the instruction."""
    instruction, length, unit, phrase = INSTRUCTIONS[language]
    out, stats_file = tmp_path / "doc.docx", tmp_path / "stats.json"
    with ScriptedOpenAIServer(ProseModel(language, seed=11, share=1.3)) as server:
        result = subprocess.run(
            [sys.executable, "-m", "longwriter_desktop.cli", "write", instruction, "--backend", "openai",
             "--base-url", server.url, "--mode", "plan", "--seed", "5", "--quiet", "--out", str(out),
             "--stats-json", str(stats_file)],
            capture_output=True, text=True, timeout=120, check=False,
            env=dict(os.environ, LONGWRITER_HOME=str(longwriter_home), PYTHONPATH=str(ROOT)),
        )
        assert result.returncode == 0, result.stderr
        calls = len(server.calls)
    stats = json.loads(stats_file.read_text(encoding="utf-8"))
    assert stats["backend"] == "openai" and calls > 2
    assert stats["target_read"] == length and f'"{phrase}"' in stats["target_phrase"]
    assert stats["unit"] == unit.value and abs(stats["words"] - length) <= 0.1 * length, stats
    _headings, body = _docx_body(out)
    assert abs(LengthRule(unit, language).count(body) - length) <= 0.1 * length
    # What the command says at the end is in the reader's unit too.
    assert f"{stats['words']:,} {unit.value}" in result.stderr
    assert f'"{phrase}"' in result.stderr  # and it says which words of the instruction it read the length from


def test_the_docx_carries_the_documents_language(tmp_path: Path) -> None:
    """Word's spelling and hyphenation follow the document's language tag."""
    backend = ScriptedBackend(ProseModel("ru", seed=5), n_ctx=32768)
    with ProjectStore() as store:
        project_id, _done, _seen = _run(backend, INSTRUCTIONS["ru"][0], store)
        export_project(store, project_id, tmp_path / "ru.docx")
    assert docx.Document(str(tmp_path / "ru.docx")).core_properties.language == "ru"


def test_japanese_section_requests_ask_for_japanese_not_chinese() -> None:
    # Japanese writes kanji too: its section requests must not take the Chinese wording.
    backend = ScriptedBackend(ProseModel("ja", seed=4), n_ctx=32768)
    list(DocumentWriter(backend, WriteRequest("春についての800字のエッセイを書いてください。", mode="plan")).run())
    sections = [call for call in backend.calls if not call.is_plan]
    assert len(sections) >= 2
    for call in sections:
        request = call.prompt_text[call.prompt_text.rindex("<|im_start|>user"):]
        assert "Japanese (日本語)" in request and "先写" not in request and "接着写" not in request
