"""The `longwriter` command. Each subcommand lives in its own module with a ``register`` function."""

from __future__ import annotations

import argparse
import errno
import logging
import sys
from collections.abc import Sequence

from .. import APP_NAME, __version__, paths
from ..errors import LongWriterError
from ..logs import setup_logging
from . import codex_cmd, models_cmd, projects_cmd, section_cmd, write_cmd
from .output import PrintableStream, printable

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
    # Names from the Hub, file names and model output can hold terminal escapes: never print them raw.
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = PrintableStream(stdout), PrintableStream(stderr)
    try:
        return _run(args)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _say(text: str) -> None:
    try:
        print(f"longwriter: {printable(text)}", file=sys.stderr)
    except (OSError, ValueError):  # stderr is gone too: the exit code is all that is left
        pass


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args) or 0)
    except LongWriterError as exc:
        _say(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except BrokenPipeError:  # stdout closed while printing a listing (`... | head`): nothing more to say
        return 0
    except OSError as exc:  # the disk or the system refused: say which file and what to do
        logging.getLogger(__name__).warning("system error: %s", exc)
        _say(describe_os_error(exc))
        return 1
    except Exception as exc:  # a bug: one line for the user, the traceback in the log file
        logging.getLogger(__name__).exception("unexpected error")
        _say(f"unexpected error: {exc} (details in the log file)")
        return 1


def describe_os_error(exc: OSError) -> str:
    """One plain sentence for an error the operating system reported."""
    where = f" {exc.filename}" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1), errno.EFBIG):
        return f"The disk is full: could not write{where}. Free some space, then try again."
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"Could not write{where}: the disk or folder is read-only ({exc.strerror}). Make it writable, "
                f"or set {paths.HOME_ENV} to a folder you can write.")
    return f"The system refused an operation on{where or ' a file'}: {exc.strerror or exc}."
