"""Bounded password hashing: argon2 runs in a few threads of its own, and a flood waits its turn
in a short queue or is turned away, instead of taking every core and ~64 MiB a hash.

A sign-in costs one argon2 verification (~0.3 s of CPU and ``memory_cost`` KiB of RAM with the
library's defaults). Unbounded, 150 concurrent attempts took 34 s of CPU and RSS from 105 to
464 MiB; the default thread pool (shared with everything else that uses ``to_thread``) ran six at
once. Here at most ``concurrent`` run, at most ``queue`` more wait, and the rest get
``HashingBusy`` at once (the staff pages answer 503 with Retry-After).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


class HashingBusy(Exception):
    """Too many password hashes running and waiting; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"password hashing is busy; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class HashingGate:
    """At most ``concurrent`` hashes at once in threads of their own, ``queue`` more waiting."""

    concurrent: int = 2
    queue: int = 8
    retry_after: int = 5
    _slots: asyncio.Semaphore = field(init=False)
    _executor: ThreadPoolExecutor = field(init=False)
    _admitted: int = 0  # running plus waiting

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrent)
        self._executor = ThreadPoolExecutor(self.concurrent, thread_name_prefix="argon2")

    async def run(self, work: Callable[[], T]) -> T:
        # Checked and counted without awaiting in between: no two requests see the same room.
        if self._admitted >= self.concurrent + self.queue:
            raise HashingBusy(self.retry_after)
        self._admitted += 1
        try:
            async with self._slots:
                return await asyncio.get_running_loop().run_in_executor(self._executor, work)
        finally:
            self._admitted -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
