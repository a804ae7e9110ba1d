"""Shared fixtures: a factory for real nodes on loopback (see rig.py), and ``no_network``."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tests.rig import TestNode, running_node

# Hypothesis' per-example deadline is a timing assertion, which tests don't make (performance is
# measured in bench/): on a loaded 2-core CI machine it failed correct code.
settings.register_profile("cityfed", deadline=None)
settings.load_profile("cityfed")


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


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to resolve a name or connect fails the test loudly (pure code stays offline).

    Modules whose every test must stay offline say ``pytestmark = pytest.mark.usefixtures(...)``.
    """

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
