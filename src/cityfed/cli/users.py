"""`cityfed users`: staff accounts for the pages under /staff/ (the same actions as those pages)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click

from cityfed.cli.common import T, config_option, settings_from, who, with_node
from cityfed.cli.main import main


@main.group()
def users() -> None:
    """Staff accounts that sign in at /staff/ (passwords hashed with argon2)."""


password_option = click.option(
    "--set-password",
    is_flag=True,
    help="type a password instead of getting a one-time password printed",
)


def _user_action(config_path: Path, work: Callable[[Any], Awaitable[T]]) -> T:
    from cityfed.actions.users import UserError

    async def guarded(node: Any) -> T:
        try:
            return await work(node)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None

    return with_node(settings_from(config_path), guarded)


def _prompt_password(set_password: bool) -> str | None:
    if not set_password:
        return None
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users.command("create")
@config_option
@click.option("--email", required=True, help="the person's e-mail address (their sign-in name)")
@click.option("--role", type=click.Choice(["admin", "editor"]), default="editor", show_default=True)
@password_option
def users_create(config_path: Path, email: str, role: str, set_password: bool) -> None:
    """Create a staff account; prints a one-time password unless --set-password."""
    from cityfed.actions import users as user_actions

    password = _prompt_password(set_password)

    async def work(node: Any) -> Any:
        return await user_actions.create_user(node, email, role, who=who(), password=password)

    user, one_time = _user_action(config_path, work)
    click.echo(f"created {user.role} {user.email}")
    if one_time:
        click.echo(f"one-time password (change it at first sign-in): {one_time}")


@users.command("list")
@config_option
def users_list(config_path: Path) -> None:
    """Staff accounts with their role and last sign-in."""
    from cityfed.actions import users as user_actions

    for user in _user_action(config_path, user_actions.list_users):
        last = user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "never"
        click.echo(f"{user.email}  {user.role}  last sign-in {last}")


@users.command("reset-password")
@config_option
@click.option("--email", required=True)
@password_option
def users_reset_password(config_path: Path, email: str, set_password: bool) -> None:
    """Give an account a new (one-time) password and sign it out everywhere."""
    from cityfed.actions import users as user_actions

    password = _prompt_password(set_password)

    async def work(node: Any) -> str | None:
        return await user_actions.reset_password(node, email, who=who(), password=password)

    one_time = _user_action(config_path, work)
    click.echo(f"one-time password: {one_time}" if one_time else "password set")


@users.command("delete")
@config_option
@click.option("--email", required=True)
def users_delete(config_path: Path, email: str) -> None:
    """Delete a staff account (never the last admin)."""
    from cityfed.actions import users as user_actions

    async def work(node: Any) -> None:
        await user_actions.delete_user(node, email, who=who())

    _user_action(config_path, work)
    click.echo(f"deleted {email.strip().lower()}")
