"""`cityfed token list` and `cityfed token revoke`: the REST API's tokens from the shell (the same
actions as the staff page /staff/admin/tokens, audit log included)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cityfed.cli.common import config_option, settings_from, who, with_node
from cityfed.cli.main import token


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value else "never"


@token.command("list")
@config_option
def token_list(config_path: Path) -> None:
    """Every API token (live first): id, scope, name, created, last used; never the secret."""
    from cityfed.actions import users as user_actions

    tokens = with_node(settings_from(config_path), user_actions.list_api_tokens)
    if not tokens:
        click.echo("no API tokens (cityfed token create makes one)")
    for row in tokens:
        state = f"revoked {_when(row.revoked_at)}" if row.revoked_at else "live"
        click.echo(
            f"{row.id}  {row.scope:<6}  {row.name}  created {_when(row.created_at)}  "
            f"last used {_when(row.last_used_at)}  {state}"
        )


@token.command("revoke")
@config_option
@click.argument("token_id", metavar="ID", type=click.IntRange(min=1))
def token_revoke(config_path: Path, token_id: int) -> None:
    """Revoke the token with this id (see `cityfed token list`); it stops working at once."""
    from cityfed.actions import users as user_actions

    async def work(node: Any) -> Any:
        try:
            return await user_actions.revoke_api_token(node, token_id, who=who())
        except user_actions.UserError:
            raise click.ClickException(
                f"no API token with id {token_id} (cityfed token list shows them)"
            ) from None

    row = with_node(settings_from(config_path), work)
    click.echo(f"revoked token {row.id} ({row.name}, {row.scope})")
