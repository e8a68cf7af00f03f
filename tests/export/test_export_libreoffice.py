"""A DOCX export opens in LibreOffice and converts to PDF; skipped where LibreOffice is not installed."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from longwriter_desktop.export import ExportDocument, ExportSection, export_document

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")

SAMPLE = ExportDocument(
    title="城市花园的四季",
    author="测试作者",
    created=datetime(2024, 5, 1, tzinfo=timezone.utc),
    sections=[
        ExportSection(
            "第一章 春天",
            "## 第一章 春天\n\n春天来了，**园丁们**开始翻土。\n\n### 要做的事\n\n"
            "- 修剪枝条\n- 施肥\n\n1. 翻土\n2. 播种\n",
        ),
        ExportSection("第二章 夏天", "夏天的花园充满生机。\n\n1. 早晚浇水\n2. 防治病虫害\n"),
    ],
)


@pytest.mark.timeout(180)
def test_libreoffice_converts_the_docx_to_pdf(tmp_path: Path) -> None:
    source = export_document(SAMPLE, tmp_path / "sample.docx", toc=True, page_breaks=True)
    profile = tmp_path / "lo-profile"  # a profile of its own, so parallel runs don't collide
    result = subprocess.run(
        [str(SOFFICE), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=150, check=False,
    )  # fmt: skip
    pdf = tmp_path / "sample.pdf"
    assert result.returncode == 0, result.stderr
    assert pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-"
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        return
    text = subprocess.run(
        [pdftotext, str(pdf), "-"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    for expected in ("城市花园的四季", "目录", "第一章 春天", "要做的事", "园丁们开始翻土", "防治病虫害"):
        assert expected in text
