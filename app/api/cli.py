"""`flask api token create|list|revoke`: the API tokens a BI tool (Power BI, Qlik Sense) presents (docs/api.md)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..clock import local_today
from ..db import db_session
from ..organisation.models import Provider
from .tokens import TokenError, all_tokens, create_token, revoke_token

api_cli = AppGroup("api", help="The read-only JSON API for BI tools (docs/api.md).")
token_cli = AppGroup("token", help="API tokens: only their SHA-256 is kept.")
api_cli.add_command(token_cli)


@token_cli.command("create")
@click.argument("name")
@click.option("--provider-id", type=click.IntRange(min=1), default=None,
              help="Limit the token to this provider's figures, as the provider role is.")
def create_command(name: str, provider_id: int | None) -> None:
    """Make a token named NAME and print it once: it cannot be shown again."""
    try:
        issued = create_token(db_session, name, local_today(), provider_id)
    except TokenError as error:
        raise click.ClickException(str(error)) from error
    db_session.commit()
    scope = f"provider {provider_id} only" if provider_id else "every provider"
    click.echo(f"created API token {issued.record.id} {issued.record.name!r} ({scope}).")
    click.echo("The token, shown this once (send it as 'Authorization: Bearer <token>'):")
    click.echo(issued.token)


@token_cli.command("list")
def list_command() -> None:
    """Show every token: id, made on, scope, state, name (never the token: it is not kept)."""
    tokens = all_tokens(db_session)
    if not tokens:
        click.echo("no API tokens")
        return
    for record in tokens:
        scope = "all providers"
        if record.provider_id is not None:
            provider = db_session.get(Provider, record.provider_id)
            scope = f"provider {record.provider_id} ({provider.name if provider else '?'})"
        state = "revoked" if record.revoked else "live"
        click.echo(f"{record.id:>4}  {record.created_on.isoformat()}  {state:<7}  {scope}  {record.name}")


@token_cli.command("revoke")
@click.argument("token_id", type=click.IntRange(min=1))
def revoke_command(token_id: int) -> None:
    """Revoke token TOKEN_ID: the next request presenting it is refused (401)."""
    try:
        record = revoke_token(db_session, token_id)
    except TokenError as error:
        raise click.ClickException(str(error)) from error
    db_session.commit()
    click.echo(f"revoked API token {record.id} {record.name!r}")
