"""`longwriter write`, `resume` and `export` end to end, in subprocesses, as a user runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from docx import Document

from longwriter_desktop.engine.words import count_words

# What the CLI prints where the engine cut a loop out of the text it had already streamed.
RETRACTION = re.compile(r"\n\[\.\.\. (\d+) characters [^\]\n]+ \.\.\.\]\n")


def without_retractions(streamed: str) -> str:
    """The streamed text as the document has it: each marker removes the characters printed before it."""
    text, at = "", 0
    for marker in RETRACTION.finditer(streamed):
        text += streamed[at:marker.start()]
        text = text[: max(0, len(text) - int(marker.group(1)))]
        at = marker.end()
    return text + streamed[at:]


def _cli(home: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LONGWRITER_HOME=str(home), PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    return subprocess.run([sys.executable, "-m", "longwriter_desktop.cli", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_write_streams_the_document_and_writes_stats(longwriter_home: Path, tmp_path: Path) -> None:
    out, stats_path = tmp_path / "x.md", tmp_path / "s.json"
    result = _cli(longwriter_home, "write", "Write a 300-word welcome email for a book club.", "--words", "300",
                  "--out", str(out), "--stats-json", str(stats_path), "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    stats = json.loads(stats_path.read_text())
    for key in ("words", "target_words", "length_score", "mode", "model", "backend", "prompt_tokens_evaluated",
                "completion_tokens", "tokens_per_second", "elapsed_s", "finish_reason", "sections"):
        assert key in stats, key
    # Only what every sample satisfies: a model's output differs between CPUs even with a fixed seed.
    assert stats["target_words"] == 300 and stats["model"] == "smollm2-135m" and stats["backend"] == "llama.cpp"
    assert 0 <= stats["length_score"] <= 100 and stats["finish_reason"] in ("stop", "length")
    assert stats["completion_tokens"] > 0 and stats["tokens_per_second"] > 0
    assert sum(s["words"] for s in stats["sections"]) <= stats["words"]
    document = out.read_text()
    # What streamed to stdout, with the loop cuts it announced applied, is the document's body.
    body = document.split("\n", 2)[-1].strip()
    assert body and count_words(body) > 0
    shown = without_retractions(result.stdout).strip()
    headings = [line for line in body.splitlines() if line.startswith("## ")]
    if not headings:  # one section: the body is the streamed text (the end may be trimmed to a sentence)
        assert shown.startswith(body[: min(len(body), 200)]), (body[:200], shown[:400])
    assert "words" in result.stderr and "Project 1" in result.stderr
    listing = _cli(longwriter_home, "projects", "list")
    assert listing.returncode == 0 and "done" in listing.stdout


def test_export_to_docx_keeps_structure(longwriter_home: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"sections": [
        {"title": "Morning", "main_point": "The market opens.", "words": 80},
        {"title": "Evening", "main_point": "The market closes.", "words": 80},
    ]}))
    result = _cli(longwriter_home, "write", "Write about a market day.", "--plan", str(plan), "--quiet",
                  "--out", str(tmp_path / "m.docx"), "--seed", "3")
    assert result.returncode == 0, result.stderr
    doc = Document(str(tmp_path / "m.docx"))
    styles = [(p.style.name, p.text) for p in doc.paragraphs if p.text.strip()]
    assert styles[0][0] == "Title"
    headings = [text for style, text in styles if style == "Heading 1"]
    assert headings == ["Morning", "Evening"]
    again = _cli(longwriter_home, "export", "1", "--out", str(tmp_path / "again.md"))
    assert again.returncode == 0, again.stderr
    assert "## Morning" in (tmp_path / "again.md").read_text()


def test_bad_input_exits_2_with_one_line(longwriter_home: Path, tmp_path: Path) -> None:
    for args in (["write", "x", "--words", "-5"], ["write", "x", "--out", "a.pdf"],
                 ["write", "x", "--model", "no-such-model"], ["write", "x", "--plan", str(tmp_path / "none.json")],
                 ["resume", "999"]):
        result = _cli(longwriter_home, *args, timeout=60)
        assert result.returncode in (1, 2), (args, result.returncode, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().startswith("longwriter:"), result.stderr
    missing = _cli(longwriter_home, "write", "x", "--model", str(tmp_path / "gone.gguf"), timeout=60)
    assert missing.returncode == 2 and "not found" in missing.stderr  # as `models import` of a missing file


def test_engine_never_imports_qt() -> None:
    code = (
        "import sys, pkgutil, importlib, longwriter_desktop\n"
        "for m in pkgutil.walk_packages(longwriter_desktop.__path__, 'longwriter_desktop.'):\n"
        "    if '.ui' in m.name or m.name.endswith('__main__') or m.name.startswith('longwriter_desktop.bench'):\n"
        "        continue\n"
        "    importlib.import_module(m.name)\n"
        "bad = [n for n in sys.modules if n.startswith('PySide6')]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


TOMATOES = "Write a 2000-word guide to growing tomatoes."


def test_estimate_prints_the_time_and_writes_nothing(longwriter_home: Path) -> None:
    first = _cli(longwriter_home, "write", TOMATOES, "--estimate", "--ctx", "4096")
    assert first.returncode == 0, first.stderr
    assert "Measuring this model's speed" in first.stderr, "the first time, a few seconds of calibration"
    assert first.stdout.startswith("Estimated time: About ") and "2,000 words" in first.stdout
    assert "nothing was written" in first.stdout
    assert (longwriter_home / "config" / "speed.json").is_file()
    again = _cli(longwriter_home, "write", TOMATOES, "--estimate", "--ctx", "4096",
                 "--words", "4000")
    assert again.returncode == 0, again.stderr
    assert "Measuring" not in again.stderr and "loaded" not in again.stderr, "the stored profile is enough"
    assert "4,000 words" in again.stdout
    listing = _cli(longwriter_home, "projects", "list")
    assert listing.returncode == 0 and "done" not in listing.stdout and "writing" not in listing.stdout
    # The catalog gives every model a time for 10,000 words: the built-in model's own, the others scaled.
    catalog = _cli(longwriter_home, "models", "catalog")
    assert catalog.returncode == 0 and "10,000 words" in catalog.stdout
    rows = [line for line in catalog.stdout.splitlines() if line.startswith(("longwriter-", "smollm2"))]
    assert all("not measured" not in line for line in rows)
    assert all(" ~" in line for line in rows if line.startswith("longwriter-"))
