"""`cityfed peers`, `federation-mode` and `deliveries`: the same actions as the admin API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from cityfed.cli.common import config_option, settings_from, who, with_node
from cityfed.cli.main import main


@main.group()
def peers() -> None:
    """Peer policy: trust, allow or block other nodes' domains (host[:port])."""


@peers.command("list")
@config_option
@click.option("--refresh", is_flag=True, help="ask every peer that is not blocked for its software")
@click.option("--json", "as_json", is_flag=True, help="print JSON (as the admin API does)")
def peers_list(config_path: Path, refresh: bool, as_json: bool) -> None:
    """Known domains with policy, software, follows, failing deliveries and circuit state."""
    import orjson

    from cityfed.federation.nodeinfo_probe import refresh_software
    from cityfed.models import peers as peer_queries
    from cityfed.models.types import utcnow

    settings = settings_from(config_path)

    async def work(node: Any) -> list[dict[str, Any]]:
        if refresh:
            async with node.db.session() as session:
                known = await peer_queries.overview(session)
            limit = asyncio.Semaphore(8)

            async def one(domain: str) -> None:
                async with limit:
                    await refresh_software(node, domain)

            await asyncio.gather(*(one(p.domain) for p in known if p.policy != "blocked"))
        async with node.db.session() as session:
            rows = await peer_queries.overview(session)
        now = utcnow()
        return [row.to_json(now) for row in rows]

    rows = with_node(settings, work, http=refresh)
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        click.echo("no known peers")
        return
    header = ("DOMAIN", "POLICY", "SOFTWARE", "FOLLOWERS", "FOLLOWING", "FAILING", "LAST SUCCESS")
    table = [header] + [
        (
            row["domain"],
            row["policy"] or "-",
            row["software"] or "?",
            str(row["followers"]),
            str(row["following"]),
            str(row["failing"]),
            (row["last_success_at"] or "-")[:19],
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line, row in zip(table, [None, *rows], strict=True):
        text = "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        if row is not None:
            extra = [] if row["circuit"] == "closed" else [f"circuit {row['circuit']}"]
            extra += [f"note: {row['note']}"] if row["note"] else []
            text += "  " + "; ".join(extra) if extra else ""
        click.echo(text.rstrip())


def _set_policy(config_path: Path, domain: str, policy: str | None, note: str | None) -> None:
    from cityfed.actions import peers as peer_actions

    settings = settings_from(config_path)

    async def work(node: Any) -> Any:
        try:
            return await peer_actions.set_policy(node, domain, policy, note, who())
        except peer_actions.PolicyError as exc:
            raise click.ClickException(str(exc)) from None

    change = with_node(settings, work)
    message = f"{change.domain}: {change.policy or 'no policy'} (was {change.previous or 'none'})"
    if change.policy == "blocked":
        message += (
            f"; removed {change.follows_removed} follow(s),"
            f" cancelled {change.deliveries_cancelled} queued deliveries"
        )
    click.echo(message)


note_option = click.option("--note", default=None, help="why (kept in the audit log)")


@peers.command("trust")
@config_option
@click.argument("domain")
@note_option
def peers_trust(config_path: Path, domain: str, note: str | None) -> None:
    """Trust DOMAIN: its follows are accepted and its comments published at once."""
    _set_policy(config_path, domain, "trusted", note)


@peers.command("allow")
@config_option
@click.argument("domain")
@note_option
def peers_allow(config_path: Path, domain: str, note: str | None) -> None:
    """Allow DOMAIN to write to us in allowlist mode (follow, comment, adopt, offer)."""
    _set_policy(config_path, domain, "allowed", note)


@peers.command("block")
@config_option
@click.argument("domain")
@note_option
def peers_block(config_path: Path, domain: str, note: str | None) -> None:
    """Block DOMAIN: drop what it sends, send it nothing, remove its follows, hide its objects."""
    _set_policy(config_path, domain, "blocked", note)


@peers.command("remove")
@config_option
@click.argument("domain")
@note_option
def peers_remove(config_path: Path, domain: str, note: str | None) -> None:
    """Remove DOMAIN's policy (it is then treated like any unknown peer)."""
    _set_policy(config_path, domain, None, note)


@main.command("federation-mode")
@config_option
@click.argument("mode", required=False, type=click.Choice(["open", "allowlist"]))
def federation_mode(config_path: Path, mode: str | None) -> None:
    """Show the federation mode, or set it: open (all but blocked) or allowlist."""
    from cityfed.actions import peers as peer_actions

    settings = settings_from(config_path)

    async def work(node: Any) -> str:
        if mode is None:
            return await peer_actions.federation_mode(node)
        previous = await peer_actions.set_federation_mode(node, mode, who())
        return f"{mode} (was {previous})"

    click.echo(f"federation mode: {with_node(settings, work)}")


@main.group()
def deliveries() -> None:
    """The outgoing delivery queue: see what is stuck, retry or drop dead deliveries."""


@deliveries.command("list")
@config_option
@click.option(
    "--state",
    type=click.Choice(["pending", "retrying", "dead"]),
    default=None,
    help="only deliveries in this state (default: all three)",
)
@click.option("--domain", default=None, help="only deliveries to this domain")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
def deliveries_list(config_path: Path, state: str | None, domain: str | None, limit: int) -> None:
    """Queued and dead deliveries, oldest due first, after a per-domain summary."""
    from cityfed.models import peers as peer_queries
    from cityfed.models.peers import QUEUE_STATES, STATE_NAMES

    settings = settings_from(config_path)
    states = [QUEUE_STATES[state]] if state else list(QUEUE_STATES.values())

    async def work(node: Any) -> tuple[Any, Any, int]:
        async with node.db.session() as session:
            summary = await peer_queries.delivery_summary(session)
            rows, total = await peer_queries.deliveries(session, states, domain=domain, limit=limit)
        return summary, rows, total

    summary, rows, total = with_node(settings, work)
    for name, counts in summary.items():
        shown = ", ".join(f"{STATE_NAMES.get(s, s)} {n}" for s, n in sorted(counts.items()))
        click.echo(f"{name}: {shown}")
    if summary:
        click.echo("")
    for row, activity in rows:
        error = f"  {row.last_error}" if row.last_error else ""
        click.echo(
            f"{row.id}  {STATE_NAMES.get(row.state, row.state)}  attempts {row.attempts}  "
            f"{activity.type} -> {row.inbox}{error}"
        )
    click.echo(f"{len(rows)} of {total} deliveries shown")


def _dead_rows(config_path: Path, ids: tuple[int, ...], domain: str | None, *, retry: bool) -> int:
    from cityfed.actions import deliveries as delivery_actions

    settings = settings_from(config_path)
    action = delivery_actions.retry if retry else delivery_actions.drop

    async def work(node: Any) -> int:
        try:
            return await action(node, who(), ids=list(ids) or None, domain=domain)
        except delivery_actions.SelectionError as exc:
            raise click.ClickException(str(exc)) from None

    return with_node(settings, work)


@deliveries.command("retry")
@config_option
@click.argument("ids", nargs=-1, type=int)
@click.option("--domain", default=None, help="every dead delivery to this domain")
def deliveries_retry(config_path: Path, ids: tuple[int, ...], domain: str | None) -> None:
    """Send dead deliveries again (by IDS or --domain), starting their attempts afresh."""
    click.echo(f"{_dead_rows(config_path, ids, domain, retry=True)} dead deliveries due again")


@deliveries.command("drop")
@config_option
@click.argument("ids", nargs=-1, type=int)
@click.option("--domain", default=None, help="every dead delivery to this domain")
def deliveries_drop(config_path: Path, ids: tuple[int, ...], domain: str | None) -> None:
    """Give dead deliveries up for good (by IDS or --domain)."""
    click.echo(f"{_dead_rows(config_path, ids, domain, retry=False)} dead deliveries dropped")
