"""Prompt formats per model family.

The LongWriter GGUFs carry no chat template or a wrong one, so prompts are built here as MODELS.md gives
them. A conversation is rendered as pieces that only ever get appended to (system + user turn, then the
assistant's text, then the end of that turn, then the next user turn), so the tokens of an earlier prompt
stay a prefix of the next one and llama.cpp reuses its KV cache.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..errors import InputError
from ..lazyre import lazy_compile


class Family(str, Enum):
    LONGWRITER_LLAMA = "longwriter-llama"
    GLM4 = "glm4"
    LONGWRITER_ZERO = "longwriter-zero"
    CHATML = "chatml"
    GEMMA = "gemma"
    LLAMA3 = "llama3"
    MISTRAL = "mistral"
    PHI3 = "phi3"
    PLAIN = "plain"  # a base model: no chat markup, the document continued heading by heading
    TEMPLATE = "template"  # the GGUF's own chat template, for any other model

    @classmethod
    def parse(cls, value: str) -> Family:
        try:
            return cls(value.strip().lower())
        except ValueError:
            names = ", ".join(f.value for f in cls)
            raise InputError(f"Unknown prompt family '{value}'. Choose one of: {names}.") from None


@dataclass(frozen=True)
class PromptFormat:
    """How one family renders turns. Every string is tokenized with special tokens on."""

    family: Family
    bos: str  # literal text to put first ("" where llama.cpp adds BOS, or none is wanted)
    system: str  # with {system}
    user: str  # with {user}; ends where the assistant's text begins
    end_of_turn: str  # appended after the assistant's text, before the next user turn
    stops: tuple[str, ...]
    thinking: bool = False  # LongWriter-Zero: <think>...</think><answer>...</answer>
    add_bos: bool = True  # whether llama.cpp's BOS token goes first
    longwriter_trained: bool = False

    def start(self, system: str | None) -> str:
        """The text that opens a conversation (BOS text and the system part)."""
        head = self.bos
        if system:
            head += self.system.format(system=system)
        return head

    def user_turn(self, text: str) -> str:
        return self.user.format(user=text)

    def render(self, user: str, system: str | None = None) -> str:
        """A whole single-turn prompt, ending where the assistant starts writing."""
        return self.start(system) + self.user_turn(user)


ZERO_PREAMBLE = (
    "A conversation between the user and the assistant. The user asks a question, and the assistant "
    "solves it. The assistant first thinks about the reasoning process in the mind and then provides the "
    "user with the answer. The reasoning process and answer are enclosed within <think> </think> and "
    "<answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> "
    "<answer> answer here </answer>."
)
ZERO_PREAMBLE_ZH = (
    "用户与助手之间的对话。用户提供一个写作任务，助手完成它。助手首先在脑海中思考推理过程，然后向用户提供答案。"
    "推理过程和答案分别包含在 <think> </think> 和 <answer> </answer> 标签中，即 "
    "<think> 推理过程 </think> <answer> 答案 </answer>。"
)

FORMATS: dict[Family, PromptFormat] = {
    Family.LONGWRITER_LLAMA: PromptFormat(
        family=Family.LONGWRITER_LLAMA,
        bos="",
        system="<<SYS>>\n{system}\n<</SYS>>\n\n",
        user="[INST]{user}[/INST]",
        end_of_turn="\n\n",
        stops=("[INST]",),
        longwriter_trained=True,
    ),
    Family.GLM4: PromptFormat(
        family=Family.GLM4,
        bos="[gMASK]<sop>",
        system="<|system|>\n{system}",
        user="<|user|>\n{user}<|assistant|>\n",
        end_of_turn="",
        stops=("<|endoftext|>", "<|user|>", "<|observation|>"),
        add_bos=False,
        longwriter_trained=True,
    ),
    Family.LONGWRITER_ZERO: PromptFormat(
        family=Family.LONGWRITER_ZERO,
        bos="",
        system="{system}\n",
        user="<|user|>: {user}\n<|assistant|>:",
        end_of_turn="\n",
        stops=("</answer>", "<|user|>", "<|endoftext|>"),
        thinking=True,
        longwriter_trained=True,
    ),
    Family.CHATML: PromptFormat(
        family=Family.CHATML,
        bos="",
        system="<|im_start|>system\n{system}<|im_end|>\n",
        user="<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n",
        end_of_turn="<|im_end|>\n",
        stops=("<|im_end|>", "<|im_start|>"),
    ),
    Family.GEMMA: PromptFormat(
        family=Family.GEMMA,
        bos="",
        system="<start_of_turn>user\n{system}<end_of_turn>\n",
        user="<start_of_turn>user\n{user}<end_of_turn>\n<start_of_turn>model\n",
        end_of_turn="<end_of_turn>\n",
        stops=("<end_of_turn>", "<start_of_turn>"),
    ),
    Family.LLAMA3: PromptFormat(
        family=Family.LLAMA3,
        bos="",
        system="<|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>",
        user="<|start_header_id|>user<|end_header_id|>\n\n{user}<|eot_id|>"
             "<|start_header_id|>assistant<|end_header_id|>\n\n",
        end_of_turn="<|eot_id|>",
        stops=("<|eot_id|>", "<|start_header_id|>"),
    ),
    Family.MISTRAL: PromptFormat(
        family=Family.MISTRAL,
        bos="",
        system="{system}\n\n",
        user="[INST] {user} [/INST]",
        end_of_turn="</s>",
        stops=("[INST]", "</s>"),
    ),
    Family.PHI3: PromptFormat(
        family=Family.PHI3,
        bos="",
        system="<|system|>\n{system}<|end|>\n",
        user="<|user|>\n{user}<|end|>\n<|assistant|>\n",
        end_of_turn="<|end|>\n",
        stops=("<|end|>", "<|user|>", "<|endoftext|>"),
    ),
    Family.PLAIN: PromptFormat(
        family=Family.PLAIN,
        bos="",
        system="# {system}\n\n",
        user="## {user}\n\n",
        end_of_turn="\n\n",
        # A base model that starts a new heading has finished the section; markup never reaches the text.
        stops=("\n#", "<|", "</s>", "<start_of_turn>", "<end_of_turn>", "[INST]"),
    ),
}

# The markers each chat format needs as single tokens of the model's vocabulary; without them the format's
# markup would be read (and written back) as plain text, so a model lacking them is prompted as a base model.
FORMAT_MARKERS: dict[Family, tuple[str, ...]] = {
    Family.CHATML: ("<|im_start|>", "<|im_end|>"),
    Family.GEMMA: ("<start_of_turn>", "<end_of_turn>"),
    Family.LLAMA3: ("<|start_header_id|>", "<|eot_id|>"),
    Family.PHI3: ("<|user|>", "<|end|>"),
    Family.MISTRAL: ("[INST]", "[/INST]"),
}

# Chat formats by GGUF architecture, for files that carry no chat template.
ARCH_FAMILIES: tuple[tuple[str, Family], ...] = (
    ("gemma", Family.GEMMA),
    ("qwen", Family.CHATML),
    ("phi3", Family.PHI3),
    ("phi", Family.PHI3),
    ("mistral", Family.MISTRAL),
    ("mixtral", Family.MISTRAL),
    ("llama", Family.LLAMA3),
    ("smollm", Family.CHATML),
)


_CHAT_TUNED = lazy_compile(r"instruct|chat|(?:^|[-.])it(?:$|[-.])|sft|dpo|rlhf|assistant|hermes|zephyr|vicuna|alpaca")


def arch_family(arch: str) -> Family:
    """The chat format usual for an architecture, or PLAIN where none is known."""
    arch = arch.lower()
    for prefix, family in ARCH_FAMILIES:
        if arch.startswith(prefix):
            return family
    return Family.PLAIN


def has_cjk(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def zero_system(instruction: str) -> str:
    """LongWriter-Zero's preamble, in Chinese for Chinese instructions as its card does."""
    return ZERO_PREAMBLE_ZH if has_cjk(instruction) else ZERO_PREAMBLE


def detect_family(metadata: dict[str, Any], file_name: str = "") -> Family:
    """Pick the prompt family from GGUF metadata (architecture, name, chat template) and the file name."""
    arch = str(metadata.get("general.architecture", "")).lower()
    names = " ".join(
        str(metadata.get(key, "")) for key in ("general.name", "general.basename", "general.finetune")
    )
    names = f"{names} {file_name}".lower().replace("_", "-").replace(" ", "-")
    template = str(metadata.get("tokenizer.chat_template") or "")
    if "longwriter-zero" in names:
        return Family.LONGWRITER_ZERO
    if arch in ("chatglm", "glm4") or "glm4" in names or "glm-4" in names:
        return Family.GLM4
    if "longwriter" in names and arch == "llama":
        return Family.LONGWRITER_LLAMA
    if "<|im_start|>" in template or (arch.startswith("qwen") and not template):
        return Family.CHATML
    if template:
        return Family.TEMPLATE
    # No chat template: a chat-tuned model gets its architecture's usual format (the backend checks that the
    # format's markers are real tokens); a base model continues a plain document, with no chat markup at all.
    if not arch:
        return Family.CHATML  # no header at all (a served model known by name only): the most common format
    if not _CHAT_TUNED.search(names):
        return Family.PLAIN
    return arch_family(arch)


def is_longwriter_trained(metadata: dict[str, Any], file_name: str = "") -> bool:
    names = f"{metadata.get('general.name', '')} {metadata.get('general.basename', '')} {file_name}"
    return "longwriter" in names.lower().replace(" ", "")


def template_format(chat_template: str, bos_token: str, eos_token: str) -> PromptFormat:
    """Derive appendable pieces from a GGUF's own Jinja chat template by rendering marker messages."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment  # jinja2 comes with llama-cpp-python

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

    def raise_exception(message: str) -> None:
        raise ValueError(message)

    template = env.from_string(chat_template)

    def render(messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
        return str(
            template.render(
                messages=messages,
                bos_token=bos_token,
                eos_token=eos_token,
                add_generation_prompt=add_generation_prompt,
                raise_exception=raise_exception,
            )
        )

    user_marker, sys_marker, reply_marker = "\x00USER\x00", "\x00SYS\x00", "\x00REPLY\x00"
    one = render([{"role": "user", "content": user_marker}], True)
    user_start = one.index(user_marker)
    bos = one[:user_start] if one.startswith(bos_token) and bos_token else ""
    user_piece = one[len(bos):]
    two = render(
        [
            {"role": "user", "content": user_marker},
            {"role": "assistant", "content": reply_marker},
            {"role": "user", "content": user_marker},
        ],
        True,
    )
    after_reply = two[two.index(reply_marker) + len(reply_marker):]
    second_user_start = after_reply.index(user_marker)
    user_prefix = user_piece[: user_piece.index(user_marker)]
    end_of_turn = after_reply[:second_user_start]
    if user_prefix and end_of_turn.endswith(user_prefix):
        end_of_turn = end_of_turn[: -len(user_prefix)]
    try:
        with_sys = render(
            [{"role": "system", "content": sys_marker}, {"role": "user", "content": user_marker}], True
        )
        system_piece = with_sys[len(bos): with_sys.index(user_marker)]
        system_piece = system_piece[: len(system_piece) - len(user_prefix)] if user_prefix else system_piece
        system_piece = system_piece.replace(sys_marker, "{system}")
        if "{system}" not in system_piece:
            raise ValueError("template drops system messages")
    except (ValueError, TypeError):
        system_piece = "{system}\n\n"
    stops = tuple(s for s in {eos_token, end_of_turn.strip()} if s)
    return PromptFormat(
        family=Family.TEMPLATE,
        bos=bos,
        system=system_piece.replace("{", "{{").replace("}", "}}").replace("{{system}}", "{system}"),
        user=user_piece.replace("{", "{{").replace("}", "}}").replace(user_marker, "{user}"),
        end_of_turn=end_of_turn,
        stops=stops,
        add_bos=not bos,
    )


def format_for(family: Family) -> PromptFormat:
    if family is Family.TEMPLATE:
        raise ValueError("The template family is derived from the model file: use template_format().")
    return FORMATS[family]
