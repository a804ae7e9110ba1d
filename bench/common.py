"""What every benchmark shares: sizes, the BENCH line, cores, child processes, nodes, databases.

Benchmarks run real ``cityfed`` processes on loopback and talk to them over HTTP; this module
creates their data (a temp dir, a SQLite file or a fresh PostgreSQL database), writes their
config, starts them pinned to a core and stops them again. Everything a benchmark starts it also
stops: every child is bounded by a deadline and killed at the end whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCALE_ENV = "CITYFED_BENCH_SCALE"
PG_ENV = "CITYFED_BENCH_DATABASE_URL"
LOG_LEVEL_ENV = "CITYFED_BENCH_LOG_LEVEL"
REPO = Path(__file__).resolve().parent.parent


def scale() -> float:
    """The size factor from CITYFED_BENCH_SCALE (1 = the issue's sizes, 0.1 = a quick run)."""
    raw = os.environ.get(SCALE_ENV, "1")
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{SCALE_ENV} must be a number, got {raw!r}") from None
    if not 0 < value <= 10:
        raise SystemExit(f"{SCALE_ENV} must be in (0, 10], got {raw!r}")
    return value


def scaled(count: int, minimum: int = 1) -> int:
    return max(minimum, round(count * scale()))


def log_level() -> str:
    return os.environ.get(LOG_LEVEL_ENV, "info").lower()


def say(message: str) -> None:
    """Progress and detail lines (the BENCH lines are the machine-readable part)."""
    print(f"  {message}", flush=True)


def bench_line(name: str, value: float, unit: str, baseline: float) -> str:
    ratio = value / baseline if baseline else float("nan")
    line = (
        f"BENCH name={name} value={_num(value)} unit={unit} baseline={_num(baseline)} "
        f"ratio={ratio:.3f}"
    )
    print(line, flush=True)
    return line


def _num(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return "nan"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


# -- cores ---------------------------------------------------------------------------------


def cores() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def server_core() -> int:
    return cores()[0]


def client_core() -> int:
    available = cores()
    return available[1] if len(available) > 1 else available[0]


def pin(pid: int, core_set: set[int] | None) -> None:
    """Pin a process (its threads started later inherit it) to ``core_set``; None: leave it."""
    if core_set is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.sched_setaffinity(pid, core_set)


# -- child processes -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CPROFILE_ENV = "CITYFED_BENCH_CPROFILE_DIR"
_PROFILES = itertools.count(1)


def cityfed_command(*args: str) -> list[str]:
    target = os.environ.get(CPROFILE_ENV)
    if target:
        # Deterministic profile of every cityfed process (slow: for finding, not for figures).
        Path(target).mkdir(parents=True, exist_ok=True)
        output = Path(target) / f"{args[0]}-{next(_PROFILES)}.prof"
        return [sys.executable, "-m", "cProfile", "-o", str(output), "-m", "cityfed.cli", *args]
    return [sys.executable, "-c", "from cityfed.cli import main; main()", *args]


def bench_command(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", f"bench.{module}", *args]


class Child:
    """A child process with its output in files, pinned to cores, always stopped in the end."""

    def __init__(
        self,
        name: str,
        command: list[str],
        workdir: Path,
        *,
        core_set: set[int] | None = None,
        env: dict[str, str] | None = None,
        stdin: bool = False,
        stdout_pipe: bool = False,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.stop_signal = stop_signal
        self.stderr_path = workdir / f"{name}.stderr"
        self.stdout_path = workdir / f"{name}.stdout"
        self._stderr = self.stderr_path.open("wb")
        self._stdout = None if stdout_pipe else self.stdout_path.open("wb")
        child_env = {**os.environ, "PYTHONPATH": _pythonpath(), **(env or {})}
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else self._stdout,
            stderr=self._stderr,
            env=child_env,
            cwd=str(REPO),
        )
        pin(self.proc.pid, core_set)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    async def read_json(self, within: float) -> Any:
        """The next stdout line, parsed as JSON (the child's answer), within ``within`` s."""
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        line = await asyncio.wait_for(asyncio.to_thread(stdout.readline), within)
        if not line:
            raise RuntimeError(f"{self.name} exited: {self.tail()}")
        return json.loads(line)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def rss_kib(self) -> int:
        return read_status(self.pid, "VmRSS")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 15) -> str:
        self._stderr.flush()
        text = self.stderr_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._stderr.close()
        if self._stdout is not None:
            self._stdout.close()
        return self.proc.returncode


PROFILE_ENV = "CITYFED_BENCH_PROFILE_DIR"


def profile(child: Child, workdir: Path) -> Child | None:
    """With CITYFED_BENCH_PROFILE_DIR set, sample ``child`` with py-spy (not needed otherwise).

    The collapsed stacks land in that directory as ``<child name>.txt`` when the child exits.
    """
    target = os.environ.get(PROFILE_ENV)
    if not target:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    Path(target).mkdir(parents=True, exist_ok=True)
    output = Path(target) / f"{child.name}.txt"
    rate = os.environ.get("CITYFED_BENCH_PROFILE_RATE", "200")
    command = [spy, "record", "--pid", str(child.pid), "--rate", rate, "--format", "raw"]
    command += ["--threads", "--nonblocking", "--output", str(output)]
    return Child(f"py-spy-{child.name}", command, workdir, stop_signal=signal.SIGINT)


def _pythonpath() -> str:
    current = os.environ.get("PYTHONPATH")
    return f"{REPO}{os.pathsep}{current}" if current else str(REPO)


def read_status(pid: int, field: str) -> int:
    """A ``/proc/PID/status`` memory field in KiB (0 when unavailable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(CPU seconds all cores have been busy, seconds since boot-relative now) from /proc/stat.

    Two readings give how many cores were busy in between: d(busy) / d(now).
    """
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq + steal) / tick, time.monotonic()


def cpu_jiffies() -> dict[str, tuple[int, int, int]]:
    """Each CPU's (busy, steal, total) clock ticks from ``/proc/stat`` ("cpu" = all of them).

    Busy counts everything but idle and iowait (steal included: time the hypervisor gave
    another guest is time we did not get); guest time is part of user already.
    """
    out: dict[str, tuple[int, int, int]] = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if not line.startswith("cpu"):
            break
        name, *fields = line.split()
        values = [int(v) for v in fields[:8]] + [0] * (8 - len(fields[:8]))
        user, nice, system, idle, iowait, irq, softirq, steal = values
        busy = user + nice + system + irq + softirq + steal
        out[name] = (busy, steal, busy + idle + iowait)
    return out


class MachineLoad:
    """How busy the machine was while a measurement ran, and how much of that was not ours.

    ``start()`` before the measured processes start work, ``stop(ours)`` after, with the CPU
    seconds our measured processes used per core in between; the result says, for each core,
    the share of its time that went to other processes (other helpers, the database server, the
    system) and the share stolen by the hypervisor. A measurement whose server core was busy
    with others is a noisy one (bench/README.md, "Reading a noisy run").
    """

    def __init__(self) -> None:
        self._at: dict[str, tuple[int, int, int]] = {}
        self._load = 0.0

    def start(self) -> None:
        self._at = cpu_jiffies()
        self._load = os.getloadavg()[0]

    def stop(self, ours: dict[int, float]) -> dict[str, float]:
        now = cpu_jiffies()
        tick = os.sysconf("SC_CLK_TCK")
        result = {"loadavg": self._load}
        for label, core in (("server", server_core()), ("client", client_core())):
            name = f"cpu{core}"
            busy, steal, total = (b - a for a, b in zip(self._at[name], now[name], strict=True))
            span = max(total, 1) / tick
            result[f"{label}_busy"] = busy / tick / span
            result[f"{label}_others"] = max(busy / tick - ours.get(core, 0.0), 0.0) / span
            result[f"{label}_steal"] = steal / tick / span
        busy, steal, total = (b - a for a, b in zip(self._at["cpu"], now["cpu"], strict=True))
        result["steal"] = steal / max(total, 1)
        return result


def describe_load(load: dict[str, float]) -> str:
    """One line: how busy both cores were and how much of it others took."""
    return (
        f"server core {load['server_busy']:.0%} busy ({load['server_others']:.0%} others, "
        f"{load['server_steal']:.0%} steal), client core {load['client_busy']:.0%} "
        f"({load['client_others']:.0%} others), load average {load['loadavg']:.1f}"
    )


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread of a process: ``main`` and the others by thread id."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = "main" if task.name == str(pid) else f"thread-{task.name}"
        out[name] = (int(fields[11]) + int(fields[12])) / tick
    return out


async def wait_port(port: int, child: Child, within: float = 30.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited early:\n{child.tail()}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return
    raise RuntimeError(f"{child.name} did not listen on {port} within {within:.0f} s")


async def wait_log(child: Child, needle: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited early:\n{child.tail()}")
        if needle in child.stderr_path.read_text(errors="replace"):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{child.name} did not log {needle!r} within {within:.0f} s")


@contextlib.contextmanager
def children() -> Iterator[list[Child]]:
    """A list to put children in; every one is stopped when the block ends, however it ends."""
    started: list[Child] = []
    try:
        yield started
    finally:
        for child in reversed(started):
            child.stop()


@contextlib.contextmanager
def workdir(name: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"cityfed-bench-{name}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- databases -----------------------------------------------------------------------------


def pg_base_url() -> str | None:
    """The PostgreSQL server to benchmark against (a database on it is created per run)."""
    for name in (PG_ENV, "CITYFED_TEST_DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith("postgresql"):
            return url
    return None


@contextlib.asynccontextmanager
async def database(kind: str, where: Path, name: str) -> AsyncIterator[str]:
    """A fresh, empty database: ``sqlite`` (a file under ``where``) or ``postgresql``."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{where / (name + '.db')}"
        return
    import asyncpg
    from sqlalchemy.engine import make_url

    base = pg_base_url()
    if base is None:
        raise RuntimeError(f"set {PG_ENV} to a PostgreSQL URL")
    url = make_url(base)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+asyncpg")
    dbname = f"cf_bench_{name}_{uuid.uuid4().hex[:8]}".lower()
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{dbname}"')
    finally:
        await admin.close()
    try:
        yield url.set(database=dbname).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        finally:
            await admin.close()


# -- nodes ---------------------------------------------------------------------------------


@dataclass
class NodeSetup:
    """A node's config on disk, ready for ``cityfed serve`` / ``cityfed worker``."""

    config: Path
    domain: str
    port: int
    handle: str
    admin_token: str
    editor_token: str
    database_url: str
    actor_ap_id: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def create_node(
    data_dir: Path,
    database_url: str,
    *,
    domain: str | None = None,
    handle: str = "city",
    **overrides: Any,
) -> NodeSetup:
    """Migrate a fresh database, create the instance and city actors and tokens, write config."""
    from cityfed.actions import setup
    from cityfed.config import Settings, write_settings
    from cityfed.models import migrate
    from cityfed.models.db import open_database
    from cityfed.models.tokens import create_token
    from cityfed.urls import Urls

    port = free_port()
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    settings = Settings(
        domain=domain or f"127.0.0.1:{port}",
        data_dir=data_dir,
        database_url=database_url,
        scheme="http",
        allow_private_addresses=True,
        listen_port=port,
        log_level=log_level().upper(),
        **overrides,
    )
    urls = Urls(settings.base_url)
    db = open_database(database_url)
    try:
        await migrate.upgrade(db)
        async with db.transaction() as session:
            await setup.ensure_instance_actor(session, urls, settings.hostname, settings.domain)
            actor = await setup.create_local_actor(
                session, urls, settings.domain, handle, f"City of {handle.title()}"
            )
            admin = await create_token(session, "bench admin", "admin")
            editor = await create_token(session, "bench editor", "editor")
            actor_ap_id = actor.ap_id
    finally:
        await db.dispose()
    config = data_dir / "cityfed.toml"
    write_settings(settings, config)
    return NodeSetup(
        config, settings.domain, port, handle, admin, editor, database_url, actor_ap_id
    )


def serve(
    setup: NodeSetup,
    workdir: Path,
    name: str,
    *,
    core_set: set[int] | None,
    workers: bool = False,
) -> Child:
    args = ["serve", "--config", str(setup.config), "--port", str(setup.port)]
    if not workers:
        args.append("--no-worker")
    return Child(name, cityfed_command(*args), workdir, core_set=core_set)


def worker(setup: NodeSetup, workdir: Path, name: str, *, core_set: set[int] | None) -> Child:
    return Child(
        name, cityfed_command("worker", "--config", str(setup.config)), workdir, core_set=core_set
    )


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value))
    return path
