"""Typed events that long jobs yield; the CLI prints them and the GUI turns them into signals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """Base class of every event."""


@dataclass(frozen=True)
class ModelLoading(Event):
    model: str
    fraction: float


@dataclass(frozen=True)
class ModelReady(Event):
    model: str
    backend: str
    device: str
    n_ctx: int
    load_seconds: float


@dataclass(frozen=True)
class PlanningStarted(Event):
    target_words: int
    sections: int


@dataclass(frozen=True)
class PlanningProgress(Event):
    """A further section line of the plan has been written (planning takes seconds: the view shows it moving)."""

    sections_done: int
    sections: int


@dataclass(frozen=True)
class PlanReady(Event):
    plan: Any  # plan.Plan (kept loose to avoid an import cycle)
    generated: bool  # False when the user supplied it
    notes: tuple[str, ...] = ()  # what was repaired (duplicate titles, rescaled targets, fallback)


@dataclass(frozen=True)
class SectionStarted(Event):
    index: int
    title: str
    target_words: int
    resumed_words: int = 0  # words already there from an interrupted run


@dataclass(frozen=True)
class TextDelta(Event):
    index: int
    text: str


@dataclass(frozen=True)
class TextRetracted(Event):
    """The last ``chars`` characters of a section were removed: a loop ("repetition"), a sentence about the task
    ("echo"), text off the subject ("drift"), or an end taken back to land on the length ("length")."""

    index: int
    chars: int
    reason: str = "repetition"


@dataclass(frozen=True)
class SectionFinished(Event):
    index: int
    title: str
    words: int
    target_words: int
    text: str
    retries: int = 0
    summary: str = ""  # a short summary of the section, kept in the model's view once its text is not


@dataclass(frozen=True)
class Progress(Event):
    words: int
    target_words: int
    section_index: int
    section_words: int
    section_target: int
    tokens_per_second: float
    elapsed_s: float
    eta_s: float | None
    context_used: int = 0
    context_size: int = 0
    unit: str = "words"  # what words, target_words and the section figures count: "words" or "characters"


@dataclass(frozen=True)
class Warning(Event):
    message: str
    kind: str = "warning"  # "context", "repetition", "plan", "length"


@dataclass(frozen=True)
class ErrorEvent(Event):
    message: str


@dataclass(frozen=True)
class Cancelled(Event):
    words: int


@dataclass(frozen=True)
class Done(Event):
    text: str
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CodexInView(Event):
    """The story-bible entries a section's prompt holds, and the budget they use."""

    index: int
    names: tuple[str, ...]
    tokens: int
    budget: int
    left_out: tuple[str, ...] = ()  # mentioned, but over the budget


@dataclass(frozen=True)
class ConsistencyWarning(Warning):
    """A finished section disagrees with the story bible (a misspelt or mixed-up name)."""

    index: int = 0
    sentence: str = ""
    entry: str = ""
