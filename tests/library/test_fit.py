"""The fit check: memory figures for catalog models, recommendations that follow the machine's RAM/GPU."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

import pytest

from longwriter_desktop.engine.gguf import read_gguf
from longwriter_desktop.engine.llama_backend import LlamaBackend, LoadSettings
from longwriter_desktop.errors import InputError
from longwriter_desktop.library import catalog, fit
from longwriter_desktop.library.gpu import Device, DeviceKind
from longwriter_desktop.library.memory import parse_meminfo, system_memory

GB = 1_000_000_000
GIB = 1 << 30
MIB = 1 << 20

BIG = fit.Machine(ram_total=64 * GB, ram_available=56 * GB)
LAPTOP_16 = fit.Machine(ram_total=16 * GB, ram_available=11 * GB)
LAPTOP_8 = fit.Machine(ram_total=8 * GB, ram_available=5_500_000_000)


def entry(entry_id: str) -> catalog.CatalogEntry:
    found = catalog.find(entry_id)
    assert found is not None
    return found


def gpu(name: str, free_gb: float, kind: DeviceKind = DeviceKind.GPU, backend: str = "CUDA") -> Device:
    return Device(name, "test card", kind, backend, int(free_gb * GB), int((free_gb + 0.5) * GB))


def test_default_8b_at_16k_needs_7_to_8_gb_with_flash_attention() -> None:
    report = fit.fit_catalog_entry(entry("longwriter-llama3.1-8b-q4_k_m"), BIG, context=16_384,
                                   flash_attn=True)
    estimate = report.estimate
    assert estimate.weights_bytes == 4_920_000_000
    assert estimate.kv_bytes == 2 * GIB  # 128 KiB per token x 16,384 tokens
    assert 500 * 1_000_000 <= estimate.overhead_bytes <= 1 * GB
    assert 7 * GB <= report.estimate_bytes <= 8 * GB
    assert report.verdict is fit.Verdict.FITS
    assert report.recommended_context == 32_768  # capped at what the model was trained for


def test_without_flash_attention_llama_cpp_needs_the_attention_matrix_too() -> None:
    model = fit.ModelShape.from_catalog(entry("longwriter-llama3.1-8b-q4_k_m"))
    with_fa = fit.estimate_memory(model, 16_384, flash_attn=True)
    without = fit.estimate_memory(model, 16_384, flash_attn=False)
    # One layer's attention scores for a 512-token batch: 16,384 x 512 x (32 heads + mask) x 4 bytes.
    assert without.compute_bytes - with_fa.compute_bytes == pytest.approx(16_384 * 512 * 33 * 4, rel=0.3)
    assert 8 * GB < without.total_bytes < 9 * GB


def test_kv_cache_types_use_ggml_element_sizes() -> None:
    model = fit.ModelShape.from_catalog(entry("longwriter-llama3.1-8b-q4_k_m"))
    f16 = fit.estimate_memory(model, 16_384, kv_type=fit.KVType.F16).kv_bytes
    assert fit.estimate_memory(model, 16_384, kv_type=fit.KVType.Q8_0).kv_bytes == int(f16 * 34 / 64)
    assert fit.estimate_memory(model, 16_384, kv_type=fit.KVType.Q4_0).kv_bytes == int(f16 * 18 / 64)
    glm = fit.ModelShape.from_catalog(entry("longwriter-glm4-9b-q3_k_m"))
    assert fit.estimate_memory(glm, 32_768).kv_bytes == int(1.25 * GIB)  # only 2 KV heads


def test_recommended_context_shrinks_with_the_ram() -> None:
    model = entry("longwriter-llama3.1-8b-q4_k_m")
    big = fit.fit_catalog_entry(model, BIG, flash_attn=True)
    mid = fit.fit_catalog_entry(model, LAPTOP_16, flash_attn=True)
    small = fit.fit_catalog_entry(model, LAPTOP_8, flash_attn=True, lighter_kv=False)
    assert big.recommended_context == 32_768
    assert mid.recommended_context is not None and small.recommended_context is not None
    assert 32_768 >= mid.recommended_context > small.recommended_context >= fit.MIN_CONTEXT
    for report in (big, mid, small):
        assert report.recommended_context % 256 == 0  # type: ignore[operator]
    assert small.verdict is not fit.Verdict.FITS
    assert small.recommended_verdict is fit.Verdict.TIGHT
    assert "q8_0 KV cache" in small.explanation
    # A q8_0 cache makes room for more context on the same machine.
    lighter = fit.fit_catalog_entry(model, LAPTOP_8, kv_type="q8_0", flash_attn=True)
    assert lighter.recommended_context > small.recommended_context  # type: ignore[operator]


def test_flash_attention_off_recommends_less_and_says_what_it_would_give() -> None:
    model = entry("longwriter-llama3.1-8b-q4_k_m")
    off = fit.fit_catalog_entry(model, LAPTOP_16, flash_attn=False)
    on = fit.fit_catalog_entry(model, LAPTOP_16, flash_attn=True)
    assert off.recommended_context < on.recommended_context  # type: ignore[operator]
    assert f"With flash attention on: up to {on.recommended_context:,} tokens" in off.explanation


def test_a_model_too_big_for_the_machine_gets_no_context() -> None:
    report = fit.fit_catalog_entry(entry("longwriter-zero-32b-q4_k_m"), LAPTOP_16)
    assert report.verdict is fit.Verdict.WONT_FIT
    assert report.recommended_context is None
    assert "smaller model" in report.explanation


def test_q8_0_is_picked_where_f16_would_not_fit_and_q8_0_would() -> None:
    model = entry("longwriter-llama3.1-8b-q4_k_m")
    shape = fit.ModelShape.from_catalog(model)
    # RAM between the two estimates at 32k tokens: f16 (4 GiB of KV cache) won't fit, q8_0 (~2.1 GiB) will.
    f16 = fit.estimate_memory(shape, 32_768, flash_attn=True).total_bytes
    q8 = fit.estimate_memory(shape, 32_768, kv_type=fit.KVType.Q8_0, flash_attn=True).total_bytes
    ram = int((f16 + q8) / 2 / fit.RAM_TIGHT)
    machine = fit.Machine(ram_total=ram, ram_available=ram)
    plain = fit.fit_catalog_entry(model, machine, context=32_768, flash_attn=True, lighter_kv=False)
    assert plain.verdict is fit.Verdict.WONT_FIT and plain.kv_type is fit.KVType.F16
    picked = fit.fit_catalog_entry(model, machine, context=32_768, flash_attn=True)
    assert picked.kv_type is fit.KVType.Q8_0 and picked.flash_attn
    assert picked.verdict is not fit.Verdict.WONT_FIT
    assert "q8_0 cache is used" in picked.explanation
    roomy = fit.fit_catalog_entry(model, BIG, context=32_768)
    assert roomy.kv_type is fit.KVType.F16, "f16 stays wherever it fits"
    hopeless = fit.fit_catalog_entry(entry("longwriter-zero-32b-q4_k_m"), LAPTOP_8)
    assert hopeless.kv_type is fit.KVType.F16, "nothing is switched when q8_0 would not fit either"


def test_glm_recommendation_is_capped_at_32k_not_its_advertised_million() -> None:
    report = fit.fit_catalog_entry(entry("longwriter-glm4-9b-q5_k_m"), BIG)
    assert report.recommended_context == 32_768


def test_gpu_layers_follow_free_vram() -> None:
    model = entry("longwriter-llama3.1-8b-q4_k_m")
    small_gpu = fit.Machine(32 * GB, 24 * GB, (gpu("CUDA0", 6),))
    big_gpu = fit.Machine(32 * GB, 24 * GB, (gpu("CUDA0", 24),))
    partial = fit.fit_catalog_entry(model, small_gpu, context=16_384, flash_attn=True)
    full = fit.fit_catalog_entry(model, big_gpu, context=16_384, flash_attn=True)
    assert 0 < partial.gpu_layers < 32
    assert partial.estimate.gpu_bytes <= 0.9 * 6 * GB
    assert partial.estimate.ram_bytes + partial.estimate.gpu_bytes == partial.estimate_bytes
    assert full.gpu_layers == 32 and full.recommended_gpu_layers == 32
    assert full.estimate.ram_bytes < 1 * GB  # only the app itself stays in RAM
    # Two GPUs share the layers.
    two = fit.fit_catalog_entry(model, fit.Machine(32 * GB, 24 * GB, (gpu("CUDA0", 6), gpu("CUDA1", 6))),
                                context=16_384, flash_attn=True)
    assert two.gpu_layers > partial.gpu_layers
    # Asking for more layers than fit is reported, with the recommendation.
    forced = fit.fit_catalog_entry(model, small_gpu, context=16_384, gpu_layers=-1, flash_attn=True)
    assert forced.gpu_layers == 32 and forced.verdict is fit.Verdict.WONT_FIT
    assert forced.recommended_gpu_layers < 32


def test_unified_memory_counts_everything_against_ram() -> None:
    model = entry("longwriter-llama3.1-8b-q4_k_m")
    mac = fit.Machine(16 * GB, 11 * GB, (gpu("Metal", 11, DeviceKind.GPU, "Metal"),))
    report = fit.fit_catalog_entry(model, mac, context=16_384, flash_attn=True)
    assert report.gpu_layers == 32
    assert report.estimate.gpu_bytes == 0 and report.estimate.ram_bytes == report.estimate_bytes


def test_gpu_layers_without_a_gpu_stay_on_the_cpu() -> None:
    report = fit.fit_catalog_entry(entry("longwriter-qwen2.5-7b-q4_k_m"), BIG, gpu_layers=10)
    assert report.gpu_layers == 0 and report.estimate.gpu_bytes == 0
    assert "No GPU" in report.explanation


def test_inputs_are_checked() -> None:
    model = entry("smollm2-135m")
    with pytest.raises(InputError, match="flash attention"):
        fit.fit_catalog_entry(model, BIG, kv_type="q8_0", flash_attn=False)
    with pytest.raises(InputError, match="Unknown KV cache type"):
        fit.fit_catalog_entry(model, BIG, kv_type="q5_1")
    with pytest.raises(InputError, match="positive"):
        fit.fit_catalog_entry(model, BIG, context=-5)
    report = fit.fit_catalog_entry(model, BIG, context=10_000)
    assert report.context == 10_240
    assert "10,000 becomes 10,240" in report.explanation
    assert "beyond the 8,192" in report.explanation


def test_installed_model_fit_reads_its_header(builtin_gguf: Path) -> None:
    report = fit.fit_model_file(builtin_gguf, BIG)
    header = read_gguf(builtin_gguf)
    assert report.context == 8_192  # its trained context is below the default 16k
    assert report.estimate.weights_bytes == builtin_gguf.stat().st_size
    assert report.estimate.kv_bytes == header.kv_bytes_per_token() * 8_192
    assert report.total_layers == 30
    assert report.recommended_context == 8_192
    assert report.estimate_bytes < 1 * GB
    assert "fits" in report.explanation


def test_this_machine_is_measured() -> None:
    machine = fit.Machine.current(with_gpus=False)
    assert machine.ram_total > 256 * MIB
    assert 0 < machine.ram_available <= machine.ram_total


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/meminfo")
def test_stdlib_memory_reader_agrees_with_psutil() -> None:
    psutil = pytest.importorskip("psutil")
    stdlib = system_memory(use_psutil=False)
    assert stdlib is not None
    assert stdlib.total == psutil.virtual_memory().total
    assert abs(stdlib.available - psutil.virtual_memory().available) < 512 * MIB
    old_kernel = parse_meminfo(
        "MemTotal: 8000000 kB\nMemFree: 1000000 kB\nBuffers: 100 kB\nCached: 2000000 kB\n")
    assert old_kernel.total == 8_000_000 * 1024
    assert old_kernel.available == (1_000_000 + 100 + 2_000_000) * 1024


@pytest.mark.parametrize("flash_attn", [False, True])
def test_estimate_covers_what_llama_cpp_allocates(builtin_gguf: Path, caplog: pytest.LogCaptureFixture,
                                                  flash_attn: bool) -> None:
    """Load the real model and compare with llama.cpp's own log of its KV and compute buffers."""
    caplog.set_level(logging.DEBUG, logger="longwriter_desktop.llama_cpp")
    with LlamaBackend(builtin_gguf, LoadSettings(n_ctx=4096, flash_attn=flash_attn)):
        pass
    log = "\n".join(record.getMessage() for record in caplog.records)
    kv_mib = float(re.search(r"KV buffer size =\s+([\d.]+) MiB", log).group(1))  # type: ignore[union-attr]
    compute_mib = float(re.search(r"compute buffer size =\s+([\d.]+) MiB", log).group(1))  # type: ignore[union-attr]
    model = fit.ModelShape.from_header(read_gguf(builtin_gguf))
    estimate = fit.estimate_memory(model, 4096, flash_attn=flash_attn)
    assert estimate.kv_bytes == pytest.approx(kv_mib * MIB, abs=0.01 * MIB)
    assert compute_mib * MIB <= estimate.compute_bytes <= compute_mib * MIB + 100 * MIB
