"""Backend and device detection through ggml's registry, on the llama-cpp-python installed here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import llama_cpp

from longwriter_desktop.library import gpu
from longwriter_desktop.library.gpu import BackendReport, Device, DeviceKind

CPU = Device("CPU", "AMD EPYC", DeviceKind.CPU, "CPU", None, None)


def test_detect_lists_this_builds_backends_and_devices() -> None:
    report = gpu.detect()
    assert report.problem is None
    assert report.llama_cpp_version == llama_cpp.__version__
    assert "CPU" in report.compiled_backends
    cpus = [d for d in report.devices if d.kind is DeviceKind.CPU]
    assert len(cpus) == 1 and cpus[0].name == "CPU" and cpus[0].description
    assert report.gpu_offload == bool(llama_cpp.llama_supports_gpu_offload())
    assert report.uses_gpu == bool(report.gpus)
    for device in report.gpus:
        assert device.memory_total and device.memory_free is not None
        assert device.memory_free <= device.memory_total


def test_on_a_cpu_only_build_it_says_why_and_how_to_change_it() -> None:
    report = gpu.detect()
    if report.gpu_offload:
        assert report.uses_gpu or report.gpu_backends
        return
    assert report.gpus == ()
    assert report.gpu_backends == ()
    assert report.summary == "CPU only (CPU-only build)"
    text = report.explanation()
    assert "built for the CPU only" in text
    assert "-DGGML_CUDA=on" in text or "-DGGML_METAL=on" in text
    assert f"llama-cpp-python=={llama_cpp.__version__}" in text


def test_importing_the_library_does_not_load_llama_cpp() -> None:
    code = ("import sys; import longwriter_desktop.library.gpu, longwriter_desktop.library.fit, "
            "longwriter_desktop.library.catalog; print('llama_cpp' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.stdout.strip() == "False"


def test_explanations_for_gpu_and_driverless_builds() -> None:
    card = Device("CUDA0", "NVIDIA GeForce RTX 4070", DeviceKind.GPU, "CUDA", 11_200_000_000, 12_000_000_000)
    with_gpu = BackendReport("0.3.36", ("CPU", "CUDA"), (CPU, card), True)
    assert with_gpu.uses_gpu and with_gpu.summary == "CUDA (CUDA0: NVIDIA GeForce RTX 4070)"
    assert "11.2 GB of 12.0 GB free" in with_gpu.explanation()
    no_driver = BackendReport("0.3.36", ("CPU", "CUDA"), (CPU,), True)
    assert no_driver.summary == "CPU only (built with CUDA, but no GPU was found)"
    assert "nvidia-smi" in no_driver.explanation()
    apple = Device("Metal", "Apple M2", DeviceKind.GPU, "Metal", 11_000_000_000, 11_000_000_000)
    assert apple.unified_memory and not card.unified_memory
    assert "shares the system memory" in BackendReport("0.3.36", ("Metal",), (apple,), True).explanation()


def test_reinstall_instructions_fit_the_platform() -> None:
    mac = gpu.reinstall_instructions("0.3.36", "Darwin", "arm64")
    assert "-DGGML_METAL=on" in mac and "CUDA" not in mac
    linux = gpu.reinstall_instructions(None, "Linux", "x86_64")
    assert all(flag in linux for flag in ("-DGGML_CUDA=on", "-DGGML_HIP=on", "-DGGML_VULKAN=on"))
    assert 'CMAKE_ARGS="-DGGML_CUDA=on"' in linux and "--force-reinstall" in linux
    windows = gpu.reinstall_instructions("0.3.36", "Windows", "AMD64")
    assert '$env:CMAKE_ARGS="-DGGML_CUDA=on"' in windows and "HIP" not in windows


def test_backends_are_named_from_the_library_files(tmp_path: Path) -> None:
    for name in ("libggml-base.so", "libggml-cpu-haswell.so", "libggml-cpu-skylakex.so", "libggml-cuda.so",
                 "ggml-vulkan.dll", "libllama.so", "libggml.so"):
        (tmp_path / name).write_bytes(b"")
    assert gpu._backends_in_folder(tmp_path) == ["Vulkan", "CPU", "CUDA"]
