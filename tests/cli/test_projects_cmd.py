"""`longwriter projects list` and `longwriter projects show` on a real projects database."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from longwriter_desktop import paths
from longwriter_desktop.cli import main
from longwriter_desktop.projects.store import ProjectStore


@dataclass(frozen=True)
class _Entry:
    title: str
    target_words: int
    locked: bool = False
    main_point: str = ""


def _sample_project() -> int:
    with ProjectStore() as store:
        project = store.create_project("Sea stories", "Write three stories about the sea", target_words=900,
                                       model="longwriter-glm4-9b")
        one, two = store.update_plan(project.id, [_Entry("Storm", 400, locked=True), _Entry("Calm", 500)])
        take = store.start_take(one.id)
        store.append_text(take.id, "The waves rose over the deck.")
        store.finish_take(take.id)
        store.append_text(store.start_take(two.id).id, "Then the sea lay still")
        store.log(project.id, "plan", "generated")
        return project.id


def test_list_without_projects(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["projects", "list"]) == 0
    assert "No projects yet" in capsys.readouterr().out


def test_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    project_id = _sample_project()
    assert main(["projects", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["id", "title", "status", "words", "sections", "updated"]
    assert out[1].split()[:7] == [str(project_id), "Sea", "stories", "interrupted", "11", "/", "900"]
    assert "1/2" in out[1]

    assert main(["projects", "show", str(project_id)]) == 0
    shown = capsys.readouterr().out
    assert f"Project {project_id}: Sea stories" in shown
    assert "words:   11 of 900" in shown and "model:   longwriter-glm4-9b" in shown
    assert "Storm (locked)  done" in shown
    assert "plan: generated" in shown

    assert main(["projects", "show", str(project_id), "--text"]) == 0
    assert capsys.readouterr().out == "The waves rose over the deck.\n\nThen the sea lay still\n"


def test_show_of_a_missing_project_or_a_damaged_database(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["projects", "show", "42"]) == 1
    assert capsys.readouterr().err.strip() == "longwriter: There is no project 42."
    paths.projects_db().unlink()
    paths.projects_db().write_bytes(b"this is not a database" * 100)
    assert main(["projects", "list"]) == 1
    assert "is damaged (it is not a SQLite database)" in capsys.readouterr().err
