"""Autosave for a writing run: applies the pipeline's events to the project store as they pass.

Text arrives a token at a time; a commit per token would be wasteful, so the recorder keeps new text in
memory and commits it when the oldest unsaved piece is ``autosave_seconds`` old (checked on every event:
tokens arrive many times a second), at every paragraph end, at every cut (the next call reads its prompt
first, seconds without an event on a large model), and at every section end, cancel, error, the end of the
run and close. A ``kill -9`` or power loss therefore costs at most the last
``autosave_seconds`` plus one token's time of text: about two seconds with the default of one second at
one token a second or faster.

The recorder holds the project's lock from creation to ``close`` so no other process writes it meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..engine import events
from .store import ProjectProgress, ProjectStore

AUTOSAVE_SECONDS = 1.0


class ProjectRecorder:
    """Consumes a run's events and keeps the project in the store up to date; use as a context manager."""

    def __init__(
        self,
        store: ProjectStore,
        project_id: int,
        *,
        model: str = "",
        seed: int | None = None,
        autosave_seconds: float = AUTOSAVE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self.project_id = project_id
        self._model = model
        self._seed = seed
        self._autosave_seconds = autosave_seconds
        self._clock = clock
        store.lock_project(project_id)
        try:
            # Sections a dead run left "writing" are interrupted: nobody else can be writing them now.
            recovered = store.mark_interrupted(project_id)
            if recovered:
                store.log(project_id, "recovered", f"{recovered} section(s) of a run that stopped abruptly "
                          "are marked interrupted")
        except BaseException:
            store.unlock_project(project_id)
            raise
        self._take_id: int | None = None
        self._section_id: int | None = None
        self._index: int | None = None
        self._section_started: float = 0.0
        self._pending: list[str] = []  # text not yet committed
        self._drop = 0  # characters to remove from the committed text before appending _pending
        self._dirty_since: float | None = None  # when the oldest uncommitted change arrived
        self._last_char = ""  # last character of the take so far, to see "\n" + "\n" across deltas
        self._tokens_per_second = 0.0
        self._closed = False

    # -- the public surface -------------------------------------------------------------------------

    def handle(self, event: events.Event) -> None:
        """Apply one pipeline event; raises ProjectError when saving fails (the text stays in memory)."""
        if self._closed:
            raise RuntimeError("the recorder is closed")
        if isinstance(event, events.TextDelta):
            self._on_delta(event)
        elif isinstance(event, events.TextRetracted):
            self._on_retracted(event)
        elif isinstance(event, events.SectionStarted):
            self._on_section_started(event)
        elif isinstance(event, events.SectionFinished):
            self._on_section_finished(event)
        elif isinstance(event, events.Progress):
            self._tokens_per_second = event.tokens_per_second
        elif isinstance(event, events.PlanReady):
            self._on_plan(event)
        elif isinstance(event, events.ModelReady):
            self._model = self._model or event.model
            self._store.log(self.project_id, "model", f"{event.model} on {event.device}",
                            {"backend": event.backend, "n_ctx": event.n_ctx, "load_s": event.load_seconds})
        elif isinstance(event, events.Warning):
            self._store.log(self.project_id, "warning", event.message, {"kind": event.kind})
        elif isinstance(event, events.Cancelled):
            self._stop("cancelled", f"stopped at {event.words} words")
        elif isinstance(event, events.ErrorEvent):
            self._stop("error", event.message)
        elif isinstance(event, events.Done):
            self._on_done(event)
        if self._dirty_since is not None and self._clock() - self._dirty_since >= self._autosave_seconds:
            self.flush()

    def flush(self) -> None:
        """Commit the text held in memory now."""
        if self._take_id is None or self._dirty_since is None:
            return
        self._store.append_text(self._take_id, "".join(self._pending), drop_chars=self._drop)
        self._pending.clear()
        self._drop = 0
        self._dirty_since = None

    def unsaved_text(self) -> str:
        """Text handed over but not committed yet (for a last-resort copy when saving keeps failing)."""
        return "".join(self._pending)

    def resume_state(self) -> ProjectProgress:
        """Where the project stands, for the pipeline to continue it (the plan, done texts, partial text)."""
        return self._store.resume_state(self.project_id)

    def close(self) -> None:
        """Commit what is left; a section still open is marked interrupted; the project is released."""
        if self._closed:
            return
        try:
            self.flush()
            if self._take_id is not None:
                self._store.mark_interrupted(self.project_id)
                self._forget_take()
        finally:
            self._closed = True
            self._store.unlock_project(self.project_id)

    def __enter__(self) -> ProjectRecorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- events -------------------------------------------------------------------------------------

    def _mark_dirty(self) -> None:
        if self._dirty_since is None:
            self._dirty_since = self._clock()

    def _forget_take(self) -> None:
        self._take_id = self._section_id = self._index = None
        self._pending.clear()
        self._drop = 0
        self._dirty_since = None
        self._last_char = ""

    def _on_plan(self, event: events.PlanReady) -> None:
        self.flush()
        plan: Any = event.plan
        self._store.update_plan(self.project_id, getattr(plan, "sections", plan))
        self._store.log(self.project_id, "plan", "generated" if event.generated else "given by the user",
                        {"notes": list(event.notes)} if event.notes else None)

    def _on_section_started(self, event: events.SectionStarted) -> None:
        self.flush()
        if self._take_id is not None and self._index != event.index:
            self._store.mark_interrupted(self.project_id)  # the previous section never finished
        self._forget_take()
        section = self._store.section_at(self.project_id, event.index)
        take = None
        if event.resumed_words > 0:
            unfinished = [t for t in self._store.takes(section.id) if t.finished is None]
            if unfinished:
                take = self._store.continue_take(unfinished[-1].id)
        if take is None:
            take = self._store.start_take(section.id, model=self._model, seed=self._seed)
        self._take_id, self._section_id, self._index = take.id, section.id, event.index
        self._last_char = take.text[-1:]
        self._section_started = self._clock()

    def _ensure_take(self, index: int) -> None:
        # Text for a section that was never announced is still saved rather than dropped.
        if self._take_id is None or self._index != index:
            self._on_section_started(events.SectionStarted(index=index, title="", target_words=0))

    def _on_delta(self, event: events.TextDelta) -> None:
        if not event.text:
            return
        self._ensure_take(event.index)
        self._pending.append(event.text)
        self._mark_dirty()
        paragraph_end = "\n\n" in self._last_char + event.text
        self._last_char = event.text[-1]
        if paragraph_end:
            self.flush()

    def _on_retracted(self, event: events.TextRetracted) -> None:
        if self._take_id is None or self._index != event.index or event.chars <= 0:
            return
        chars = event.chars
        while chars and self._pending:
            last = self._pending.pop()
            if len(last) > chars:
                self._pending.append(last[:-chars])
                chars = 0
            else:
                chars -= len(last)
        self._drop += chars
        self._mark_dirty()
        if self._pending:
            self._last_char = self._pending[-1][-1]
        else:
            committed = self._store.get_take(self._take_id).text
            self._last_char = committed[: max(len(committed) - self._drop, 0)][-1:]
        self.flush()

    def _on_section_finished(self, event: events.SectionFinished) -> None:
        self._ensure_take(event.index)
        assert self._take_id is not None
        streamed = self._store.get_take(self._take_id).text
        if self._drop:
            streamed = streamed[: max(len(streamed) - self._drop, 0)]
        streamed += "".join(self._pending)
        # The pipeline's final text is the truth (it may trim the end); never replace words by nothing.
        final = event.text if event.text.strip() or not streamed.strip() else streamed
        stats: dict[str, Any] = {
            "words": event.words, "target_words": event.target_words, "retries": event.retries,
            "seconds": round(self._clock() - self._section_started, 3),
            "tokens_per_second": round(self._tokens_per_second, 2),
        }
        if event.summary:
            stats["summary"] = event.summary  # what the model keeps of the section once its text leaves the view
        self._store.finish_take(self._take_id, text=final, stats=stats)
        if final.strip() != streamed.strip():
            self._store.log(self.project_id, "section", f"section {event.index + 1}: the final text differs "
                            f"from the streamed text ({len(final)} vs {len(streamed)} characters)")
        self._forget_take()

    def _stop(self, kind: str, message: str) -> None:
        self.flush()
        self._store.mark_interrupted(self.project_id)
        self._forget_take()
        self._store.log(self.project_id, kind, message)

    def _on_done(self, event: events.Done) -> None:
        self.flush()
        if self._take_id is not None:
            self._store.mark_interrupted(self.project_id)
            self._forget_take()
        self._store.update_project(self.project_id, status="done")
        self._store.log(self.project_id, "done", f"{len(event.text)} characters", event.stats or None)
