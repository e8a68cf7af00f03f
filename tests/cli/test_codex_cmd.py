"""`longwriter codex add|list|edit|remove` (through the CLI's main) and `write --codex FILE` (in a subprocess,
on the real built-in model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from longwriter_desktop.cli import main
from longwriter_desktop.cli.codex_cmd import codex_for_resume
from longwriter_desktop.engine.plan import Section
from longwriter_desktop.projects.codex_store import CodexStore
from longwriter_desktop.projects.store import ProjectStore

CODEX_MD = """\
## Mara Voss
kind: character
aliases: Mara, the captain
mode: always
notes: private: she is the narrator's mother
from section 2: has a scar on her left hand
Grey-eyed captain of the Heron.

## Brightwater
kind: place
A harbour town with a broken lighthouse.
"""


def _cli(home: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LONGWRITER_HOME=str(home), PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return subprocess.run([sys.executable, "-m", "longwriter_desktop.cli", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


class _Run:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> _Run:
    code = main(list(args))
    out = capsys.readouterr()
    return _Run(code, out.out, out.err)


def _project_with_text() -> int:
    """A project of three sections; Mara is mentioned in sections 1 and 3, Brightwater in section 2's point."""
    with ProjectStore() as store:
        project = store.create_project("Sea", "Write a sea story.", target_words=300)
        store.update_plan(project.id, [Section("Dawn", "They sail.", 100),
                                       Section("Harbour", "They reach Brightwater.", 100),
                                       Section("Night", "A quiet night.", 100)])
        for record, text in zip(store.sections(project.id), ["Mara Voss woke early.", "", "Mara slept. MARA snored."]):
            if text:
                take = store.start_take(record.id)
                store.finish_take(take.id, text=text)
        return project.id


def test_codex_add_list_edit_remove(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pid = str(_project_with_text())
    result = _main(capsys, "codex", "add", pid, "Heron", "--kind", "object", "--alias", "the ship",
                  "--description", "A three-masted schooner.", "--change", "3: her mainsail is patched")
    assert result.returncode == 0, result.stderr
    assert "Added object 'Heron'" in result.stderr
    md = tmp_path / "codex.md"
    md.write_text(CODEX_MD, encoding="utf-8")
    result = _main(capsys, "codex", "add", pid, "--file", str(md))
    assert result.returncode == 0, result.stderr
    assert "3 entries" in result.stderr

    listing = _main(capsys, "codex", "list", pid, "--sections")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    mara = next(line for line in lines if line.split()[1:3] == ["Mara", "Voss"])
    assert "Always" in mara and "1, 3 (2x)" in mara and "from 2: has a scar on her left hand" in mara
    assert "private" not in listing.stdout  # notes stay out of the listing
    sections = {line.split()[0]: line for line in lines[lines.index("") + 1:] if line[:1].isdigit()}
    assert "Mara Voss (" in sections["1"] and "Brightwater" not in sections["1"]
    assert "Mara Voss, Brightwater (" in sections["2"] and "of 600 tokens" in sections["2"]

    result = _main(capsys, "codex", "edit", pid, "the captain", "--mode", "mentioned", "--alias", "Captain Voss",
                  "--change", "3: walks with a cane")
    assert result.returncode == 0, result.stderr
    exported = json.loads(_main(capsys, "codex", "list", pid, "--format", "json").stdout)
    mara_entry = next(e for e in exported["entries"] if e["name"] == "Mara Voss")
    assert mara_entry["mode"] == "mentioned" and mara_entry["aliases"] == ["Captain Voss"]
    assert [c["from_section"] for c in mara_entry["changes"]] == [2, 3]
    assert mara_entry["notes"] == "private: she is the narrator's mother"

    assert _main(capsys, "codex", "remove", pid, "brightwater").returncode == 0
    markdown = _main(capsys, "codex", "list", pid, "--format", "md").stdout
    assert "## Brightwater" not in markdown and "## Heron" in markdown and "## Mara Voss" in markdown

    # Mistakes get one plain sentence (exit code 2 for bad input, 1 for a missing project).
    for args, code, words in (
        (("codex", "remove", pid, "Nobody"), 2, "has no codex entry 'Nobody'"),
        (("codex", "add", pid, "Heron"), 2, "already has an entry named 'Heron'"),
        (("codex", "add", pid, "Gull", "--kind", "bird"), 2, "Unknown kind 'bird'"),
        (("codex", "add", pid, "Gull", "--change", "soon: flies"), 2, "--change takes a section number"),
        (("codex", "list", "99"), 1, "There is no project 99"),
    ):
        result = _main(capsys, *args)
        assert result.returncode == code, (args, result.stderr)
        assert words in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)


def test_write_with_a_codex_file_on_the_real_model(longwriter_home: Path, tmp_path: Path) -> None:
    """The built-in model: invariants only (which entries each section sees is exact; the prose is not)."""
    md = tmp_path / "codex.md"
    md.write_text(CODEX_MD, encoding="utf-8")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"sections": [
        {"title": "Dawn", "main_point": "The Heron leaves port.", "words": 40},
        {"title": "Harbour", "main_point": "They reach Brightwater at dusk.", "words": 40},
    ]}))
    stats_path = tmp_path / "stats.json"
    result = _cli(longwriter_home, "write", "Write a short sea story.", "--plan", str(plan), "--codex", str(md),
                  "--consistency", "--seed", "5", "--quiet", "--stats-json", str(stats_path))
    assert result.returncode == 0, result.stderr
    assert "section 1 sees codex entries: Mara Voss (" in result.stderr
    assert "section 2 sees codex entries: Mara Voss, Brightwater (" in result.stderr
    stats = json.loads(stats_path.read_text())
    assert stats["words"] > 0 and stats["finish_reason"] == "stop"
    # The codex blocks sit in each section's own turn: the KV cache still carries the document.
    assert stats["prompt_tokens_evaluated"] <= stats["prompt_tokens_bound"]
    with ProjectStore() as store:
        entries = CodexStore(store).entries(stats["project"])
        assert [e.name for e in entries] == ["Mara Voss", "Brightwater"]
        project = store.get_project(stats["project"])
        assert project.settings["consistency"] is True
        # A resumed run takes the project's codex as it is now.
        resumed = codex_for_resume(store, project.id, project.settings)
        assert resumed is not None and resumed.consistency and resumed.budget == 600
        assert [e.name for e in resumed.entries] == ["Mara Voss", "Brightwater"]
    bad = tmp_path / "bad.md"
    bad.write_text("## A\nkind: dragon\n", encoding="utf-8")
    result = _cli(longwriter_home, "write", "Write a sea story.", "--codex", str(bad))
    assert result.returncode == 2 and "Unknown kind 'dragon'" in result.stderr
