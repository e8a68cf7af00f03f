"""Will a model run on this machine, with how much context and how many GPU layers?

The estimate (bytes):

    weights  = the GGUF file's size (llama.cpp maps it; every page is read while generating)
    kv       = KV bytes per token at f16 / 2 * element size of the cache type * context
               (element size: f16 2, q8_0 34/32, q4_0 18/32 bytes, as ggml stores them)
    compute  = max(logits, attention scratch) + activations, llama.cpp's compute buffer for one ubatch
               (n_ubatch = 512 tokens):
                 logits            = vocabulary * n_ubatch * 4
                 attention scratch = context * n_ubatch * 2 with flash attention (the f16 mask), or
                                     context * n_ubatch * 4 * (heads + 1) without it: the whole
                                     attention matrix of one layer is materialised
                 activations       = 32 MiB + 1% of the weights
    runtime  = 300 MB for the app itself: Python, Qt and llama.cpp's code

Checked against llama.cpp's own log for the built-in SmolLM2 at 8,192 tokens (compute buffer 103 MB with
flash attention and 174 MB without; this formula gives 135 and 202): it errs on the safe side. An 8B
Q4_K_M at 16k tokens comes to about 7.7 GB with flash attention and 8.6 GB without. The check assumes
flash attention is on or off as the llama.cpp backend loads models by default (LoadSettings), unless told.

Where layers go to a GPU with its own memory, that share of the weights and of the KV cache, and the
compute buffer, count against the GPU's free memory instead of RAM. An integrated GPU or Apple Silicon
shares the RAM, so everything counts against RAM there.

Verdicts:
    fits       the RAM part is at most 85% of the RAM available now, and the GPU part at most 90% of
               the GPU's free memory;
    tight      the RAM part is at most 90% of all RAM (close other programs first), or the GPU part at
               most all of its free memory;
    won't fit  more than that: the system would swap, or llama.cpp would fail to allocate.

The recommended context is the largest multiple of 256 tokens that fits (tight, where nothing fits), from
2,048 up to what the model was trained for (for the LongWriter models: 32k tokens of input plus output).
Context comes first, since it bounds how long a document can be; the recommended GPU layers are then the
most that fit in the GPU's free memory beside that context (fewer than at a shorter context).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from ..engine.gguf import GGUFInfo, SkippedArray, read_gguf
from ..engine.llama_backend import LoadSettings
from ..errors import InputError
from .catalog import CatalogEntry, find_by_file_name
from .gpu import BackendReport, Device, detect
from .memory import system_memory

MB = 1_000_000
GB = 1_000_000_000
MIB = 1 << 20

CONTEXT_STEP = 256  # llama.cpp pads the context to a multiple of 256
MIN_CONTEXT = 2048  # less leaves no room to write: a plan alone takes ~1,000 tokens
DEFAULT_CONTEXT = 16_384  # a 10,000-word document is about 13,000 tokens, plus its prompt
APP_CONTEXT_CAP = 32_768  # the LongWriter models were trained on 32k; longer only slows every token
N_UBATCH = 512  # llama-cpp-python's default physical batch
RUNTIME_BYTES = 300 * MB
ACTIVATION_BYTES = 32 * MIB
ACTIVATION_SHARE = 0.01
FALLBACK_VOCAB = 128_000
FALLBACK_HEADS = 32

# The backend's default, so the estimate describes what loading the model will really allocate.
BACKEND_FLASH_ATTN = LoadSettings().flash_attn

RAM_FITS = 0.85  # of available RAM
RAM_TIGHT = 0.90  # of total RAM
VRAM_FITS = 0.90  # of free GPU memory
VRAM_TIGHT = 1.0


class KVType(str, Enum):
    F16 = "f16"
    Q8_0 = "q8_0"
    Q4_0 = "q4_0"

    @property
    def element_bytes(self) -> float:
        return {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}[self.value]

    @classmethod
    def parse(cls, value: str | KVType) -> KVType:
        try:
            return cls(str(value.value if isinstance(value, KVType) else value).strip().lower())
        except ValueError:
            choices = ", ".join(kind.value for kind in cls)
            raise InputError(f"Unknown KV cache type '{value}'. Choose one of: {choices}.") from None


class Verdict(str, Enum):
    FITS = "fits"
    TIGHT = "tight"
    WONT_FIT = "won't fit"

    @property
    def rank(self) -> int:
        return {"fits": 0, "tight": 1, "won't fit": 2}[self.value]


@dataclass(frozen=True)
class ModelShape:
    """The numbers the estimate needs, from a catalog entry (before a download) or a GGUF header."""

    name: str
    weights_bytes: int
    kv_bytes_per_token_f16: int | None  # None: the header does not say (the estimate leaves the KV out)
    layers: int
    heads: int | None
    vocab_size: int | None
    trained_context: int | None  # what the model advertises
    max_context: int  # the most worth recommending

    @classmethod
    def from_catalog(cls, entry: CatalogEntry) -> ModelShape:
        """Shape of a catalog model, from the catalog's numbers."""
        arch = entry.architecture
        return cls(
            name=f"{entry.family} {entry.quant}",
            weights_bytes=entry.size_bytes,
            kv_bytes_per_token_f16=arch.kv_bytes_per_token_f16,
            layers=arch.layers,
            heads=arch.heads,
            vocab_size=arch.vocab_size,
            trained_context=entry.advertised_context,
            max_context=min(entry.advertised_context, entry.recommended_context),
        )

    @classmethod
    def from_header(cls, info: GGUFInfo) -> ModelShape:
        """Shape of an installed model, from its GGUF header (and the catalog's context advice if listed)."""
        entry = find_by_file_name(info.path.name)
        trained = info.context_length
        cap = entry.recommended_context if entry else APP_CONTEXT_CAP
        return cls(
            name=f"{entry.family} {entry.quant}" if entry else info.name,
            weights_bytes=info.file_size,
            kv_bytes_per_token_f16=info.kv_bytes_per_token(2.0),
            layers=info.block_count or 1,
            heads=info.head_count,
            vocab_size=_vocab_size(info),
            trained_context=trained,
            max_context=min(trained, cap) if trained else cap,
        )


def _vocab_size(info: GGUFInfo) -> int | None:
    tokens = info.get("tokenizer.ggml.tokens")
    if isinstance(tokens, SkippedArray):
        return tokens.length
    if isinstance(tokens, list) and tokens:
        return len(tokens)
    value = info.get(f"{info.architecture}.vocab_size")
    return value if isinstance(value, int) and value > 0 else None


@dataclass(frozen=True)
class Machine:
    """The memory a model can use: RAM and the GPUs llama.cpp can offload to."""

    ram_total: int
    ram_available: int
    gpus: tuple[Device, ...] = ()

    @classmethod
    def current(cls, *, with_gpus: bool = True) -> Machine:
        """This machine, now (GPUs as llama.cpp sees them)."""
        memory = system_memory()
        if memory is None:
            raise InputError("Cannot tell how much memory this machine has, so the fit check cannot run.")
        gpus = detect().gpus if with_gpus else ()
        return cls(memory.total, memory.available, gpus)

    @property
    def unified_memory(self) -> bool:
        return any(gpu.unified_memory for gpu in self.gpus)

    @property
    def gpu_free(self) -> int:
        """Free GPU memory across devices (llama.cpp splits layers over several GPUs)."""
        return sum(gpu.memory_free or 0 for gpu in self.gpus)


def current_machine(report: BackendReport | None) -> Machine:
    """This machine now: its RAM, and the GPUs of a detection already made (none when not yet known)."""
    memory = system_memory()
    if memory is None:
        raise InputError("Cannot tell how much memory this machine has, so the fit check cannot run.")
    return Machine(memory.total, memory.available, report.gpus if report is not None else ())


@dataclass(frozen=True)
class Estimate:
    weights_bytes: int
    kv_bytes: int
    compute_bytes: int
    runtime_bytes: int
    ram_bytes: int  # the part in system RAM
    gpu_bytes: int  # the part in GPU memory (0 for unified memory: it is all RAM)

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_bytes + self.compute_bytes + self.runtime_bytes

    @property
    def overhead_bytes(self) -> int:
        return self.compute_bytes + self.runtime_bytes


def round_context(tokens: int) -> int:
    """Round a context size up to llama.cpp's 256-token steps."""
    return max(CONTEXT_STEP, -(-tokens // CONTEXT_STEP) * CONTEXT_STEP)


def kv_cache_bytes(kv_bytes_per_token_f16: int | None, context: int, kv_type: KVType) -> int:
    """Bytes of KV cache for ``context`` tokens with the given cache type."""
    if not kv_bytes_per_token_f16:
        return 0
    return int(kv_bytes_per_token_f16 / 2 * kv_type.element_bytes * context)


def compute_buffer_bytes(model: ModelShape, context: int, *, flash_attn: bool = BACKEND_FLASH_ATTN,
                         n_ubatch: int = N_UBATCH) -> int:
    """llama.cpp's compute buffer for one ubatch (see the module docstring)."""
    ubatch = min(n_ubatch, context)
    logits = (model.vocab_size or FALLBACK_VOCAB) * ubatch * 4
    if flash_attn:
        attention = context * ubatch * 2
    else:
        attention = context * ubatch * 4 * ((model.heads or FALLBACK_HEADS) + 1)
    return int(max(logits, attention) + ACTIVATION_BYTES + ACTIVATION_SHARE * model.weights_bytes)


def estimate_memory(model: ModelShape, context: int, *, kv_type: KVType = KVType.F16, gpu_layers: int = 0,
                    flash_attn: bool = BACKEND_FLASH_ATTN, unified_memory: bool = False,
                    n_ubatch: int = N_UBATCH) -> Estimate:
    """Memory for running ``model`` with this context, split between RAM and GPU memory."""
    weights = model.weights_bytes
    kv = kv_cache_bytes(model.kv_bytes_per_token_f16, context, kv_type)
    compute = compute_buffer_bytes(model, context, flash_attn=flash_attn, n_ubatch=n_ubatch)
    layers = max(0, min(gpu_layers, model.layers))
    if layers == 0 or unified_memory:
        ram = weights + kv + compute + RUNTIME_BYTES
        gpu = 0
    else:
        share = layers / model.layers
        gpu = int(share * (weights + kv)) + compute
        ram = weights + kv - int(share * (weights + kv)) + RUNTIME_BYTES
    return Estimate(weights, kv, compute, RUNTIME_BYTES, ram, gpu)


@dataclass(frozen=True)
class FitReport:
    model: str
    context: int
    kv_type: KVType
    flash_attn: bool
    gpu_layers: int
    total_layers: int
    estimate: Estimate
    verdict: Verdict
    recommended_context: int | None  # None: not even the smallest useful context fits
    recommended_verdict: Verdict | None  # FITS, or TIGHT where no context fits comfortably
    recommended_gpu_layers: int  # total_layers means all of them
    machine: Machine
    explanation: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def estimate_bytes(self) -> int:
        return self.estimate.total_bytes


def _verdict(estimate: Estimate, machine: Machine) -> Verdict:
    ram = estimate.ram_bytes
    if ram <= RAM_FITS * machine.ram_available:
        ram_verdict = Verdict.FITS
    elif ram <= RAM_TIGHT * machine.ram_total:
        ram_verdict = Verdict.TIGHT
    else:
        ram_verdict = Verdict.WONT_FIT
    if estimate.gpu_bytes == 0:
        return ram_verdict
    free = machine.gpu_free
    if estimate.gpu_bytes <= VRAM_FITS * free:
        gpu_verdict = Verdict.FITS
    elif estimate.gpu_bytes <= VRAM_TIGHT * free:
        gpu_verdict = Verdict.TIGHT
    else:
        gpu_verdict = Verdict.WONT_FIT
    return max(ram_verdict, gpu_verdict, key=lambda verdict: verdict.rank)


def recommend_gpu_layers(model: ModelShape, machine: Machine, context: int, *, kv_type: KVType = KVType.F16,
                         flash_attn: bool = BACKEND_FLASH_ATTN) -> int:
    """The most layers whose weights, KV cache and compute buffer fit the GPUs' free memory comfortably."""
    if not machine.gpus:
        return 0
    # With unified memory the GPU's free figure is its working-set limit out of the shared RAM: the same
    # sum (its share of weights and KV, plus the compute buffer) must stay under it.
    free = machine.gpu_free
    for layers in range(model.layers, 0, -1):
        estimate = estimate_memory(model, context, kv_type=kv_type, gpu_layers=layers, flash_attn=flash_attn)
        if estimate.gpu_bytes <= VRAM_FITS * free:
            return layers
    return 0


def recommend_context(model: ModelShape, machine: Machine, *, kv_type: KVType = KVType.F16,
                      flash_attn: bool = BACKEND_FLASH_ATTN) -> tuple[int | None, Verdict | None]:
    """The largest context that fits (or, failing that, is tight), with the GPU layers it would use."""
    top = max(CONTEXT_STEP, model.max_context // CONTEXT_STEP * CONTEXT_STEP)
    bottom = min(MIN_CONTEXT, top)
    tight: int | None = None
    for context in range(top, bottom - 1, -CONTEXT_STEP):
        layers = recommend_gpu_layers(model, machine, context, kv_type=kv_type, flash_attn=flash_attn)
        estimate = estimate_memory(model, context, kv_type=kv_type, gpu_layers=layers, flash_attn=flash_attn,
                                   unified_memory=machine.unified_memory)
        verdict = _verdict(estimate, machine)
        if verdict is Verdict.FITS:
            return context, Verdict.FITS
        if verdict is Verdict.TIGHT and tight is None:
            tight = context
    return (tight, Verdict.TIGHT) if tight is not None else (None, None)


def check_fit(model: ModelShape, machine: Machine, *, context: int | None = None,
              kv_type: KVType | str = KVType.F16, gpu_layers: int | None = None,
              flash_attn: bool = BACKEND_FLASH_ATTN) -> FitReport:
    """Estimate memory for a model on a machine and recommend a context size and GPU layers."""
    kv_type = KVType.parse(kv_type)
    if kv_type is not KVType.F16 and not flash_attn:
        raise InputError(f"A {kv_type.value} KV cache needs flash attention on in llama.cpp.")
    if context is not None and context <= 0:
        raise InputError("The context size must be a positive number of tokens.")
    if gpu_layers is not None and gpu_layers < -1:
        raise InputError("GPU layers must be 0 or more (-1 means all).")
    notes: list[str] = []
    requested = round_context(context) if context else min(DEFAULT_CONTEXT, model.max_context)
    if context and requested != context:
        notes.append(f"llama.cpp works in steps of {CONTEXT_STEP} tokens: {context:,} becomes {requested:,}.")
    best_layers = recommend_gpu_layers(model, machine, requested, kv_type=kv_type, flash_attn=flash_attn)
    if gpu_layers is None:
        layers = best_layers
    elif gpu_layers == -1 or gpu_layers > model.layers:
        layers = model.layers
    else:
        layers = gpu_layers
    if layers and not machine.gpus:
        notes.append("No GPU is available to llama.cpp here, so the layers stay on the CPU.")
        layers = 0
    estimate = estimate_memory(model, requested, kv_type=kv_type, gpu_layers=layers, flash_attn=flash_attn,
                               unified_memory=machine.unified_memory)
    verdict = _verdict(estimate, machine)
    recommended, recommended_verdict = recommend_context(model, machine, kv_type=kv_type,
                                                         flash_attn=flash_attn)
    recommended_layers = (recommend_gpu_layers(model, machine, recommended, kv_type=kv_type,
                                               flash_attn=flash_attn) if recommended else best_layers)
    if model.trained_context and requested > model.trained_context:
        notes.append(f"{requested:,} tokens is beyond the {model.trained_context:,} the model was trained "
                     "for: expect its writing to fall apart past that point.")
    elif requested > model.max_context:
        notes.append(f"The model was trained to write within {model.max_context:,} tokens; more context only "
                     "costs memory and speed.")
    if model.kv_bytes_per_token_f16 is None:
        notes.append("The model's header does not give its attention sizes, so the KV cache is left out.")
    report = FitReport(
        model=model.name, context=requested, kv_type=kv_type, flash_attn=flash_attn, gpu_layers=layers,
        total_layers=model.layers, estimate=estimate, verdict=verdict, recommended_context=recommended,
        recommended_verdict=recommended_verdict, recommended_gpu_layers=recommended_layers, machine=machine,
        explanation="", notes=tuple(notes),
    )
    return replace(report, explanation=_explain(report, model))


def lighter_kv_fit(report: FitReport, model: ModelShape) -> FitReport:
    """The same check with a q8_0 KV cache (flash attention on) where f16 won't fit and q8_0 would.

    Otherwise ``report`` itself. q8_0 halves the cache for a perplexity change of about +0.005
    (llama.cpp#7412), so it is the one lighter cache picked unasked; q4_0 stays the user's choice.
    """
    if report.kv_type is not KVType.F16 or report.verdict is not Verdict.WONT_FIT \
            or not model.kv_bytes_per_token_f16:
        return report
    lighter = check_fit(model, report.machine, context=report.context, kv_type=KVType.Q8_0,
                        gpu_layers=report.gpu_layers if report.gpu_layers else None, flash_attn=True)
    if lighter.verdict is Verdict.WONT_FIT:
        return report
    note = (f"An f16 KV cache would not fit ({_gb(report.estimate.total_bytes)}), so a q8_0 cache is used "
            "(flash attention on).")
    return replace(lighter, notes=(*lighter.notes, note), explanation=f"{lighter.explanation} {note}")


def fit_catalog_entry(entry: CatalogEntry, machine: Machine | None = None, *, context: int | None = None,
                      kv_type: KVType | str = KVType.F16, gpu_layers: int | None = None,
                      flash_attn: bool = BACKEND_FLASH_ATTN, lighter_kv: bool = True) -> FitReport:
    """Fit check for a catalog model, from the catalog's numbers (no download needed).

    With ``lighter_kv``, a q8_0 KV cache where f16 won't fit and q8_0 would (as loading does).
    """
    shape = ModelShape.from_catalog(entry)
    report = check_fit(shape, machine or Machine.current(), context=context, kv_type=kv_type,
                       gpu_layers=gpu_layers, flash_attn=flash_attn)
    return lighter_kv_fit(report, shape) if lighter_kv else report


def fit_model_file(path: str | Path, machine: Machine | None = None, *, context: int | None = None,
                   kv_type: KVType | str = KVType.F16, gpu_layers: int | None = None,
                   flash_attn: bool = BACKEND_FLASH_ATTN) -> FitReport:
    """Fit check for a GGUF file, from its header."""
    return check_fit(ModelShape.from_header(read_gguf(path)), machine or Machine.current(), context=context,
                     kv_type=kv_type, gpu_layers=gpu_layers, flash_attn=flash_attn)


def _gb(size: int) -> str:
    return f"{size / GB:.2f} GB" if size >= GB else f"{size / MB:.0f} MB"


def _lighter_settings(report: FitReport, model: ModelShape) -> list[str]:
    """Suggest flash attention and a q8_0 KV cache where they would change the verdict."""
    machine = report.machine
    options = []
    if not report.flash_attn:
        options.append(("Turning flash attention on", report.kv_type))
    if report.kv_type is KVType.F16 and model.kv_bytes_per_token_f16:
        options.append(("A q8_0 KV cache (with flash attention)", KVType.Q8_0))
    suggestions = []
    for label, kv_type in options:
        lighter = estimate_memory(model, report.context, kv_type=kv_type, gpu_layers=report.gpu_layers,
                                  flash_attn=True, unified_memory=machine.unified_memory)
        verdict = _verdict(lighter, machine)
        if verdict.rank < report.verdict.rank:
            suggestions.append(f"{label} would bring it to {_gb(lighter.total_bytes)} ({verdict.value}).")
    return suggestions


def _explain(report: FitReport, model: ModelShape) -> str:
    estimate, machine = report.estimate, report.machine
    attention = "" if report.flash_attn else ", without flash attention"
    parts = [
        f"{report.model} with {report.context:,} tokens of context "
        f"({report.kv_type.value} KV cache{attention}) needs about {_gb(estimate.total_bytes)}: "
        f"{_gb(estimate.weights_bytes)} of weights, "
        f"{_gb(estimate.kv_bytes)} of KV cache and {_gb(estimate.overhead_bytes)} of working memory."
    ]
    if report.gpu_layers and estimate.gpu_bytes:
        gpus = ", ".join(gpu.name for gpu in machine.gpus)
        parts.append(f"With {report.gpu_layers} of {report.total_layers} layers on {gpus}, "
                     f"{_gb(estimate.gpu_bytes)} of it is in GPU memory ({_gb(machine.gpu_free)} free) "
                     f"and {_gb(estimate.ram_bytes)} in RAM.")
    elif report.gpu_layers and machine.unified_memory:
        parts.append(f"{report.gpu_layers} of {report.total_layers} layers run on the GPU, "
                     "which shares the RAM.")
    parts.append(f"This machine has {_gb(machine.ram_total)} of RAM, {_gb(machine.ram_available)} free now.")
    if report.verdict is Verdict.FITS:
        parts.append("It fits.")
    elif report.verdict is Verdict.TIGHT:
        parts.append("It is tight: close other programs first, or use less context.")
    else:
        parts.append("It won't fit: the system would swap or the model would fail to load.")
    if report.verdict is not Verdict.FITS:
        parts.extend(_lighter_settings(report, model))
    if report.recommended_context is None:
        parts.append(f"Not even {MIN_CONTEXT:,} tokens of context fit: pick a smaller model or quantisation.")
    else:
        where = ""
        if machine.gpus and report.total_layers:
            count = report.recommended_gpu_layers
            where = (f" with all {count} layers on the GPU" if count == report.total_layers
                     else f" with {count} of {report.total_layers} layers on the GPU")
        ceiling = " (the most this model is worth running with)" if (
            report.recommended_context >= model.max_context // CONTEXT_STEP * CONTEXT_STEP) else ""
        tight = ", and even that is tight" if report.recommended_verdict is Verdict.TIGHT else ""
        parts.append(f"Recommended: {report.recommended_context:,} tokens of context{ceiling}{where}{tight}.")
    if not report.flash_attn:
        with_flash, verdict = recommend_context(model, machine, kv_type=report.kv_type, flash_attn=True)
        if with_flash and (report.recommended_context is None or with_flash > report.recommended_context):
            tight = " (tight)" if verdict is Verdict.TIGHT else ""
            parts.append(f"With flash attention on: up to {with_flash:,} tokens{tight}.")
    parts.extend(report.notes)
    return " ".join(parts)
