"""The llama.cpp that ./run.sh builds runs on this CPU, also outside the app's backend (the benchmarks' bare
llama-cpp-python and `python -m llama_cpp.server` load models with llama.cpp's defaults)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BARE_RUN = """
import sys, llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=1024, verbose=False, seed=1)
prompt = "The harbour was quiet that morning, and the keeper walked along the wall. " * 6
out = llm.create_completion(prompt, max_tokens=8, temperature=0)
print("generated", out["usage"]["completion_tokens"])
"""


def test_bare_llama_cpp_evaluates_a_prompt_without_crashing(builtin_gguf: Path) -> None:
    # On CPUs that report AMX, a -march=native build crashed (SIGSEGV in ggml_backend_amx_mul_mat) on the
    # first prompt of a few dozen tokens; run.sh builds without that path there.
    result = subprocess.run([sys.executable, "-c", BARE_RUN, str(builtin_gguf)], capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "generated" in result.stdout


def test_the_build_has_no_amx_path_where_the_cpu_reports_amx() -> None:
    import llama_cpp

    flags = next((line.split() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("flags")), []) if Path("/proc/cpuinfo").exists() else []
    info = llama_cpp.llama_print_system_info().decode()
    if "amx_tile" in flags:
        assert "AMX_INT8 = 1" not in info, "llama-cpp-python was built with AMX here: set it up with ./run.sh"
    assert "CPU" in info
