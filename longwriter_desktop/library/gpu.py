"""Which llama.cpp backends this llama-cpp-python was built with, and which devices they found.

llama-cpp-python only says ``llama_supports_gpu_offload()``; naming the backend (CUDA, Metal, Vulkan...) and
reading a GPU's free memory needs ggml's device registry, called here through ctypes on the ggml library
that llama-cpp-python ships. ``llama_cpp`` is imported only when :func:`detect` runs: importing it loads
the native libraries (a quarter of a second), which the rest of the library code should not pay for.
"""

from __future__ import annotations

import ctypes
import platform
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

# ggml's enum ggml_backend_dev_type, in the order of ggml-backend.h since the integrated-GPU kind was
# added. Older builds had ACCEL at 2; _kind() corrects for that by the backend's name.
_DEVICE_TYPES = ("cpu", "gpu", "igpu", "accel", "meta")
# Backends that run on the processor: never a reason to offload layers.
_HOST_BACKENDS = {"CPU", "BLAS", "AMX", "ZENDNN", "ZDNN", "OPENVINO", "KLEIDIAI"}
# Library file stems (libggml-<stem>.so, ggml-<stem>.dll) and the backend names ggml registers for them.
_LIBRARY_BACKENDS = {
    "cpu": "CPU", "cuda": "CUDA", "hip": "ROCm", "metal": "Metal", "vulkan": "Vulkan", "sycl": "SYCL",
    "opencl": "OpenCL", "musa": "MUSA", "cann": "CANN", "blas": "BLAS", "rpc": "RPC", "webgpu": "WebGPU",
    "kompute": "Kompute", "zdnn": "zDNN", "zendnn": "ZenDNN", "openvino": "OpenVINO", "virtgpu": "VirtGPU",
}


class DeviceKind(str, Enum):
    CPU = "cpu"
    GPU = "gpu"  # dedicated memory
    IGPU = "igpu"  # integrated: shares the system RAM
    ACCEL = "accel"  # works beside the CPU (BLAS, AMX)
    OTHER = "other"


@dataclass(frozen=True)
class Device:
    name: str  # ggml's name: "CPU", "CUDA0", "Metal", "Vulkan0"
    description: str  # the hardware: "NVIDIA GeForce RTX 4070", "AMD EPYC"
    kind: DeviceKind
    backend: str  # the backend that registered it: "CPU", "CUDA", "Metal"
    memory_free: int | None  # bytes, where the backend can tell
    memory_total: int | None

    @property
    def offloads(self) -> bool:
        """Whether model layers can be offloaded to this device."""
        return self.kind in (DeviceKind.GPU, DeviceKind.IGPU)

    @property
    def unified_memory(self) -> bool:
        """Whether the device's memory is the system RAM (Apple Silicon, integrated GPUs)."""
        return self.kind is DeviceKind.IGPU or self.backend.lower() == "metal"


@dataclass(frozen=True)
class BackendReport:
    """What llama.cpp can run on here, and why it runs on the CPU where it does."""

    llama_cpp_version: str | None
    compiled_backends: tuple[str, ...]  # backends built into this llama-cpp-python, e.g. ("CPU", "CUDA")
    devices: tuple[Device, ...]
    gpu_offload: bool  # llama_supports_gpu_offload()
    problem: str | None = None  # llama-cpp-python missing, or its devices could not be listed

    @property
    def gpus(self) -> tuple[Device, ...]:
        return tuple(device for device in self.devices if device.offloads)

    @property
    def uses_gpu(self) -> bool:
        return bool(self.gpus)

    @property
    def gpu_backends(self) -> tuple[str, ...]:
        return tuple(name for name in self.compiled_backends if name.upper() not in _HOST_BACKENDS)

    @property
    def summary(self) -> str:
        """One line: "CUDA (NVIDIA GeForce RTX 4070)" or "CPU only (CPU-only build)"."""
        if self.problem and not self.devices:
            return "unavailable"
        if self.gpus:
            names = ", ".join(f"{gpu.name}: {gpu.description}" for gpu in self.gpus)
            backends = ", ".join(dict.fromkeys(gpu.backend for gpu in self.gpus))
            return f"{backends} ({names})"
        if self.gpu_backends:
            return f"CPU only (built with {', '.join(self.gpu_backends)}, but no GPU was found)"
        return "CPU only (CPU-only build)"

    def explanation(self) -> str:
        """Plain words: where models run, and for the CPU, why and how to change it."""
        if self.problem and not self.devices:
            return self.problem
        cpu = next((d.description for d in self.devices if d.kind is DeviceKind.CPU), "")
        on_cpu = f"models run on the processor{f' ({cpu})' if cpu else ''}"
        if self.gpus:
            lines = []
            for gpu in self.gpus:
                memory = ""
                if gpu.memory_total:
                    memory = f", {_gb(gpu.memory_free or 0)} of {_gb(gpu.memory_total)} free"
                shared = " (shares the system memory)" if gpu.unified_memory else ""
                lines.append(f"{gpu.name}: {gpu.description}{memory}{shared}")
            backends = ", ".join(dict.fromkeys(gpu.backend for gpu in self.gpus))
            return (
                f"llama.cpp uses {backends}: " + "; ".join(lines) + ". Model layers are offloaded to the GPU "
                "with --gpu-layers; `longwriter models fit` recommends how many fit."
            )
        if self.gpu_backends:
            built = ", ".join(self.gpu_backends)
            return (
                f"This llama-cpp-python was built with {built}, but that backend found no device, "
                f"so {on_cpu}. "
                f"Check that the GPU and its driver work ({_driver_hint(self.gpu_backends)}), then start "
                "the app again."
            )
        return (
            "This llama-cpp-python was built for the CPU only (no GPU backend was compiled in), "
            f"so {on_cpu}. To use a GPU, reinstall it with a GPU backend:\n"
            + reinstall_instructions(self.llama_cpp_version)
        )


def _gb(size: int) -> str:
    return f"{size / 1e9:.1f} GB"


def _driver_hint(backends: tuple[str, ...]) -> str:
    names = {name.lower() for name in backends}
    if "cuda" in names:
        return "`nvidia-smi` should list the card"
    if "rocm" in names:
        return "`rocminfo` should list the card"
    if "vulkan" in names:
        return "`vulkaninfo --summary` should list the card"
    return "the vendor's tools should list the card"


def reinstall_instructions(version: str | None = None, system: str | None = None,
                           machine: str | None = None) -> str:
    """Commands that rebuild llama-cpp-python with a GPU backend, for this (or the given) platform."""
    system = system or platform.system()
    machine = (machine or platform.machine()).lower()
    package = f"llama-cpp-python=={version}" if version else "llama-cpp-python"
    python = f'"{sys.executable}"' if " " in sys.executable else sys.executable
    pip = f"{python} -m pip install --force-reinstall --no-cache-dir --no-deps {package}"
    options: list[tuple[str, str]] = []
    if system == "Darwin":
        if machine in ("arm64", "aarch64"):
            options.append(("Apple Silicon (Metal)", "-DGGML_METAL=on"))
        else:
            options.append(("Intel Mac, AMD GPU (Vulkan, needs MoltenVK)", "-DGGML_VULKAN=on"))
    else:
        options.append(("NVIDIA (CUDA toolkit needed)", "-DGGML_CUDA=on"))
        if system == "Linux":
            options.append(("AMD (ROCm)", "-DGGML_HIP=on"))
        options.append(("AMD, Intel or NVIDIA (Vulkan SDK needed)", "-DGGML_VULKAN=on"))
    if system == "Windows":
        call = "& " if pip.startswith('"') else ""
        return "\n".join(f'  {label} (PowerShell): $env:CMAKE_ARGS="{flag}"; {call}{pip}'
                         for label, flag in options)
    return "\n".join(f'  {label}: CMAKE_ARGS="{flag}" {pip}' for label, flag in options)


def detect() -> BackendReport:
    """Ask the installed llama-cpp-python which backends it has and which devices they see."""
    try:
        import llama_cpp
    except ImportError as exc:
        return BackendReport(None, (), (), False, problem=(
            f"llama-cpp-python is not installed or cannot load ({exc}), so no model can run. "
            "Install it with: pip install llama-cpp-python"
        ))
    version = getattr(llama_cpp, "__version__", None)
    try:
        gpu_offload = bool(llama_cpp.llama_supports_gpu_offload())
    except (AttributeError, OSError):
        gpu_offload = False
    lib_dir = _library_dir(llama_cpp)
    compiled = _backends_in_folder(lib_dir) if lib_dir else []
    try:
        ggml = _Ggml(_load_ggml(lib_dir))
        if ggml.reg_count() == 0 and lib_dir is not None:
            # Builds with dynamically loaded backends register nothing until asked to load them.
            ggml.load_all_from_path(lib_dir)
        registered = ggml.registered_backends()
        devices = tuple(ggml.devices())
    except (OSError, AttributeError, ValueError) as exc:
        return BackendReport(version, tuple(compiled), (), gpu_offload, problem=(
            f"Could not list llama.cpp's devices ({exc}). "
            + ("A GPU backend is available." if gpu_offload else "Models run on the CPU.")
        ))
    for name in registered:
        if name not in compiled:
            compiled.append(name)
    return BackendReport(version, tuple(compiled), devices, gpu_offload)


def _library_dir(llama_cpp: Any) -> Path | None:
    """The folder of the llama.cpp libraries actually loaded (LLAMA_CPP_LIB_PATH may move them)."""
    loaded = getattr(getattr(getattr(llama_cpp, "llama_cpp", None), "_lib", None), "_name", None)
    if isinstance(loaded, str) and Path(loaded).is_file():
        return Path(loaded).parent
    folder = Path(llama_cpp.__file__).parent / "lib"
    return folder if folder.is_dir() else None


def _backends_in_folder(folder: Path) -> list[str]:
    """Backend names from the ggml library files beside libllama (libggml-cuda.so, ggml-vulkan.dll...)."""
    found: list[str] = []
    for path in sorted(folder.iterdir()):
        match = re.match(r"^(?:lib)?ggml-([a-z]+)", path.name.lower())
        if match and match.group(1) != "base":
            name = _LIBRARY_BACKENDS.get(match.group(1), match.group(1).upper())
            if name not in found:
                found.append(name)
    return found


def _load_ggml(lib_dir: Path | None) -> ctypes.CDLL:
    try:
        from llama_cpp import _ggml  # the ggml library llama-cpp-python already loaded

        return _ggml.libggml
    except (ImportError, AttributeError, OSError):
        pass
    if lib_dir is None:
        raise OSError("the llama.cpp library folder was not found")
    for name in ("libggml.so", "libggml.dylib", "ggml.dll", "libggml.dll"):
        if (lib_dir / name).is_file():
            return ctypes.CDLL(str(lib_dir / name))
    raise OSError(f"no ggml library in {lib_dir}")


class _Ggml:
    """The few ggml-backend.h functions needed, with their C signatures."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        ptr, size = ctypes.c_void_p, ctypes.c_size_t
        self.reg_count = self._bind(lib, "ggml_backend_reg_count", [], size)
        self.reg_get = self._bind(lib, "ggml_backend_reg_get", [size], ptr)
        self.reg_name = self._bind(lib, "ggml_backend_reg_name", [ptr], ctypes.c_char_p)
        self.dev_count = self._bind(lib, "ggml_backend_dev_count", [], size)
        self.dev_get = self._bind(lib, "ggml_backend_dev_get", [size], ptr)
        self.dev_name = self._bind(lib, "ggml_backend_dev_name", [ptr], ctypes.c_char_p)
        self.dev_description = self._bind(lib, "ggml_backend_dev_description", [ptr], ctypes.c_char_p)
        self.dev_type = self._bind(lib, "ggml_backend_dev_type", [ptr], ctypes.c_int)
        self.dev_memory = self._bind(lib, "ggml_backend_dev_memory",
                                     [ptr, ctypes.POINTER(size), ctypes.POINTER(size)], None)
        self.dev_backend_reg = self._bind(lib, "ggml_backend_dev_backend_reg", [ptr], ptr)
        self._lib = lib

    @staticmethod
    def _bind(lib: ctypes.CDLL, name: str, argtypes: list[Any], restype: Any) -> Callable[..., Any]:
        function = getattr(lib, name)
        function.argtypes = argtypes
        function.restype = restype
        return function

    def load_all_from_path(self, folder: Path) -> None:
        function = self._bind(self._lib, "ggml_backend_load_all_from_path", [ctypes.c_char_p], None)
        function(str(folder).encode())

    def registered_backends(self) -> list[str]:
        return [_text(self.reg_name(self.reg_get(i))) for i in range(int(self.reg_count()))]

    def devices(self) -> list[Device]:
        found = []
        for index in range(int(self.dev_count())):
            device = self.dev_get(index)
            if not device:
                continue
            free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
            self.dev_memory(device, ctypes.byref(free), ctypes.byref(total))
            registry = self.dev_backend_reg(device)
            backend = _text(self.reg_name(registry)) if registry else ""
            found.append(Device(
                name=_text(self.dev_name(device)),
                description=_text(self.dev_description(device)).strip(),
                kind=_kind(int(self.dev_type(device)), backend),
                backend=backend,
                memory_free=free.value or None,
                memory_total=total.value or None,
            ))
        return found


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", errors="replace") if value else ""


def _kind(device_type: int, backend: str) -> DeviceKind:
    if backend.upper() == "CPU":
        return DeviceKind.CPU
    if backend.upper() in _HOST_BACKENDS:
        return DeviceKind.ACCEL  # an older ggml numbers ACCEL 2, which is IGPU today
    if 0 <= device_type < len(_DEVICE_TYPES):
        kind = _DEVICE_TYPES[device_type]
        return DeviceKind(kind) if kind in DeviceKind._value2member_map_ else DeviceKind.OTHER
    return DeviceKind.OTHER
