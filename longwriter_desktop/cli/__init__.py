"""The `longwriter` command. Each subcommand lives in its own module with a ``register`` function."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .. import APP_NAME, __version__
from ..errors import LongWriterError
from ..logs import setup_logging
from . import codex_cmd, models_cmd, projects_cmd, section_cmd, write_cmd

SUBCOMMANDS = (write_cmd, section_cmd, models_cmd, projects_cmd, codex_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="longwriter",
        description=f"{APP_NAME}: plan and write long documents with local language models.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show llama.cpp and debug logs on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose)
    try:
        return int(args.func(args) or 0)
    except LongWriterError as exc:
        print(f"longwriter: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("longwriter: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: one line for the user, the traceback in the log file
        logging.getLogger(__name__).exception("unexpected error")
        print(f"longwriter: unexpected error: {exc} (details in the log file)", file=sys.stderr)
        return 1
