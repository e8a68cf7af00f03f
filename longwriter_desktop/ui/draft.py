"""The document being worked on, as the window holds it: the plan with each section's text and status.

Plain Python (no Qt), so the panes, the worker glue and the tests share one picture of a project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..app.backends import ServerChoice
from ..engine.counting import LengthRule, rule_for
from ..engine.plan import Plan, Section
from ..engine.writer import ResumeState, document_title

if TYPE_CHECKING:  # imported when exporting: markdown-it is slow to load, and the window starts without it
    from ..export.document import ExportDocument


PENDING, WRITING, DONE, INTERRUPTED = "pending", "writing", "done", "interrupted"
STATUS_NAMES = (PENDING, WRITING, DONE, INTERRUPTED)


@dataclass
class SectionRow:
    """One section of the plan and what has been written of it."""

    section: Section
    text: str = ""
    status: str = PENDING
    edited: bool = False  # its text was changed by hand since it was written
    section_id: int | None = None  # its row in the project store, once saved
    summary: str = ""  # what the model keeps in view of the section once its text leaves the context

    @property
    def state(self) -> str:
        """What the outline shows: planned, writing, done, edited or stopped."""
        if self.status == DONE:
            return "edited" if self.edited else "done"
        return {PENDING: "planned", WRITING: "writing", INTERRUPTED: "stopped"}.get(self.status, self.status)


@dataclass
class Draft:
    """A project in the window: the request, the plan rows, and where writing stands."""

    instruction: str
    target_words: int
    mode: str = "plan"  # "plan" or "direct" (auto is resolved when the project is created)
    model: str | None = None
    notes: str = ""
    title: str = ""
    rows: list[SectionRow] = field(default_factory=list)
    project_id: int | None = None  # set once the project store holds it
    server: ServerChoice | None = None  # written through this server; None: the local model

    def __post_init__(self) -> None:
        if not self.title:
            self.title = document_title(self.instruction)
        self._rule: tuple[str, LengthRule] | None = None

    @property
    def rule(self) -> LengthRule:
        """How this document is counted (words, or characters for Chinese and Japanese), from its instruction."""
        if self._rule is None or self._rule[0] != self.instruction:
            self._rule = (self.instruction, rule_for(self.instruction))
        return self._rule[1]

    # -- the plan ----------------------------------------------------------------------------------

    def plan(self) -> Plan:
        """The plan as the engine takes it."""
        return Plan([replace(r.section) for r in self.rows])

    def set_plan(self, plan: Plan) -> None:
        """Take a new plan; text already written is dropped (the old plan no longer fits it)."""
        self.rows = [SectionRow(replace(s)) for s in plan.sections]

    @property
    def planned_words(self) -> int:
        return sum(r.section.target_words for r in self.rows)

    # -- writing state -------------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """True once any section has text."""
        return any(r.text for r in self.rows)

    @property
    def complete(self) -> bool:
        return bool(self.rows) and all(r.status == DONE for r in self.rows)

    @property
    def resumable(self) -> bool:
        return self.started and not self.complete

    def resume_state(self) -> ResumeState:
        """Where writing stopped, for the engine to go on from."""
        return ResumeState(
            self.plan(), [r.text for r in self.rows], [r.status == DONE for r in self.rows], mode=self.mode
        )

    def mark_interrupted(self) -> None:
        for row in self.rows:
            if row.status == WRITING:
                row.status = INTERRUPTED

    @property
    def headings(self) -> bool:
        """Sections get `## title` headings unless the document is one untitled piece."""
        return len(self.rows) > 1 or bool(self.rows and self.rows[0].section.title)

    # -- the text view -------------------------------------------------------------------------------

    def section_opening(self, index: int) -> str:
        """What the text view shows before a section's text: a blank line and its heading."""
        title = self.rows[index].section.title
        return f"\n\n## {title}\n\n" if self.headings and title else "\n\n"

    def shown_sections(self) -> int:
        """How many sections the text view shows: up to the last one that has text or is being written."""
        shown = 0
        for i, row in enumerate(self.rows):
            if row.text or row.status in (WRITING, DONE, INTERRUPTED):
                shown = i + 1
        return shown

    def view_text(self) -> str:
        """The whole text view: `# title`, then each shown section's opening and text, exactly as streamed."""
        parts = [f"# {self.title}"]
        for i in range(self.shown_sections()):
            parts.append(self.section_opening(i) + self.rows[i].text)
        return "".join(parts)

    def take_view_text(self, text: str) -> str | None:
        """Read the user's edits of the text view back into the sections (headings included).

        With one `## ` line per shown section, the lines are the sections' titles, in order (an edited
        heading renames its section). With fewer (a heading line deleted), the headings that are left find
        their sections by title, and a section whose heading went joins the one above it, so no word is
        lost. A `## ` line that names no section stays in the text. Returns None: every edit fits.
        """
        shown = self.shown_sections()
        if shown == 0:
            return None
        body = text
        first = body.find("\n")
        if body.startswith("# "):
            title = (body[:first] if first >= 0 else body)[2:].strip()
            if title:
                self.title = title
            body = body[first:] if first >= 0 else ""
        if not self.headings:
            self._set_texts([body])
            return None
        parts = re.split(r"^## ([^\n]*)\n?", body, flags=re.MULTILINE)
        preamble, headed = parts[0], list(zip(parts[1::2], parts[2::2]))
        texts = [""] * shown
        if len(headed) == shown:
            for row, (heading, _) in zip(self.rows, headed):
                if heading.strip():
                    row.section = replace(row.section, title=heading.strip())
            texts = [piece for _, piece in headed]
        else:
            at, pointer = 0, 0
            for heading, piece in headed:
                key = " ".join(heading.split()).casefold()
                match = next((j for j in range(pointer, shown)
                              if " ".join(self.rows[j].section.title.split()).casefold() == key), None)
                if match is None:  # not a section's heading: keep the line as text of the section above
                    texts[at] += f"\n\n## {heading}\n{piece}"
                    continue
                at, pointer = match, match + 1
                texts[at] = piece
        texts[0] = preamble.strip("\n") + ("\n\n" if preamble.strip() and texts[0].strip() else "") + texts[0]
        self._set_texts(texts)
        return None

    def _set_texts(self, texts: list[str]) -> None:
        for row, piece in zip(self.rows, texts, strict=False):
            row.text = piece.strip("\n")
            if row.text and row.status == DONE:
                row.text = row.text.rstrip()

    def export_document(self) -> ExportDocument:
        """The document for the exporters: the title and each section that has text."""
        from ..app.service import export_sections

        return export_sections(self.title, [(r.section.title, r.text) for r in self.rows])
