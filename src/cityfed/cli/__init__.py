"""The ``cityfed`` command line (click): one module per group of commands."""

from cityfed.cli import peers, profile, tokens, users  # noqa: F401  (their commands join the group)
from cityfed.cli.main import main

__all__ = ["main"]
