"""The peer layer's one expensive fixture: the Fedify story, the bovine story and the documents
for jsonld.js run side by side in one event loop, once per test run (tools.once_per_run shares
the JSON result between the xdist workers). Each part that cannot run (its peer not installed
because a registry could not be reached) is recorded as skipped with the reason."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.peers.documents import collect
from tests.peers.drivers import PeerDriver, bovine_server, fedify_server
from tests.peers.story import tell
from tests.peers.tools import once_per_run, run_node
from tests.rig import running_node


def _servers(stack: ExitStack, workdir: Path) -> dict[str, PeerDriver | str]:
    """Both peers, started side by side (each takes seconds to listen): name → the running
    peer, or why it can't run. ``stack`` stops them."""
    starts: dict[str, Callable[[Path], Any]] = {"fedify": fedify_server, "bovine": bovine_server}
    managers = {name: start(workdir / name) for name, start in starts.items()}

    def enter(name: str) -> PeerDriver | str | BaseException:
        try:
            return managers[name].__enter__()
        except pytest.skip.Exception as exc:
            managers.pop(name)
            return str(exc)
        except Exception as exc:  # raised below, once the other peer is in the stack
            managers.pop(name)
            return exc

    with ThreadPoolExecutor(len(managers)) as pool:
        outcomes = dict(zip(starts, pool.map(enter, starts), strict=True))
    for manager in managers.values():
        stack.push(manager.__exit__)
    for outcome in outcomes.values():
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes  # type: ignore[return-value]


def _layer(workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with ExitStack() as stack:
        peers = _servers(stack, workdir)

        async def story(name: str, starting: asyncio.Lock) -> None:
            peer = peers[name]
            if isinstance(peer, str):
                results[name] = {"skipped": peer}
                return
            async with AsyncExitStack() as nodes:
                async with starting:
                    city = await nodes.enter_async_context(running_node(workdir / name, "berlin"))
                results[name] = await tell(peer, city)

        async def main() -> None:
            # Migrations (Alembic's module-level context) must not run side by side: nodes
            # start one at a time, then the stories and the documents' scenario interleave.
            starting = asyncio.Lock()
            documents = collect(workdir / "documents", starting)
            results["documents"], *_ = await asyncio.gather(
                documents, story("fedify", starting), story("bovine", starting)
            )

        asyncio.run(main())
    try:
        docs = results.pop("documents")
        inputs = [
            {"name": f"{kind} {doc.get('id')}", "kind": kind, "document": doc}
            for kind, group in docs.items()
            for doc in group
        ]
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for given, result in zip(inputs, run_node("jsonld_expand.mjs", inputs), strict=True):
            by_kind.setdefault(given["kind"], []).append(result)
        results["jsonld"] = by_kind
    except pytest.skip.Exception as exc:
        results["jsonld"] = {"skipped": str(exc)}
    return results


@pytest.fixture(scope="session")
def peer_layer(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("peers")
    for part in ("fedify", "bovine", "documents"):
        (workdir / part).mkdir()
    return once_per_run(tmp_path_factory, "peer-layer", lambda: _layer(workdir))


def _part(peer_layer: dict[str, Any], name: str) -> Any:
    part = peer_layer[name]
    if isinstance(part, dict) and set(part) == {"skipped"}:
        pytest.skip(part["skipped"])
    return part


@pytest.fixture
def fedify_story(peer_layer: dict[str, Any]) -> dict[str, Any]:
    return _part(peer_layer, "fedify")


@pytest.fixture
def bovine_story(peer_layer: dict[str, Any]) -> dict[str, Any]:
    return _part(peer_layer, "bovine")


@pytest.fixture(params=["fedify", "bovine"])
def story(request: pytest.FixtureRequest, peer_layer: dict[str, Any]) -> dict[str, Any]:
    return _part(peer_layer, request.param)


@pytest.fixture
def expanded(peer_layer: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """kind → [{name, ok, error, expanded}] for every document of that kind."""
    return _part(peer_layer, "jsonld")
