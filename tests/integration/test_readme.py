"""The README's commands run as written (issue 19): its shell blocks marked
``<!-- readme-test: KIND -->`` are run by bash here.

- ``path``: from the clone's directory, it puts the ``cityfed`` command on PATH.
- ``shell``: in an empty directory with that PATH; ``cityfed serve`` runs in the background until
  it answers, and is stopped when the block ends.
- ``demo``: against ``make demo``'s three cities (``cityfed.demo``, seeded), from the directory
  that holds ``demo-data``; every call must succeed and no answer may be an error.

Only the port numbers are changed (to free ones), so that runs beside other tests never collide.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from cityfed import demo
from tests.integration.test_staff_demo import free_ports
from tests.rig import free_port

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"<!-- readme-test: (\w+) -->\n```sh\n(.*?)```", re.S)
BIN = str(Path(sys.executable).parent)
PRELUDE = """set -euo pipefail
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT  # no node left running, whatever happens
up() {  # wait until a node answers on port $1
    for _ in $(seq 1 150); do
        curl -s -o /dev/null "http://127.0.0.1:$1/.well-known/nodeinfo" && return 0
        sleep 0.2
    done
    echo "nothing answers on port $1" >&2; return 1
}
"""

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the README uses curl")


def blocks(kind: str) -> list[str]:
    found = [
        body
        for marked, body in BLOCK.findall(ROOT.joinpath("README.md").read_text())
        if marked == kind
    ]
    assert found, f"README.md has no block marked readme-test: {kind}"
    return found


def with_ports(script: str, ports: dict[int, int]) -> str:
    return re.sub(r"\b(808[0-3])\b", lambda m: str(ports[int(m.group(1))]), script)


def serving_in_background(script: str, default_port: int) -> str:
    """Each ``cityfed serve`` line (continuations joined) runs in the background until it is up."""
    lines = []
    for line in script.replace("\\\n", " ").splitlines():
        command = line.split("#", 1)[0].strip()
        if command.startswith("cityfed serve"):
            port = re.search(r"--port (\d+)", command)
            lines.append(f"{command} >>serve.log 2>&1 &")
            lines.append(f"up {port.group(1) if port else default_port}")
        else:
            lines.append(line)
    return "\n".join(lines) + "\nkill $(jobs -p) 2>/dev/null || true\nwait || true\n"


async def bash(script: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        PRELUDE + script,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode or 0, output.decode()


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without the venv on PATH and without cityfed settings."""
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != BIN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYFED_")}
    return {**env, "PATH": path, **extra}


async def test_the_path_block_puts_cityfed_on_path() -> None:
    (block,) = blocks("path")
    code, output = await bash(block + "command -v cityfed\n", ROOT, clean_env())
    assert code == 0, output
    assert output.strip() == str(ROOT / ".venv" / "bin" / "cityfed")


@pytest.mark.slow
async def test_the_running_a_node_blocks_run_as_written(tmp_path: Path) -> None:
    ports = {8080: free_port(), 8081: free_port()}
    script = "\n".join(
        serving_in_background(with_ports(b, ports), ports[8080]) for b in blocks("shell")
    )
    # The first node listens on the default port, 8080; here a free one (CITYFED_PORT).
    env = clean_env(PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", CITYFED_PORT=str(ports[8080]))
    code, output = await bash(script, tmp_path, env)
    log = (tmp_path / "serve.log").read_text() if (tmp_path / "serve.log").exists() else ""
    assert code == 0, output + log
    assert "revoked token 2 (press office, editor)" in output
    assert (tmp_path / "berlin" / "cityfed.toml").exists()
    assert (tmp_path / "data2" / "cityfed.toml").exists()
    assert "@berlin@berlin.example" in log and f"@hamburg@localhost:{ports[8081]}" in log


@pytest.mark.slow
async def test_the_rest_examples_run_against_the_demo(tmp_path: Path) -> None:
    base = free_ports(3)
    ports = {8081: base, 8082: base + 1, 8083: base + 2}
    async with demo.running(tmp_path / "demo-data", base) as cities:
        printed: list[str] = []
        demo.banner(cities, printed.append)
        token = (tmp_path / "demo-data" / "berlin" / "api-token").read_text().strip()
        assert any(
            line.split()
            == [
                "API",
                "token",
                token,
                "(also",
                "in",
                f"{tmp_path / 'demo-data' / 'berlin' / 'api-token'})",
            ]
            for line in printed
        ), printed
        (block,) = blocks("demo")
        code, output = await bash(with_ports(block, ports), tmp_path, clean_env())
        berlin = cities.nodes["berlin"]
    assert code == 0, output
    assert '"error"' not in output, output
    # What the examples did, as Berlin: a project, a comment, an adoption and an offer.
    for made in ("/projects/", "/comments/", "/adoptions/", "/offers/"):
        assert f'"id":"{berlin.urls.base}{made}' in output, (made, output)
