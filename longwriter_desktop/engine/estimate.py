"""How long a document will take on this machine: a speed model per model and machine.

Decoding one token at context position ``n`` takes ``a * (1 + k * n)`` seconds: ``a`` is the model's speed on
an empty context (memory bandwidth, mostly) and ``k`` the slow-down as attention reads a longer context. Both
come from a few seconds of calibration on first use (a short and a long prompt) and are refitted from every
call of every run since, newest first, so a machine that got busier is followed within one run. A document's
time is then the decode time of the tokens it will take at the context positions they will sit at, plus
prompt evaluation, times what whole runs took beyond those two (the writer's own work). Tokens per word,
tokens generated but not kept (plans, retries, loops cut) and prompt tokens per word are learned per model
from finished runs, starting from figures measured on the built-in model.

Profiles live in the config folder (``speed.json``), one per model file, machine and cache settings.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .. import paths
from .backend import Finish, GenerationRequest, Sampling
from .plan import section_count_for

log = logging.getLogger(__name__)

FILE_NAME = "speed.json"
VERSION = 1
MAX_SAMPLES = 240  # calls kept per profile (the newest)
RECENCY = 0.85  # weight of each older call relative to the next newer one (half-weight after 4 calls)
PRIOR_ATTENTION_FACTOR = 2.4  # measured k / (KV bytes per token / weight bytes) on the built-in model, 2 cores
DEFAULT_GENERATED_PER_WORD = 1.5  # tokens generated per kept English word, plan and retries included
DEFAULT_EVALUATED_PER_WORD = 0.4  # prompt tokens evaluated per word (the KV cache is reused)
DEFAULT_OVERHEAD = 1.08
# Planning is one grammar-bound call: a prompt of about 140 tokens (measured: 139 for a 2,500-word guide),
# then 30-45 tokens a section, each sampled several times slower under the grammar and the plan's word-level
# repeat control than a token of prose. Its decoding time, in tokens at the empty-context speed per section
# (plus one), is learned from each run's planning; the default is the built-in model's on 2 cores (measured
# 2026-12-02: 102 for a 1,000-word and 99 for a 6,000-word plan, each asked once; it was 435 on 2026-12-01,
# when the first plan nearly always failed the checks and was asked again in full).
PLAN_PROMPT_TOKENS = 140
DEFAULT_PLAN_TOKENS_PER_SECTION = 110.0
HEAD_TOKENS = 350  # instruction and system text in front of the document
HEAD_TOKENS_PER_WORD = 0.03  # the plan in view grows with the document
# How much of the context the writer fills before it drops old sections from the model's view. Where reading
# a long context costs more than the model's weights (a tiny model: on 2 cores the built-in one decodes at a
# third of its empty-context speed at 6,000 tokens), the view ends near where decoding runs at half its
# empty-context speed, but never below the head plus VIEW_MIN_TEXT tokens of the document; large models keep
# the whole context. The rest of the document stays in view as the plan and a summary of each section.
VIEW_SLOWDOWN = 1.0  # 1 + slope x view: the view ends where a token takes twice its empty-context time
VIEW_MIN_TEXT = 2560  # tokens of document text (earlier sections and the one being written) always in view
COMPACT_KEEP = 0.3  # share of the text window the writer keeps in view when it drops old sections
COMPACT_ROOM = 0.25  # share of the view it frees at least for the section being written
LEARNING_RATE = 0.5  # weight of a new run in the per-word figures
WARM_UP_TOKENS = 8  # calibration: decoded and not measured
LONG_PROMPT_S = 8.0  # calibration's long prompt: this many seconds of decoding's worth of tokens


def machine_fingerprint() -> str:
    """This machine's CPU model and core count (speed profiles are per machine)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu} x{os.cpu_count() or 1}"


def profile_key(model_file: str, size_bytes: int, *, kv_type: str = "f16", flash_attn: bool = False,
                gpu_layers: int | str = "auto", threads: int | None = None) -> str:
    """The key of a speed profile: the model file, this machine and the settings that change the speed."""
    attention = "fa" if flash_attn or kv_type != "f16" else "nofa"
    return (f"{model_file}|{size_bytes}|{machine_fingerprint()}|{kv_type}-{attention}|gpu{gpu_layers}"
            f"|t{threads or 'auto'}")


@dataclass(frozen=True)
class CallSample:
    """One generation call: it started at ``start`` tokens of context and made ``tokens`` in ``seconds``."""

    start: int
    tokens: int
    seconds: float
    evaluated: int = 0
    prompt_seconds: float = 0.0

    @classmethod
    def from_finish(cls, finish: Finish) -> CallSample:
        return cls(finish.prompt_tokens, finish.completion_tokens, round(finish.generation_seconds, 4),
                   finish.prompt_tokens_evaluated, round(finish.prompt_seconds, 4))

    @property
    def mean_position(self) -> float:
        return self.start + (self.tokens - 1) / 2


@dataclass(frozen=True)
class SpeedProfile:
    """One model on this machine, with these settings."""

    key: str
    model: str
    weights_bytes: int
    kv_bytes_per_token: int | None
    decode_s: float  # a: seconds per token on an empty context
    slope: float  # k: relative slow-down per token of context
    prefill_s: float  # seconds per prompt token evaluated
    load_s: float = 0.0
    generated_per_word: float = DEFAULT_GENERATED_PER_WORD
    evaluated_per_word: float = DEFAULT_EVALUATED_PER_WORD
    overhead: float = DEFAULT_OVERHEAD
    plan_tokens_per_section: float = DEFAULT_PLAN_TOKENS_PER_SECTION
    runs: int = 0
    updated: float = 0.0
    samples: tuple[CallSample, ...] = ()

    def token_seconds(self, position: float) -> float:
        """Seconds for one token at this context position."""
        return self.decode_s * (1 + self.slope * position)

    @property
    def tokens_per_second(self) -> float:
        return 1 / self.decode_s if self.decode_s > 0 else 0.0

    def decode_seconds(self, start: float, tokens: float, cap: float | None = None,
                       plateau: float | None = None) -> float:
        """Seconds to decode ``tokens`` tokens from context position ``start``; once the position reaches
        ``cap`` the tokens sit at ``plateau`` (default: ``cap``) on average."""
        if tokens <= 0:
            return 0.0
        start = max(0.0, start)
        level = cap if plateau is None else plateau
        if cap is None or level is None or start + tokens <= cap:
            positions = tokens * (start + (tokens - 1) / 2)
        elif start >= cap:
            positions = tokens * level
        else:
            rising = cap - start
            positions = rising * (start + (rising - 1) / 2) + (tokens - rising) * level
        return self.decode_s * (tokens + self.slope * positions)

    def view(self, n_ctx: int, head: float) -> tuple[int, float]:
        """The writer's view with this model (engine/context.py) and the mean position once it has filled."""
        view = writing_view(n_ctx, int(head), view_reach(self.weights_bytes, self.kv_bytes_per_token))
        return view, view_positions(view, head)[1]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["samples"] = [[s.start, s.tokens, s.seconds, s.evaluated, s.prompt_seconds] for s in self.samples]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SpeedProfile:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["samples"] = tuple(CallSample(int(s[0]), int(s[1]), float(s[2]), int(s[3]), float(s[4]))
                                  for s in data.get("samples", []))
        return cls(**values)


@dataclass(frozen=True)
class DocumentEstimate:
    """What a document of ``words`` words should take, in seconds, and what that rests on."""

    words: int
    seconds: float
    generate_s: float
    prompt_s: float
    load_s: float
    plan_s: float
    tokens: int
    tokens_per_second_start: float
    tokens_per_second_end: float
    runs: int  # finished runs the profile has learned from (0: calibration only)
    rough: bool = False  # scaled from another model's profile on this machine

    def describe(self) -> str:
        """One sentence for people."""
        basis = ("rough: scaled from another model measured on this machine" if self.rough else
                 "from a short calibration" if self.runs == 0 else
                 f"from {self.runs} earlier run{'s' if self.runs != 1 else ''} on this machine")
        return (f"About {format_seconds(self.seconds)} for {self.words:,} words "
                f"({self.tokens_per_second_start:.0f} tokens/s, slowing to {self.tokens_per_second_end:.0f} as the "
                f"context fills; {basis}).")


def format_seconds(seconds: float) -> str:
    """A rounded duration: 40 s, 3 min, 1 h 20 min."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{max(1, round(seconds / 5) * 5) if seconds >= 5 else max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" if minutes == 0 else f"{hours} h {minutes:02d} min"


def estimate_document(profile: SpeedProfile, words: int, n_ctx: int, *, include_load: bool = False,
                      rough: bool = False, plan_mode: bool = True) -> DocumentEstimate:
    """Time to plan and write a document of ``words`` words with this profile and context size."""
    tokens = words * profile.generated_per_word
    head = min(HEAD_TOKENS + HEAD_TOKENS_PER_WORD * words, n_ctx * 0.3)
    cap, plateau = profile.view(n_ctx, head)
    generate = profile.decode_seconds(head, tokens, cap, plateau)
    prompt = words * profile.evaluated_per_word * profile.prefill_s
    load = profile.load_s if include_load else 0.0
    plan = plan_seconds(profile, words) if plan_mode else 0.0
    total = (generate + prompt) * profile.overhead + plan + load
    end = head + tokens if head + tokens <= cap else plateau
    return DocumentEstimate(words, total, generate, prompt, load, plan, round(tokens),
                            1 / profile.token_seconds(head), 1 / profile.token_seconds(end), profile.runs, rough)


def plan_seconds(profile: SpeedProfile, words: int) -> float:
    """The model's planning for a document of this length."""
    return (PLAN_PROMPT_TOKENS * profile.prefill_s
            + profile.plan_tokens_per_section * (section_count_for(words) + 1) * profile.decode_s)


# -- fitting --------------------------------------------------------------------------------------------


def prior_slope(weights_bytes: int, kv_bytes_per_token: int | None) -> float:
    """The slow-down per token of context expected from the model's shape (attention reads the KV cache)."""
    if not kv_bytes_per_token or weights_bytes <= 0:
        return 2e-4
    return PRIOR_ATTENTION_FACTOR * kv_bytes_per_token / weights_bytes


def view_reach(weights_bytes: int, kv_bytes_per_token: int | None) -> int | None:
    """Tokens of context at which decoding runs VIEW_SLOWDOWN times slower than on an empty one, by the model's
    shape (the same for every machine and run, so one seed writes one text), or None when unknown."""
    if not kv_bytes_per_token or weights_bytes <= 0:
        return None
    return int(VIEW_SLOWDOWN / prior_slope(weights_bytes, kv_bytes_per_token))


def writing_view(n_ctx: int, head_tokens: int, reach: int | None) -> int:
    """The tokens of context the writer fills before it drops old sections from the model's view."""
    if reach is None:
        return n_ctx
    return min(n_ctx, max(reach, head_tokens + VIEW_MIN_TEXT))


def view_positions(view: int, head: float) -> tuple[float, float]:
    """Where the writer's tokens sit once the view has filled: it drops back to about ``low`` and fills to
    ``view`` again, so they sit at the mean of the two (returned second) from then on."""
    room = max(256.0, view * COMPACT_ROOM)
    low = head + COMPACT_KEEP * max(0.0, view - head - room)
    return low, (low + view) / 2


def fit_speed(samples: Sequence[CallSample], prior_slope_value: float) -> tuple[float, float] | None:
    """(a, k) from calls, newest last: weighted least squares on seconds = a*n + a*k*n*mean_position.

    The newest calls weigh most, so the fit follows the machine's present load. Where the positions barely
    differ the slope cannot be seen: it then stays at the prior and only ``a`` is fitted.
    """
    usable = [s for s in samples if s.tokens >= 4 and s.seconds > 0]
    if not usable:
        return None
    sw = sxx = sxy = syy = sx_t = sy_t = 0.0
    spread_lo, spread_hi = float("inf"), 0.0
    for age, sample in enumerate(reversed(usable)):
        w = RECENCY ** age / sample.tokens  # per-token variance: longer calls count by their tokens once
        x = float(sample.tokens)
        y = sample.tokens * sample.mean_position
        t = sample.seconds
        sw += w
        sxx += w * x * x
        sxy += w * x * y
        syy += w * y * y
        sx_t += w * x * t
        sy_t += w * y * t
        spread_lo = min(spread_lo, sample.mean_position)
        spread_hi = max(spread_hi, sample.mean_position)
    det = sxx * syy - sxy * sxy
    if spread_hi - spread_lo >= 400 and det > 0:
        a = (sx_t * syy - sy_t * sxy) / det
        b = (sxx * sy_t - sxy * sx_t) / det
        if a > 0 and b >= 0:
            slope = b / a
            low, high = prior_slope_value / 5, prior_slope_value * 5
            if low <= slope <= high:
                return a, slope
    # a alone, with the slope held at the prior: t = a * (n + k * n * m)
    k = prior_slope_value
    num = den = 0.0
    for age, sample in enumerate(reversed(usable)):
        w = RECENCY ** age / sample.tokens
        z = sample.tokens * (1 + k * sample.mean_position)
        num += w * z * sample.seconds
        den += w * z * z
    return (num / den, k) if den > 0 else None


def _prefill(samples: Iterable[CallSample], default: float) -> float:
    recent = [s for s in samples if s.evaluated >= 64 and s.prompt_seconds > 0][-20:]
    tokens = sum(s.evaluated for s in recent)
    return sum(s.prompt_seconds for s in recent) / tokens if tokens else default


def refit(profile: SpeedProfile, new: Sequence[CallSample]) -> SpeedProfile:
    """The profile with these calls added and a and k fitted again."""
    samples = (*profile.samples, *new)[-MAX_SAMPLES:]
    fitted = fit_speed(samples, prior_slope(profile.weights_bytes, profile.kv_bytes_per_token))
    a, k = fitted if fitted else (profile.decode_s, profile.slope)
    return replace(profile, samples=samples, decode_s=a, slope=k, prefill_s=_prefill(samples, profile.prefill_s),
                   updated=time.time())


def learn_run(profile: SpeedProfile, calls: Sequence[CallSample], *, words: int, wall_s: float,
              plan_s: float = 0.0) -> SpeedProfile:
    """The profile after a finished run: its calls refit the speed; its totals the per-word figures.

    ``plan_s`` is the time the run spent planning (0 when the plan was given): it teaches the planning
    figure, and the rest of the wall time the overhead over the modelled calls.
    """
    updated = refit(profile, calls)
    if words < 50 or not calls:
        return updated
    generated = sum(c.tokens for c in calls)
    evaluated = sum(c.evaluated for c in calls)
    modelled = sum(updated.decode_seconds(c.start, c.tokens) + c.evaluated * updated.prefill_s for c in calls)
    rate = LEARNING_RATE if profile.runs else 1.0  # the first run replaces the built-in model's defaults
    overhead = min(2.0, max(1.0, (wall_s - plan_s) / modelled)) if modelled > 0 else profile.overhead

    def mix(old: float, value: float) -> float:
        return old + rate * (value - old)

    plan_units = profile.plan_tokens_per_section
    if plan_s > 0 and updated.decode_s > 0:
        decoding = max(0.0, plan_s - PLAN_PROMPT_TOKENS * updated.prefill_s)
        plan_units = mix(plan_units, decoding / updated.decode_s / (section_count_for(words) + 1))
    return replace(updated, generated_per_word=mix(profile.generated_per_word, generated / words),
                   evaluated_per_word=mix(profile.evaluated_per_word, evaluated / words),
                   overhead=mix(profile.overhead, overhead), plan_tokens_per_section=plan_units,
                   runs=profile.runs + 1)


# -- the store ------------------------------------------------------------------------------------------


class SpeedStore:
    """The speed profiles in the config folder (``speed.json``)."""

    _lock = threading.Lock()

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.config_dir() / FILE_NAME

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            log.warning("speed profiles in %s are unreadable (%s); measuring again", self.path, exc)
            return {}
        profiles = data.get("profiles") if isinstance(data, dict) else None
        return profiles if isinstance(profiles, dict) else {}

    def all(self) -> list[SpeedProfile]:
        result = []
        for value in self._read().values():
            try:
                result.append(SpeedProfile.from_json(value))
            except (TypeError, ValueError, KeyError, IndexError):
                continue
        return result

    def get(self, key: str) -> SpeedProfile | None:
        value = self._read().get(key)
        if not isinstance(value, dict):
            return None
        try:
            return SpeedProfile.from_json(value)
        except (TypeError, ValueError, KeyError, IndexError):
            return None

    def put(self, profile: SpeedProfile) -> None:
        with self._lock:
            profiles = self._read()
            profiles[profile.key] = profile.to_json()
            text = json.dumps({"version": VERSION, "profiles": profiles}, indent=1) + "\n"
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            try:
                temporary.write_text(text, encoding="utf-8")
                temporary.replace(self.path)
            except OSError as exc:
                log.warning("could not save speed profiles to %s: %s", self.path, exc)


def scaled_profile(profiles: Sequence[SpeedProfile], key: str, model: str, weights_bytes: int,
                   kv_bytes_per_token: int | None) -> SpeedProfile | None:
    """A rough profile for a model not run here yet, scaled from the largest one measured on this machine.

    Decoding reads every weight once per token, so on one machine its time grows with the file's size.
    """
    here = machine_fingerprint()
    measured = [p for p in profiles if here in p.key and p.weights_bytes > 0]
    if not measured:
        return None
    base = max(measured, key=lambda p: (p.runs > 0, p.weights_bytes))
    scale = weights_bytes / base.weights_bytes
    base_prior = prior_slope(base.weights_bytes, base.kv_bytes_per_token)
    slope = prior_slope(weights_bytes, kv_bytes_per_token) * (base.slope / base_prior if base_prior else 1.0)
    return SpeedProfile(key=key, model=model, weights_bytes=weights_bytes, kv_bytes_per_token=kv_bytes_per_token,
                        decode_s=base.decode_s * max(1.0, scale), slope=slope,
                        prefill_s=base.prefill_s * max(1.0, scale), load_s=base.load_s * max(1.0, scale),
                        generated_per_word=base.generated_per_word, evaluated_per_word=base.evaluated_per_word,
                        overhead=base.overhead, runs=0)


# -- calibration ----------------------------------------------------------------------------------------


class CalibrationError(RuntimeError):
    """The calibration was stopped, or the model made no tokens."""


_FILLER = ("The river ran past the old mill, where the miller kept his books in a wooden chest and counted "
           "the sacks of grain that farmers brought in every autumn. ")


def calibrate(backend: Any, key: str, *, weights_bytes: int, kv_bytes_per_token: int | None,
              load_s: float = 0.0, long_tokens: int | None = None, cancel: Any = None) -> SpeedProfile:
    """A few seconds of measurement: tokens at a short and at a long context, and prompt evaluation speed."""
    sampling = Sampling(temperature=0.7, seed=7)
    head = backend.bos_tokens() + backend.tokenize(_FILLER, special=True)
    samples: list[CallSample] = []

    def run(prompt: list[int], count: int) -> Finish | None:
        # End-of-text is banned so that every call makes the tokens asked for.
        request = GenerationRequest(prompt=prompt, max_tokens=count, sampling=sampling, allow_end=lambda: False,
                                    cancel=cancel)
        finish = None
        for item in backend.generate(request):
            if isinstance(item, Finish):
                finish = item
        return finish

    # A fresh context's first tokens pay for setting up the compute graph and warming the caches: measured,
    # they made the empty-context speed read about a quarter low (29 against 37 tokens/s on the built-in model,
    # 2 cores) and every calibration-only estimate 50-100% too long. A few tokens first, then the measure
    # (the prompt is then in the KV cache: the measured call is decoding alone).
    warm = run(head, WARM_UP_TOKENS)
    if warm is None or warm.completion_tokens < 1:
        raise CalibrationError("the calibration was stopped or produced no tokens")
    first = run(head, 32)
    if first is None or first.completion_tokens < 4 or first.generation_seconds <= 0:
        raise CalibrationError("the calibration was stopped or produced no tokens")
    samples.append(CallSample.from_finish(first))
    n_ctx = int(backend.info.n_ctx)
    if long_tokens is None:
        # A few seconds of prompt evaluation: it runs at least as fast as decoding on a CPU, so size it by
        # the decoding speed just measured.
        rate = first.completion_tokens / first.generation_seconds
        long_tokens = int(min(1024, n_ctx // 2, max(128, rate * LONG_PROMPT_S)))
    filler = backend.tokenize(_FILLER * 40, special=True)
    body: list[int] = []
    while len(body) < long_tokens:
        body.extend(filler)
    prompt = head + body[:long_tokens]
    second = run(prompt, 16)
    if cancel is not None and cancel.is_set():
        raise CalibrationError("the calibration was stopped")
    if second is not None and second.completion_tokens >= 4:
        samples.append(CallSample.from_finish(second))
    prior = prior_slope(weights_bytes, kv_bytes_per_token)
    fitted = fit_speed(samples, prior) or (first.generation_seconds / first.completion_tokens, prior)
    a, k = fitted
    prefill = _prefill(samples, a / 4)
    return SpeedProfile(key=key, model=str(backend.info.model), weights_bytes=weights_bytes,
                        kv_bytes_per_token=kv_bytes_per_token, decode_s=a, slope=k, prefill_s=prefill,
                        load_s=load_s, updated=time.time(), samples=tuple(samples))


# -- a loaded llama.cpp model -------------------------------------------------------------------------


def backend_key(backend: Any) -> str | None:
    """The profile key of a loaded llama.cpp backend (None for servers: their speed is not this machine's)."""
    header = getattr(backend, "header", None)
    settings = getattr(backend, "settings", None)
    if header is None or settings is None:
        return None
    return profile_key(header.path.name, header.file_size, kv_type=settings.kv_type,
                       flash_attn=settings.flash_attn, gpu_layers=settings.gpu_layers, threads=settings.threads)


def _shape(backend: Any) -> tuple[int, int | None]:
    header = backend.header
    return int(header.file_size), header.kv_bytes_per_token(2.0)


def backend_view_reach(backend: Any) -> int | None:
    """:func:`view_reach` of a loaded local model (None for servers and backends without a GGUF header)."""
    return view_reach(*_shape(backend)) if getattr(backend, "header", None) is not None else None


def profile_for_backend(backend: Any, store: SpeedStore | None = None, *, calibrate_if_missing: bool = True,
                        cancel: Any = None) -> SpeedProfile | None:
    """The loaded model's profile, calibrating it first (a few seconds) when this machine has none.

    Raises :class:`CalibrationError` when ``cancel`` stops the calibration.
    """
    key = backend_key(backend)
    if key is None:
        return None
    store = store or SpeedStore()
    profile = store.get(key)
    if profile is None and calibrate_if_missing:
        weights, kv = _shape(backend)
        started = time.perf_counter()
        profile = calibrate(backend, key, weights_bytes=weights, kv_bytes_per_token=kv,
                            load_s=float(getattr(backend, "load_seconds", 0.0)), cancel=cancel)
        log.info("calibrated %s in %.1f s: %.1f tokens/s, slope %.2e per token of context",
                 profile.model, time.perf_counter() - started, profile.tokens_per_second, profile.slope)
        store.put(profile)
    return profile


def new_profile(backend: Any, key: str) -> SpeedProfile:
    """An empty profile for a loaded model, to be filled by the calls of its first run."""
    weights, kv = _shape(backend)
    return SpeedProfile(key=key, model=str(backend.info.model), weights_bytes=weights, kv_bytes_per_token=kv,
                        decode_s=0.0, slope=prior_slope(weights, kv), prefill_s=0.0,
                        load_s=float(getattr(backend, "load_seconds", 0.0)))


def backend_calls(backend: Any, first: int = 0) -> list[CallSample]:
    """The calls a local backend has made since call number ``first``."""
    return [CallSample.from_finish(f) for f in list(getattr(backend, "calls", ()))[first:]]


@dataclass
class RunTimer:
    """The time left while a document is written, from the same speed model, corrected by this run's pace.

    Without a profile yet (no calibration on this machine), the run itself becomes the first one.
    """

    backend: Any
    key: str
    profile: SpeedProfile | None
    store: SpeedStore = field(default_factory=SpeedStore)
    first_call: int = 0  # index in the backend's call list where this run began
    started: float = field(default_factory=time.perf_counter)

    @property
    def n_ctx(self) -> int:
        return int(self.backend.info.n_ctx)

    def calls(self) -> list[CallSample]:
        return backend_calls(self.backend, self.first_call)

    def _pace(self, profile: SpeedProfile, calls: Sequence[CallSample]) -> float:
        """Measured over modelled seconds for this run's calls (1 until a few hundred tokens are in)."""
        tokens = sum(c.tokens for c in calls)
        modelled = sum(profile.decode_seconds(c.start, c.tokens) for c in calls)
        if tokens < 20 or modelled <= 0:
            return 1.0
        measured = sum(c.seconds for c in calls)
        weight = min(1.0, tokens / 300)
        return 1.0 + weight * (min(3.0, max(0.33, measured / modelled)) - 1.0)

    def time_left(self, *, words_left: int, position: int) -> float | None:
        """Seconds to write ``words_left`` more words from context position ``position`` (None: no model yet)."""
        profile = self.profile
        if profile is None or profile.decode_s <= 0:
            return None
        tokens = max(0, words_left) * profile.generated_per_word
        cap, plateau = profile.view(self.n_ctx, HEAD_TOKENS)
        seconds = profile.decode_seconds(min(position, cap), tokens, cap, plateau)
        seconds += words_left * profile.evaluated_per_word * profile.prefill_s
        return seconds * self._pace(profile, self.calls()) * profile.overhead

    def finished(self, *, words: int, plan_s: float = 0.0) -> SpeedProfile | None:
        """Learn from the finished run and save the profile."""
        calls = self.calls()
        if not calls:
            return self.profile
        wall = time.perf_counter() - self.started
        base = self.profile or new_profile(self.backend, self.key)
        learned = learn_run(base, calls, words=words, wall_s=wall, plan_s=plan_s)
        if learned.decode_s <= 0:
            return self.profile
        if learned.prefill_s <= 0:
            learned = replace(learned, prefill_s=learned.decode_s / 4)
        self.profile = learned
        self.store.put(learned)
        return learned


def run_timer(backend: Any, store: SpeedStore | None = None) -> RunTimer | None:
    """A timer for a run on a local model (None for servers and scripted backends)."""
    calls = getattr(backend, "calls", None)
    key = backend_key(backend)
    if calls is None or key is None:
        return None
    store = store or SpeedStore()
    return RunTimer(backend, key, store.get(key), store, first_call=len(calls))


# -- before loading -------------------------------------------------------------------------------------


def settings_key(model_path: Path, size_bytes: int, settings: Any) -> str:
    """The profile key a model will have when loaded with these LoadSettings."""
    return profile_key(model_path.name, size_bytes, kv_type=settings.kv_type, flash_attn=settings.flash_attn,
                       gpu_layers=settings.gpu_layers, threads=settings.threads)


@dataclass(frozen=True)
class ModelTimes:
    """An installed model's speed profile (None: not measured yet), for estimates at any length."""

    model: str | None
    profile: SpeedProfile | None
    n_ctx: int
    rough: bool = False

    def estimate(self, words: int) -> DocumentEstimate | None:
        if self.profile is None:
            return None
        return estimate_document(self.profile, words, self.n_ctx, rough=self.rough)

    def describe(self, words: int) -> str:
        """One sentence for the window: the estimate, or why there is none yet."""
        estimate = self.estimate(words)
        if estimate is None:
            return ("Time: not measured yet; the first run measures this model's speed on this machine "
                    "(a few seconds).")
        return estimate.describe()


CATALOG_WORDS = 10_000


def estimate_model_file(file_name: str, weights_bytes: int, kv_bytes_per_token: int | None, n_ctx: int,
                        words: int = CATALOG_WORDS, *, profiles: Sequence[SpeedProfile] | None = None
                        ) -> DocumentEstimate | None:
    """The estimate for a model by its file (a catalog entry): its own profile here, else a scaled one."""
    profiles = list(SpeedStore().all() if profiles is None else profiles)
    here = machine_fingerprint()
    own = [p for p in profiles if p.key.startswith(f"{file_name}|") and here in p.key and p.decode_s > 0]
    if own:
        return estimate_document(max(own, key=lambda p: p.runs), words, n_ctx)
    rough = scaled_profile(profiles, file_name, file_name, weights_bytes, kv_bytes_per_token)
    return estimate_document(rough, words, n_ctx, rough=True) if rough else None
