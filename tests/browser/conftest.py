"""A real headless Chromium (Debian's chromium + chromium-driver, through Selenium) and two real
nodes for it, plus axe-core injected into pages.

Selenium calls block, so the nodes run on an event loop of their own in a background thread and
the tests are plain functions that drive the browser. Without Chromium, its driver or axe-core
(``npm install --prefix .cache axe-core``, which .ci/run does) every test here is skipped and the
skip says what is missing.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Coroutine, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

import pytest
from argon2 import PasswordHasher

from cityfed.actions import users as user_actions
from tests.rig import TestNode, running_node

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".cache" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery staple"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # needed as root (CI containers)
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1024",
)


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (name if Path(name).is_file() else None)
        if found:
            return found
    return None


def _axe_source() -> str | None:
    if not AXE.exists() and shutil.which("npm"):
        # Into a gitignored folder of the repo, never at run time of the node itself.
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(AXE.parents[2]),
                "--no-audit",
                "--no-fund",
                "--silent",
                "axe-core",
            ],
            check=False,
            capture_output=True,
            timeout=180,
        )
    return AXE.read_text(encoding="utf-8") if AXE.exists() else None


@pytest.fixture(scope="session")
def axe_source() -> str:
    source = _axe_source()
    if source is None:
        pytest.skip(f"axe-core is not installed at {AXE} (npm install --prefix .cache axe-core)")
    return source


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    chromium = _find("chromium", "chromium-browser", "google-chrome")
    chromedriver = _find("chromedriver", "/usr/lib/chromium/chromedriver")
    if chromium is None or chromedriver is None:
        pytest.skip(
            "no Chromium/chromedriver on this machine "
            "(Debian: apt-get install chromium chromium-driver; .ci/run installs them)"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="cityfed-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    browser.set_page_load_timeout(20)
    browser.set_script_timeout(20)
    # A form submitted with Enter navigates asynchronously: lookups wait for the new page's
    # elements instead of failing on the old page.
    browser.implicitly_wait(10)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Cluster:
    """Nodes served from a background event loop; ``call`` runs a coroutine there."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.stack = AsyncExitStack()
        self.nodes: dict[str, TestNode] = {}

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, name: str, **kwargs: Any) -> TestNode:
        async def start() -> TestNode:
            return await self.stack.enter_async_context(
                running_node(self.tmp_path, name, workers=True, **kwargs)
            )

        self.nodes[name] = self.call(start())
        return self.nodes[name]

    def staff_user(self, node: TestNode, role: str = "admin") -> str:
        email = f"{role}@{node.name}.example"
        self.call(user_actions.create_user(node.node, email, role, who="test", password=PASSWORD))
        return email

    def close(self) -> None:
        self.call(self.stack.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(user_actions, "_hasher", lambda: cheap)
        nodes = Cluster(tmp_path_factory.mktemp("browser"))
        try:
            yield nodes
        finally:
            nodes.close()


class Axe:
    """Runs axe-core on the current page; keeps every page's serious/critical violations."""

    BLOCKING = ("serious", "critical")

    def __init__(self, source: str, results: Path) -> None:
        self.source = source
        self.results = results
        self.pages: dict[str, list[dict[str, Any]]] = {}

    def check(self, browser: Any, label: str | None = None) -> list[dict[str, Any]]:
        browser.execute_script(self.source)
        report = browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
            " help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))))"
            ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e),"
            " nodes: []}]));"
        )
        self.pages[label or browser.current_url] = report
        self.results.write_text(json.dumps(self.pages, indent=1), encoding="utf-8")
        return [v for v in report if v["impact"] in self.BLOCKING]


@pytest.fixture(scope="module")
def axe(axe_source: str) -> Axe:
    return Axe(axe_source, ROOT / ".cache" / "axe-results.json")
