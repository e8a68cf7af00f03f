"""The catalog's data: unique ids, the sizes and facts of MODELS.md, and families the app detects alike."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from longwriter_desktop.engine.gguf import read_gguf
from longwriter_desktop.engine.prompts import Family, detect_family
from longwriter_desktop.library import catalog
from longwriter_desktop.library.installed import BUILTIN_ID, model_id_for

KIB = 1024
GB = 1_000_000_000

# MODELS.md's table: file -> size in decimal GB as the Hub shows it.
HUB_SIZES = {
    "LongWriter-llama3.1-8b-Q3_K_M.gguf": 4.02,
    "LongWriter-llama3.1-8b-IQ4_XS.gguf": 4.45,
    "LongWriter-llama3.1-8b-Q4_K_M.gguf": 4.92,
    "LongWriter-llama3.1-8b-Q5_K_M.gguf": 5.73,
    "LongWriter-llama3.1-8b-Q6_K.gguf": 6.6,
    "LongWriter-llama3.1-8b-Q8_0.gguf": 8.54,
    "LongWriter-glm4-9b.Q3_K_M.gguf": 5.06,
    "LongWriter-glm4-9b.Q4_K_M.gguf": 6.25,
    "LongWriter-glm4-9b.Q5_K_M.gguf": 7.14,
    "LongWriter-glm4-9b.Q6_K.gguf": 8.26,
    "LongWriter-glm4-9b.Q8_0.gguf": 9.99,
    "LongWriter-Qwen2.5-7B-Instruct.Q4_K_M.gguf": 4.68,
    "THU-KEG_LongWriter-Zero-32B-Q4_K_M.gguf": 19.9,
}

ARCHITECTURE_OF_FAMILY = {
    Family.LONGWRITER_LLAMA: "llama",
    Family.GLM4: "glm4",
    Family.CHATML: "qwen2",
    Family.LONGWRITER_ZERO: "qwen2",
}


def test_ids_are_unique_stable_and_lower_case() -> None:
    ids = [entry.id for entry in catalog.CATALOG]
    assert len(ids) == len(set(ids))
    for entry_id in ids:
        assert re.fullmatch(r"[a-z0-9][a-z0-9._-]*", entry_id), entry_id
    assert "longwriter-llama3.1-8b-q4_k_m" in ids
    assert BUILTIN_ID in ids


def test_every_row_of_the_models_table_is_there_with_its_hub_size() -> None:
    hub_entries = [e for e in catalog.CATALOG if e.source is catalog.Source.HUGGING_FACE]
    assert {e.file for e in hub_entries} == set(HUB_SIZES)
    for entry in hub_entries:
        assert entry.size_bytes == round(HUB_SIZES[entry.file] * GB), entry.id
        assert entry.quant in entry.file
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", entry.repo)
        assert entry.file.endswith(".gguf")
    zero = catalog.find("longwriter-zero-32b-q4_k_m")
    assert zero is not None and zero.size_kind is catalog.SizeKind.ESTIMATE


def test_sizes_grow_with_the_quantisation_within_a_family() -> None:
    for family in catalog.families():
        sizes = [e.size_bytes for e in catalog.CATALOG if e.family == family]
        assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes), family


def test_kv_bytes_per_token_match_the_model_facts() -> None:
    expected = {"LongWriter-llama3.1-8b": 128 * KIB, "LongWriter-glm4-9b": 40 * KIB,
                "LongWriter-Qwen2.5-7B-Instruct": 56 * KIB, "LongWriter-Zero-32B": 256 * KIB}
    for entry in catalog.CATALOG:
        if entry.family in expected:
            assert entry.kv_bytes_per_token_f16 == expected[entry.family], entry.id
    # Layers x KV heads x head size x 2 (K and V) x 2 bytes:
    # Llama-3.1-8B has 32 x 8 x 128, GLM-4-9B 40 x 2 x 128.
    assert catalog.LLAMA31_8B.kv_bytes_per_token_f16 == 32 * 8 * 128 * 2 * 2
    assert catalog.GLM4_9B.kv_bytes_per_token_f16 == 40 * 2 * 128 * 2 * 2


def test_contexts_advertised_and_recommended() -> None:
    for entry in catalog.CATALOG:
        assert entry.recommended_context <= entry.advertised_context
        assert entry.recommended_context % 256 == 0
        if entry.family in ("LongWriter-llama3.1-8b", "LongWriter-glm4-9b"):
            assert entry.recommended_context == 32_768  # trained on 32k of input plus output
    assert catalog.find("longwriter-llama3.1-8b-q4_k_m").advertised_context == 131_072  # type: ignore[union-attr]
    assert catalog.find("longwriter-glm4-9b-q4_k_m").advertised_context == 1_048_576  # type: ignore[union-attr]


def test_licences_and_flags() -> None:
    for entry in catalog.CATALOG:
        assert entry.licence and entry.licence_note and entry.ram_guidance
        assert entry.longwriter_trained == (entry.id != BUILTIN_ID)
        if entry.family == "LongWriter-glm4-9b":
            assert "Built with glm-4" in entry.licence_note
    defaults = [e for e in catalog.CATALOG if e.default]
    assert [e.id for e in defaults] == ["longwriter-llama3.1-8b-q4_k_m"]
    assert catalog.default_entry() is defaults[0]


@pytest.mark.parametrize("entry", [e for e in catalog.CATALOG if e.id != BUILTIN_ID], ids=lambda e: e.id)
def test_the_app_detects_the_catalogs_prompt_family_from_the_file(entry: catalog.CatalogEntry) -> None:
    metadata = {"general.architecture": ARCHITECTURE_OF_FAMILY[entry.prompt_family]}
    assert detect_family(metadata, entry.file_name) is entry.prompt_family


def test_builtin_entry_matches_the_real_file(builtin_gguf: Path) -> None:
    entry = catalog.find(BUILTIN_ID)
    assert entry is not None and entry.builtin and entry.source is catalog.Source.PYPI
    header = read_gguf(builtin_gguf)
    assert entry.size_bytes == builtin_gguf.stat().st_size
    assert entry.file_name == builtin_gguf.name
    assert entry.kv_bytes_per_token_f16 == header.kv_bytes_per_token()
    assert entry.layers == header.block_count
    assert entry.architecture.heads == header.head_count
    assert entry.architecture.vocab_size == header.get("tokenizer.ggml.tokens").length
    assert entry.advertised_context == header.context_length
    assert detect_family(header.metadata, builtin_gguf.name) is entry.prompt_family


def test_lookups() -> None:
    entry = catalog.find("longwriter-glm4-9b-q5_k_m")
    assert entry is not None
    assert catalog.find("LongWriter-GLM4-9B-Q5_K_M") is entry
    file = "LongWriter-glm4-9b.Q5_K_M.gguf"
    assert catalog.find_by_repo_file("QuantFactory/LongWriter-glm4-9b-GGUF", file) is entry
    assert catalog.find_by_repo_file("quantfactory/longwriter-glm4-9b-gguf", file) is entry
    assert catalog.find_by_file_name("/some/folder/LongWriter-glm4-9b.Q5_K_M.gguf") is entry
    assert catalog.find("no-such-model") is None
    assert catalog.find_by_repo_file("QuantFactory/LongWriter-glm4-9b-GGUF", "other.gguf") is None


def test_installed_ids_of_bartowski_files_equal_their_catalog_ids() -> None:
    for entry in catalog.CATALOG:
        if entry.repo.startswith("bartowski/") and "llama3.1" in entry.id:
            assert model_id_for(Path(entry.file_name)) == entry.id
