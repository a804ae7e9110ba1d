"""Shared fixtures: a factory for real nodes on loopback (see rig.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.rig import TestNode, running_node


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """``await nodes("berlin")`` starts a node; all are stopped when the test ends."""
    async with AsyncExitStack() as stack:

        async def start(name: str, **kwargs: Any) -> TestNode:
            return await stack.enter_async_context(running_node(tmp_path, name, **kwargs))

        yield start


@pytest.fixture
async def node(nodes: Callable[..., Any]) -> TestNode:
    return await nodes("berlin")
