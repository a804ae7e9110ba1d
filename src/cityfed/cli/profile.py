"""`cityfed profile show|set|verify`: a city's profile, the same actions as the API's /profile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cityfed.cli.common import config_option, settings_from, who, with_node
from cityfed.cli.main import main

handle_option = click.option(
    "--handle", default=None, help="the local city (default: the node's first)"
)


@main.group()
def profile() -> None:
    """A city's profile: display name, bio, fields, avatar and header."""


async def _city(node: Any, handle: str | None) -> Any:
    from cityfed.models import actors as actor_queries

    async with node.db.session() as session:
        if handle:
            found = await actor_queries.local_actor(session, handle)
        else:
            cities = await actor_queries.local_actors(session)
            found = cities[0] if cities else None
    if found is None:
        raise click.ClickException(f"no local city @{handle}" if handle else "no local city")
    return found


def _print(view: Any, as_json: bool) -> None:
    if as_json:
        import orjson

        click.echo(orjson.dumps(view.to_json(), option=orjson.OPT_INDENT_2).decode())
        return
    click.echo(f"display name: {view.display_name}")
    click.echo("bio:" + (f"\n{view.bio}" if view.bio else " (none)"))
    click.echo("fields:" + ("" if view.fields else " (none)"))
    for field in view.fields:
        mark = ""
        if field.link:
            mark = (
                f"  [verified {field.verified_at:%Y-%m-%d}]"
                if field.verified_at
                else "  [not verified]"
            )
        click.echo(f"  {field.name} = {field.value}{mark}")
    for label, image in (("avatar", view.avatar), ("header", view.header)):
        click.echo(
            f"{label}: {image.url} ({image.width}x{image.height})" if image else f"{label}: (none)"
        )


@profile.command("show")
@config_option
@handle_option
@click.option("--json", "as_json", is_flag=True, help="print JSON (as the API does)")
def profile_show(config_path: Path, handle: str | None, as_json: bool) -> None:
    """Print the city's profile."""
    from cityfed.actions import profile as profile_actions

    async def work(node: Any) -> Any:
        return await profile_actions.read(node, await _city(node, handle))

    _print(with_node(settings_from(config_path), work), as_json)


@profile.command("set")
@config_option
@handle_option
@click.option("--display-name", default=None, help='e.g. "City of Berlin"')
@click.option("--bio", default=None, help='the bio in Markdown ("" clears it)')
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=VALUE",
    help="a profile field, e.g. 'Website=https://berlin.example' (repeat, up to 8; replaces all)",
)
@click.option("--clear-fields", is_flag=True, help="remove every profile field")
@click.option("--avatar", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--avatar-alt", default=None, help="the avatar's alt text")
@click.option("--header", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--header-alt", default=None, help="the header's alt text")
@click.option("--remove-avatar", is_flag=True)
@click.option("--remove-header", is_flag=True)
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def profile_set(
    config_path: Path,
    handle: str | None,
    display_name: str | None,
    bio: str | None,
    fields: tuple[str, ...],
    clear_fields: bool,
    avatar: Path | None,
    avatar_alt: str | None,
    header: Path | None,
    header_alt: str | None,
    remove_avatar: bool,
    remove_header: bool,
    as_json: bool,
) -> None:
    """Change the profile; the followers get Update{Organization} (sent by the node's worker).
    Links in fields are then checked for a rel="me" link back."""
    from cityfed.actions import profile as profile_actions
    from cityfed.activitypub.profile import (
        ProfileError,
        check_bio,
        check_display_name,
        check_fields,
        parse_field,
    )
    from cityfed.media.errors import MediaRejected

    if fields and clear_fields:
        raise click.UsageError("--field and --clear-fields exclude each other")
    if (avatar and remove_avatar) or (header and remove_header):
        raise click.UsageError("set an image or remove it, not both")
    try:
        pairs = [parse_field(spec) for spec in fields] if fields else ([] if clear_fields else None)
    except ProfileError as exc:
        raise click.BadParameter(exc.message, param_hint="'--field'") from None
    # Read the files before anything changes: a missing file must not leave half a change.
    avatar_data = avatar.read_bytes() if avatar else None
    header_data = header.read_bytes() if header else None
    settings = settings_from(config_path)
    actor_who = who()

    async def work(node: Any) -> Any:
        city = await _city(node, handle)
        try:
            # The text is checked first and the pictures (each its own change) go before it: a
            # refused picture or text leaves the profile as it was.
            if display_name is not None:
                check_display_name(display_name)
            if bio is not None:
                check_bio(bio)
            if pairs is not None:
                check_fields(pairs)
            for role, data, alt, remove in (
                (profile_actions.ImageRole.AVATAR, avatar_data, avatar_alt, remove_avatar),
                (profile_actions.ImageRole.HEADER, header_data, header_alt, remove_header),
            ):
                if data is not None or remove:
                    await profile_actions.set_image(
                        node, city, role, data, who=actor_who, alt_text=alt
                    )
            if display_name is not None or bio is not None or pairs is not None:
                city = await profile_actions.update(
                    node, city, who=actor_who, display_name=display_name, bio=bio, fields=pairs
                )
        except ProfileError as exc:
            raise click.ClickException(str(exc)) from None
        except MediaRejected as exc:
            raise click.ClickException(f"image refused: {exc.reason}") from None
        await profile_actions.verify_fields(node, city, only_unverified=True)
        return await profile_actions.read(node, city)

    _print(with_node(settings, work, http=True), as_json)


@profile.command("verify")
@config_option
@handle_option
def profile_verify(config_path: Path, handle: str | None) -> None:
    """Check every link field again for a rel="me" link back to the city's profile."""
    from cityfed.actions import profile as profile_actions

    async def work(node: Any) -> Any:
        city = await _city(node, handle)
        await profile_actions.verify_fields(node, city)
        return await profile_actions.read(node, city)

    _print(with_node(settings_from(config_path), work, http=True), False)
