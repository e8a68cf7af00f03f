"""What each kind of OpenAI-compatible server says and wants: llama.cpp's server, llama-cpp-python's, vLLM
and Ollama. Which one answers (from its model listing), which model is meant, its context size, its tokenize
endpoint, its error bodies, and the prompt format for chat mode. Pure functions over the servers' answers;
the requests themselves are :mod:`.server_transport`'s.
"""

from __future__ import annotations

import json
import math
from enum import Enum
from typing import Any

from .counting import count
from .prompts import Family, PromptFormat, detect_family

# The prompt format for chat mode: the server's chat template does the wrapping, so ours adds nothing.
CHAT_PROMPT_FORMAT = PromptFormat(
    family=Family.TEMPLATE,
    bos="",
    system="{system}\n\n",
    user="{user}",
    end_of_turn="\n\n",
    stops=(),
    add_bos=False,
)


class ServerKind(str, Enum):
    LLAMA_CPP = "llama.cpp server"
    LLAMA_CPP_PYTHON = "llama-cpp-python server"
    VLLM = "vLLM"
    OLLAMA = "Ollama"
    UNKNOWN = "OpenAI-compatible server"


def estimate_tokens(text: str) -> int:
    """A tokenizer-free count: the largest of characters/4, words*1.35 (CJK characters count as words) and
    letters beyond ASCII/2 (Cyrillic, Greek, Arabic and the like take two or more tokens a word of 5-7 letters
    in tokenizers trained mostly on English)."""
    if not text:
        return 0
    beyond_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return max(math.ceil(len(text) / 4), math.ceil(count(text) * 1.35), math.ceil(beyond_ascii / 2))


def guess_family(model_name: str) -> Family:
    """The prompt family a served model most likely needs, from its name (there is no GGUF header to read)."""
    name = model_name.lower()
    metadata = {"general.architecture": "llama"} if "llama" in name else {}
    return detect_family(metadata, model_name)


def detect_kind(listed: list[dict[str, Any]]) -> ServerKind:
    """Which server this is, from its /models listing (each names its models' owner its own way)."""
    owners = {str(entry.get("owned_by", "")).lower() for entry in listed}
    if "llamacpp" in owners:
        return ServerKind.LLAMA_CPP
    if "vllm" in owners:
        return ServerKind.VLLM
    if "me" in owners:  # llama-cpp-python's server says its models are owned by "me"
        return ServerKind.LLAMA_CPP_PYTHON
    if "library" in owners or any(":" in str(entry.get("id", "")) for entry in listed):
        return ServerKind.OLLAMA
    return ServerKind.UNKNOWN


def match_model(models: list[str], wanted: str) -> str | None:
    """The served model a user's name means (Ollama's ":latest" and a repo's last part may be left out)."""
    for served in models:
        if wanted in (served, served.removesuffix(":latest")) or served.endswith("/" + wanted):
            return served
    return None


def listed_context(entry: dict[str, Any]) -> int | None:
    """The context size a /models entry states (vLLM's max_model_len, newer Ollama's context_length)."""
    for key in ("max_model_len", "context_length"):
        value = entry.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


def props_context(body: bytes) -> int | None:
    """llama.cpp's server: the context size from its /props answer."""
    try:
        value = json.loads(body).get("default_generation_settings", {}).get("n_ctx")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and value > 0 else None


def ollama_show(shown: Any) -> tuple[bool, int | None]:
    """Ollama's /api/show answer: whether the model's template passes prompts through, and its num_ctx."""
    if not isinstance(shown, dict):
        return False, None
    template = str(shown.get("template", "")).strip()
    passes = template in ("{{ .Prompt }}", "{{.Prompt}}")
    for line in str(shown.get("parameters", "")).splitlines():
        name, _, value = line.strip().partition(" ")
        if name == "num_ctx" and value.strip().isdigit():
            return passes, int(value.strip())
    return passes, None


# The tokenize endpoints worth trying on each kind of server, in order (Ollama has none).
TOKENIZE_ORDER = {
    ServerKind.LLAMA_CPP: ("llama.cpp",),
    ServerKind.LLAMA_CPP_PYTHON: ("extras",),
    ServerKind.VLLM: ("vllm",),
    ServerKind.OLLAMA: (),
    ServerKind.UNKNOWN: ("llama.cpp", "extras", "vllm"),
}


def tokenize_requests(root: str, text: str, model: str, *, special: bool) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each server's tokenize request for ``text``: endpoint name -> (path, payload)."""
    return {
        "llama.cpp": (root + "/tokenize", {"content": text, "add_special": False, "parse_special": special}),
        "extras": (root + "/extras/tokenize", {"input": text, "model": model}),
        "vllm": (root + "/tokenize", {"model": model, "prompt": text, "add_special_tokens": False}),
    }


def tokens_from(body: bytes) -> list[int] | None:
    """Token ids from a tokenize answer (a list of ids, or of objects with an id), or None."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    tokens = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(tokens, list):
        return None
    ids = [t.get("id") if isinstance(t, dict) else t for t in tokens]
    return [int(t) for t in ids if isinstance(t, int)]


def server_message(body: bytes) -> str:
    """The human part of an error body: OpenAI's error.message, FastAPI's detail, Ollama's error."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(data, dict):
        error = data.get("error", data.get("detail"))
        if isinstance(error, dict):
            error = error.get("message", error)
        if isinstance(error, list):  # FastAPI validation errors
            error = "; ".join(
                str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in error
            )
        if error is not None:
            return str(error)[:300]
    return text[:300]
