"""Typed refusals of an upload or a remote file, each carrying the HTTP status a face answers.

The media code knows no HTTP framework: a face catches ``MediaRejected`` and answers
``{"error": exc.reason}`` with ``exc.status``. Nothing is stored when one of these is raised.
"""

from __future__ import annotations


class MediaRejected(Exception):
    """A file we will not take; ``status`` is the 4xx a face should answer, ``reason`` says why."""

    status = 422

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TooLarge(MediaRejected):
    """Too many bytes, or too many pixels (a decompression bomb)."""

    status = 413


class UnsupportedType(MediaRejected):
    """The content is of a type we do not accept (SVG, HTML, executables, unknown)."""

    status = 415


class InvalidFile(MediaRejected):
    """The content claims a type it then fails to decode as (a fake or truncated PNG)."""

    status = 422


class QuotaExceeded(MediaRejected):
    """Storing the file would take the city over its media quota."""

    status = 413


class InvalidFocalPoint(MediaRejected):
    """A focal point outside [-1, 1] on either axis (Mastodon's convention)."""

    status = 422
