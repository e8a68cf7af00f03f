"""`longwriter write` and `longwriter plan`: write a document (or only its plan) from a prompt."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit, urlunsplit

from ..app import service
from ..app.backends import BackendChoice, LocalModel, ServerChoice, choice_from_record, opened
from ..app.estimates import estimate_installed
from ..engine import events as ev
from ..engine.backend import Backend, Sampling
from ..engine.counting import rule_for
from ..engine.estimate import estimate_document, profile_for_backend
from ..engine.plan import Plan, PlanResult, generate_plan, load_plan
from ..engine.target import MAX_WORDS, MIN_WORDS, target_from_instruction
from ..engine.writer import ResumeState, WriteRequest
from ..errors import InputError
from ..export.atomic_file import write_atomically
from ..projects.store import Project, ProjectStore
from ..settings import KV_TYPES
from ..units import format_duration
from . import codex_cmd

# What a streamed document's reader is told where text printed before was taken back, by the writer's reason.
RETRACTED = {
    "repetition": "of repeated text removed",
    "echo": "about the task removed",
    "drift": "off the subject removed",
    "length": "taken back to end on the length",
}


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", nargs="?", help="the writing instruction (or give --prompt-file)")
    parser.add_argument("--prompt-file", type=Path, metavar="FILE",
                        help="read the writing instruction from FILE (UTF-8 text; '-' reads standard input)")
    parser.add_argument("--words", type=int, help="target length in words (default: read from the prompt)")
    parser.add_argument("--model", help="installed model id, or a path to a .gguf file (default: the built-in model "
                        "until another is installed)")
    parser.add_argument("--ctx", type=int, help="context size in tokens (a multiple of 256; default 8192, "
                        "capped by the model); with --backend openai, the server's context size, for servers "
                        "that don't report it (llama-cpp-python's: give its --n_ctx; default 4096)")
    parser.add_argument("--gpu-layers", default="auto", help="auto, all, or a number of layers to offload")
    parser.add_argument("--threads", type=int, help="CPU threads (default: llama.cpp's choice)")
    parser.add_argument("--kv-type", choices=KV_TYPES, default=None,
                        help="KV-cache type: f16 (default), q8_0 (about half the memory) or q4_0 (about a "
                        "quarter); the quantised ones turn flash attention on. Where f16 won't fit and q8_0 "
                        "would, q8_0 is used")
    parser.add_argument("--family", help="override the prompt format: longwriter-llama, glm4, longwriter-zero, chatml, "
                        "template")
    parser.add_argument("--seed", type=int, help="random seed, for repeatable output")
    parser.add_argument("--temperature", type=float, default=0.5)
    parser.add_argument("--top-p", type=float, default=0.8)
    parser.add_argument("--notes", type=Path,
                        help="a file of writing notes: audience, style, characters, facts to keep")
    parser.add_argument("--quiet", action="store_true", help="don't stream the document to stdout")
    parser.add_argument("--force", action="store_true", help="load the model even if the fit check says it "
                        "won't fit in this machine's memory")
    _server_options(parser)


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("local", "openai"), default=None,
                        help="local: llama.cpp in this process (default); openai: an OpenAI-compatible server")
    parser.add_argument("--base-url", help="the server's API address, e.g. http://127.0.0.1:8080/v1")
    parser.add_argument("--api-model", help="the server's model name (default: the first one it lists)")
    parser.add_argument("--api-key-env", help="name of the environment variable holding the API key "
                        "(the key itself is never saved)")


def register(sub: argparse._SubParsersAction) -> None:
    write = sub.add_parser("write", help="write a document from a prompt")
    _common(write)
    write.add_argument("--mode", choices=("auto", "direct", "plan"), default="auto",
                       help="direct: one pass (LongWriter models); plan: plan, then write section by section")
    write.add_argument("--plan", type=Path, help="use this plan (JSON, or lines 'Paragraph 1 - Main Point: ... - "
                       "Word Count: 400 words') instead of asking the model for one")
    write.add_argument("--out", type=Path, help="write the document to FILE (.docx, .md or .txt)")
    write.add_argument("--stats-json", type=Path, help="write run statistics as JSON to FILE")
    write.add_argument("--estimate", action="store_true",
                       help="print how long the document would take on this machine and write nothing (the "
                       "first time for a model, its speed is measured: a few seconds)")
    codex_cmd.add_write_options(write)
    write.set_defaults(func=cmd_write)
    plan = sub.add_parser("plan", help="ask the model for a plan only")
    _common(plan)
    plan.add_argument("--out", type=Path, help="write the plan to FILE (.json, or .txt for the line form)")
    plan.set_defaults(func=cmd_plan)
    resume = sub.add_parser("resume", help="continue an interrupted project where it stopped")
    resume.add_argument("project", type=int, help="the project id (see: longwriter projects list)")
    resume.add_argument("--out", type=Path, help="export the finished document to FILE (.docx, .md or .txt)")
    resume.add_argument("--stats-json", type=Path, help="write run statistics as JSON to FILE")
    run_options(resume)
    resume.set_defaults(func=cmd_resume)
    export = sub.add_parser("export", help="export a project to Word, Markdown or text")
    export.add_argument("project", type=int)
    export.add_argument("--out", type=Path, required=True, help="FILE.docx, FILE.md or FILE.txt")
    export.set_defaults(func=cmd_export)


SEED_MAX = 2**32 - 1  # llama.cpp's seeds are 32-bit


def _sampling(args: argparse.Namespace) -> Sampling:
    if not 0 <= args.temperature <= 5:
        raise InputError("--temperature must be between 0 and 5.")
    if not 0 < args.top_p <= 1:
        raise InputError("--top-p must be above 0 and at most 1.")
    if args.seed is not None and not 0 <= args.seed <= SEED_MAX:
        raise InputError(f"--seed must be a whole number from 0 to {SEED_MAX:,}.")
    return Sampling(temperature=args.temperature, top_p=args.top_p, seed=args.seed)


def _prompt(args: argparse.Namespace) -> str:
    """The instruction, from the command line or from --prompt-file."""
    if args.prompt_file is not None:
        if args.prompt is not None:
            raise InputError("Give the instruction either as text or with --prompt-file, not both.")
        try:
            if str(args.prompt_file) == "-":
                text = sys.stdin.read()
            else:
                text = args.prompt_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"The prompt file {args.prompt_file} does not exist.") from None
        except UnicodeDecodeError:
            raise InputError(f"The prompt file {args.prompt_file} is not UTF-8 text. Save it as UTF-8.") from None
        except OSError as exc:
            raise InputError(f"Cannot read the prompt file {args.prompt_file}: {exc.strerror or exc}.") from None
        args.prompt = text
    if args.prompt is None or not args.prompt.strip():
        raise InputError("The prompt is empty: say what to write (as text, or with --prompt-file FILE).")
    return str(args.prompt)


def _check_target(args: argparse.Namespace) -> None:
    """A length asked for in the instruction that no document can have is refused before any work starts."""
    if args.words is None:
        guess = target_from_instruction(args.prompt)
        if guess.problem:
            raise InputError(f"{guess.problem} Say how long it should be, or give --words N.")


def _notes(args: argparse.Namespace) -> str:
    if not args.notes:
        return ""
    try:
        return str(args.notes.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read the notes file {args.notes}: {exc}") from None


def _check_words(words: int | None) -> None:
    if words is not None and not MIN_WORDS <= words <= MAX_WORDS:
        raise InputError(f"--words must be between {MIN_WORDS:,} and {MAX_WORDS:,}.")


def _check_out(path: Path | None, allowed: tuple[str, ...] | None, option: str = "--out") -> None:
    """The output file's name and folder are checked before any work, not after the document is written."""
    if path is None:
        return
    if allowed is not None and path.suffix.lower() not in allowed:
        raise InputError(f"{option} must end in {', '.join(allowed)} (got '{path.name}').")
    folder = path.absolute().parent
    if not folder.is_dir():
        raise InputError(f"The folder {folder} for {option} does not exist. Create it, or choose another file.")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give {option} a file name.")
    try:  # a real write: permissions alone don't show a read-only disk (or a root user's limits)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".longwriter-check-"):
            pass
    except OSError as exc:
        raise InputError(f"Cannot write to the folder {folder} for {option} ({exc.strerror or exc}). "
                         "Choose a folder you can write to.") from None


# Ctrl+C, `kill` (and a desktop session ending) and a closed terminal all stop a run the same clean way.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class StopEvent(threading.Event):
    """The cancel event of a run, which remembers the signal that set it (for the exit code)."""

    signum: int | None = None

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or signal.SIGINT)


class _CancelOnSigint:
    """The first SIGINT, SIGTERM or SIGHUP stops the run cleanly (the text so far is kept); a second one
    interrupts at once."""

    def __init__(self) -> None:
        self.event = StopEvent()
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopEvent:
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self.event

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.signum = self.event.signum = signum
        self.event.set()
        how = "Ctrl+C" if signum == signal.SIGINT else signal.Signals(signum).name
        _tell(f"\nlongwriter: stopping on {how}; everything written is kept (Ctrl+C again to quit at once) ...")

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or signal.SIGINT)

    def __exit__(self, *_exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


def _tell(text: str) -> None:
    """A line on stderr, which may be gone (a closed terminal after SIGHUP): then the line is dropped."""
    with contextlib.suppress(OSError, ValueError):
        print(text, file=sys.stderr, flush=True)


class _ProgressLine:
    """One status line on stderr: words against target, tokens/s, time left."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.last = 0.0
        self.width = 0

    def show(self, progress: ev.Progress) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.5:
            return
        self.last = now
        line = (f"[{progress.words:,}/{progress.target_words:,} {progress.unit} | "
                f"section {progress.section_index + 1}: {progress.section_words}/{progress.section_target} | "
                f"{progress.tokens_per_second:.1f} tok/s | "
                f"{format_duration(progress.elapsed_s)} elapsed | {format_duration(progress.eta_s)} left]")
        self.write(line)

    def write(self, line: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # stderr gone (closed terminal): the run goes on
            if self.stream.isatty():
                self.stream.write("\r" + line.ljust(self.width))
                self.width = len(line)
            else:
                self.stream.write(line + "\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.stream.isatty() and self.width:
                self.stream.write("\n")
                self.width = 0
            self.stream.write(text + "\n")
            self.stream.flush()


def cmd_write(args: argparse.Namespace) -> int:
    _prompt(args)
    _check_words(args.words)
    _check_target(args)
    _check_out(args.out, OUT_SUFFIXES)
    _check_out(args.stats_json, None, "--stats-json")
    if args.estimate:
        return cmd_estimate(args)
    plan = load_plan(args.plan) if args.plan else None
    codex = codex_cmd.codex_for_write(args)
    notes, sampling = _notes(args), _sampling(args)
    status = _ProgressLine(sys.stderr, enabled=True)
    choice = _choice(_args_record(args), args)
    with _CancelOnSigint() as cancel, opened(choice, status.message) as backend, ProjectStore() as store:
        project = service.create_project(store, args.prompt, target_words=args.words, mode=args.mode, notes=notes,
                                         choice=choice, sampling=sampling, backend=backend,
                                         settings=codex_cmd.codex_settings(codex))
        codex_cmd.save_for_project(store, project.id, codex)
        request = service.write_request(project, sampling, target_words=args.words, plan=plan, codex=codex)
        status.message(f"Project {project.id}: \"{project.title}\" (resume it with: longwriter resume {project.id})")
        return _run(store, project.id, backend, request, resume=None, args=args, status=status, cancel=cancel)


OUT_SUFFIXES = (".md", ".markdown", ".txt", ".docx")


def without_credentials(url: str | None) -> str | None:
    """A server URL without any user name or key in it (``http://user:key@host`` -> ``http://host``)."""
    if not url:
        return url
    parts = urlsplit(url if "://" in url else "http://" + url)
    if "@" not in parts.netloc:
        return url
    clean = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
    return urlunsplit(clean) if "://" in url else urlunsplit(clean).removeprefix("http://")


def cmd_estimate(args: argparse.Namespace) -> int:
    """Print the time a document would take with this model on this machine; write nothing."""
    if (args.backend or "local") != "local":
        raise InputError("--estimate measures models that run on this machine; it does not work with --backend "
                         "openai.")
    words = args.words or target_from_instruction(args.prompt).words
    choice = _choice(_args_record(args), args)
    assert isinstance(choice, LocalModel)
    result = estimate_installed(args.model, choice.settings, words, allow_rough=False)
    if result is None:
        print("Measuring this model's speed on this machine (a few seconds, once) ...", file=sys.stderr)
        with opened(choice, lambda m: print(m, file=sys.stderr)) as backend:
            profile = profile_for_backend(backend)
            if profile is None:
                raise InputError("This model's speed could not be measured.")
            result = estimate_document(profile, words, backend.info.n_ctx)
    print(f"Estimated time: {result.describe()}")
    print(f"  planning {format_duration(result.plan_s)}, writing {format_duration(result.generate_s)}, reading "
          f"prompts {format_duration(result.prompt_s)}, "
          f"about {result.tokens:,} tokens generated; nothing was written.")
    return 0


URL_KEY_ENV = "LONGWRITER_URL_KEY"


def _url_key_to_env(args: argparse.Namespace) -> None:
    """A key written into --base-url (http://user:KEY@host) is used for this run only: it moves into this
    process's environment, named by api_key_env, and the URL that a project records carries no credentials."""
    url = getattr(args, "base_url", None)
    if not url:
        return
    parts = urlsplit(url if "://" in url else "http://" + url)
    if parts.password and not args.api_key_env:
        os.environ[URL_KEY_ENV] = unquote(parts.password)
        args.api_key_env = URL_KEY_ENV
    args.base_url = without_credentials(url)


class _DocumentOut:
    """The document streamed to stdout. When stdout closes (`... | head`), streaming stops: with --out the
    run goes on into the file; without, the run stops cleanly, as on Ctrl+C, and says why."""

    def __init__(self, quiet: bool, status: _ProgressLine, cancel: threading.Event, out_file: Path | None,
                 project_id: int) -> None:
        self.quiet = quiet
        self.closed = False
        self._status = status
        self._cancel = cancel
        self._out_file = out_file
        self._project_id = project_id

    def write(self, text: str) -> None:
        if self.quiet or self.closed or not text:
            return
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except (OSError, ValueError):  # EPIPE, or a stream already closed
            self._stdout_closed()

    def flush(self) -> None:
        """Each write flushes already."""

    def _stdout_closed(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError, ValueError):  # later writes, and Python's own at exit, go nowhere
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        if self._out_file is not None:
            self._status.message(f"longwriter: note: standard output was closed; writing goes on into "
                                 f"{self._out_file}.")
            return
        self._cancel.set()
        self._status.message(
            "longwriter: standard output was closed, so writing stops; everything written is saved in project "
            f"{self._project_id} (continue with: longwriter resume {self._project_id}, or add --out FILE)."
        )


def export_project(store: ProjectStore, project_id: int, path: Path, note: Any = None) -> None:
    """Export a project's chosen takes; ``note`` hears when it is unfinished, and one with no text is refused."""
    project = store.get_project(project_id)
    sections = store.document_sections(project_id)
    if not any(text.strip() for _, text in sections):
        why = " (it was stopped while its plan was being made)" if not sections else ""
        raise InputError(f"Project {project_id} has no text yet{why}, so there is nothing to export. Write it "
                         f"with: longwriter resume {project_id}")
    service.export_project(store, project_id, path)
    if project.status != "done" and note is not None:
        note(f"longwriter: note: project {project_id} is not finished ({project.sections_done} of "
             f"{project.sections_total} sections, {project.words_written:,} of {project.target_words:,} words); "
             f"{path} has what is written so far. Continue it with: longwriter resume {project_id}")


def _args_record(args: argparse.Namespace) -> dict[str, Any]:
    """The command line's backend options in the form a project records them (app.backends.run_record)."""
    _url_key_to_env(args)
    return {
        "backend": "openai" if args.backend == "openai" else "local", "model": args.model, "ctx": args.ctx,
        "gpu_layers": args.gpu_layers, "threads": args.threads, "family": args.family,
        "base_url": args.base_url, "api_model": args.api_model, "api_key_env": args.api_key_env,
        "kv_type": getattr(args, "kv_type", None), "api_key_keyring": getattr(args, "api_key_keyring", None),
    }


def backend_choice(args: argparse.Namespace) -> BackendChoice:
    """The backend the command line's options (after :func:`restore_run_args`, for a saved project) name."""
    return _choice(_args_record(args), args)


def _choice(record: dict[str, Any], args: argparse.Namespace) -> BackendChoice:
    if record.get("backend") == "openai" and not record.get("base_url"):
        raise InputError("--backend openai needs --base-url, for example http://127.0.0.1:8080/v1")
    choice = choice_from_record(record)
    return replace(choice, force=True) if args.force and not isinstance(choice, ServerChoice) else choice


def _run(store: ProjectStore, project_id: int, backend: Backend, request: WriteRequest, *,
         resume: ResumeState | None, args: argparse.Namespace, status: _ProgressLine, cancel: threading.Event,
         choice: BackendChoice | None = None) -> int:
    """Stream a run to stdout while the recorder saves every word; export at the end."""
    out = _DocumentOut(args.quiet, status, cancel, args.out, project_id)
    done: ev.Done | None = None
    writer, events = service.write(store, project_id, backend, request, cancel=cancel, resume=resume, choice=choice)
    for event in events:
        if isinstance(event, ev.PlanReady):
            if len(event.plan.sections) > 1:
                status.message(f"Plan: {len(event.plan.sections)} sections, {event.plan.total_words:,} words.")
        elif isinstance(event, ev.SectionStarted):
            if not args.quiet:
                if event.title and len(writer.plan.sections) > 1:
                    out.write(("\n\n" if event.index else "") + f"## {event.title}\n\n")
                if event.resumed_words:
                    out.write(writer.texts[event.index])
                out.flush()
        elif isinstance(event, ev.TextDelta):
            if not args.quiet:
                out.write(event.text)
                out.flush()
        elif isinstance(event, ev.TextRetracted):
            if not args.quiet:
                out.write(f"\n[... {event.chars} characters {RETRACTED.get(event.reason, 'removed')} ...]\n")
        elif isinstance(event, ev.Progress):
            status.show(event)
        elif isinstance(event, ev.Warning):
            status.message(f"longwriter: note: {event.message}")
        elif isinstance(event, ev.CodexInView):
            status.message(codex_cmd.describe_view(event))
        elif isinstance(event, ev.Cancelled):
            if not out.closed or args.out:
                status.message(f"longwriter: stopped at {event.words:,} words; everything written is saved in "
                               f"project {project_id} (continue with: longwriter resume {project_id}).")
        elif isinstance(event, ev.Done):
            done = event
    if not args.quiet:
        out.write("\n")
        out.flush()
    if args.out:
        try:
            export_project(store, project_id, args.out, status.message)
            status.message(f"Saved {args.out}.")
        except InputError as exc:  # nothing written yet (stopped while planning): nothing to export
            status.message(f"longwriter: {exc}")
    if done is None:
        if out.closed and not args.out:
            return 1
        return getattr(cancel, "exit_code", 130) if cancel.is_set() else 1
    if args.stats_json:
        stats = dict(done.stats, project=project_id)
        _save_text(args.stats_json, json.dumps(stats, indent=2, ensure_ascii=False) + "\n")
    stats = done.stats
    status.message(
        f"Done: {stats['words']:,} {stats.get('unit', 'words')} (target {stats['target_words']:,}; asked: "
        f"{stats['target_phrase']}; length score "
        f"{stats['length_score']}), {stats['tokens_per_second']} tok/s, {format_duration(stats['elapsed_s'])}."
    )
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    _check_out(args.out, OUT_SUFFIXES)
    _check_out(args.stats_json, None, "--stats-json")
    status = _ProgressLine(sys.stderr, enabled=True)
    with ProjectStore() as store:
        state = store.resume_state(args.project)
        project = state.project
        planned = bool(state.sections)
        if planned and state.next_index is None:
            status.message(f"Project {project.id} is already complete.")
            if args.out:
                export_project(store, project.id, args.out, status.message)
                status.message(f"Saved {args.out}.")
            return 0
        if not planned:  # it stopped before its plan was saved: make the plan again, then write
            return run_saved(store, project, None, args, status, announce=(
                f"Resuming project {project.id} \"{project.title}\": it stopped before its plan was made, so the "
                "plan is made again first."))
        resume = service.resume_state(state)
        rule = rule_for(project.instruction)  # as the store counts the project (characters for Chinese)
        done = rule.describe(sum(rule.count(t) for t in resume.texts))
        at = (state.next_index if state.next_index is not None else len(state.sections) - 1) + 1
        return run_saved(store, project, resume, args, status, announce=(
            f"Resuming project {project.id} \"{project.title}\" at section {at} of "
            f"{len(state.sections)} ({done} so far)."))


def run_saved(store: ProjectStore, project: Project, resume: ResumeState | None, args: argparse.Namespace,
              status: _ProgressLine, *, announce: str, request: WriteRequest | None = None) -> int:
    """Run a saved project on from ``resume`` with its recorded backend and settings (options override them)."""
    restore_run_args(args, project)
    choice = backend_choice(args)
    sampling = replace(_sampling(args), repeat_penalty=float(project.settings.get("repeat_penalty") or 1.0))
    if request is None:
        request = service.write_request(project, sampling,
                                        codex=codex_cmd.codex_for_resume(store, project.id, project.settings))
    status.message(announce)
    with _CancelOnSigint() as cancel, opened(choice, status.message) as backend:
        return _run(store, project.id, backend, request, resume=resume, args=args, status=status, cancel=cancel,
                    choice=choice)


def run_options(parser: argparse.ArgumentParser) -> None:
    """The options of a run on a saved project; those not given come from the project's own settings."""
    parser.add_argument("--model", help="use another model than the project's")
    parser.add_argument("--ctx", type=int, help="context size (the server's, with --backend openai)")
    parser.add_argument("--gpu-layers")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--kv-type", choices=KV_TYPES, default=None)
    parser.add_argument("--family")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--top-p", type=float)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--force", action="store_true", help="load the model even if it won't fit")
    _server_options(parser)


def restore_run_args(args: argparse.Namespace, project: Any) -> None:
    """Fill the run options not given on the command line from the project's saved settings."""
    saved = project.settings
    if getattr(args, "api_key_env", None) is None and getattr(args, "api_key_keyring", None) is None:
        args.api_key_keyring = saved.get("api_key_keyring")  # a key the window keeps in the OS keyring
    for key in ("model", "ctx", "gpu_layers", "threads", "kv_type", "family", "seed", "temperature", "top_p",
                "backend", "base_url", "api_model", "api_key_env"):
        if getattr(args, key, None) is None:
            setattr(args, key, saved.get(key))
    args.gpu_layers = args.gpu_layers or "auto"
    args.temperature = 0.5 if args.temperature is None else args.temperature
    args.top_p = 0.8 if args.top_p is None else args.top_p
    if args.model is None and project.model:
        args.model = project.model


def cmd_export(args: argparse.Namespace) -> int:
    _check_out(args.out, OUT_SUFFIXES)
    with ProjectStore() as store:
        export_project(store, args.project, args.out, lambda text: print(text, file=sys.stderr))
    print(f"Saved {args.out}.", file=sys.stderr)
    return 0


def _save_text(path: Path, text: str) -> None:
    write_atomically(path, lambda handle: handle.write(text.encode("utf-8")))


def cmd_plan(args: argparse.Namespace) -> int:
    _prompt(args)
    _check_words(args.words)
    _check_target(args)
    _check_out(args.out, (".json", ".txt"))
    words = args.words or target_from_instruction(args.prompt).aim
    choice = _choice(_args_record(args), args)
    with _CancelOnSigint() as cancel, opened(choice, lambda m: print(m, file=sys.stderr)) as backend:
        result = PlanResult(Plan([]))
        for event in generate_plan(backend, args.prompt, words, notes=_notes(args), sampling=_sampling(args),
                                   cancel=cancel, result=result):
            if isinstance(event, ev.Warning):
                print(f"longwriter: note: {event.message}", file=sys.stderr)
        if cancel.is_set() or not result.plan.sections:
            return cancel.exit_code
        text = result.plan.to_json() + "\n" if not args.out or args.out.suffix.lower() == ".json" \
            else result.plan.to_text() + "\n"
        if args.out:
            _save_text(args.out, text)
            print(f"Plan written to {args.out}.", file=sys.stderr)
        if not args.quiet:
            sys.stdout.write(text)
    return 0
