"""``python -m cityfed.cli``: the same as the ``cityfed`` command."""

from cityfed.cli import main

main()
