"""A small, defensive reader for GGUF file headers (metadata only, no tensors).

The ``gguf`` package materialises every vocabulary string and takes 10-30 s on real files; this reader
skips arrays it does not need, so a 5 GB model's metadata is read in milliseconds. Every length in the
file is checked against the bytes that remain before anything is allocated, so a hostile or truncated
header gives a :class:`GGUFError`, never a hang or a huge allocation.
"""

from __future__ import annotations

import stat
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import ModelError

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)

# Sanity limits: far above anything a real model has, far below what would exhaust memory.
MAX_KV_COUNT = 100_000
MAX_TENSOR_COUNT = 1_000_000
MAX_KEY_LEN = 65_536
MAX_STRING_KEPT = 1 << 20  # longer strings (never seen in practice) are skipped, not kept
MAX_ARRAY_KEPT = 4_096  # arrays longer than this are skipped and only their length kept
# Whole-header budgets. Real headers hold well under a million array items (a 256k vocabulary plus its
# merges); these bound the time a hostile header can take (each item is a step of a Python loop) and the
# memory kept values take (a kept number costs ~8-40 bytes of Python objects per 1-8 bytes of file).
MAX_TOTAL_ITEMS = 16_000_000
MAX_KEPT_ITEMS = 1_000_000
MAX_KEPT_STRING_BYTES = 32 << 20

_SCALARS: dict[int, tuple[str, int]] = {
    0: ("<B", 1),
    1: ("<b", 1),
    2: ("<H", 2),
    3: ("<h", 2),
    4: ("<I", 4),
    5: ("<i", 4),
    6: ("<f", 4),
    7: ("<?", 1),
    10: ("<Q", 8),
    11: ("<q", 8),
    12: ("<d", 8),
}
_STRING = 8
_ARRAY = 9
# Kept whatever ``keep`` says: the tensor offsets need the alignment, and every per-architecture
# property (block_count, head_count...) needs the architecture's name to find its keys.
_ALWAYS_KEPT = frozenset({"general.alignment", "general.architecture"})


class GGUFError(ModelError):
    """The file is not a readable GGUF model."""


@dataclass(frozen=True)
class SkippedArray:
    """Stands in for a long array (a vocabulary, say) whose items were not read."""

    item_type: int
    length: int


@dataclass
class GGUFInfo:
    path: Path
    version: int
    tensor_count: int
    metadata: dict[str, Any] = field(default_factory=dict)
    file_size: int = 0
    data_end: int | None = None

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)

    @property
    def architecture(self) -> str:
        return str(self.get("general.architecture", "") or "")

    def _arch_key(self, suffix: str) -> Any:
        return self.get(f"{self.architecture}.{suffix}")

    @property
    def name(self) -> str:
        return str(self.get("general.name", "") or self.path.stem)

    @property
    def context_length(self) -> int | None:
        value = self._arch_key("context_length")
        return int(value) if isinstance(value, int) and value > 0 else None

    @property
    def block_count(self) -> int | None:
        value = self._arch_key("block_count")
        return int(value) if isinstance(value, int) and value > 0 else None

    @property
    def head_count(self) -> int | None:
        value = self._arch_key("attention.head_count")
        return _first_int(value)

    @property
    def head_count_kv(self) -> int | None:
        value = self._arch_key("attention.head_count_kv")
        return _first_int(value) or self.head_count

    @property
    def embedding_length(self) -> int | None:
        value = self._arch_key("embedding_length")
        return int(value) if isinstance(value, int) and value > 0 else None

    @property
    def key_length(self) -> int | None:
        """Per-head size of K (falls back to embedding / heads, as llama.cpp does)."""
        value = self._arch_key("attention.key_length")
        if isinstance(value, int) and value > 0:
            return value
        if self.embedding_length and self.head_count:
            return self.embedding_length // self.head_count
        return None

    @property
    def value_length(self) -> int | None:
        value = self._arch_key("attention.value_length")
        if isinstance(value, int) and value > 0:
            return value
        return self.key_length

    @property
    def chat_template(self) -> str | None:
        value = self.get("tokenizer.chat_template")
        return value if isinstance(value, str) else None

    @property
    def file_type(self) -> int | None:
        value = self.get("general.file_type")
        return value if isinstance(value, int) else None

    def kv_bytes_per_token(self, bytes_per_element: float = 2.0) -> int | None:
        """Bytes of KV cache one token takes (K and V, every layer) at the given element size."""
        if not (self.block_count and self.head_count_kv and self.key_length and self.value_length):
            return None
        per_layer = self.head_count_kv * (self.key_length + self.value_length)
        return int(self.block_count * per_layer * bytes_per_element)


def _first_int(value: Any) -> int | None:
    # Some architectures store per-layer head counts as an array.
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return max(value) or None
    return None


class _Reader:
    def __init__(self, stream: BinaryIO, size: int, path: Path) -> None:
        self._stream = stream
        self._size = size
        self._path = path
        self.pos = 0
        self.items_left = MAX_TOTAL_ITEMS
        self.kept_items_left = MAX_KEPT_ITEMS
        self.kept_bytes_left = MAX_KEPT_STRING_BYTES

    def _fail(self, what: str) -> GGUFError:
        return GGUFError(f"{self._path.name} is not a valid GGUF model: {what} (at byte {self.pos}).")

    def _need(self, count: int, what: str) -> None:
        if count < 0 or self.pos + count > self._size:
            raise self._fail(f"the header claims {what} past the end of the file; it may be truncated")

    def read(self, count: int, what: str) -> bytes:
        self._need(count, what)
        data = self._stream.read(count)
        if len(data) != count:
            raise self._fail(f"unexpected end of file while reading {what}")
        self.pos += count
        return data

    def skip(self, count: int, what: str) -> None:
        self._need(count, what)
        self._stream.seek(count, 1)
        self.pos += count

    def scalar(self, value_type: int) -> Any:
        fmt, width = _SCALARS[value_type]
        return struct.unpack(fmt, self.read(width, "a number"))[0]

    def u32(self) -> int:
        return int(struct.unpack("<I", self.read(4, "a number"))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.read(8, "a length"))[0])

    def string(self, limit: int, what: str, *, kept: bool = False) -> str | None:
        """A string, or None (skipped) when longer than ``limit`` or, for kept values, the budget."""
        length = self.u64()
        if length > limit or (kept and length > self.kept_bytes_left):
            self.skip(length, what)
            return None
        if kept:
            self.kept_bytes_left -= length
        return self.read(length, what).decode("utf-8", errors="replace")

    def count_items(self, count: int) -> None:
        self.items_left -= count
        if self.items_left < 0:
            raise self._fail("implausibly many array items in the header")

    def keep_items(self, count: int) -> bool:
        """Whether an array of ``count`` items still fits the budget of kept values (and take it)."""
        if count > MAX_ARRAY_KEPT or count > self.kept_items_left:
            return False
        self.kept_items_left -= count
        return True

    def value(self, value_type: int, depth: int = 0) -> Any:
        if value_type in _SCALARS:
            return self.scalar(value_type)
        if value_type == _STRING:
            return self.string(MAX_STRING_KEPT, "a string", kept=True)
        if value_type == _ARRAY:
            if depth > 2:
                raise self._fail("arrays nested too deeply")
            item_type = self.u32()
            length = self.u64()
            if item_type in _SCALARS:
                width = _SCALARS[item_type][1]
                self._need(length * width, "an array")
                if not self.keep_items(length):
                    self.skip(length * width, "an array")
                    return SkippedArray(item_type, length)
                return [self.scalar(item_type) for _ in range(length)]
            if item_type not in (_STRING, _ARRAY):
                raise self._fail(f"unknown array item type {item_type}")
            # Each item takes at least 8 bytes (its own length), so this bounds the loop by the file size;
            # the item budget bounds it for a huge hostile file.
            self._need(length * 8, "an array")
            self.count_items(length)
            if not self.keep_items(length):
                for _ in range(length):
                    if item_type == _STRING:
                        self.skip(self.u64(), "a string")
                    else:
                        self.value(_ARRAY, depth + 1)
                return SkippedArray(item_type, length)
            return [self.value(item_type, depth + 1) for _ in range(length)]
        raise self._fail(f"unknown value type {value_type}")


def read_gguf(path: str | Path, *, keep: Callable[[str], bool] | None = None) -> GGUFInfo:
    """Read a GGUF file's header; ``keep`` may filter which metadata keys are stored (not the essentials)."""
    path = Path(path)
    try:
        status = path.stat()
        if stat.S_ISDIR(status.st_mode):
            raise GGUFError(f"{path} is a folder, not a GGUF model file.")
        if not stat.S_ISREG(status.st_mode):
            # Opening a pipe or a device would block or never end.
            raise GGUFError(f"{path} is not a regular file, so it cannot be a GGUF model.")
        size = status.st_size
        stream = path.open("rb")
    except FileNotFoundError:
        raise GGUFError(f"Model file not found: {path}") from None
    except IsADirectoryError:
        raise GGUFError(f"{path} is a folder, not a GGUF model file.") from None
    except OSError as exc:
        raise GGUFError(f"Cannot open model file {path}: {exc.strerror or exc}") from None
    with stream:
        reader = _Reader(stream, size, path)
        if size < 24:
            raise GGUFError(f"{path.name} is not a GGUF model: the file is only {size} bytes long.")
        if reader.read(4, "the magic number") != MAGIC:
            raise GGUFError(f"{path.name} is not a GGUF model file (it does not start with 'GGUF').")
        version = reader.u32()
        if version not in SUPPORTED_VERSIONS and int.from_bytes(version.to_bytes(4, "little"), "big") in (
            SUPPORTED_VERSIONS
        ):
            raise GGUFError(
                f"{path.name} is a big-endian GGUF file (made for IBM mainframes); this app reads the "
                "little-endian files every PC and Mac uses."
            )
        if version not in SUPPORTED_VERSIONS:
            raise GGUFError(
                f"{path.name} uses GGUF version {version}; this app reads versions 2 and 3. "
                "Download a newer conversion of the model."
            )
        tensor_count = reader.u64()
        kv_count = reader.u64()
        if tensor_count > MAX_TENSOR_COUNT or kv_count > MAX_KV_COUNT:
            raise reader._fail(f"implausible counts ({tensor_count} tensors, {kv_count} metadata keys)")
        # A metadata entry takes at least 13 bytes and a tensor description at least 24.
        reader._need(kv_count * 13 + tensor_count * 24,
                     f"{kv_count} metadata keys and {tensor_count} tensors")
        metadata: dict[str, Any] = {}
        for _ in range(kv_count):
            key = reader.string(MAX_KEY_LEN, "a metadata key")
            if key is None:
                raise reader._fail("a metadata key is implausibly long")
            value_type = reader.u32()
            value = reader.value(value_type)
            if keep is None or key in _ALWAYS_KEPT or keep(key):
                metadata[key] = value
        data_end = _tensor_data_end(reader, tensor_count, metadata.get("general.alignment"))
        return GGUFInfo(path=path, version=version, tensor_count=tensor_count, metadata=metadata,
                        file_size=size, data_end=data_end)


# ggml tensor types: (elements per block, bytes per block). Unknown types only bound the check below.
_TYPE_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 36),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
    16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18), 21: (256, 110),
    22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8),
    29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66), 39: (32, 17),
}


def _tensor_data_end(reader: _Reader, tensor_count: int, alignment: Any) -> int | None:
    """Where the last tensor's data ends, from the tensor infos; None where a type is unknown."""
    align = alignment if isinstance(alignment, int) and 0 < alignment <= 1 << 16 else 32
    end = 0
    known = True
    for _ in range(tensor_count):
        if reader.string(MAX_KEY_LEN, "a tensor name") is None:
            raise reader._fail("a tensor name is implausibly long")
        n_dims = reader.u32()
        if n_dims > 8:
            raise reader._fail(f"a tensor with {n_dims} dimensions")
        elements = 1
        for _ in range(n_dims):
            elements *= reader.u64()
        tensor_type = reader.u32()
        offset = reader.u64()
        sizes = _TYPE_SIZES.get(tensor_type)
        if sizes is None:
            known = False
            end = max(end, offset)
        else:
            block, width = sizes
            end = max(end, offset + -(-elements // block) * width)
    data_start = -(-reader.pos // align) * align
    return data_start + end if known else None


# Far past any real model (the largest have a few hundred layers and advertise at most a few million tokens),
# yet small enough that llama.cpp's arithmetic on them cannot overflow.
MAX_BLOCK_COUNT = 4096
MAX_CONTEXT_LENGTH = 1 << 24


def check_loadable(info: GGUFInfo) -> None:
    """Raise if the header describes a model llama.cpp cannot build (it would abort the whole process)."""
    arch = info.architecture
    if not arch:
        raise GGUFError(f"{info.path.name} does not say which model architecture it is "
                        "(general.architecture), so it cannot be loaded. Download another conversion of the model.")
    blocks = info.get(f"{arch}.block_count")
    if not isinstance(blocks, int) or not 0 < blocks <= MAX_BLOCK_COUNT:
        raise GGUFError(f"{info.path.name} says it has {blocks if blocks is not None else 'no'} layers "
                        f"({arch}.block_count), so it cannot be loaded: the file was converted wrongly. "
                        "Download another conversion of the model.")
    context = info.get(f"{arch}.context_length")
    if context is not None and (not isinstance(context, int) or not 0 < context <= MAX_CONTEXT_LENGTH):
        shown = f"{context:,}" if isinstance(context, int) else repr(context)[:40]
        raise GGUFError(f"{info.path.name} says its context is {shown} tokens ({arch}.context_length), which no "
                        "model has, so it cannot be loaded. Download another conversion of the model.")


def check_complete(info: GGUFInfo) -> None:
    """Raise if the file is shorter than its tensors need (a truncated or unfinished download)."""
    if info.data_end is not None and info.file_size < info.data_end:
        missing = info.data_end - info.file_size
        raise GGUFError(
            f"{info.path.name} is truncated: it is {info.file_size:,} bytes but its tensors need "
            f"{info.data_end:,} ({missing:,} bytes missing). Download it again."
        )
