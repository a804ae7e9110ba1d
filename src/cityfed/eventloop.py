"""The event loop of the long-running processes (serve, worker): uvloop where it is installed.

uvloop runs aiohttp's transports and callbacks in C; on the inbox benchmark it took a visible
share off the CPU each request costs (bench/README.md). Where it is missing (it does not build
on Windows) asyncio's own loop does the same job a little slower. Tests run on asyncio's loop, so
the code never depends on which one it gets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on the loop above."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
