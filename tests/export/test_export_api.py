"""export_document: format by suffix, and a failed export never damages an existing file."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

import docx
import docx.document
import pytest

from longwriter_desktop.errors import InputError, LongWriterError
from longwriter_desktop.export import ExportDocument, ExportSection, document_language, export_document
from longwriter_desktop.export.atomic_file import write_atomically

DOC = ExportDocument("Title", author="Ada", sections=[ExportSection("One", "Some **text**.")])


@pytest.mark.parametrize("name", ["out.docx", "OUT.DOCX", "out.md", "out.markdown", "out.txt"])
def test_suffix_chooses_the_format(tmp_path: Path, name: str) -> None:
    path = export_document(DOC, tmp_path / name)
    data = path.read_bytes()
    if name.lower().endswith(".docx"):
        assert data[:2] == b"PK"
        assert docx.Document(str(path)).paragraphs[0].text == "Title"
    elif name.endswith(".txt"):
        assert data.decode("utf-8") == "Title\n=====\n\nOne\n---\n\nSome text.\n"
    else:
        assert data.decode("utf-8") == "# Title\n\n## One\n\nSome **text**.\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize("name", ["out.pdf", "out", "out.docx.bak"])
def test_unknown_suffix_is_an_input_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match=r"\.docx, \.md, \.markdown, \.txt"):
        export_document(DOC, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        export_document(DOC, tmp_path / "nowhere" / "out.docx")


def test_failed_docx_save_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "book.docx"
    export_document(DOC, target)
    old = target.read_bytes()

    def save_half_then_fail(self: docx.document.Document, stream: BinaryIO) -> None:
        stream.write(b"PK\x03\x04 half a zip")
        raise RuntimeError("disk went away")

    monkeypatch.setattr(docx.document.Document, "save", save_half_then_fail)
    with pytest.raises(RuntimeError, match="disk went away"):
        export_document(ExportDocument("New", sections=[ExportSection("Two", "Other text.")]), target)
    assert target.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["book.docx"]


def test_writer_failing_midway_leaves_the_old_text(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("every word kept\n", encoding="utf-8")

    def write_then_fail(stream: BinaryIO) -> None:
        stream.write(b"partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(LongWriterError, match="No space left on device"):
        write_atomically(target, write_then_fail)
    assert target.read_text(encoding="utf-8") == "every word kept\n"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_interrupted_write_cleans_up_too(tmp_path: Path) -> None:
    target = tmp_path / "notes.md"
    target.write_text("old\n", encoding="utf-8")

    def interrupted(stream: BinaryIO) -> None:
        stream.write(b"new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, interrupted)
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.md"]


def test_replacing_a_file_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "shared.md"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)
    export_document(DOC, target)
    assert target.read_text(encoding="utf-8").startswith("# Title")
    if os.name == "posix":
        assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_exporting_onto_a_folder_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "book.docx").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        export_document(DOC, tmp_path / "book.docx")


@pytest.mark.parametrize(
    ("title", "text", "hint", "expected"),
    [
        ("A Garden", "Plain English prose about gardens.", "", ""),
        ("花园", "春天来了，花园里的樱花开得正盛。Some English terms like API stay.", "", "zh"),
        ("庭", "春が来ました。桜が咲いています。", "", "ja"),
        ("정원", "봄이 왔습니다. 정원에 꽃이 핍니다.", "", "ko"),
        ("A Garden", "English with one word 花.", "", ""),
        ("A Garden", "Plain English.", "zh-TW", "zh-TW"),
    ],
)
def test_document_language(title: str, text: str, hint: str, expected: str) -> None:
    doc = ExportDocument(title, sections=[ExportSection("s", text)], language=hint)
    assert document_language(doc) == expected
