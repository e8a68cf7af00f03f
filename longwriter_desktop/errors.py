"""Errors with messages written for users; the CLI and GUI show them as they are."""

from __future__ import annotations


class LongWriterError(Exception):
    """A failure the user can understand: the message is shown as it is, without a traceback."""

    exit_code = 1


class InputError(LongWriterError):
    """The user asked for something that cannot work (bad option, missing file, bad plan)."""

    exit_code = 2


class ModelError(LongWriterError):
    """A model file is missing, unreadable, corrupt or cannot be loaded."""


class GenerationError(LongWriterError):
    """Generation failed in the backend."""


class DownloadError(LongWriterError):
    """A download failed; the partial file is kept where that helps a later resume."""


class ProjectError(LongWriterError):
    """A project could not be read or saved."""
