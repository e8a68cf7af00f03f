"""KV-cache types reach llama.cpp: the cache is allocated in the chosen type, with flash attention on."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from longwriter_desktop.engine.backend import Finish, GenerationRequest, Sampling
from longwriter_desktop.engine.gguf import read_gguf
from longwriter_desktop.engine.llama_backend import LlamaBackend, LoadSettings, flush_llama_log
from longwriter_desktop.library.fit import KVType, ModelShape, kv_cache_bytes


@pytest.mark.parametrize("kv_type", ["f16", "q8_0", "q4_0"])
def test_the_cache_is_allocated_in_the_chosen_type(builtin_gguf: Path, caplog: pytest.LogCaptureFixture,
                                                   kv_type: str) -> None:
    caplog.set_level(logging.DEBUG, logger="longwriter_desktop.llama_cpp")
    backend = LlamaBackend(builtin_gguf, LoadSettings(n_ctx=2048, kv_type=kv_type), model_id="builtin")
    try:
        flush_llama_log()
        sizes = [r.getMessage() for r in caplog.records if "llama_kv_cache: size =" in r.getMessage()]
        assert sizes and f"K ({kv_type})" in sizes[-1] and f"V ({kv_type})" in sizes[-1]
        mib = float(sizes[-1].split("=")[1].split("MiB")[0])
        expected = kv_cache_bytes(ModelShape.from_header(read_gguf(builtin_gguf)).kv_bytes_per_token_f16, 2048,
                                  KVType(kv_type)) / 2**20
        assert mib == pytest.approx(expected, rel=0.01), "the fit check counts the cache as llama.cpp allocates it"
        request = GenerationRequest(prompt="<|im_start|>user\nSay hello.<|im_end|>\n<|im_start|>assistant\n",
                                    max_tokens=8, sampling=Sampling(seed=1))
        finish = [item for item in backend.generate(request) if isinstance(item, Finish)][-1]
        assert finish.completion_tokens > 0
    finally:
        backend.close()


def test_the_command_line_passes_the_kv_type_to_the_loader() -> None:
    from longwriter_desktop.app.backends import LocalModel
    from longwriter_desktop.cli import build_parser
    from longwriter_desktop.cli.write_cmd import backend_choice

    chosen = backend_choice(build_parser().parse_args(["write", "x", "--kv-type", "q8_0"]))
    assert isinstance(chosen, LocalModel) and chosen.settings.kv_type == "q8_0"
    default = backend_choice(build_parser().parse_args(["write", "x"]))
    assert isinstance(default, LocalModel) and default.settings.kv_type == "f16"
