"""`longwriter section regenerate|takes|choose` and `longwriter continue`, in subprocesses on the real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from docx import Document

from longwriter_desktop.engine.counting import LengthRule
from longwriter_desktop.projects.store import ProjectStore

count_words = LengthRule().count  # as the app counts an English document (the length score's words)


def _cli(home: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LONGWRITER_HOME=str(home), PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return subprocess.run([sys.executable, "-m", "longwriter_desktop.cli", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def _written_project(home: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"sections": [
        {"title": "Morning", "main_point": "The market opens.", "words": 60},
        {"title": "Evening", "main_point": "The market closes.", "words": 60},
    ]}))
    result = _cli(home, "write", "Write about a market day.", "--plan", str(plan), "--quiet", "--seed", "3")
    assert result.returncode == 0, result.stderr


def test_regenerate_list_and_choose_takes(longwriter_home: Path, tmp_path: Path, builtin_gguf: Path) -> None:
    _written_project(longwriter_home, tmp_path)
    with ProjectStore() as store:
        before = {record.title: text for record, text in store.document_sections(1)}

    result = _cli(longwriter_home, "section", "regenerate", "1", "1", "--point", "Stalls go up at dawn.", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "now has 2 takes" in result.stderr
    with ProjectStore() as store:
        after = {record.title: text for record, text in store.document_sections(1)}
        first = store.section_at(1, 0)
        takes = store.takes(first.id)
    assert after["Evening"] == before["Evening"], "the other section stays"
    assert first.main_point == "Stalls go up at dawn."
    assert len(takes) == 2 and takes[0].text == before["Morning"] and takes[1].chosen

    listing = _cli(longwriter_home, "section", "takes", "1", "1")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.strip().splitlines()
    assert len(lines) == 3 and "chosen" in lines[2]
    shown = _cli(longwriter_home, "section", "takes", "1", "1", "--show", "1")
    assert shown.stdout.strip() == before["Morning"].strip()

    chosen = _cli(longwriter_home, "section", "choose", "1", "1", "1")
    assert chosen.returncode == 0, chosen.stderr
    out = tmp_path / "m.docx"
    assert _cli(longwriter_home, "export", "1", "--out", str(out)).returncode == 0
    body = " ".join(p.text for p in Document(str(out)).paragraphs)
    assert " ".join(before["Morning"].split()[:10]) in body

    bad = _cli(longwriter_home, "section", "choose", "1", "1", "7")
    assert bad.returncode == 2 and "has 2 takes" in bad.stderr and "Traceback" not in bad.stderr


def test_continue_a_finished_document_by_n_words(longwriter_home: Path, tmp_path: Path, builtin_gguf: Path) -> None:
    _written_project(longwriter_home, tmp_path)
    with ProjectStore() as store:
        before = sum(count_words(text) for _, text in store.document_sections(1))
    result = _cli(longwriter_home, "continue", "1", "--words", "120", "--quiet")
    assert result.returncode == 0, result.stderr
    with ProjectStore() as store:
        sections = store.document_sections(1)
        after = sum(count_words(text) for _, text in sections)
        assert sections[-1][0].status == "done" and store.get_project(1).status == "done"
    assert abs((after - before) - 120) <= 0.15 * 120, (before, after)

    added = _cli(longwriter_home, "continue", "1", "--words", "60", "--section", "Night", "--point",
                 "The square is empty.", "--quiet")
    assert added.returncode == 0, added.stderr
    with ProjectStore() as store:
        titles = [record.title for record, _ in store.document_sections(1)]
        assert titles == ["Morning", "Evening", "Night"]
        assert store.document_sections(1)[2][1].strip()
