"""The command line's errors a person can act on, and API tokens from the shell (issue 19)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
from click.testing import CliRunner

from cityfed.cli import main
from tests.integration.test_cli import init
from tests.rig import free_port


def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    assert init(tmp_path)[0] == 0
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "cityfed.cli",
                "serve",
                "--config",
                str(tmp_path / "data" / "cityfed.toml"),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert result.stdout == ""  # nothing claimed to serve
    assert result.stderr.strip() == f"port {port} is in use"


def test_init_with_a_url_as_domain_names_the_option_and_leaves_nothing(tmp_path: Path) -> None:
    code, output = init(tmp_path, domain="http://foo.example")
    assert code != 0
    assert "'--domain'" in output and "http://" in output and "foo.example" in output
    assert "CITYFED_DOMAIN" not in output and "environment" not in output
    assert not (tmp_path / "data").exists()


def test_a_failed_init_removes_what_it_made(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "init",
            "--data-dir",
            str(tmp_path / "new"),
            "--domain",
            "x.example",
            "--handle",
            "no spaces",
            "--name",
            "X",
        ],
    )
    assert result.exit_code != 0 and "handle" in result.output
    assert not (tmp_path / "new").exists()  # no database, no config, no dir
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    result = CliRunner().invoke(
        main,
        [
            "init",
            "--data-dir",
            str(kept),
            "--domain",
            "x.example",
            "--handle",
            "x",
            "--name",
            "   ",
        ],
    )
    assert result.exit_code != 0 and "name" in result.output
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"]


def test_token_list_and_revoke(tmp_path: Path) -> None:
    port = free_port()
    assert init(tmp_path, domain=f"127.0.0.1:{port}")[0] == 0
    config = str(tmp_path / "data" / "cityfed.toml")
    runner = CliRunner()
    secret = runner.invoke(
        main, ["token", "create", "--config", config, "--name", "press office"]
    ).output.strip()
    listed = runner.invoke(main, ["token", "list", "--config", config])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert len(lines) == 2 and all(" live" in line for line in lines)
    press = next(line for line in lines if "press office" in line)
    assert "editor" in press and secret not in listed.output
    token_id = press.split()[0]

    proc = subprocess.Popen(
        [sys.executable, "-m", "cityfed.cli", "serve", "--config", config, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        async def status() -> int:
            headers = {"Authorization": f"Bearer {secret}"}
            async with aiohttp.ClientSession() as http:
                for _ in range(600):  # a busy machine may take a while to start python
                    try:
                        url = f"http://127.0.0.1:{port}/api/cityfed/v1/projects"
                        async with http.get(url, headers=headers) as resp:
                            return resp.status
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.1)
            raise AssertionError("the node did not come up")

        assert asyncio.run(status()) == 200
        revoked = runner.invoke(main, ["token", "revoke", "--config", config, token_id])
        assert revoked.exit_code == 0 and "press office" in revoked.output
        assert asyncio.run(status()) == 401
    finally:
        proc.terminate()
        proc.wait(10)
    listed = runner.invoke(main, ["token", "list", "--config", config]).output
    assert "revoked" in next(line for line in listed.splitlines() if "press office" in line)
    missing = runner.invoke(main, ["token", "revoke", "--config", config, "999"])
    assert missing.exit_code != 0 and "no API token with id 999" in missing.output


def test_no_dangling_design_references_for_users() -> None:
    """§ numbers point into the design notes, which users do not have."""
    result = CliRunner().invoke(main, ["worker", "--help"])
    assert result.exit_code == 0 and "§" not in result.output
    readme = Path(__file__).resolve().parents[2].joinpath("README.md").read_text()
    assert "(§" not in readme
