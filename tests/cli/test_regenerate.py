"""`longwriter regenerate PROJECT SECTION`: one section written again through the use-case layer, the earlier
take kept; on the scripted backend (in this process), whose text the test chooses."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from longwriter_desktop import cli
from longwriter_desktop.app import backends
from longwriter_desktop.projects.store import ProjectStore
from longwriter_desktop.testing.scripted import ENABLE_ENV, ScriptedBackend, ScriptedCall

PLAN = {"sections": [{"title": "Morning", "main_point": "The market opens.", "words": 300},
                     {"title": "Evening", "main_point": "The market closes.", "words": 300}]}


def _word(k: int) -> str:
    letters = ""
    for _ in range(3):
        k, r = divmod(k, 26)
        letters += "bcdfghjklmnpqrstvwxz"[r % 20] + "aeiou"[r % 5]
    return letters


def _text(seed: int) -> str:
    words = [_word(seed * 5000 + n * 7) for n in range(330)]
    return " ".join(" ".join(words[i:i + 11]).capitalize() + "." for i in range(0, 330, 11))


def test_regenerate_writes_one_section_again_and_keeps_the_old_take(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(ENABLE_ENV, "1")
    round_ = {"n": 0}

    def reply(call: ScriptedCall) -> str:
        if call.is_plan:
            return json.dumps(PLAN)
        section = int(re.findall(r"Write section (\d+) of", call.prompt_text)[-1])
        return _text(section + 10 * round_["n"])

    def open_scripted(_choice: Any, progress: Any = None) -> ScriptedBackend:
        return ScriptedBackend(reply)

    monkeypatch.setattr(backends, "open_backend", open_scripted)
    assert cli.main(["write", "Write a 600-word piece about a street market.", "--quiet"]) == 0
    with ProjectStore() as store:
        before = [text for _s, text in store.document_sections(1)]
    round_["n"] = 1
    assert cli.main(["regenerate", "1", "2", "--quiet"]) == 0
    assert 'Writing section 2 of project 1 again: "Evening".' in capsys.readouterr().err
    with ProjectStore() as store:
        after = [text for _s, text in store.document_sections(1)]
        second = store.sections(1)[1]
        assert store.get_project(1).status == "done"
        takes = store.takes(second.id)
    assert after[0] == before[0], "the other section is untouched"
    assert after[1] != before[1] and after[1].split()[0] == _text(12).split()[0]
    assert len(takes) == 2 and takes[0].text == before[1], "the earlier take is kept"
    assert cli.main(["regenerate", "1", "3"]) == 2  # no such section: one line, exit 2
