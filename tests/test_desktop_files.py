"""The Linux desktop files and the package agree with the project: one id everywhere, one version."""

from __future__ import annotations

import configparser
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "io.github.longwriter.LongWriterDesktop"


def test_desktop_entry_names_the_program_and_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    entry.read(ROOT / "resources" / f"{APP_ID}.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    program = desktop["Exec"].split()[0]
    assert program in project["gui-scripts"]
    assert desktop["Icon"] == APP_ID
    assert desktop["StartupWMClass"] == program  # Qt's WM_CLASS is the program's name
    assert (ROOT / "resources" / f"{APP_ID}.svg").is_file()


def test_metainfo_matches_the_project() -> None:
    component = ET.parse(ROOT / "resources" / f"{APP_ID}.metainfo.xml").getroot()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert component.findtext("id") == APP_ID
    assert component.findtext("launchable") == f"{APP_ID}.desktop"
    versions = [release.get("version") for release in component.iter("release")]
    assert project["version"] in versions, "add this version's <release> to the metainfo"
    assert component.findtext("project_license") == project["license"]["text"]


def test_the_package_version_is_the_project_version() -> None:
    from longwriter_desktop import __version__

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert __version__ == project["version"], "bump longwriter_desktop/__init__.py with pyproject.toml"
